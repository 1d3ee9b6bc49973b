// One expression check request shared by editors asking the same question at once (a
// grid of row conditions mounting together asks for the empty text's names many times):
// identical requests in flight, or answered within `FRESH_MS`, share one answer.
const FRESH_MS = 1500
const LIMIT = 200
const byDefinition = new WeakMap() // definition object → Map
const stored = new Map() // requests checked against the stored draft (no definition posted)

function table(api, definition) {
  let perApi = definition ? byDefinition.get(definition) : stored
  if (!perApi) {
    perApi = new Map()
    byDefinition.set(definition, perApi)
  }
  return perApi
}

/** POSTs the check (body = {entity, expression, kind, definition?}), sharing identical requests. */
export function checkExpression(api, appId, body, now = () => Date.now()) {
  const cache = table(api, body.definition)
  const key = JSON.stringify([api === undefined ? null : apiId(api), String(appId), body.entity, body.kind, body.expression])
  const hit = cache.get(key)
  if (hit && (hit.pending || now() - hit.at < FRESH_MS)) return hit.promise
  const entry = { pending: true, at: now(), promise: null }
  entry.promise = api.post(`/apps/${appId}/expressions/check`, body).then(
    (answer) => {
      entry.pending = false
      entry.at = now()
      return answer
    },
    (error) => {
      cache.delete(key) // never keep a failure
      throw error
    },
  )
  cache.delete(key)
  cache.set(key, entry)
  while (cache.size > LIMIT) cache.delete(cache.keys().next().value)
  return entry.promise
}

const apis = new WeakMap()
let nextApi = 1
function apiId(api) {
  if (!apis.has(api)) apis.set(api, nextApi++)
  return apis.get(api)
}
