import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { reactive } from 'vue'
import { LANG } from '../i18n.js'
import { createDraftStore } from '../store.js'
import TriggersPanel from './TriggersPanel.vue'
import { insertPlaceholder, move, splitDuration } from './triggers.js'

function definition() {
  return {
    format: 'cairn.app/1', key: 'crm', label: 'CRM',
    entities: [{
      key: 'customer', label: { zh: '客户', en: 'Customer' },
      fields: [
        { key: 'name', type: 'text', label: { zh: '名称', en: 'Name' } },
        { key: 'status', type: 'choice', label: { zh: '状态', en: 'Status' }, options: ['活跃', '待激活'] },
        { key: 'due_at', type: 'datetime', label: { zh: '截止', en: 'Due' } },
      ],
      stages: [{ key: 'contact', label: '接触' }, { key: 'need_confirmation', label: '需求确认' }],
      steps: [{ key: 'need_confirmation', label: '需求确认', fields: ['name'] }],
    }],
    triggers: [{
      key: 'timeout', label: { zh: '超时', en: 'Overdue' }, entity: 'customer', on: { type: 'created' },
      actions: [
        { type: 'notify', channel: 'inbox', to: 'owner', message: { zh: '客户 ' } },
        { type: 'set_field', field: 'status', value: '"待激活"' },
      ],
    }],
  }
}

async function mountPanel(doc = definition(), diagnostics = []) {
  const api = {
    get: vi.fn(async () => ({ revision: { version: 1 }, definition: doc, diagnostics })),
    put: vi.fn(async () => ({ revision: { version: 2 }, diagnostics })),
    post: vi.fn(async (path, body) => {
      if (path.endsWith('/messages/preview')) return { rendered: '客户 华联', sample: 'record', record_id: 7, placeholders: ['name'], unknown: [] }
      if (path === '/schedules/next') {
        if (body.cron === 'bad') throw { status: 422, text: () => "'bad' is not a five-field cron expression" }
        return { cron: body.cron, timezone: body.timezone || 'Asia/Shanghai', times: ['2026-03-06T17:00:00+08:00', '2026-03-13T17:00:00+08:00'] }
      }
      return { key: 'new_trigger' }
    }),
  }
  const store = createDraftStore({ api, appId: 5, debounceMs: 100000 })
  await store.load()
  const edit = vi.spyOn(store, 'edit')
  const wrapper = mount(TriggersPanel, { props: { store, api, appId: 5 }, global: { provide: { [LANG]: 'en' } }, attachTo: document.body })
  await flushPromises()
  return { api, store, wrapper, edit }
}

const selectByLabel = (wrapper, name) => wrapper.find(`select[aria-label="${name}"]`)

describe('trigger helpers', () => {
  it('moves, splits durations and inserts placeholders at the caret', () => {
    const items = ['a', 'b', 'c']
    expect(move(items, 0, 2)).toBe(true)
    expect(items).toEqual(['b', 'c', 'a'])
    expect(move(items, 0, 5)).toBe(false)
    expect(splitDuration('48h')).toEqual({ amount: 48, unit: 'h' })
    expect(splitDuration('1d12h')).toBe(null)
    expect(insertPlaceholder('客户 已超时', 'name', 3)).toEqual({ text: '客户 {name}已超时', caret: 9 })
    expect(insertPlaceholder('ab', 'x', 0, 2).text).toBe('{x}')
  })
})

