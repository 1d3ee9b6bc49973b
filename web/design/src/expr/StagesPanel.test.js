import { mount } from '@vue/test-utils'
import { reactive, nextTick } from 'vue'
import { describe, expect, it } from 'vitest'
import StagesPanel from './StagesPanel.vue'
import ExpressionEditor from './ExpressionEditor.vue'
import { LANG } from '../i18n.js'
import { fakeApi, fakeEdit, flush } from './testing.js'

function documentWithStages() {
  return reactive({
    format: 'cairn.app/1',
    key: 'sales',
    label: { zh: '销售', en: 'Sales' },
    entities: [
      { key: 'customer', label: '客户', fields: [] },
      {
        key: 'opportunity',
        label: { zh: '商机', en: 'Opportunity' },
        fields: [{ key: 'budget', type: 'money', label: '预算' }],
        stages: [
          { key: 'lead', label: { zh: '线索', en: 'Lead' }, exit_when: 'budget != null  # 预算已确认 | Budget confirmed', allow_skip_to: ['lost'] },
          { key: 'proposal', label: { zh: '方案', en: 'Proposal' }, allow_back: true },
          { key: 'lost', label: { zh: '输单', en: 'Lost' } },
        ],
      },
    ],
  })
}

function mountPanel(doc, extra = {}) {
  const { edit, labels } = fakeEdit(doc)
  const api = fakeApi()
    .reply('POST', /expressions\/check$/, () => ({ ok: true, type: 'boolean', diagnostics: [], names: [] }))
    .reply('POST', /^\/keys$/, (body) => ({ key: body.label === '赢单' ? 'ying_dan' : 'x' }))
  const wrapper = mount(StagesPanel, {
    attachTo: document.body,
    props: { appId: 3, api, entity: doc.entities[1], entityPath: '$.entities[1]', edit, ...extra },
    global: { provide: { [LANG]: 'en' } },
  })
  return { wrapper, edit, labels, api }
}

const keys = (doc) => doc.entities[1].stages.map((s) => s.key)

