import { mount } from '@vue/test-utils'
import { nextTick, reactive } from 'vue'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import AssignmentPanel from './AssignmentPanel.vue'
import { sliderRange } from './assignment.js'
import { LANG } from '../i18n.js'
import { fakeApi, fakeEdit } from '../expr/testing.js'
import { ApiError } from '../api.js'

function crm() {
  return reactive({
    format: 'cairn.app/1',
    key: 'crm',
    label: 'CRM',
    entities: [{ key: 'lead', label: { zh: '线索', en: 'Lead' }, fields: [{ key: 'region', type: 'text', label: '区域' }] }],
    assignment_rules: [
      {
        key: 'smart', label: { zh: '智能分配', en: 'Smart' }, entity: 'lead', field: 'owner', strategy: 'weighted',
        weights: [
          { key: 'region', label: { zh: '区域匹配', en: 'Region match' }, expression: 'me().region == region', weight: 40 },
          { key: 'load', label: { zh: '当前负载', en: 'Current load' }, expression: 'me().load', weight: -10 },
        ],
        fallback: ['least', 'turns'],
      },
      { key: 'least', label: 'Least', entity: 'lead', field: 'owner', strategy: 'least_loaded' },
      { key: 'turns', label: 'Turns', entity: 'lead', field: 'owner', strategy: 'round_robin' },
    ],
  })
}

// The fake server scores like the real one: east gets region·w + 2 leads × load weight, south 0.
function previewAnswer(body) {
  const rule = body.definition.assignment_rules[0]
  const [region, load] = rule.weights.map((w) => w.weight)
  const east = region + 2 * load
  const winner = east > 0 ? 1 : 2
  return {
    rule: 'smart', entity: 'lead', field: 'owner', strategy: 'weighted', users: { 1: 'East', 2: 'South' }, diagnostics: [],
    items: [
      { record_id: 7, title: '华东客户', user_id: winner, decided_by: 'smart', fallbacks_tried: [], summary: 's',
        explanation: { zh: `总分 ${Math.max(east, 0)}`, en: `total ${Math.max(east, 0)}` }, steps: [], pool: [], filtered_out: [] },
      { record_id: 8, title: '华南客户', user_id: 2, decided_by: 'smart', fallbacks_tried: [], summary: 's',
        explanation: { zh: '总分 40', en: 'total 40' }, steps: [], pool: [], filtered_out: [] },
    ],
  }
}

function mountPanel(doc = crm(), api = fakeApi().reply('POST', /assignment\/smart\/preview$/, previewAnswer)) {
  const { edit, labels } = fakeEdit(doc)
  const problems = [{ path: '$.assignment_rules[0].weights[1].expression', message: 'bad', message_zh: '不对' }]
  const problemsAt = (prefix) => problems.filter((p) => p.path === prefix || p.path.startsWith(prefix + '.') || p.path.startsWith(prefix + '['))
  const wrapper = mount(AssignmentPanel, {
    attachTo: document.body,
    props: { appId: 3, api, definition: doc, edit, problemsAt, debounceMs: 300 },
    global: { provide: { [LANG]: 'en' }, stubs: { Expr: { props: ['modelValue', 'problems', 'kind'], template: '<div class="expr-stub" :data-kind="kind">{{ modelValue }}<span v-for="p in problems" class="problem">{{ p.message }}</span></div>' } } },
  })
  return { wrapper, labels, api, doc, edit }
}

const previews = (api) => api.calls.filter((c) => /preview$/.test(c[1]))