describe('triggers panel', () => {
  it('writes the keys of each event type through store.edit', async () => {
    const { store, wrapper, edit } = await mountPanel()
    const trigger = () => store.state.doc.triggers[0]
    await wrapper.find('[data-testid="event-type"]').setValue('elapsed')
    expect(trigger().on).toEqual({ type: 'elapsed', condition: 'true', since: 'stage_entered_at', after: '48h' })
    await selectByLabel(wrapper, 'Counted from').setValue('steps.need_confirmation.done_at')
    await wrapper.find('input[aria-label="Duration (amount)"]').setValue('2')
    await selectByLabel(wrapper, 'Duration (unit)').setValue('d')
    expect(trigger().on).toMatchObject({ since: 'steps.need_confirmation.done_at', after: '2d' })

    await wrapper.find('[data-testid="event-type"]').setValue('stage_changed')
    expect(trigger().on).toEqual({ type: 'stage_changed', to: 'contact' })
    await selectByLabel(wrapper, 'Stage').setValue('need_confirmation')
    await selectByLabel(wrapper, 'Entered or left').setValue('left')
    expect(trigger().on).toEqual({ type: 'stage_changed', from: 'need_confirmation', to: null })

    await wrapper.find('[data-testid="event-type"]').setValue('field_changed')
    await selectByLabel(wrapper, 'Field that changes').setValue('status')
    await wrapper.find('input[aria-label="To value"]').setValue('活跃, 待激活')
    expect(trigger().on).toEqual({ type: 'field_changed', field: 'status', to: ['活跃', '待激活'] })

    await wrapper.find('[data-testid="event-type"]').setValue('event')
    await wrapper.find('input[aria-label="Event sequence"]').setValue('product_page, white_paper pricing_exit')
    expect(trigger().on).toMatchObject({ type: 'event', sequence: ['product_page', 'white_paper', 'pricing_exit'], within: '3d' })

    await wrapper.find('[data-testid="event-type"]').setValue('schedule')
    await wrapper.find('[data-testid="cron"]').setValue('0 17 * * fri')
    await wrapper.find('input[aria-label="Time zone"]').setValue('Asia/Shanghai')
    expect(trigger().on).toEqual({ type: 'schedule', cron: '0 17 * * fri', timezone: 'Asia/Shanghai' })
    expect(wrapper.find('[data-testid="cron-hint"]').text()).toContain('weekday fri')

    await wrapper.find('[data-testid="event-type"]').setValue('step_completed')
    expect(trigger().on).toEqual({ type: 'step_completed', step: 'need_confirmation' })
    expect(edit.mock.calls.length).toBeGreaterThanOrEqual(14)
    store.undo()
    expect(trigger().on.type).toBe('schedule')
    wrapper.unmount()
  })

  it('adds, reorders (buttons and Alt+arrows) and removes actions through store.edit', async () => {
    const { store, wrapper, edit } = await mountPanel()
    const types = () => store.state.doc.triggers[0].actions.map((a) => a.type)
    await wrapper.find('button[aria-label="Move action 1 down"]').trigger('click')
    expect(types()).toEqual(['set_field', 'notify'])
    expect(edit).toHaveBeenLastCalledWith('Reorder actions', expect.any(Function))
    await wrapper.find('[data-testid="action-2"]').trigger('keydown', { key: 'ArrowUp', altKey: true })
    expect(types()).toEqual(['notify', 'set_field'])
    await wrapper.find('[data-testid="action-type"]').setValue('create_record')
    await wrapper.find('[data-testid="add-action"]').trigger('click')
    expect(store.state.doc.triggers[0].actions[2]).toEqual({ type: 'create_record', entity: 'customer', values: {} })
    await selectByLabel(wrapper, 'Due field of action 3').setValue('due_at')
    await selectByLabel(wrapper, 'Due in, action 3 (unit)').setValue('d')
    expect(store.state.doc.triggers[0].actions[2]).toMatchObject({ due_field: 'due_at', due_in: '1d' })
    await wrapper.find('button[aria-label="Remove action 1"]').trigger('click')
    expect(types()).toEqual(['set_field', 'create_record'])
    store.undo()
    expect(types()).toEqual(['notify', 'set_field', 'create_record'])
    wrapper.unmount()
  })

  it('adds a send_report action and edits its dashboard, widget and robot scope', async () => {
    const doc = definition()
    doc.dashboards = [{ key: 'weekly_review', label: '周五复盘', widgets: [{ key: 'topics', label: '议题', type: 'bar', entity: 'customer' }] }]
    const { store, wrapper } = await mountPanel(doc)
    await wrapper.find('[data-testid="action-type"]').setValue('send_report')
    await wrapper.find('[data-testid="add-action"]').trigger('click')
    const action = () => store.state.doc.triggers[0].actions[2]
    expect(action()).toEqual({ type: 'send_report', dashboard: 'weekly_review', channel: 'inbox', to_role: 'manager' })
    await selectByLabel(wrapper, 'Widget of action 3').setValue('topics')
    await wrapper.find('input[aria-label="Rows of action 3"]').setValue('3')
    expect(action()).toMatchObject({ widget: 'topics', top: 3 })
    expect(wrapper.find('select[aria-label="Scope role of action 3"]').exists()).toBe(false)
    await selectByLabel(wrapper, 'Channel of action 3').setValue('wecom')
    await selectByLabel(wrapper, 'Scope role of action 3').setValue('rep')
    expect(action()).toMatchObject({ channel: 'wecom', as_role: 'rep' })
    wrapper.unmount()
  })

  it('inserts placeholders where the caret was and previews on the server', async () => {
    const { api, store, wrapper } = await mountPanel()
    const zh = wrapper.find('textarea[aria-label="Message of action 1 (Chinese)"]')
    zh.element.focus()
    zh.element.setSelectionRange(3, 3)
    await wrapper.find('[data-testid="insert-placeholder"]').setValue('name')
    expect(store.state.doc.triggers[0].actions[0].message).toEqual({ zh: '客户 {name}' })
    await wrapper.find('button[data-testid="to-manager-1"]').trigger('click')
    expect(store.state.doc.triggers[0].actions[0].to).toBe('owner.manager')
    await wrapper.find('[data-testid="preview-message"]').trigger('click')
    await flushPromises()
    expect(api.post).toHaveBeenLastCalledWith('/apps/5/messages/preview', expect.objectContaining({ entity: 'customer', template: '客户 {name}' }))
    expect(wrapper.find('[data-testid="preview-text"]').text()).toBe('客户 华联')
    wrapper.unmount()
  })

  it('sets a choice field from its options and toggles enabled', async () => {
    const { store, wrapper } = await mountPanel()
    await selectByLabel(wrapper, 'Option of action 2').setValue('"活跃"')
    expect(store.state.doc.triggers[0].actions[1].value).toBe('"活跃"')
    await wrapper.find('[data-testid="trigger-enabled"]').setValue(false)
    expect(store.state.doc.triggers[0].enabled).toBe(false)
    await wrapper.find('[data-testid="trigger-key"]').setValue(' need_timeout ')
    expect(store.state.doc.triggers[0].key).toBe('need_timeout')
    await wrapper.find('[data-testid="trigger-enabled"]').setValue(true)
    expect('enabled' in store.state.doc.triggers[0]).toBe(false)
    wrapper.unmount()
  })

  it('adds a trigger and removes it', async () => {
    const { store, wrapper } = await mountPanel()
    await wrapper.find('[data-testid="add-trigger"]').trigger('click')
    await flushPromises()
    expect(store.state.doc.triggers[1]).toEqual({ key: 'new_trigger', label: { en: 'New trigger' }, entity: 'customer', on: { type: 'created' }, enabled: true, actions: [] })
    expect(wrapper.find('[data-testid="trigger-editor-new_trigger"]').exists()).toBe(true)
    await wrapper.find('.remove-row button.danger').trigger('click')
    await wrapper.find('[data-testid="confirm-remove-trigger"]').trigger('click')
    expect(store.state.doc.triggers).toHaveLength(1)
    wrapper.unmount()
  })

  it('shows each kind of server problem at its place', async () => {
    const doc = definition()
    doc.triggers[0].on = { type: 'elapsed', condition: 'stage == "need"', since: 'nothing', after: '48x' }
    doc.triggers[0].actions.push({ type: 'http_webhook', url: 'ftp://x' }, { type: 'bogus' })
    const problems = [
      { path: '$.triggers[0].on.after', code: 'invalid_value', message: "'48x' is not a duration", message_zh: '时长无效' },
      { path: '$.triggers[0].on.since', code: 'unknown_reference', message: 'customer has no field nothing', message_zh: '没有字段 nothing' },
      { path: '$.triggers[0].on.condition', code: 'expression_type', message: 'not a boolean', message_zh: '不是布尔值' },
      { path: '$.triggers[0].actions[0].to', code: 'invalid_value', message: 'say who receives it', message_zh: '请指定接收人' },
      { path: '$.triggers[0].actions[1].field', code: 'invalid_option', message: 'not writable', message_zh: '不可写' },
      { path: '$.triggers[0].actions[2].url', code: 'invalid_value', message: 'use an http URL', message_zh: '请用 http 地址' },
      { path: '$.triggers[0].actions[3].type', code: 'invalid_value', message: "unknown type 'bogus'", message_zh: '未知类型' },
      { path: '$.triggers[0].label', code: 'required', message: 'a label is required', message_zh: '需要名称' },
      { path: '$.triggers[0].on', code: 'invalid_option', message: 'customer has no stages', message_zh: '没有阶段' },
      { path: '$.triggers[0].actions[1].value', code: 'required', message: 'required', message_zh: '必填' },
    ]
    const { wrapper } = await mountPanel(doc, problems)
    const shown = wrapper.findAll('[data-testid="problem"]').map((p) => p.attributes('data-path'))
    expect(shown.sort()).toEqual(problems.map((p) => p.path).sort())
    const place = (path) => wrapper.find(`[data-testid="problem"][data-path="${path}"]`)
    expect(place('$.triggers[0].on.after').element.closest('[data-testid="trigger-event"]')).not.toBe(null)
    expect(place('$.triggers[0].actions[2].url').element.closest('[data-testid="action-3"]')).not.toBe(null)
    expect(place('$.triggers[0].actions[3].type').element.closest('[data-testid="action-4"]')).not.toBe(null)
    expect(wrapper.find('[data-testid="trigger-timeout"] .badge').text()).toBe('10')
    wrapper.unmount()
  })
})