describe('StagesPanel', () => {
  it('reorders stages through edit, with buttons and with a drag', async () => {
    const doc = documentWithStages()
    const { wrapper, labels } = mountPanel(doc)
    const cards = () => wrapper.findAll('[data-testid="stage-card"]')
    expect(cards().map((c) => c.attributes('data-stage'))).toEqual(['lead', 'proposal', 'lost'])
    await cards()[0].find('[data-testid="stage-down"]').trigger('click')
    expect(keys(doc)).toEqual(['proposal', 'lead', 'lost'])
    expect(labels).toEqual(['Reorder stages'])
    await nextTick()
    expect(cards().map((c) => c.attributes('data-stage'))).toEqual(['proposal', 'lead', 'lost'])
    expect(cards()[0].find('[data-testid="stage-up"]').attributes('disabled')).toBeDefined()
    // A drag (SortableJS onEnd) of "lost" to the top: the DOM is put back and the document moved.
    const list = wrapper.find('ol.stage-list').element
    const item = list.children[2]
    list.insertBefore(item, list.children[0])
    wrapper.vm.onSortEnd({ item, from: list, oldIndex: 2, newIndex: 0 })
    expect(keys(doc)).toEqual(['lost', 'proposal', 'lead'])
    await nextTick()
    expect(cards().map((c) => c.attributes('data-stage'))).toEqual(['lost', 'proposal', 'lead'])
    wrapper.unmount()
  })

  it('folds a stage to its header, with its count of criteria and problems', async () => {
    const doc = documentWithStages()
    const problemsAt = (prefix) => [{ path: '$.entities[1].stages[0].label', code: 'required', message: 'label needed', message_zh: '需要名称' }]
      .filter((p) => p.path.startsWith(prefix))
    const { wrapper } = mountPanel(doc, { problemsAt })
    const first = () => wrapper.findAll('[data-testid="stage-card"]')[0]
    expect(first().findAllComponents(ExpressionEditor)).toHaveLength(1)
    await first().find('[data-testid="stage-fold"]').trigger('click')
    expect(first().find('[data-testid="stage-fold"]').attributes('aria-expanded')).toBe('false')
    expect(first().findAllComponents(ExpressionEditor)).toHaveLength(0)
    expect(first().text()).toContain('1 exit criteria')
    expect(first().text()).toContain('1 problem(s)')
    await first().find('[data-testid="stage-fold"]').trigger('click')
    expect(first().find('[data-testid="stage-label-en"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('edits labels, guidance and the move options', async () => {
    const doc = documentWithStages()
    const { wrapper } = mountPanel(doc)
    const first = () => wrapper.findAll('[data-testid="stage-card"]')[0]
    await first().find('[data-testid="stage-label-en"]').setValue('Prospect')
    expect(doc.entities[1].stages[0].label).toEqual({ zh: '线索', en: 'Prospect' })
    await first().find('[data-testid="stage-guidance-zh"]').setValue('确认预算')
    expect(doc.entities[1].stages[0].guidance).toEqual({ zh: '确认预算' })
    await first().find('[data-testid="allow-back"]').setValue(true)
    expect(doc.entities[1].stages[0].allow_back).toBe(true)
    await first().find('[data-testid="skip-lost"]').setValue(false)
    expect('allow_skip_to' in doc.entities[1].stages[0]).toBe(false)
    await first().find('[data-testid="skip-proposal"]').setValue(true)
    await first().find('[data-testid="skip-lost"]').setValue(true)
    expect(doc.entities[1].stages[0].allow_skip_to).toEqual(['proposal', 'lost'])
    // Only later stages are offered.
    const last = wrapper.findAll('[data-testid="stage-card"]')[2]
    expect(last.find('[data-testid="skip-lead"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('edits exit criteria as labelled parts written into exit_when', async () => {
    const doc = documentWithStages()
    const { wrapper } = mountPanel(doc)
    const first = () => wrapper.findAll('[data-testid="stage-card"]')[0]
    expect(first().findAll('[data-testid="exit-part"]')).toHaveLength(1)
    expect(first().find('[data-testid="part-label-en"]').element.value).toBe('Budget confirmed')
    await first().find('[data-testid="part-add"]').trigger('click')
    expect(first().findAll('[data-testid="exit-part"]')).toHaveLength(2)
    expect(doc.entities[1].stages[0].exit_when).toBe('budget != null  # 预算已确认 | Budget confirmed') // blank part not written
    const editors = first().findAllComponents(ExpressionEditor)
    editors[1].vm.$emit('update:modelValue', 'count(contacts) >= 2')
    await nextTick()
    const labels = first().findAll('[data-testid="part-label-zh"]')
    await labels[1].setValue('至少两位决策人')
    expect(doc.entities[1].stages[0].exit_when).toBe(
      'budget != null  # 预算已确认 | Budget confirmed\nand count(contacts) >= 2  # 至少两位决策人',
    )
    expect(first().findAll('[data-testid="exit-part"]')).toHaveLength(2)
    await first().findAll('[data-testid="part-remove"]')[0].trigger('click')
    expect(doc.entities[1].stages[0].exit_when).toBe('count(contacts) >= 2  # 至少两位决策人')
    await first().find('[data-testid="part-remove"]').trigger('click')
    expect('exit_when' in doc.entities[1].stages[0]).toBe(false)
    wrapper.unmount()
  })

  it('shows the server diagnostics of exit_when at their part, and other problems at the stage', async () => {
    const doc = documentWithStages()
    doc.entities[1].stages[1].exit_when = 'budget > 0  # A\nand amont > 0  # B'
    const problems = [
      { path: '$.entities[1].stages[1].exit_when', code: 'expression_unknown_name', message: 'unknown field `amont`',
        message_zh: '没有字段', detail: { line: 2, column: 5, end_line: 2, end_column: 10, suggestion: 'did you mean `amount`?' } },
      { path: '$.entities[1].stages[0].allow_skip_to[0]', code: 'unknown_reference', message: 'no stage `lost` after lead', message_zh: '无' },
      { path: '$.entities[1].stages[10].key', code: 'duplicate_key', message: 'not this stage', message_zh: '无' },
    ]
    const problemsAt = (prefix) => problems.filter((p) => p.path.startsWith(prefix))
    const { wrapper } = mountPanel(doc, { problemsAt })
    await flush()
    const second = wrapper.findAll('[data-testid="stage-card"]')[1]
    const editors = second.findAllComponents(ExpressionEditor)
    expect(editors[0].props('problems')).toEqual([])
    expect(editors[1].props('problems')[0].detail).toMatchObject({ line: 1, column: 1, end_column: 6 })
    const first = wrapper.findAll('[data-testid="stage-card"]')[0]
    expect(first.text()).toContain('no stage `lost` after lead')
    expect(wrapper.text()).not.toContain('not this stage')
    wrapper.unmount()
  })

  it('adds a stage with a key from its label and removes one with its skip references', async () => {
    const doc = documentWithStages()
    const { wrapper, api } = mountPanel(doc, { publishedKeys: ['lead'] })
    await wrapper.find('[data-testid="new-stage-zh"]').setValue('赢单')
    await wrapper.find('form.add-stage').trigger('submit')
    await flush()
    expect(api.calls.find((c) => c[1] === '/keys')[2]).toEqual({ label: '赢单', taken: ['lead', 'proposal', 'lost'] })
    expect(doc.entities[1].stages.at(-1)).toEqual({ key: 'ying_dan', label: { zh: '赢单' } })
    await nextTick()
    expect(wrapper.findAll('[data-testid="stage-key"]')[0].attributes('readonly')).toBeDefined()
    await wrapper.findAll('[data-testid="stage-remove"]')[2].trigger('click')
    expect(keys(doc)).toEqual(['lead', 'proposal', 'ying_dan'])
    expect('allow_skip_to' in doc.entities[1].stages[0]).toBe(false)
    wrapper.unmount()
  })
})
