import { describe, expect, it } from 'vitest'
import { formatRoute, parseRoute } from './router.js'

describe('router', () => {
  it('round-trips every place', () => {
    for (const hash of ['#/', '#/apps/3', '#/apps/3/settings', '#/apps/3/triggers', '#/apps/3/triggers/1', '#/apps/3/e/1/fields', '#/apps/3/e/1/fields/2', '#/apps/3/e/0/steps/1', '#/apps/3/e/2/roles']) {
      expect(formatRoute(parseRoute(hash))).toBe(hash)
    }
    expect(parseRoute('#/apps/x')).toEqual({ view: 'apps' })
    expect(parseRoute('#/apps/3/e/1/bogus')).toMatchObject({ entity: 1, section: 'fields' })
  })
})

describe('the assignment section in the URL', () => {
  it('parses and formats #/apps/<id>/assignment', () => {
    expect(parseRoute('#/apps/4/assignment')).toMatchObject({ view: 'app', appId: 4, section: 'assignment', entity: null })
    expect(formatRoute({ view: 'app', appId: 4, section: 'assignment', entity: null })).toBe('#/apps/4/assignment')
  })
})
