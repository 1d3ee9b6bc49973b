// Test helpers of the expression components: a fake api answering like the designer's
// JSON contract, with answers the test releases one by one.
import { vi } from 'vitest'
import { ApiError } from '../api.js'

/** A fake `api`: `api.calls` records [method, path, body]; `api.reply(pathPattern, fn)` answers. */
export function fakeApi() {
  const handlers = []
  const calls = []
  const held = []
  const call = (method) => (path, body) => {
    calls.push([method, path, body])
    const handler = handlers.find((h) => h.method === method && h.pattern.test(path))
    if (!handler) return Promise.reject(new ApiError(404, { code: 'not_found', message: `no route ${path}` }))
    if (handler.hold) {
      return new Promise((resolve, reject) => held.push({ path, body, resolve, reject, answer: handler.fn }))
    }
    try {
      return Promise.resolve(handler.fn(body, path))
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return {
    calls,
    held,
    get: vi.fn(call('GET')),
    post: vi.fn(call('POST')),
    put: vi.fn(call('PUT')),
    patch: vi.fn(call('PATCH')),
    del: vi.fn(call('DELETE')),
    reply(method, pattern, fn, { hold = false } = {}) {
      handlers.unshift({ method, pattern, fn, hold })
      return this
    },
    /** Answers the held call at `index` with its handler. */
    release(index = 0) {
      const call = held[index]
      try {
        call.resolve(call.answer(call.body, call.path))
      } catch (error) {
        call.reject(error)
      }
    },
  }
}

/** A fake `edit(label, mutator)` applying mutators to `doc` and recording their labels. */
export function fakeEdit(doc) {
  const labels = []
  const edit = vi.fn((label, mutator) => {
    labels.push(label)
    mutator(doc)
  })
  return { doc, edit, labels }
}

export const flush = () => new Promise((resolve) => setTimeout(resolve, 0))
