import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { LANG } from '../i18n.js'
import { createDraftStore } from '../store.js'
import FormBuilder from './FormBuilder.vue'
import StepsBoard from './StepsBoard.vue'

function draft() {
  return {
    format: 'cairn.app/1', key: 'a', label: 'A',
    entities: [
      { key: 'customer', label: { zh: '客户' }, fields: [] },
      {
        key: 'visit', label: { zh: '拜访' },
        fields: [{ key: 'note', type: 'long_text', label: { zh: '竞品' } }, { key: 'pain', type: 'long_text', label: { zh: '痛点' } }],
        steps: [{ key: 'competitor', label: { zh: '竞品分析' }, fields: ['note'] }, { key: 'pain_points', label: { zh: '需求痛点' }, fields: ['pain'] }],
      },
    ],
  }
}

async function setup(Component, extra = {}) {
  const api = {
    get: vi.fn(async () => ({ revision: { version: 1 }, definition: draft(), diagnostics: [] })),
    put: vi.fn(async (p, body) => ({ revision: { version: body.version + 1 }, diagnostics: [] })),
    post: vi.fn(async (path, body) => (path === '/keys' ? { key: body.label === '金额' ? 'jin_e' : 'new_key' } : {})),
  }
  const store = createDraftStore({ api, appId: 1, debounceMs: 5 })
  await store.load()
  const wrapper = mount(Component, {
    props: { store, entityIndex: 1, api, appId: 1, designBase: '/design', ...extra },
    global: { provide: { [LANG]: 'zh' } },
  })
  return { api, store, wrapper }
}

describe('form builder', () => {
  it('adds a field of the chosen type with the key the server makes of its label', async () => {
    const { api, store, wrapper } = await setup(FormBuilder, { selected: 0 })
    await wrapper.find('select[aria-label="要添加的字段类型"]').setValue('money')
    await wrapper.findAll('button').find((b) => b.text() === '添加字段').trigger('click')
    await flushPromises()
    expect(api.post).toHaveBeenCalledWith('/keys', { label: '金额', taken: ['note', 'pain'] })
    // after the selected field, with the type's name as its label
    expect(store.state.doc.entities[1].fields.map((f) => f.key)).toEqual(['note', 'jin_e', 'pain'])
    expect(store.state.doc.entities[1].fields[1]).toEqual({ key: 'jin_e', type: 'money', label: { zh: '金额' } })
    expect(wrapper.emitted('select').at(-1)).toEqual([1])
    store.undo()
    expect(store.state.doc.entities[1].fields).toHaveLength(2)
  })

  it('moves a field with Alt+ArrowDown and removes it with its button', async () => {
    const { store, wrapper } = await setup(FormBuilder)
    await wrapper.find('[data-testid="field-note"]').trigger('keydown', { key: 'ArrowDown', altKey: true })
    expect(store.state.doc.entities[1].fields.map((f) => f.key)).toEqual(['pain', 'note'])
    await wrapper.find('button[aria-label="删除字段 竞品"]').trigger('click')
    expect(store.state.doc.entities[1].fields.map((f) => f.key)).toEqual(['pain'])
    expect(store.state.doc.entities[1].steps[0].fields).toEqual([]) // no card owns it any more
  })
})

describe('step cards', () => {
  it('the switch writes unlock_when and a locked message; a custom condition shows it off', async () => {
    const { store, wrapper } = await setup(StepsBoard)
    const switches = wrapper.findAll('input[role="switch"]')
    expect(switches[0].element.disabled).toBe(true) // the first card has no previous card
    await switches[1].setValue(true)
    const card = store.state.doc.entities[1].steps[1]
    expect(card.unlock_when).toBe('steps.competitor.done')
    expect(card.locked_message.zh).toBe('请先完成「竞品分析」')
    store.edit('custom', (d) => { d.entities[1].steps[1].unlock_when = 'steps.competitor.done and pain == null' })
    await flushPromises()
    expect(wrapper.findAll('input[role="switch"]')[1].element.checked).toBe(false)
    expect(wrapper.find('[data-testid="custom-unlock"]').text()).toContain('steps.competitor.done and pain == null')
    await wrapper.findAll('input[role="switch"]')[1].setValue(true)
    expect(store.state.doc.entities[1].steps[1].unlock_when).toBe('steps.competitor.done')
  })

  it('moves a field into another card with its select', async () => {
    const { store, wrapper } = await setup(StepsBoard)
    await wrapper.find('[data-testid="card-field-note"] select').setValue('1')
    expect(store.state.doc.entities[1].steps.map((s) => s.fields)).toEqual([[], ['pain', 'note']])
  })
})