describe('schedule', () => {
  it('reads the cron as the next times the server counts, or shows its refusal', async () => {
    const { api, wrapper } = await mountPanel()
    await wrapper.find('[data-testid="event-type"]').setValue('schedule')
    await wrapper.find('[data-testid="cron"]').setValue('0 17 * * fri')
    await new Promise((resolve) => setTimeout(resolve, 400))
    await flushPromises()
    expect(api.post).toHaveBeenLastCalledWith('/schedules/next', { cron: '0 17 * * fri', timezone: 'Asia/Shanghai' })
    const times = wrapper.find('[data-testid="schedule-times"]').text()
    expect(times).toContain('Next runs (Asia/Shanghai)')
    expect(times).toContain('17:00')
    expect(times).toMatch(/6 Mar/)
    await wrapper.find('[data-testid="cron"]').setValue('bad')
    await new Promise((resolve) => setTimeout(resolve, 400))
    await flushPromises()
    expect(wrapper.find('[data-testid="schedule-error"]').text()).toContain('not a five-field cron')
    wrapper.unmount()
  })
})

describe('the Triggers section of the editor', () => {
  it('lists trigger problems under Triggers and jumps to the trigger', async () => {
    const { default: AppEditor } = await import('../components/AppEditor.vue')
    const doc = definition()
    doc.triggers.push({ key: 'second', label: 'Second', entity: 'customer', on: 'created', actions: [{ type: 'assign', rule: 'none' }] })
    const problems = [{ path: '$.triggers[1].actions[0].rule', code: 'unknown_reference', message: 'no assignment rule none', message_zh: '没有分配规则 none' }]
    const api = { get: vi.fn(async () => ({ revision: { version: 1 }, definition: doc, diagnostics: problems })), put: vi.fn(), post: vi.fn() }
    const wrapper = mount(AppEditor, {
      props: { api, apiBase: '/design/api', designBase: '/design', route: { view: 'app', appId: 5, entity: 0, section: 'fields', item: null } },
      global: { provide: { [LANG]: 'en' } }, attachTo: document.body,
    })
    await flushPromises()
    expect(wrapper.find('[data-testid="rail-triggers"] .badge').text()).toBe('1')
    await wrapper.find('[data-testid="problems-count"]').trigger('click')
    const link = wrapper.find('[data-testid="problem-link"]')
    expect(link.find('.where').text()).toBe('Triggers › Second')
    await link.trigger('click')
    expect(wrapper.emitted('go').at(-1)[0]).toMatchObject({ section: 'triggers', entity: null, item: 1 })
    await wrapper.setProps({ route: { view: 'app', appId: 5, entity: null, section: 'triggers', item: 1 } })
    await flushPromises()
    expect(wrapper.find('[data-testid="trigger-editor-second"] [data-testid="problem"]').attributes('data-path')).toBe(problems[0].path)
    wrapper.unmount()
  })
})
