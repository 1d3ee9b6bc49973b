import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import PublishDialog from './PublishDialog.vue'
import { LANG } from '../i18n.js'
import { ApiError } from '../api.js'
import { fakeApi, flush } from './testing.js'

const SUMMARY = { created: 1, relabelled: 1, converted: 0, archived: 1, dropped: 0 }

function planFor({ confirm_drops: drops = [] }) {
  const dropping = drops.includes('visit.note')
  return {
    ok: true,
    diagnostics: [],
    destructive: dropping,
    summary: { ...SUMMARY, archived: dropping ? 0 : 1, dropped: dropping ? 1 : 0 },
    steps: [
      { kind: 'add_field', message: 'Add visit.amount', message_zh: '添加 visit.amount', destructive: false, rows: null, entity: 'visit', field: 'amount' },
      { kind: 'relabel_field', message: 'Relabel visit.title', message_zh: '重命名', destructive: false, rows: null, entity: 'visit', field: 'title' },
      dropping
        ? { kind: 'drop_field', message: 'Drop visit.note and its data', message_zh: '删除 visit.note 及其数据', destructive: true, rows: 42, entity: 'visit', field: 'note' }
        : { kind: 'archive_field', message: 'Archive visit.note', message_zh: '归档 visit.note', destructive: false, rows: 42, entity: 'visit', field: 'note' },
    ],
  }
}

function mountDialog(api, props = {}, options = {}) {
  return mount(PublishDialog, {
    ...options,
    props: { appId: 5, api, version: 8, ...props },
    global: { provide: { [LANG]: 'en' } },
  })
}

const publishButton = (w) => w.find('[data-testid="publish"]')

