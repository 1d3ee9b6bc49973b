import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { LANG } from '../i18n.js'
import AppEditor from './AppEditor.vue'

function mountEditor(definition, diagnostics = [], section = 'fields') {
  const api = {
    get: vi.fn(async () => ({ revision: { version: 3 }, definition, diagnostics })),
    put: vi.fn(),
    post: vi.fn(async () => ({ key: 'k' })),
  }
  const wrapper = mount(AppEditor, {
    props: { api, apiBase: '/design/api', designBase: '/design', route: { view: 'app', appId: 5, entity: 0, section, item: null } },
    global: { provide: { [LANG]: 'en' } },
    attachTo: document.body,
  })
  return { api, wrapper }
}

describe('app editor', () => {
  it('opens whatever an import stored, without throwing', async () => {
    const { wrapper } = mountEditor({ format: 'x', key: 'a', label: 'A', entities: [{ key: 'e', label: 'E', fields: 'oops', steps: { a: 1 }, rules: 7 }, null] })
    await flushPromises()
    expect(wrapper.find('.canvas').exists()).toBe(true)
    expect(wrapper.findAll('.canvas .field-card')).toHaveLength(0)
    wrapper.unmount()
  })

  it('counts every problem, lists the ones without a place, and jumps to a field', async () => {
    const problems = [
      { path: '$.entities[0].fields[1].visible_when', code: 'expression_unknown_name', message: 'unknown field `amont`', message_zh: '没有字段 `amont`' },
      { path: 'somewhere odd', code: 'x', message: 'odd', message_zh: '怪' },
    ]
    const { wrapper } = mountEditor({ format: 'cairn.app/1', key: 'a', label: 'A', entities: [{ key: 'deal', label: 'Deal', fields: [{ key: 'amount', type: 'money', label: 'Amount' }, { key: 'note', type: 'text', label: 'Note', visible_when: 'amont > 0' }] }] }, problems)
    await flushPromises()
    expect(wrapper.find('[data-testid="problems-count"]').text()).toBe('Problems 2')
    expect(wrapper.find('.field-card[data-key="note"] [data-testid="problem"]').attributes('data-path')).toBe(problems[0].path)
    await wrapper.find('[data-testid="problems-count"]').trigger('click')
    const links = wrapper.findAll('[data-testid="problem-link"]')
    expect(links.map((l) => l.find('.where').text())).toEqual(['Deal › Note', '(no place in the designer)'])
    await links[0].trigger('click')
    expect(wrapper.emitted('go').at(-1)[0]).toMatchObject({ appId: 5, entity: 0, section: 'fields', item: 1 })
    wrapper.unmount()
  })
})
