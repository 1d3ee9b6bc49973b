import { mount } from '@vue/test-utils'
import { nextTick, reactive } from 'vue'
import { describe, expect, it } from 'vitest'
import RolesPanel from './RolesPanel.vue'
import ExpressionEditor from './ExpressionEditor.vue'
import { LANG } from '../i18n.js'
import { fakeApi, fakeEdit, flush } from './testing.js'

function storeDocument() {
  return reactive({
    format: 'cairn.app/1',
    key: 'store',
    label: 'Store',
    entities: [
      { key: 'customer', label: { zh: '客户', en: 'Customer' }, fields: [{ key: 'region', type: 'choice', options: ['east'], label: '区域' }] },
      { key: 'visit', label: { zh: '拜访', en: 'Visit' }, fields: [{ key: 'customer', type: 'link', target: 'customer', label: '客户' }] },
      { key: 'note', label: 'Note', fields: [] },
    ],
  })
}

function mountPanel(doc, extra = {}) {
  const { edit, labels } = fakeEdit(doc)
  const api = fakeApi()
    .reply('POST', /expressions\/check$/, () => ({ ok: true, type: 'boolean', diagnostics: [], names: [] }))
    .reply('POST', /^\/keys$/, () => ({ key: 'qu_yu_jing_li' }))
  const wrapper = mount(RolesPanel, {
    attachTo: document.body,
    props: { appId: 3, api, definition: doc, edit, ...extra },
    global: { provide: { [LANG]: 'en' } },
  })
  return { wrapper, labels, api }
}

const grid = (wrapper, entity) => wrapper.find(`[data-testid="entity-permissions"][data-entity="${entity}"]`)
const row = (wrapper, entity, role) => grid(wrapper, entity).find(`[data-testid="permission-row"][data-role="${role}"]`)

