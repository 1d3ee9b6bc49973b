import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import App from './App.vue'
import { LANG } from './i18n.js'

function respond(body) {
  return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }))
}

describe('App', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('lists the apps in the page language', async () => {
    window.location.hash = ''
    vi.stubGlobal('fetch', vi.fn(() => respond({ items: [{ id: 1, key: 'visits', label: { zh: '拜访', en: 'Visits' }, published: null, draft: { id: 2, number: 1, version: 1 } }] })))
    for (const [lang, title, name] of [['en', 'Apps', 'Visits'], ['zh', '应用', '拜访']]) {
      const wrapper = mount(App, { props: { lang, api: '/design/api' }, global: { provide: { [LANG]: lang } } })
      await flushPromises()
      expect(wrapper.find('h1').text()).toBe(title)
      expect(wrapper.find('[data-testid="app-visits"]').text()).toContain(name)
      wrapper.unmount()
    }
    expect(fetch.mock.calls[0][0]).toBe('/design/api/apps')
  })
})
