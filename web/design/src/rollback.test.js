import { describe, expect, it, vi } from 'vitest'
import { createDraftStore } from './store.js'
import { canonical, followRollback } from './rollback.js'

const r1 = { format: 'cairn.app/1', key: 'a', label: 'A', entities: [{ key: 'v', fields: [{ key: 'note' }, { key: 'loc' }] }] }
const r2 = { format: 'cairn.app/1', key: 'a', label: 'A', entities: [{ key: 'v', fields: [{ key: 'loc' }] }] }

function server(draft) {
  const saved = []
  const api = {
    saved,
    get: vi.fn(async (path) => {
      if (path.endsWith('/draft')) return { revision: { version: 1 }, definition: JSON.parse(JSON.stringify(draft)), diagnostics: [] }
      if (path.endsWith('/revisions')) {
        return { items: [
          { number: 4, status: 'published', published_at: '2026-11-30T10:03:00' },
          { number: 3, status: 'draft', published_at: null },
          { number: 2, status: 'superseded', published_at: '2026-11-30T10:02:00' },
          { number: 1, status: 'superseded', published_at: '2026-11-30T10:01:00' },
        ] }
      }
      if (path.endsWith('revision=2')) return r2
      if (path.endsWith('revision=4')) return r1
      throw new Error(path)
    }),
    put: vi.fn(async (path, body) => { saved.push(body); return { revision: { version: body.version + 1 }, diagnostics: [] } }),
  }
  return api
}

describe('after a rollback', () => {
  it('compares documents whatever the order of their keys', () => {
    expect(canonical({ b: 1, a: [{ y: 2, x: 1 }] })).toBe(canonical({ a: [{ x: 1, y: 2 }], b: 1 }))
    expect(canonical({ a: 1 })).not.toBe(canonical({ a: 2 }))
  })

  it('a draft without edits of its own follows the rolled-back definition (undoably)', async () => {
    const api = server({ label: 'A', key: 'a', format: 'cairn.app/1', entities: [{ key: 'v', fields: [{ key: 'loc' }] }] })
    const store = createDraftStore({ api, appId: 7, debounceMs: 1 })
    await store.load()
    expect(await followRollback({ api, appId: 7, store, rolledNumber: 4, label: 'rollback' })).toBe('followed')
    expect(store.state.doc).toEqual(r1)
    expect(api.saved.at(-1)).toEqual({ definition: r1, version: 1 })
    store.undo()
    expect(store.state.doc.entities[0].fields).toHaveLength(1)
  })

  it('a draft with edits of its own is kept', async () => {
    const api = server({ ...r2, label: 'B' })
    const store = createDraftStore({ api, appId: 7, debounceMs: 1 })
    await store.load()
    expect(await followRollback({ api, appId: 7, store, rolledNumber: 4, label: 'rollback' })).toBe('kept')
    expect(store.state.doc.label).toBe('B')
    expect(api.put).not.toHaveBeenCalled()
  })
})