describe('PublishDialog', () => {
  it('shows the plan in words and numbers and publishes a safe plan', async () => {
    const api = fakeApi()
      .reply('POST', /\/plan$/, planFor)
      .reply('POST', /\/publish$/, () => ({ revision: { number: 4 }, plan: planFor({}) }))
    const wrapper = mountDialog(api, {}, { attachTo: document.body })
    await flush()
    expect(document.activeElement).toBe(wrapper.find('h2').element)
    expect(api.calls[0]).toEqual(['POST', '/apps/5/plan', { version: 8, confirm_drops: [] }])
    expect(wrapper.find('[data-testid="plan-summary"]').text()).toContain('1 created')
    expect(wrapper.find('[data-testid="plan-summary"]').text()).toContain('1 archived')
    const steps = wrapper.findAll('[data-testid="plan-step"]')
    expect(steps.map((s) => s.attributes('data-kind'))).toEqual(['add_field', 'relabel_field', 'archive_field'])
    expect(steps[2].text()).toContain('(42 row(s) affected)')
    expect(publishButton(wrapper).attributes('disabled')).toBeUndefined()
    await publishButton(wrapper).trigger('click')
    await flush()
    expect(api.calls.at(-1)).toEqual(['POST', '/apps/5/publish', { version: 8, confirm_drops: [] }])
    expect(wrapper.find('[data-testid="publish-done"]').text()).toBe('Published revision 4.')
    expect(wrapper.emitted('published')[0][0].revision.number).toBe(4)
    await wrapper.trigger('keydown', { key: 'Escape' })
    expect(wrapper.emitted('close')).toHaveLength(1)
    wrapper.unmount()
  })

  it('keeps Publish disabled until every destructive step is confirmed', async () => {
    const api = fakeApi()
      .reply('POST', /\/plan$/, planFor)
      .reply('POST', /\/publish$/, () => ({ revision: { number: 4 }, plan: planFor({ confirm_drops: ['visit.note'] }) }))
    const wrapper = mountDialog(api)
    await flush()
    await wrapper.find('[data-testid="drop-instead"]').setValue(true)
    await flush()
    expect(api.calls.at(-1)).toEqual(['POST', '/apps/5/plan', { version: 8, confirm_drops: ['visit.note'] }])
    const destructive = wrapper.findAll('[data-testid="plan-step"]').filter((s) => s.classes('destructive'))
    expect(destructive).toHaveLength(1)
    expect(destructive[0].text()).toContain('Destructive')
    expect(publishButton(wrapper).attributes('disabled')).toBeDefined()
    await publishButton(wrapper).trigger('click')
    expect(api.calls.filter((c) => c[1].endsWith('/publish'))).toEqual([]) // nothing sent
    await wrapper.find('[data-testid="confirm-step"]').setValue(true)
    expect(publishButton(wrapper).attributes('disabled')).toBeUndefined()
    await wrapper.find('[data-testid="confirm-step"]').setValue(false)
    expect(publishButton(wrapper).attributes('disabled')).toBeDefined()
    await wrapper.find('[data-testid="confirm-step"]').setValue(true)
    await publishButton(wrapper).trigger('click')
    await flush()
    expect(api.calls.at(-1)).toEqual(['POST', '/apps/5/publish', { version: 8, confirm_drops: ['visit.note'] }])
  })

  it('plans again when the draft is saved while the dialog is open', async () => {
    const api = fakeApi().reply('POST', /\/plan$/, planFor)
    const wrapper = mountDialog(api)
    await flush()
    await wrapper.find('[data-testid="drop-instead"]').setValue(true)
    await flush()
    await wrapper.find('[data-testid="confirm-step"]').setValue(true)
    await wrapper.setProps({ version: 9 })
    await flush()
    expect(api.calls.at(-1)).toEqual(['POST', '/apps/5/plan', { version: 9, confirm_drops: ['visit.note'] }])
    expect(wrapper.find('[data-testid="confirm-step"]').element.checked).toBe(false) // confirm again
    expect(publishButton(wrapper).attributes('disabled')).toBeDefined()
  })

  it('shows the draft diagnostics instead of publishing', async () => {
    const diagnostics = [
      { path: '$.entities[0].fields[1].visible_when', code: 'expression_unknown_name', message: 'unknown field `amont`', message_zh: '没有字段 `amont`' },
    ]
    const api = fakeApi().reply('POST', /\/plan$/, () => ({ ok: false, diagnostics, steps: [], destructive: false, summary: SUMMARY }))
    const wrapper = mountDialog(api)
    await flush()
    const box = wrapper.find('[data-testid="publish-problems"]')
    expect(box.text()).toContain('unknown field `amont`')
    expect(box.text()).toContain("can't be published")
    expect(wrapper.find('[data-testid="plan-steps"]').exists()).toBe(false)
    expect(publishButton(wrapper).attributes('disabled')).toBeDefined()
    await box.find('button').trigger('click')
    expect(wrapper.emitted('locate')[0]).toEqual(['$.entities[0].fields[1].visible_when'])
  })

  it('shows the diagnostics of a refused publish, and a conflict as its message', async () => {
    const diagnostics = [{ path: '$.entities[0].key', code: 'duplicate_key', message: 'two entities `visit`', message_zh: '重复' }]
    const api = fakeApi()
      .reply('POST', /\/plan$/, planFor)
      .reply('POST', /\/publish$/, () => { throw new ApiError(422, { code: 'draft_invalid', message: 'invalid', diagnostics }) })
    const wrapper = mountDialog(api)
    await flush()
    await publishButton(wrapper).trigger('click')
    await flush()
    expect(wrapper.find('[data-testid="publish-problems"]').text()).toContain('two entities `visit`')
    expect(wrapper.find('[data-testid="publish-done"]').exists()).toBe(false)

    const conflict = fakeApi()
      .reply('POST', /\/plan$/, planFor)
      .reply('POST', /\/publish$/, () => { throw new ApiError(409, { code: 'draft_conflict', message: 'Ann saved this draft at 10:42; reload', message_zh: '张三保存了草稿' }) })
    const other = mountDialog(conflict)
    await flush()
    await publishButton(other).trigger('click')
    await flush()
    expect(other.find('[data-testid="publish-error"]').text()).toBe('Ann saved this draft at 10:42; reload')
  })

  it('rolls back: shows what changes from the published revision, then the applied plan', async () => {
    const api = fakeApi()
      .reply('GET', /\/diff/, () => ({ changes: [{ path: '$.entities[0].fields[2]', kind: 'added', what: { zh: '添加字段「备注」', en: 'Field “Note” added' } }] }))
      .reply('POST', /\/rollback$/, () => ({ revision: { number: 6 }, plan: planFor({}) }))
    const wrapper = mountDialog(api, { version: null, rollbackTo: 3, publishedNumber: 5 })
    await flush()
    expect(api.calls[0]).toEqual(['GET', '/apps/5/diff?from=5&to=3', undefined])
    expect(wrapper.find('[data-testid="rollback-changes"]').text()).toContain('Field “Note” added')
    await publishButton(wrapper).trigger('click')
    await flush()
    expect(api.calls.at(-1)).toEqual(['POST', '/apps/5/revisions/3/rollback', { confirm_drops: [] }])
    expect(wrapper.find('[data-testid="publish-done"]').text()).toBe('Published revision 6.')
    expect(wrapper.findAll('[data-testid="plan-step"]')).toHaveLength(3)
  })
})
