import { describe, expect, it } from 'vitest'
import { checkExpression } from './checks.js'
import { fakeApi } from './testing.js'

describe('checkExpression', () => {
  it('shares identical requests in flight and just answered, not others', async () => {
    const api = fakeApi().reply('POST', /check$/, (body) => ({ ok: true, echo: body.expression }), { hold: true })
    const definition = { format: 'cairn.app/1' }
    let clock = 1000
    const now = () => clock
    const body = { entity: 'visit', expression: '', kind: 'row_condition', definition }
    const a = checkExpression(api, 1, body, now)
    const b = checkExpression(api, 1, { ...body }, now)
    const c = checkExpression(api, 1, { ...body, expression: 'x' }, now)
    const d = checkExpression(api, 1, { ...body, definition: { ...definition } }, now) // another draft state
    expect(api.held).toHaveLength(3)
    api.held.forEach((_, i) => api.release(i))
    expect(await a).toBe(await b)
    expect((await c).echo).toBe('x')
    await d
    clock += 1000
    await checkExpression(api, 1, body, now)
    expect(api.held).toHaveLength(3) // fresh: answered from the shared answer
    clock += 1000
    checkExpression(api, 1, body, now)
    expect(api.held).toHaveLength(4) // stale: asked again
  })

  it('does not keep failures', async () => {
    let fail = true
    const api = fakeApi().reply('POST', /check$/, () => {
      if (fail) throw new TypeError('offline')
      return { ok: true }
    })
    const body = { entity: 'visit', expression: 'a', kind: 'condition' }
    await expect(checkExpression(api, 2, body)).rejects.toThrow('offline')
    fail = false
    await expect(checkExpression(api, 2, body)).resolves.toEqual({ ok: true })
  })
})
