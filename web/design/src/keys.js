// Keys of new elements come from their labels, made by the server (`POST /keys`: pinyin
// for Chinese, a slug otherwise). A key ever published is locked (published_keys).

/** The server's key for `label` avoiding `taken`; a local slug if the server can't answer. */
export async function keyFor(api, label, taken = []) {
  const text = typeof label === 'string' ? label : label?.zh || label?.en || ''
  try {
    const answer = await api.post('/keys', { label: text, taken })
    if (answer?.key) return answer.key
  } catch (error) {
    if (error?.status === 403 || error?.status === 401) throw error
  }
  return localKey(text, taken)
}

export function localKey(text, taken = []) {
  let base = String(text || '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^[^a-z]+|_+$/g, '').slice(0, 50)
  if (!base) base = 'item'
  base = base.replace(/__+/g, '_')
  let key = base
  for (let n = 2; taken.includes(key); n++) key = `${base}_${n}`
  return key
}

export function isPublishedField(publishedKeys, entityKey, fieldKey) {
  return (publishedKeys?.fields?.[entityKey] || []).includes(fieldKey)
}

export function isPublishedEntity(publishedKeys, entityKey) {
  return (publishedKeys?.entities || []).includes(entityKey)
}

export function isPublishedStep(publishedKeys, entityKey, stepKey) {
  return (publishedKeys?.steps?.[entityKey] || []).includes(stepKey)
}

/** Renames field `from` to `to` where the document refers to it by key (cards, title). */
export function renameFieldRefs(entity, from, to) {
  for (const step of entity.steps || []) {
    if (step.fields) step.fields = step.fields.map((k) => (k === from ? to : k))
  }
  if (entity.title_field === from) entity.title_field = to
}
