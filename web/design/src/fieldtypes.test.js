import { describe, expect, it } from 'vitest'
import { changeType, FIELD_TYPES, newField, newLabel, takes } from './fieldtypes.js'

describe('palette → field', () => {
  it('knows every field type of the metadata', () => {
    expect(FIELD_TYPES.map((t) => t.type).sort()).toEqual([
      'boolean', 'choice', 'date', 'datetime', 'duration', 'email', 'file', 'formula', 'integer', 'link',
      'location', 'long_text', 'money', 'multi_choice', 'number', 'percent', 'phone', 'photo', 'rating',
      'text', 'url', 'user',
    ])
  })

  it('creates a field valid for its type', () => {
    expect(newField('text', 'ming_cheng', { zh: '名称', en: 'Name' })).toEqual({ key: 'ming_cheng', type: 'text', label: { zh: '名称', en: 'Name' } })
    expect(newField('choice', 'c', { zh: '单选', en: 'Choice' }).options).toHaveLength(1)
    expect(newField('link', 'l', { zh: '关联', en: 'Link' }, { target: 'customer' }).target).toBe('customer')
    expect(newField('formula', 'f', { zh: '公式', en: 'Formula' }).formula).toBeTruthy()
  })

  it('numbers a label already taken', () => {
    expect(newLabel('text', [])).toEqual({ zh: '单行文本' })
    expect(newLabel('text', [{ label: { zh: '单行文本' } }])).toEqual({ zh: '单行文本 2' })
    expect(newLabel('money', [{ label: 'Money' }], 'en')).toEqual({ en: 'Money 2' })
  })

  it('offers only the options of the type and drops the others on a type change', () => {
    expect(takes('money', 'min')).toBe(true)
    expect(takes('text', 'min')).toBe(false)
    expect(takes('formula', 'required')).toBe(false)
    expect(takes('photo', 'multiple')).toBe(true)
    const field = { key: 'a', type: 'number', label: 'A', min: 0, required: true }
    changeType(field, 'choice')
    expect(field).toEqual({ key: 'a', type: 'choice', label: 'A', required: true, options: [{ value: '选项 1' }] })
  })
})
