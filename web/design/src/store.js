// The draft store: the app's definition document as reactive client state.
//
// Every change goes through `edit(label, mutator)`, which records the document as it was
// before the change, so undo/redo cover every edit. Edits are saved automatically
// (debounced `PUT /apps/<id>/draft` carrying the version we last saw); a 409
// `draft_conflict` stops saving and keeps the server's message (who saved and when) until
// the user reloads, a network failure keeps the edits and retries. The server's
// diagnostics of the last save are kept and looked up by JSON path.
import { reactive } from 'vue'
import { pathStartsWith } from './paths.js'

const MERGE_MS = 1000

function clone(value) {
  return JSON.parse(JSON.stringify(value))
}

export function createDraftStore({
  api,
  appId,
  debounceMs = 700,
  retryMs = 2000,
  maxRetryMs = 30000,
  now = () => Date.now(),
} = {}) {
  const state = reactive({
    doc: null,
    revision: null,
    version: null,
    diagnostics: [],
    publishedKeys: { entities: [], fields: {}, steps: {}, stages: {} },
    // loading | saved | pending | saving | offline | conflict | error
    status: 'loading',
    error: null, // ApiError of a failed load/save (conflict or refusal)
    retryIn: 0,
    undo: [],
    redo: [],
    savedAt: null,
    savedEntityKeys: [], // the entities of the document as the server has it
  })
  const listeners = []
  let timer = null
  let retryTimer = null
  let retryDelay = retryMs
  let inFlight = null
  let dirtyWhileSaving = false
  let lastEdit = { label: null, at: 0 }

  function snapshot() {
    return JSON.stringify(state.doc)
  }

  function take(draft) {
    state.doc = draft.definition
    state.revision = draft.revision
    state.version = draft.revision.version
    state.diagnostics = draft.diagnostics || []
    state.publishedKeys = { entities: [], fields: {}, steps: {}, stages: {}, ...(draft.published_keys || {}) }
    state.status = 'saved'
    state.error = null
    state.savedEntityKeys = (draft.definition?.entities || []).map((e) => e?.key)
  }

  async function load() {
    state.status = 'loading'
    try {
      take(await api.get(`/apps/${appId}/draft`))
    } catch (error) {
      state.status = 'error'
      state.error = error
      throw error
    }
  }

  /** Reloads the stored draft, dropping local edits and history (after a conflict). */
  async function reload() {
    clearTimers()
    state.undo = []
    state.redo = []
    lastEdit = { label: null, at: 0 }
    await load()
  }

  function clearTimers() {
    if (timer) clearTimeout(timer)
    if (retryTimer) clearTimeout(retryTimer)
    timer = retryTimer = null
  }

  function schedule() {
    if (state.status === 'conflict') return
    state.status = inFlight ? 'saving' : 'pending'
    if (inFlight) {
      dirtyWhileSaving = true
      return
    }
    if (retryTimer) return // the retry will send the newest document
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      save()
    }, debounceMs)
  }

  /** Applies `mutator(doc)` as one undoable edit named `label`, then autosaves. */
  function edit(label, mutator) {
    if (!state.doc) return
    const before = snapshot()
    mutator(state.doc)
    if (snapshot() === before) return
    const at = now()
    const merge = lastEdit.label === label && at - lastEdit.at < MERGE_MS && state.undo.length && !state.redo.length
    if (!merge) state.undo.push({ label, before })
    state.redo = []
    lastEdit = { label, at }
    schedule()
  }

  function undo() {
    const entry = state.undo.pop()
    if (!entry) return
    state.redo.push({ label: entry.label, before: snapshot() })
    state.doc = JSON.parse(entry.before)
    lastEdit = { label: null, at: 0 }
    schedule()
  }

  function redo() {
    const entry = state.redo.pop()
    if (!entry) return
    state.undo.push({ label: entry.label, before: snapshot() })
    state.doc = JSON.parse(entry.before)
    lastEdit = { label: null, at: 0 }
    schedule()
  }

  function isNetworkFailure(error) {
    return !error || error.status === undefined || error.status >= 500
  }

  async function save() {
    if (!state.doc || state.status === 'conflict') return
    if (inFlight) {
      dirtyWhileSaving = true
      return inFlight
    }
    if (timer) clearTimeout(timer)
    timer = null
    state.status = 'saving'
    const body = { definition: clone(state.doc), version: state.version }
    inFlight = (async () => {
      try {
        const answer = await api.put(`/apps/${appId}/draft`, body)
        state.version = answer.revision.version
        state.revision = answer.revision
        state.diagnostics = answer.diagnostics || []
        state.savedAt = now()
        state.savedEntityKeys = (body.definition.entities || []).map((e) => e?.key)
        state.error = null
        retryDelay = retryMs
        state.status = 'saved'
        for (const fn of listeners) fn(answer)
      } catch (error) {
        if (error && error.status === 409) {
          state.status = 'conflict'
          state.error = error
          dirtyWhileSaving = false
          return
        }
        if (isNetworkFailure(error)) {
          state.status = 'offline'
          state.error = error || null
          state.retryIn = retryDelay
          retryTimer = setTimeout(() => {
            retryTimer = null
            save()
          }, retryDelay)
          retryDelay = Math.min(retryDelay * 2, maxRetryMs)
          dirtyWhileSaving = false
          return
        }
        state.status = 'error'
        state.error = error
      } finally {
        inFlight = null
      }
      if (dirtyWhileSaving) {
        dirtyWhileSaving = false
        schedule()
      }
    })()
    return inFlight
  }

  /** Saves now if anything waits to be saved (before publishing, leaving, ...). */
  async function flush() {
    if (timer || state.status === 'pending' || state.status === 'offline') {
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = null
      await save()
    }
    while (inFlight) await inFlight
  }

  /** Problems whose path is `prefix` or lies inside it. */
  function problemsAt(prefix) {
    return state.diagnostics.filter((p) => pathStartsWith(p.path || '', prefix))
  }

  /** Problems at exactly `path`. */
  function problemsExact(path) {
    return state.diagnostics.filter((p) => p.path === path)
  }

  function onSaved(fn) {
    listeners.push(fn)
    return () => listeners.splice(listeners.indexOf(fn), 1)
  }

  function dispose() {
    clearTimers()
  }

  const unsaved = () => ['pending', 'saving', 'offline', 'conflict'].includes(state.status)

  return { state, load, reload, edit, undo, redo, save, flush, problemsAt, problemsExact, onSaved, dispose, unsaved }
}
