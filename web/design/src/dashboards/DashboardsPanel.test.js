import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { LANG } from '../i18n.js'
import { createDraftStore } from '../store.js'
import { parseRoute, formatRoute } from '../router.js'
import { placeOf } from '../paths.js'
import DashboardsPanel from './DashboardsPanel.vue'

function definition() {
  return {
    format: 'cairn.app/1', key: 'crm', label: 'CRM', roles: ['admin', 'manager', 'rep'],
    entities: [{
      key: 'opportunity', label: { zh: '商机', en: 'Opportunity' },
      fields: [{ key: 'amount', type: 'money', label: { zh: '金额', en: 'Amount' } }, { key: 'region', type: 'choice', label: { zh: '区域', en: 'Region' } }],
    }],
    dashboards: [{ key: 'work', label: '工作台', label_en: 'Workbench', widgets: [
      { key: 'total', type: 'number', label: '总额', entity: 'opportunity', measures: [{ key: 'n', agg: 'count' }], layout: { x: 0, y: 0, w: 3, h: 2 } },
    ] }],
  }
}

async function mountPanel({ doc = definition(), diagnostics = [], widget = null } = {}) {
  const api = {
    get: vi.fn(async () => ({ revision: { version: 1 }, definition: doc, diagnostics })),
    put: vi.fn(async () => ({ revision: { version: 2 }, diagnostics })),
    post: vi.fn(async (path, body) => {
      if (path === '/keys') return { key: 'xin' }
      if (path.endsWith('/dashboards/preview')) {
        if (body.widget.type === 'heatmap') throw { status: 422, text: () => 'A heatmap takes exactly 2 dimensions.', problem: { diagnostics: [] } }
        return { key: body.widget.key, type: body.widget.type, measures: [{ key: 'n', label: '数量', label_en: 'Count' }], rows: [], total: { values: { n: 42 } } }
      }
      return { diagnostics: [], names: [] }
    }),
  }
  const store = createDraftStore({ api, appId: 4 })
  await store.load()
  let wrapper = null
  wrapper = mount(DashboardsPanel, {
    props: { store, api, appId: 4, selectedIndex: 0, selectedWidget: widget, onSelect: (d, w) => wrapper.setProps({ selectedIndex: d, selectedWidget: w }) },
    global: { provide: { [LANG]: 'en' } },
    attachTo: document.body,
  })
  await flushPromises()
  return { api, store, wrapper }
}

