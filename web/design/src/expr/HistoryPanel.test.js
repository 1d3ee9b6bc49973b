import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import HistoryPanel from './HistoryPanel.vue'
import PublishDialog from './PublishDialog.vue'
import { LANG } from '../i18n.js'
import { fakeApi, flush } from './testing.js'

const REVISIONS = [
  { id: 14, number: 4, status: 'draft', created_at: '2026-11-30T08:00:00+00:00', created_by: 'Ann', updated_at: '2026-11-30T08:10:00+00:00', updated_by: 'Bo', published_at: null, published_by: null },
  { id: 13, number: 3, status: 'published', created_at: '2026-11-29T08:00:00+00:00', created_by: 'Ann', published_at: '2026-11-29T09:00:00+00:00', published_by: 'Ann' },
  { id: 12, number: 2, status: 'superseded', created_at: '2026-11-28T08:00:00+00:00', created_by: 'Ann', published_at: '2026-11-28T09:00:00+00:00', published_by: 'Cy' },
]

function api() {
  let items = REVISIONS
  return fakeApi()
    .reply('GET', /\/revisions$/, () => ({ items }))
    .reply('GET', /\/diff\?/, (_, path) => ({
      changes: path.includes('from=2&to=draft')
        ? [{ path: '$.entities[0].fields[0].label', kind: 'changed', what: { zh: '字段「金额」的标签由「金额」改为「订单金额」', en: 'The label of field “Amount” changed' }, before: { zh: '金额' }, after: { zh: '订单金额' } },
           { path: '$.entities[0].fields[3]', kind: 'removed', what: { zh: '删除字段「备注」', en: 'Field “Note” removed' } }]
        : [],
    }))
    .reply('POST', /\/revisions\/2\/rollback$/, () => {
      items = [{ id: 15, number: 5, status: 'published', published_at: '2026-11-30T09:00:00+00:00', published_by: 'Ann' }, ...REVISIONS.map((r) => ({ ...r, status: r.status === 'published' ? 'superseded' : r.status }))]
      return { revision: { number: 5 }, plan: { ok: true, steps: [], summary: {}, diagnostics: [] } }
    })
}

function mountPanel(fake) {
  return mount(HistoryPanel, { props: { appId: 9, api: fake }, global: { provide: { [LANG]: 'en' } } })
}

describe('HistoryPanel', () => {
  it('lists revisions with status, who and when', async () => {
    const wrapper = mountPanel(api())
    await flush()
    const rows = wrapper.findAll('[data-testid="revision"]')
    expect(rows.map((r) => r.attributes('data-number'))).toEqual(['4', '3', '2'])
    expect(rows[0].text()).toContain('Draft')
    expect(rows[0].text()).toContain('Bo')
    expect(rows[1].text()).toContain('Published')
    expect(rows[2].text()).toContain('Superseded')
    expect(rows[2].text()).toContain('Cy')
    // Only an earlier published revision can be rolled back to.
    expect(rows.map((r) => r.find('[data-testid="rollback"]').exists())).toEqual([false, false, true])
  })

  it('shows a readable diff between any two revisions', async () => {
    const fake = api()
    const wrapper = mountPanel(fake)
    await flush()
    expect(wrapper.find('[data-testid="diff-from"]').element.value).toBe('3')
    expect(wrapper.find('[data-testid="diff-to"]').element.value).toBe('draft')
    await wrapper.find('[data-testid="diff-from"]').setValue('2')
    await wrapper.find('form.diff-form').trigger('submit')
    await flush()
    expect(fake.calls.at(-1)).toEqual(['GET', '/apps/9/diff?from=2&to=draft', undefined])
    const changes = wrapper.findAll('[data-testid="change"]')
    expect(changes[0].text()).toContain('Changed')
    expect(changes[0].text()).toContain('The label of field “Amount” changed')
    expect(changes[0].text()).toContain('{"zh":"金额"} → {"zh":"订单金额"}')
    expect(changes[1].text()).toContain('Removed')
  })

  it('rolls back through the publish dialog and reloads the history', async () => {
    const fake = api()
    const wrapper = mountPanel(fake)
    await flush()
    await wrapper.findAll('[data-testid="revision"]')[2].find('[data-testid="rollback"]').trigger('click')
    await flush()
    const dialog = wrapper.findComponent(PublishDialog)
    expect(dialog.props()).toMatchObject({ rollbackTo: 2, publishedNumber: 3 })
    await dialog.find('[data-testid="publish"]').trigger('click')
    await flush()
    await flush()
    expect(fake.calls.some((c) => c[0] === 'POST' && c[1] === '/apps/9/revisions/2/rollback')).toBe(true)
    expect(wrapper.emitted('rolled-back')[0][0].revision.number).toBe(5)
    expect(wrapper.findAll('[data-testid="revision"]').map((r) => r.attributes('data-number'))).toEqual(['5', '4', '3', '2'])
    expect(wrapper.find('[data-testid="diff-from"]').element.value).toBe('5')
    await wrapper.find('[data-testid="history-close"]').trigger('click')
    expect(wrapper.emitted('close')).toHaveLength(1)
  })
})
