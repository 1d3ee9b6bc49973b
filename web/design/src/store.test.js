import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from './api.js'
import { createDraftStore } from './store.js'

function draft(version = 1, definition = { format: 'cairn.app/1', key: 'a', label: 'A', entities: [] }) {
  return {
    revision: { id: 9, number: 2, version },
    definition,
    diagnostics: [{ path: '$.entities', code: 'required', message: 'x', message_zh: 'x' }],
    published_keys: { entities: ['customer'] },
  }
}

function fakeApi() {
  const calls = []
  const api = {
    calls,
    answers: [],
    get: vi.fn(async () => draft()),
    put: vi.fn(async (path, body) => {
      calls.push(body)
      const next = api.answers.shift()
      if (next instanceof Error) throw next
      return next || { revision: { id: 9, number: 2, version: body.version + 1 }, diagnostics: [] }
    }),
  }
  return api
}

describe('draft store', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('loads the draft, its diagnostics and published keys', async () => {
    const store = createDraftStore({ api: fakeApi(), appId: 3 })
    await store.load()
    expect(store.state.version).toBe(1)
    expect(store.state.publishedKeys.entities).toEqual(['customer'])
    expect(store.state.publishedKeys.fields).toEqual({})
    expect(store.problemsAt('$.entities')).toHaveLength(1)
    expect(store.state.status).toBe('saved')
  })

  it('undoes and redoes every edit', async () => {
    const store = createDraftStore({ api: fakeApi(), appId: 3 })
    await store.load()
    store.edit('add', (doc) => doc.entities.push({ key: 'a' }))
    store.edit('rename', (doc) => { doc.label = 'B' })
    expect(store.state.undo.map((e) => e.label)).toEqual(['add', 'rename'])
    store.undo()
    expect(store.state.doc.label).toBe('A')
    expect(store.state.doc.entities).toHaveLength(1)
    store.undo()
    expect(store.state.doc.entities).toHaveLength(0)
    store.undo() // nothing left: no change
    expect(store.state.doc.entities).toHaveLength(0)
    store.redo()
    store.redo()
    expect(store.state.doc.label).toBe('B')
    expect(store.state.doc.entities).toHaveLength(1)
    // a new edit clears what could be redone
    store.undo()
    store.edit('other', (doc) => { doc.description = 'd' })
    expect(store.state.redo).toHaveLength(0)
  })

  it('merges quick edits of the same name into one undo step and ignores no-op edits', async () => {
    let clock = 0
    const store = createDraftStore({ api: fakeApi(), appId: 3, now: () => clock })
    await store.load()
    for (const text of ['B', 'Bo', 'Bob']) {
      clock += 100
      store.edit('label', (doc) => { doc.label = text })
    }
    store.edit('nothing', () => {})
    expect(store.state.undo).toHaveLength(1)
    store.undo()
    expect(store.state.doc.label).toBe('A')
  })

  it('autosaves once after a burst of edits, with the version it saw', async () => {
    const api = fakeApi()
    const store = createDraftStore({ api, appId: 3, debounceMs: 500 })
    await store.load()
    const saved = vi.fn()
    store.onSaved(saved)
    store.edit('a', (doc) => { doc.label = 'x' })
    store.edit('b', (doc) => { doc.key = 'y' })
    expect(store.state.status).toBe('pending')
    await vi.advanceTimersByTimeAsync(499)
    expect(api.put).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(api.put).toHaveBeenCalledTimes(1)
    expect(api.calls[0]).toMatchObject({ version: 1, definition: { label: 'x', key: 'y' } })
    expect(api.put.mock.calls[0][0]).toBe('/apps/3/draft')
    expect(store.state.version).toBe(2)
    expect(store.state.status).toBe('saved')
    expect(store.state.diagnostics).toEqual([])
    expect(saved).toHaveBeenCalledTimes(1)
    store.edit('c', (doc) => { doc.label = 'z' })
    await vi.advanceTimersByTimeAsync(500)
    expect(api.calls[1].version).toBe(2)
  })

  it('keeps the diagnostics of the save and finds them by path', async () => {
    const api = fakeApi()
    const problem = { path: '$.entities[0].fields[1].visible_when', code: 'expression_unknown_name' }
    api.answers.push({ revision: { version: 2 }, diagnostics: [problem, { path: '$.entities[10].key' }] })
    const store = createDraftStore({ api, appId: 3, debounceMs: 10 })
    await store.load()
    store.edit('a', (doc) => { doc.label = 'x' })
    await vi.advanceTimersByTimeAsync(10)
    expect(store.problemsAt('$.entities[0]')).toEqual([problem])
    expect(store.problemsAt('$.entities[0].fields[1]')).toEqual([problem])
    expect(store.problemsExact('$.entities[0].fields[1].visible_when')).toEqual([problem])
    expect(store.problemsAt('$.entities[0].fields[0]')).toEqual([])
  })

  it('stops on a conflict, keeps the edits and the server message, and reloads on request', async () => {
    const api = fakeApi()
    api.answers.push(new ApiError(409, { code: 'draft_conflict', message: 'Zhang San saved this draft at 10:42', message_zh: '张三 于 10:42 保存了此草稿' }))
    const store = createDraftStore({ api, appId: 3, debounceMs: 10 })
    await store.load()
    store.edit('a', (doc) => { doc.label = 'mine' })
    await vi.advanceTimersByTimeAsync(10)
    expect(store.state.status).toBe('conflict')
    expect(store.state.error.text('zh')).toContain('张三')
    expect(store.state.doc.label).toBe('mine')
    // no more saving while in conflict: never overwrite silently
    store.edit('b', (doc) => { doc.label = 'mine too' })
    await vi.advanceTimersByTimeAsync(5000)
    expect(api.put).toHaveBeenCalledTimes(1)
    api.get.mockResolvedValueOnce(draft(7, { format: 'cairn.app/1', key: 'a', label: 'theirs', entities: [] }))
    await store.reload()
    expect(store.state.doc.label).toBe('theirs')
    expect(store.state.version).toBe(7)
    expect(store.state.status).toBe('saved')
    expect(store.state.undo).toHaveLength(0)
  })

  it('keeps the edits when the network fails and retries with the newest document', async () => {
    const api = fakeApi()
    api.answers.push(new TypeError('Failed to fetch'), new ApiError(502, {}))
    const store = createDraftStore({ api, appId: 3, debounceMs: 10, retryMs: 1000 })
    await store.load()
    store.edit('a', (doc) => { doc.label = 'one' })
    await vi.advanceTimersByTimeAsync(10)
    expect(store.state.status).toBe('offline')
    expect(store.state.retryIn).toBe(1000)
    store.edit('b', (doc) => { doc.key = 'two' })
    await vi.advanceTimersByTimeAsync(1000)
    expect(api.put).toHaveBeenCalledTimes(2)
    expect(store.state.status).toBe('offline')
    expect(store.state.retryIn).toBe(2000)
    await vi.advanceTimersByTimeAsync(2000)
    expect(api.put).toHaveBeenCalledTimes(3)
    expect(api.calls[2]).toMatchObject({ version: 1, definition: { label: 'one', key: 'two' } })
    expect(store.state.status).toBe('saved')
  })

  it('does not retry a refusal, and saves edits made while a save was in flight', async () => {
    const api = fakeApi()
    let release
    api.put.mockImplementationOnce((path, body) => new Promise((resolve) => { api.calls.push(body); release = () => resolve({ revision: { version: 2 }, diagnostics: [] }) }))
    const store = createDraftStore({ api, appId: 3, debounceMs: 10 })
    await store.load()
    store.edit('a', (doc) => { doc.label = 'one' })
    await vi.advanceTimersByTimeAsync(10)
    store.edit('b', (doc) => { doc.label = 'two' })
    release()
    await vi.advanceTimersByTimeAsync(10)
    expect(api.calls.map((c) => [c.version, c.definition.label])).toEqual([[1, 'one'], [2, 'two']])
    api.answers.push(new ApiError(422, { code: 'invalid', message: 'bad' }))
    store.edit('c', (doc) => { doc.label = 'three' })
    await vi.advanceTimersByTimeAsync(10)
    expect(store.state.status).toBe('error')
    await vi.advanceTimersByTimeAsync(60000)
    expect(api.put).toHaveBeenCalledTimes(3)
  })
})

describe('draft store: what the server has', () => {
  it('knows the entities of the saved document (the preview needs them)', async () => {
    vi.useFakeTimers()
    const api = fakeApi()
    const store = createDraftStore({ api, appId: 3, debounceMs: 10 })
    await store.load()
    expect(store.state.savedEntityKeys).toEqual([])
    store.edit('add', (doc) => doc.entities.push({ key: 'visit' }))
    expect(store.state.savedEntityKeys).toEqual([])
    await vi.advanceTimersByTimeAsync(10)
    expect(store.state.savedEntityKeys).toEqual(['visit'])
    vi.useRealTimers()
  })
})
