import { describe, expect, it } from 'vitest'
import { assignField, cardOf, dependencyOf, moveStep, setStrong } from './steps.js'

const cards = () => [
  { key: 'checkin', fields: ['loc'] },
  { key: 'competitor', fields: ['note'] },
  { key: 'pain_points', fields: ['transcript'], locked_message: { zh: '请先完成竞品分析' } },
]

describe('strong dependency switch', () => {
  it('writes and reads exactly steps.<previous>.done', () => {
    const steps = cards()
    expect(dependencyOf(steps, 2)).toBe('none')
    setStrong(steps, 2, true)
    expect(steps[2].unlock_when).toBe('steps.competitor.done')
    expect(dependencyOf(steps, 2)).toBe('strong')
    setStrong(steps, 2, false)
    expect('unlock_when' in steps[2]).toBe(false)
    expect(steps[2].locked_message).toEqual({ zh: '请先完成竞品分析' })
  })

  it('shows a hand-written condition as custom, the switch off', () => {
    const steps = cards()
    steps[2].unlock_when = 'steps.checkin.done'
    expect(dependencyOf(steps, 2)).toBe('custom')
    steps[2].unlock_when = 'steps.competitor.done and 1 == 1'
    expect(dependencyOf(steps, 2)).toBe('custom')
    steps[2].unlock_when = '  steps.competitor.done '
    expect(dependencyOf(steps, 2)).toBe('strong')
  })

  it('has no previous card for the first card', () => {
    const steps = cards()
    setStrong(steps, 0, true)
    expect(steps[0].unlock_when).toBeUndefined()
    steps[0].unlock_when = 'steps.x.done'
    expect(dependencyOf(steps, 0)).toBe('custom')
  })

  it('keeps a strong card waiting for its new previous card when cards move', () => {
    const steps = cards()
    setStrong(steps, 2, true)
    steps[1].unlock_when = 'steps.pain_points.done and true'
    moveStep(steps, 2, 1) // pain_points now after checkin
    expect(steps.map((s) => s.key)).toEqual(['checkin', 'pain_points', 'competitor'])
    expect(steps[1].unlock_when).toBe('steps.checkin.done')
    expect(steps[2].unlock_when).toBe('steps.pain_points.done and true') // custom stays as written
    moveStep(steps, 1, 0)
    expect(steps[0].unlock_when).toBeUndefined()
  })
})

describe('fields of cards', () => {
  it('moves a field into one card only', () => {
    const steps = cards()
    assignField(steps, 'note', 2)
    expect(steps[1].fields).toEqual([])
    expect(steps[2].fields).toEqual(['transcript', 'note'])
    expect(cardOf(steps, 'note')).toBe(2)
    assignField(steps, 'note', null)
    expect(cardOf(steps, 'note')).toBeNull()
  })
})
