import { describe, expect, it } from 'vitest'
import { completionsFor, offsetAt, suggestedName, toRange } from './support.js'

const NAMES = [
  { name: 'amount', kind: 'field', type: 'decimal', label: { zh: '金额', en: 'Amount' } },
  { name: 'steps.competitor.done', kind: 'step', type: 'boolean', label: { zh: '竞品', en: 'Competitor' } },
  { name: 'steps.competitor.done_at', kind: 'step', type: 'datetime', label: { zh: '竞品', en: 'Competitor' } },
  { name: 'visits', kind: 'collection', type: 'collection<visit>', label: { zh: '拜访', en: 'Visits' } },
  { name: 'count', kind: 'function', type: null, label: { zh: 'count', en: 'count' }, signature: 'count(collection) | count(list)', doc: 'How many' },
]

describe('support', () => {
  it('maps 1-based character columns to offsets', () => {
    expect(offsetAt('ab\ncd', 2, 2)).toBe(4)
    expect(offsetAt('😀x', 1, 2)).toBe(2) // one character, two UTF-16 units
    expect(offsetAt('ab', 9, 9)).toBe(2) // clamped
  })

  it('reads suggestions in both shapes', () => {
    expect(suggestedName('amount')).toBe('amount')
    expect(suggestedName('did you mean `competitor`?')).toBe('competitor')
    expect(suggestedName('check the spelling')).toBe(null)
    const range = toRange('amont > 0', { line: 1, column: 1, code: 'unknown_name', message: 'm', message_zh: '中' }, 'zh')
    expect(range).toMatchObject({ from: 0, to: 5, message: '中' }) // no end: the word
  })

  it('completes plain and dotted names, functions with their signatures', () => {
    expect(completionsFor('am', NAMES, 'en').options.map((o) => o.label)).toEqual(['amount'])
    const steps = completionsFor('steps.competitor.d', NAMES, 'en')
    expect(steps.offset).toBe('steps.competitor.'.length)
    expect(steps.options.map((o) => o.label)).toEqual(['done', 'done_at'])
    const [count] = completionsFor('cou', NAMES, 'en').options
    expect(count).toMatchObject({ label: 'count', type: 'function', detail: 'count(collection)', apply: 'count(' })
    expect(count.info).toBe('count(collection)\ncount(list)\nHow many')
    expect(completionsFor('vi', NAMES, 'zh').options[0]).toMatchObject({ detail: 'collection<visit>', info: '拜访' })
  })
})