// Mounting the panel (CodeMirror editors included) takes seconds on a loaded machine.
describe('the dashboards section', { timeout: 30000 }, () => {
  it('adds a dashboard and names it, roles and home page as edits', async () => {
    const { store, wrapper } = await mountPanel()
    await wrapper.find('[data-testid="add-dashboard"]').trigger('click')
    await flushPromises()
    expect(store.state.doc.dashboards.map((d) => d.key)).toEqual(['work', 'xin'])
    expect(wrapper.props('selectedIndex')).toBe(1)
    await wrapper.find('[data-testid="dashboard-label"] input[aria-label="Dashboard name (English)"]').setValue('Rep home')
    await wrapper.findAll('[data-testid="dashboard-home"] input')[2].setValue(true)
    await wrapper.findAll('[data-testid="dashboard-roles"] input')[1].setValue(true)
    expect(store.state.doc.dashboards[1]).toMatchObject({ key: 'xin', label_en: 'Rep home', home_for: ['rep'], roles: ['manager'] })
    store.undo()
    expect(store.state.doc.dashboards[1].roles).toBeUndefined()
    store.undo()
    expect(store.state.doc.dashboards[1].home_for).toBeUndefined()
    wrapper.unmount()
  })

  it('adds a widget, moves and resizes it with the keyboard, each one undoable', async () => {
    const { store, wrapper } = await mountPanel()
    await wrapper.find('[data-testid="new-widget-type"]').setValue('bar')
    await wrapper.find('[data-testid="add-widget"]').trigger('click')
    await flushPromises()
    const bar = store.state.doc.dashboards[0].widgets[1]
    expect(bar).toMatchObject({ key: 'bar', type: 'bar', entity: 'opportunity', dimensions: [{ key: 'region', field: 'region' }], layout: { x: 3, y: 0, w: 6, h: 4 } })
    expect(wrapper.props('selectedWidget')).toBe(1)
    const tile = wrapper.find('[data-testid="tile-bar"]')
    await tile.trigger('keydown', { key: 'ArrowDown' })
    await tile.trigger('keydown', { key: 'ArrowRight', shiftKey: true })
    expect(store.state.doc.dashboards[0].widgets[1].layout).toEqual({ x: 3, y: 1, w: 7, h: 4 })
    store.undo()
    expect(store.state.doc.dashboards[0].widgets[1].layout).toEqual({ x: 3, y: 1, w: 6, h: 4 })
    wrapper.unmount()
  })

  it('edits a measure, previews the widget, and shows a refusal in place', async () => {
    const { api, store, wrapper } = await mountPanel({ widget: 0 })
    await new Promise((r) => setTimeout(r, 450))
    await flushPromises()
    expect(api.post).toHaveBeenCalledWith('/apps/4/dashboards/preview', { widget: expect.objectContaining({ key: 'total', type: 'number' }) })
    expect(api.post.mock.calls.find((c) => c[0].endsWith('/preview'))[1].widget.layout).toBeUndefined()
    expect(wrapper.find('[data-testid="preview-table"]').text()).toContain('42')
    await wrapper.find('[aria-label="Aggregate of measure 1"]').setValue('sum')
    expect(store.state.doc.dashboards[0].widgets[0].measures[0]).toMatchObject({ agg: 'sum' })
    await wrapper.find('[data-testid="widget-type"]').setValue('heatmap')
    await new Promise((r) => setTimeout(r, 450))
    await flushPromises()
    expect(wrapper.find('[data-testid="preview-error"]').text()).toContain('exactly 2 dimensions')
    wrapper.unmount()
  })

  it('shows each server problem at its place', async () => {
    const diagnostics = [
      { path: '$.dashboards[0].widgets[0].dimensions', code: 'dimension_count', message: 'A number takes no dimension.', message_zh: '数字卡没有维度。' },
      { path: '$.dashboards[0].home_for[0]', code: 'unknown_role', message: 'No role boss.', message_zh: '没有角色 boss。' },
      { path: '$.dashboards[0].widgets[0].bogus', code: 'unknown_key', message: 'Unknown key bogus.', message_zh: '未知的键 bogus。' },
    ]
    const doc = definition()
    doc.dashboards[0].widgets[0].type = 'table'
    const { wrapper } = await mountPanel({ doc, diagnostics, widget: 0 })
    for (const p of diagnostics) {
      expect(wrapper.find(`[data-testid="problem"][data-path="${p.path}"]`).exists(), p.path).toBe(true)
    }
    expect(wrapper.find('[data-testid="tile-total"] .badge').text()).toBe('2')
    wrapper.unmount()
  })
})

describe('dashboards in the URL and in problems', () => {
  it('round-trips the dashboard and widget open', () => {
    for (const hash of ['#/apps/3/dashboards', '#/apps/3/dashboards/1', '#/apps/3/dashboards/1/2']) expect(formatRoute(parseRoute(hash))).toBe(hash)
    expect(parseRoute('#/apps/3/dashboards/1/2')).toMatchObject({ section: 'dashboards', item: 1, widget: 2, entity: null })
  })

  it('places a dashboard problem at its dashboard and widget', () => {
    expect(placeOf('$.dashboards[0].widgets[2].dimensions')).toEqual({ kind: 'dashboard', section: 'dashboards', index: 0, widget: 2, option: 'dimensions' })
    expect(placeOf('$.dashboards[1].home_for')).toMatchObject({ kind: 'dashboard', index: 1, widget: null, option: 'home_for' })
    expect(placeOf('$.dashboards')).toMatchObject({ kind: 'dashboard', index: null })
  })
})
