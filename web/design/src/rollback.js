// After a rollback the server has published an earlier revision's definition as a new
// revision; the draft is a separate revision and stays as it was. A draft with no
// unpublished edits (it equals the revision the rollback replaced) follows the rollback —
// otherwise publishing it later would undo the rollback without anyone noticing. A draft
// with edits of its own is kept, and the caller says so.

export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** 'followed' | 'kept' (the draft has edits of its own) | 'none' (nothing to compare with). */
export async function followRollback({ api, appId, store, rolledNumber, label }) {
  await store.flush()
  const { items } = await api.get(`/apps/${appId}/revisions`)
  const replaced = items
    .filter((r) => r.status === 'superseded' && r.published_at && r.number !== rolledNumber)
    .sort((a, b) => String(b.published_at).localeCompare(String(a.published_at)))[0]
  if (!replaced || !store.state.doc) return 'none'
  const [before, after] = await Promise.all([
    api.get(`/apps/${appId}/export?revision=${replaced.number}`),
    api.get(`/apps/${appId}/export?revision=${rolledNumber}`),
  ])
  if (canonical(before) !== canonical(store.state.doc)) return 'kept'
  store.edit(label, (doc) => {
    for (const key of Object.keys(doc)) delete doc[key]
    Object.assign(doc, JSON.parse(JSON.stringify(after)))
  })
  await store.flush()
  return 'followed'
}