describe('AssignmentPanel', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('writes a slider move as a weight through edit and refreshes the preview once, debounced', async () => {
    const { wrapper, labels, api, doc } = mountPanel()
    await vi.advanceTimersByTimeAsync(300)
    expect(previews(api)).toHaveLength(1)
    expect(previews(api)[0][2].definition.assignment_rules[0].weights[0].weight).toBe(40)
    expect(wrapper.find('[data-testid="preview-row-7"]').attributes('data-user')).toBe('1')
    const slider = wrapper.find('[data-testid="weight-slider-region"]')
    expect(slider.attributes('type')).toBe('range')
    expect(slider.attributes('aria-label')).toBe('Weight of Region match')
    for (const value of ['35', '25', '10']) {
      slider.element.value = value
      await slider.trigger('input')
      await vi.advanceTimersByTimeAsync(100) // quicker than the debounce: no call yet
    }
    expect(doc.assignment_rules[0].weights[0].weight).toBe(10)
    expect(labels.filter((l) => l === 'Weight')).toHaveLength(3)
    expect(wrapper.find('[data-testid="weight-value-region"]').element.value).toBe('10')
    expect(previews(api)).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(300)
    expect(previews(api)).toHaveLength(2) // one call for the three moves
    expect(previews(api)[1][2]).toMatchObject({ limit: 10 })
    expect(previews(api)[1][2].definition.assignment_rules[0].weights[0].weight).toBe(10)
    wrapper.unmount()
  })

  it('flags the rows whose assignee changed since the last preview', async () => {
    const { wrapper } = mountPanel()
    await vi.advanceTimersByTimeAsync(300)
    expect(wrapper.findAll('tr.changed')).toHaveLength(0)
    const number = wrapper.find('[data-testid="weight-value-region"]')
    await number.setValue('10')
    await vi.advanceTimersByTimeAsync(300)
    const row = wrapper.find('[data-testid="preview-row-7"]')
    expect(row.attributes('data-user')).toBe('2')
    expect(row.attributes('data-changed')).toBe('true')
    expect(row.text()).toContain('South')
    expect(row.text()).toContain('changed')
    expect(wrapper.find('[data-testid="preview-row-8"]').attributes('data-changed')).toBe('false')
    await number.setValue('11') // east still loses: nothing changes this time
    await vi.advanceTimersByTimeAsync(300)
    expect(wrapper.findAll('tr.changed')).toHaveLength(0)
    wrapper.unmount()
  })

  it('changes weights with the keyboard and keeps a fractional slider in its range', async () => {
    expect(sliderRange(0.6)).toEqual({ min: -1, max: 1, step: 0.05 })
    expect(sliderRange(40)).toEqual({ min: -100, max: 100, step: 1 })
    expect(sliderRange(250)).toEqual({ min: -300, max: 300, step: 1 })
    const doc = crm()
    doc.assignment_rules[0].weights[0].weight = 0.95
    const { wrapper } = mountPanel(doc)
    const slider = wrapper.find('[data-testid="weight-slider-region"]')
    slider.element.value = '1'
    await slider.trigger('input')
    await nextTick()
    expect(doc.assignment_rules[0].weights[0].weight).toBe(1)
    expect(wrapper.find('[data-testid="weight-slider-region"]').attributes('max')).toBe('1')
    wrapper.unmount()
  })

  it('reorders the fallback chain by keyboard and buttons, and adds and removes rules and factors', async () => {
    const api = fakeApi().reply('POST', /preview$/, previewAnswer).reply('POST', /^\/keys$/, (body) => ({ key: body.label.replace(/ /g, '_') }))
    const { wrapper, doc } = mountPanel(crm(), api)
    const items = () => wrapper.findAll('.fallback-item').map((w) => w.attributes('data-key'))
    expect(items()).toEqual(['least', 'turns'])
    await wrapper.findAll('.fallback-item')[0].trigger('keydown', { key: 'ArrowDown' })
    expect(doc.assignment_rules[0].fallback).toEqual(['turns', 'least'])
    await wrapper.find('[aria-label="Move least up"]').trigger('click')
    expect(doc.assignment_rules[0].fallback).toEqual(['least', 'turns'])
    await wrapper.find('[aria-label="Remove fallback turns"]').trigger('click')
    expect(doc.assignment_rules[0].fallback).toEqual(['least'])
    await wrapper.find('[data-testid="add-fallback"]').setValue('turns')
    expect(doc.assignment_rules[0].fallback).toEqual(['least', 'turns'])
    await wrapper.find('[data-testid="add-weight"]').trigger('click')
    await vi.advanceTimersByTimeAsync(0)
    expect(doc.assignment_rules[0].weights.map((w) => w.key)).toEqual(['region', 'load', 'factor_3'])
    expect(wrapper.find('[data-testid="weight-load"] .problem').text()).toBe('bad') // server diagnostics at their place
    expect(wrapper.find('[data-testid="weight-load"] .expr-stub').attributes('data-kind')).toBe('candidate_value')
    await wrapper.find('[data-testid="add-assignment-rule"]').trigger('click')
    await vi.advanceTimersByTimeAsync(0)
    expect(doc.assignment_rules.map((r) => r.key)).toEqual(['smart', 'least', 'turns', 'assign_4'])
    expect(wrapper.find('[data-testid="assignment-editor-assign_4"]').exists()).toBe(true)
    await wrapper.find('[data-testid="assignment-strategy"]').setValue('weighted')
    expect(doc.assignment_rules[3].weights).toHaveLength(1)
    await wrapper.find('[data-testid="assignment-rule-least"]').trigger('click')
    await wrapper.find('[data-testid="remove-assignment-rule"]').trigger('click')
    expect(doc.assignment_rules.map((r) => r.key)).toEqual(['smart', 'turns', 'assign_4'])
    expect(doc.assignment_rules[0].fallback).toEqual(['turns']) // references to the removed rule go too
    wrapper.unmount()
  })

  it('shows the server refusal of a preview in the page language', async () => {
    const api = fakeApi().reply('POST', /preview$/, () => {
      throw new ApiError(422, { code: 'rule_invalid', message: 'The rule has problems', message_zh: '规则有问题' })
    })
    const { wrapper } = mountPanel(crm(), api)
    await vi.advanceTimersByTimeAsync(300)
    expect(wrapper.find('[data-testid="preview-error"]').text()).toBe('The rule has problems')
    wrapper.unmount()
  })
})
