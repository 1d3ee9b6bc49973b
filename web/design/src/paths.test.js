import { describe, expect, it } from 'vitest'
import { parsePath, pathStartsWith, placeOf } from './paths.js'

describe('paths', () => {
  it('parses dotted, indexed and quoted segments', () => {
    expect(parsePath('$.entities[1].fields[3].visible_when')).toEqual(['entities', 1, 'fields', 3, 'visible_when'])
    expect(parsePath('$.entities[0]["a b"]')).toEqual(['entities', 0, 'a b'])
    expect(parsePath('$')).toEqual([])
    expect(parsePath('entities')).toBeNull()
  })

  it('knows what lies inside a path', () => {
    expect(pathStartsWith('$.entities[1].fields[3].key', '$.entities[1]')).toBe(true)
    expect(pathStartsWith('$.entities[1]', '$.entities[1]')).toBe(true)
    expect(pathStartsWith('$.entities[10].key', '$.entities[1]')).toBe(false)
    expect(pathStartsWith('$.keys', '$.key')).toBe(false)
  })

  it('places every path in the designer', () => {
    expect(placeOf('$.entities[1].fields[3].visible_when')).toEqual({ kind: 'field', entity: 1, section: 'fields', index: 3, option: 'visible_when' })
    expect(placeOf('$.entities[1].steps[0].unlock_when')).toMatchObject({ kind: 'step', section: 'steps', index: 0 })
    expect(placeOf('$.entities[1].permissions[2].role')).toMatchObject({ kind: 'permission', section: 'roles', index: 2 })
    expect(placeOf('$.entities[1].steps')).toMatchObject({ kind: 'list', section: 'steps' })
    expect(placeOf('$.triggers[2].actions[0].to')).toEqual({ kind: 'trigger', section: 'triggers', index: 2, option: 'actions' })
    expect(placeOf('$.entities[1].title_field')).toMatchObject({ kind: 'entity', entity: 1, option: 'title_field' })
    expect(placeOf('$.entities[1].fields')).toMatchObject({ kind: 'entity', entity: 1 })
    expect(placeOf('$.roles[0]')).toMatchObject({ kind: 'app' })
    expect(placeOf('$.format')).toMatchObject({ kind: 'app', option: 'format' })
    expect(placeOf('nonsense')).toEqual({ kind: 'none' })
  })
})

describe('list', () => {
  it('reads only lists of objects', async () => {
    const { list } = await import('./paths.js')
    expect(list(undefined)).toEqual([])
    expect(list({ a: 1 })).toEqual([])
    expect(list([{ key: 'a' }, null, 'x'])).toEqual([{ key: 'a' }, {}, {}])
  })
})
