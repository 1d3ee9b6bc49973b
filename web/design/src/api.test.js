import { describe, expect, it } from 'vitest'
import { ApiError, createApi } from './api.js'

function answer(status, body, type = 'application/problem+json') {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } }))
}

describe('createApi', () => {
  it('sends the CSRF token on unsafe methods and JSON bodies', async () => {
    document.head.innerHTML = '<meta name="csrf-token" content="tok">'
    const seen = []
    const api = createApi('/design/api', (url, init) => { seen.push([url, init]); return answer(200, { ok: true }, 'application/json') })
    expect(await api.put('/apps/1/draft', { version: 3 })).toEqual({ ok: true })
    expect(seen[0][0]).toBe('/design/api/apps/1/draft')
    expect(seen[0][1].headers['X-CSRFToken']).toBe('tok')
    expect(JSON.parse(seen[0][1].body)).toEqual({ version: 3 })
    await api.get('/apps')
    expect(seen[1][1].headers['X-CSRFToken']).toBeUndefined()
  })

  it('turns problem+json into an ApiError in both languages', async () => {
    const api = createApi('', () => answer(409, { code: 'draft_conflict', message: 'Reload', message_zh: '请刷新' }))
    const error = await api.put('/x', {}).catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(409)
    expect(error.code).toBe('draft_conflict')
    expect(error.text('zh')).toBe('请刷新')
    expect(error.text('en')).toBe('Reload')
  })
})
