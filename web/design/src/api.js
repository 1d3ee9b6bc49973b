// The designer's client of /design/api (see docs/designer.md): JSON in, JSON out,
// the CSRF token on unsafe methods, and problem+json errors turned into ApiError.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.message || `HTTP ${status}`)
    this.status = status
    this.problem = problem || {}
    this.code = this.problem.code
  }

  /** The message in the page language ('zh' or 'en'). */
  text(lang) {
    return (lang === 'en' ? this.problem.message : this.problem.message_zh) || this.message
  }
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') || ''
}

export function createApi(base, fetchImpl = (...args) => globalThis.fetch(...args)) {
  async function call(method, path, body) {
    const headers = { Accept: 'application/json' }
    if (method !== 'GET') headers['X-CSRFToken'] = csrfToken()
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const response = await fetchImpl(base + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (response.status === 204) return null
    const type = response.headers.get('Content-Type') || ''
    const data = type.includes('json') ? await response.json() : await response.text()
    if (!response.ok) throw new ApiError(response.status, typeof data === 'object' ? data : { message: data })
    return data
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body = {}) => call('POST', path, body),
    put: (path, body) => call('PUT', path, body),
    patch: (path, body) => call('PATCH', path, body),
    del: (path) => call('DELETE', path),
  }
}
