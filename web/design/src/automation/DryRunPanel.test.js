import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api.js'
import { LANG } from '../i18n.js'
import DryRunPanel from './DryRunPanel.vue'

const REPORT = {
  trigger: 'need_timeout', on: 'elapsed', enabled: true,
  rollout: { zh: '所有人', en: 'everyone' },
  window: { days: 7 }, truncated: false, limit: 500,
  records: [
    {
      id: 12, title: '华联', url: '/a/sales/customer/12', would_fire: true, basis: 'current_values',
      why: { zh: '已到期', en: 'due at 2026-11-25 09:00' },
      actions: [
        { kind: 'notify', outcome: 'would_skip', cause: 'missing_manager',
          cause_text: { zh: '没有上级', en: 'The owner has no manager' },
          summary: { zh: '通知 owner.manager:跳过', en: 'notify owner.manager: skipped' } },
        { kind: 'set_field', outcome: 'would_run', summary: { zh: '设置 status', en: 'set status: ∅ → 待激活' },
          changes: [{ field: 'status', before: null, after: '待激活' }] },
      ],
    },
    { id: 9, title: '如意', url: '/a/sales/customer/9', would_fire: false, basis: 'history',
      why: { zh: '未到期', en: 'not due yet' }, actions: [] },
  ],
  summary: { checked: 2, would_fire: 1, would_skip: 1 },
}

function mountPanel(api, props = {}, lang = 'en') {
  return mount(DryRunPanel, {
    props: { appId: 5, api, triggerKey: 'need_timeout', ...props },
    global: { provide: { [LANG]: lang } },
  })
}

describe('DryRunPanel', () => {
  it('runs over the last N days with the draft and shows each record and action', async () => {
    let resolve
    const api = { post: vi.fn(() => new Promise((r) => { resolve = r })) }
    const definition = { key: 'sales', triggers: [] }
    const wrapper = mountPanel(api, { definition })
    await wrapper.find('[data-testid="dry-run-days"]').setValue(3)
    await wrapper.find('[data-testid="dry-run-run"]').trigger('click')
    expect(api.post).toHaveBeenCalledWith('/apps/5/triggers/need_timeout/dry-run', { days: 3, definition })
    expect(wrapper.find('[data-testid="dry-run-loading"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="dry-run-run"]').attributes('disabled')).toBeDefined()
    resolve(REPORT)
    await flushPromises()
    expect(wrapper.find('[data-testid="dry-run-loading"]').exists()).toBe(false)
    const rows = wrapper.findAll('[data-testid="dry-run-row"]')
    expect(rows).toHaveLength(2)
    expect(rows[0].find('.verdict').text()).toBe('✓')
    expect(rows[1].find('.verdict').text()).toBe('✗')
    expect(rows[0].text()).toContain('due at 2026-11-25 09:00')
    expect(rows[0].text()).toContain('on current values')
    const actions = rows[0].findAll('[data-testid="dry-run-action"]')
    expect(actions.map((a) => a.attributes('data-outcome'))).toEqual(['would_skip', 'would_run'])
    expect(actions[0].text()).toContain('The owner has no manager')
    expect(actions[1].text()).toContain('set status: ∅ → 待激活')
    expect(wrapper.find('[data-testid="dry-run-summary"]').text()).toContain('2 records checked: 1 would fire')
  })

  it('sends chosen record ids, validates input, and says when the list was cut', async () => {
    const api = { post: vi.fn(async () => ({ ...REPORT, truncated: true })) }
    const wrapper = mountPanel(api, { triggerKey: '', trigger: { key: 'need_timeout' } }, 'zh')
    await wrapper.find('[data-testid="dry-run-mode-records"]').setValue(true)
    await wrapper.find('[data-testid="dry-run-ids"]').setValue('12, x')
    await wrapper.find('[data-testid="dry-run-run"]').trigger('click')
    expect(api.post).not.toHaveBeenCalled()
    expect(wrapper.find('[data-testid="dry-run-error"]').text()).toContain('请输入记录编号')
    await wrapper.find('[data-testid="dry-run-ids"]').setValue('12，9 12')
    await wrapper.find('[data-testid="dry-run-run"]').trigger('click')
    await flushPromises()
    expect(api.post).toHaveBeenCalledWith('/apps/5/triggers/need_timeout/dry-run', { records: [12, 9] })
    expect(wrapper.find('[data-testid="dry-run-truncated"]').text()).toContain('500')
    expect(wrapper.find('[data-testid="dry-run-error"]').exists()).toBe(false)
  })

  it('refuses days out of range and shows server errors in the page language', async () => {
    const problem = { code: 'trigger_invalid', message: 'Trigger has problems', detail: 'Trigger has problems; fix them.',
      detail_zh: '触发器有错误,请先修正。', errors: { '$.triggers[0].when': ['unknown name'] } }
    const api = { post: vi.fn(async () => { throw new ApiError(422, problem) }) }
    const zh = mountPanel(api, {}, 'zh')
    await zh.find('[data-testid="dry-run-days"]').setValue(91)
    await zh.find('[data-testid="dry-run-run"]').trigger('click')
    expect(api.post).not.toHaveBeenCalled()
    expect(zh.find('[data-testid="dry-run-error"]').text()).toContain('天数应为 1 到 90')
    await zh.find('[data-testid="dry-run-days"]').setValue(7)
    await zh.find('[data-testid="dry-run-run"]').trigger('click')
    await flushPromises()
    expect(zh.find('[data-testid="dry-run-error"]').text()).toContain('触发器有错误')
    expect(zh.find('[data-testid="dry-run-error"]').text()).toContain('$.triggers[0].when')
    const en = mountPanel(api)
    await en.find('[data-testid="dry-run-run"]').trigger('click')
    await flushPromises()
    expect(en.find('[data-testid="dry-run-error"]').text()).toContain('Trigger has problems; fix them.')
  })

  it('says when the range holds no records', async () => {
    const api = { post: vi.fn(async () => ({ ...REPORT, records: [], summary: { checked: 0, would_fire: 0, would_skip: 0 } })) }
    const wrapper = mountPanel(api)
    await wrapper.find('[data-testid="dry-run-run"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="dry-run-empty"]').exists()).toBe(true)
  })
})