describe('RolesPanel', () => {
  it('shows the default roles and writes them when one is added, renamed or removed', async () => {
    const doc = storeDocument()
    const { wrapper, api } = mountPanel(doc)
    expect(wrapper.findAll('[data-testid="role-key"]').map((w) => w.element.value)).toEqual(['admin', 'manager', 'rep'])
    await wrapper.find('[data-testid="new-role"]').setValue('区域经理')
    await wrapper.find('form.add-role').trigger('submit')
    await flush()
    expect(api.calls.find((c) => c[1] === '/keys')[2]).toEqual({ label: '区域经理', taken: ['admin', 'manager', 'rep'] })
    expect(doc.roles).toEqual(['admin', 'manager', 'rep', 'qu_yu_jing_li'])
    await wrapper.find('[data-testid="new-role"]').setValue('rep')
    await wrapper.find('form.add-role').trigger('submit')
    await flush()
    expect(wrapper.find('[role="alert"]').text()).toBe('The role rep already exists.')
    doc.entities[1].permissions = [{ role: 'rep', create: true, read: true, update: true, delete: false }]
    await nextTick()
    await wrapper.findAll('[data-testid="role-key"]')[2].setValue('sales_rep')
    expect(doc.roles[2]).toBe('sales_rep')
    expect(doc.entities[1].permissions[0].role).toBe('sales_rep') // references follow the rename
    await wrapper.findAll('[data-testid="role-remove"]')[2].trigger('click')
    expect(doc.roles).toEqual(['admin', 'manager', 'qu_yu_jing_li'])
    expect(doc.entities[1].permissions).toEqual([])
    wrapper.unmount()
  })

  it('writes the permission keys of the grid', async () => {
    const doc = storeDocument()
    const { wrapper, labels } = mountPanel(doc)
    // Open entity: every box checked and disabled.
    const box = () => row(wrapper, 'visit', 'rep').find('[data-testid="perm-delete"]')
    expect(box().element.checked).toBe(true)
    expect(box().attributes('disabled')).toBeDefined()
    await grid(wrapper, 'visit').find('[data-testid="restrict"]').setValue(true)
    expect(doc.entities[1].permissions).toEqual(['admin', 'manager', 'rep'].map((role) => ({ role, create: true, read: true, update: true, delete: true })))
    await box().setValue(false)
    expect(doc.entities[1].permissions[2]).toEqual({ role: 'rep', create: true, read: true, update: true, delete: false })
    expect(labels).toEqual(['Limit access by role', 'Change permission'])
    // A role without an entry has no access; checking one box creates its entry.
    doc.entities[1].permissions.splice(1, 1)
    await nextTick()
    expect(row(wrapper, 'visit', 'manager').find('[data-testid="perm-read"]').element.checked).toBe(false)
    await row(wrapper, 'visit', 'manager').find('[data-testid="perm-read"]').setValue(true)
    expect(doc.entities[1].permissions[2]).toEqual({ role: 'manager', create: false, read: true, update: false, delete: false })
    await grid(wrapper, 'visit').find('[data-testid="restrict"]').setValue(false)
    expect('permissions' in doc.entities[1]).toBe(false)
    wrapper.unmount()
  })

  it('edits row conditions with quick picks, in the expression editor of kind row_condition', async () => {
    const doc = storeDocument()
    doc.entities[1].permissions = [{ role: 'rep', read_when: 'owner == me()' }]
    doc.entities[2].permissions = [{ role: 'rep' }]
    const { wrapper } = mountPanel(doc)
    const rep = row(wrapper, 'visit', 'rep')
    const editors = rep.findAllComponents(ExpressionEditor)
    expect(editors.map((e) => [e.props('kind'), e.props('modelValue')])).toEqual([['row_condition', 'owner == me()'], ['row_condition', '']])
    await rep.find('[data-testid="condition-write_when"] [data-testid="pick-region"]').trigger('click')
    expect(doc.entities[1].permissions[0].write_when).toBe('customer.region == me().region')
    await rep.find('[data-testid="condition-read_when"] [data-testid="pick-own"]').trigger('click')
    expect(doc.entities[1].permissions[0].read_when).toBe('owner == me()')
    editors[0].vm.$emit('update:modelValue', '')
    expect('read_when' in doc.entities[1].permissions[0]).toBe(false)
    // customer has its own region; note has none: the pick is disabled there.
    expect(wrapper.vm.sameRegion(doc.entities[0])).toBe('region == me().region')
    expect(row(wrapper, 'note', 'rep').find('[data-testid="pick-region"]').attributes('disabled')).toBeDefined()
    wrapper.unmount()
  })

  it('shows the diagnostics at their places, and entries of undeclared roles', async () => {
    const doc = storeDocument()
    doc.roles = ['admin', 'rep']
    doc.entities[1].permissions = [{ role: 'rep', read_when: 'ownr == me()' }, { role: 'boss' }]
    const problems = [
      { path: '$.entities[1].permissions[0].read_when', code: 'expression_unknown_name', message: 'unknown `ownr`', message_zh: '无', detail: { line: 1, column: 1, end_column: 5 } },
      { path: '$.entities[1].permissions[1].role', code: 'unknown_reference', message: 'no role `boss`', message_zh: '无' },
      { path: '$.roles[1]', code: 'reserved_name', message: 'bad role', message_zh: '无' },
    ]
    const problemsAt = (prefix) => problems.filter((p) => p.path.startsWith(prefix))
    const { wrapper } = mountPanel(doc, { problemsAt, entityPath: '$.entities[1]' })
    expect(wrapper.findAll('[data-testid="entity-permissions"]')).toHaveLength(1)
    const editor = row(wrapper, 'visit', 'rep').findAllComponents(ExpressionEditor)[0]
    expect(editor.props('problems').map((p) => p.code)).toEqual(['expression_unknown_name'])
    expect(row(wrapper, 'visit', 'boss').text()).toContain('no role `boss`')
    expect(row(wrapper, 'visit', 'boss').text()).toContain('(not a declared role)')
    expect(wrapper.findAll('[data-testid="role"]')[1].text()).toContain('bad role')
    await row(wrapper, 'visit', 'boss').find('[data-testid="entry-remove"]').trigger('click')
    expect(doc.entities[1].permissions).toEqual([{ role: 'rep', read_when: 'ownr == me()' }])
    wrapper.unmount()
  })
})
