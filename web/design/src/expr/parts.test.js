import { describe, expect, it } from 'vitest'
import { decodeLabel, encodeLabel, joinParts, problemsInPart, splitParts } from './parts.js'

describe('exit criteria parts', () => {
  it('cuts at top-level `and` with the trailing comments as labels', () => {
    const source = 'budget_range != null   # 预算范围已确认 | Budget confirmed\n' +
      'and count(contacts where role in ["采购", "老板"] and x) >= 2     # 至少两位决策人参与'
    const parts = splitParts(source)
    expect(parts.map((p) => p.text)).toEqual([
      'budget_range != null',
      'count(contacts where role in ["采购", "老板"] and x) >= 2',
    ])
    expect(parts[0].label).toEqual({ zh: '预算范围已确认', en: 'Budget confirmed' })
    expect(parts[1].label).toEqual({ zh: '至少两位决策人参与', en: '' })
    expect([parts[1].line, parts[1].column]).toEqual([2, 5])
  })

  it('keeps a text with a top-level `or` (or strings holding "and") as one part', () => {
    expect(splitParts('a and b or c').map((p) => p.text)).toEqual(['a and b or c'])
    expect(splitParts('name == "x and y"').map((p) => p.text)).toEqual(['name == "x and y"'])
    expect(splitParts('(a or b) and c').map((p) => p.text)).toEqual(['(a or b)', 'c'])
    expect(splitParts('  ')).toEqual([])
  })

  it('joins parts back, bracketing an `or`, and round-trips', () => {
    const parts = [
      { text: 'budget != null', label: { zh: '预算已确认', en: 'Budget confirmed' } },
      { text: '', label: { zh: '空', en: '' } },
      { text: 'a or b', label: { zh: '', en: 'Either' } },
      { text: 'c and d', label: { zh: '丙丁', en: '' } },
    ]
    const { text, starts } = joinParts(parts)
    expect(text).toBe('budget != null  # 预算已确认 | Budget confirmed\nand (a or b)  # Either\nand (c and d)  # 丙丁')
    expect(starts).toEqual([{ line: 1, column: 1 }, null, { line: 2, column: 6 }, { line: 3, column: 6 }])
    const back = splitParts(text)
    expect(back.map((p) => p.text)).toEqual(['budget != null', '(a or b)', '(c and d)'])
    expect(back.map((p) => p.label)).toEqual([{ zh: '预算已确认', en: 'Budget confirmed' }, { zh: '', en: 'Either' }, { zh: '丙丁', en: '' }])
    expect(joinParts(back).text).toBe(text)
  })

  it('labels per locale in one comment', () => {
    expect(encodeLabel({ zh: '甲', en: 'A' })).toBe('甲 | A')
    expect(encodeLabel({ zh: '甲', en: '' })).toBe('甲')
    expect(decodeLabel('Budget')).toEqual({ zh: '', en: 'Budget' })
    expect(decodeLabel('')).toEqual({ zh: '', en: '' })
  })

  it('moves the server problems of the whole text to their part', () => {
    const source = 'a != null  # A\nand amont > 0  # B'
    const parts = splitParts(source)
    const problem = { path: '$.entities[0].stages[0].exit_when', code: 'expression_unknown_name', message: 'x',
      detail: { line: 2, column: 5, end_line: 2, end_column: 10, suggestion: 'did you mean `amount`?' } }
    expect(problemsInPart(source, parts, 0, [problem])).toEqual([])
    const [moved] = problemsInPart(source, parts, 1, [problem])
    expect(moved.detail).toMatchObject({ line: 1, column: 1, end_line: 1, end_column: 6 })
    expect(moved.suggestion).toBe('did you mean `amount`?')
    const wrapped = 'x\nand (amont or b)'
    const [inBrackets] = problemsInPart(wrapped, splitParts(wrapped), 1,
      [{ code: 'c', detail: { line: 2, column: 6, end_column: 11 } }], 'amont or b')
    expect(inBrackets.detail).toMatchObject({ line: 1, column: 1, end_column: 6 })
  })
})
