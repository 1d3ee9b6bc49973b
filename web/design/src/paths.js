// JSON paths of the definition document (`$.entities[1].fields[3].visible_when`), as the
// server's diagnostics carry them, and the place in the designer each one belongs to.

export const entityPath = (e) => `$.entities[${e}]`
export const fieldPath = (e, f) => `$.entities[${e}].fields[${f}]`
export const stepPath = (e, s) => `$.entities[${e}].steps[${s}]`

/** Whether `path` is `prefix` or lies inside it (`$.a[1]` is inside `$.a`, `$.ab` is not). */
export function pathStartsWith(path, prefix) {
  if (path === prefix) return true
  if (!path.startsWith(prefix)) return false
  const next = path[prefix.length]
  return next === '.' || next === '['
}

/** `$.entities[1]["a b"].x` → ['entities', 1, 'a b', 'x']; null when it is not a path. */
export function parsePath(path) {
  if (typeof path !== 'string' || !path.startsWith('$')) return null
  const segments = []
  let i = 1
  while (i < path.length) {
    if (path[i] === '.') {
      const match = /^[^.[\]]+/.exec(path.slice(i + 1))
      if (!match) return null
      segments.push(match[0])
      i += 1 + match[0].length
    } else if (path[i] === '[') {
      const rest = path.slice(i)
      const index = /^\[(\d+)\]/.exec(rest)
      const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest)
      if (index) {
        segments.push(Number(index[1]))
        i += index[0].length
      } else if (quoted) {
        segments.push(JSON.parse(quoted[1]))
        i += quoted[0].length
      } else return null
    } else return null
  }
  return segments
}

const SECTIONS = { fields: 'fields', steps: 'steps', stages: 'stages', rules: 'rules', permissions: 'roles' }
const KINDS = { fields: 'field', steps: 'step', stages: 'stage', rules: 'rule', permissions: 'permission' }

/**
 * Where the designer shows a problem at `path`:
 * `{kind: 'app'|'trigger'|'dashboard'|'entity'|'field'|'step'|'stage'|'rule'|'permission'|'none', entity, section, index, option}`
 * (a dashboard's place also has `widget`, the widget's index or null).
 * `kind: 'none'` is a path the designer has no place for (it is still listed).
 */
export function placeOf(path) {
  const segments = parsePath(path)
  if (!segments) return { kind: 'none' }
  if (segments[0] === 'dashboards') {
    const widget = segments[2] === 'widgets' && typeof segments[3] === 'number' ? segments[3] : null
    return {
      kind: 'dashboard', section: 'dashboards', index: typeof segments[1] === 'number' ? segments[1] : null,
      widget, option: widget === null ? segments[2] : segments[4],
    }
  }
  if (segments[0] === 'triggers') return { kind: 'trigger', section: 'triggers', index: typeof segments[1] === 'number' ? segments[1] : null, option: segments[2] }
  if (segments[0] !== 'entities' || typeof segments[1] !== 'number') return { kind: 'app', section: 'app', option: segments[0] }
  const entity = segments[1]
  const list = segments[2]
  if (list in SECTIONS && typeof segments[3] === 'number') {
    return { kind: KINDS[list], entity, section: SECTIONS[list], index: segments[3], option: segments[4] }
  }
  if (list in SECTIONS && list !== 'fields') return { kind: 'list', entity, section: SECTIONS[list], option: list }
  return { kind: 'entity', entity, section: 'fields', option: list }
}

/** `value` when it is a list of objects, else [] (an imported draft may hold anything). */
export function list(value) {
  return Array.isArray(value) ? value.map((item) => (item && typeof item === 'object' ? item : {})) : []
}
