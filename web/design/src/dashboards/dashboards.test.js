import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createDraftStore } from '../store.js'
import {
  clamp, dimensionFields, freeSpot, layoutOf, layoutsOf, measureKind, moveWidget, newWidget, nudge, overlaps, place, previewBody, withKind,
} from './dashboards.js'
import { tableOf } from './preview.js'

const L = (x, y, w, h) => ({ x, y, w, h })
const noOverlap = (ls) => ls.every((a, i) => ls.every((b, j) => i === j || !overlaps(a, b)))

describe('the dashboard grid', () => {
  it('clamps a layout to the 12 columns, spans 1..12 and y ≥ 0', () => {
    expect(clamp(L(10, -2, 6, 20))).toEqual(L(6, 0, 6, 12))
    expect(clamp(L(-3, 1.6, 0, 'x'))).toEqual(L(0, 2, 1, 4))
    expect(layoutOf({})).toEqual(L(0, 0, 6, 4))
    expect(layoutOf({ layout: 'junk' })).toEqual(L(0, 0, 6, 4))
  })

  it('pushes the widgets in the way down and leaves the others where they are', () => {
    const before = [L(0, 0, 6, 4), L(6, 0, 6, 4), L(0, 4, 12, 2)]
    const after = place(before, 1, L(0, 2, 6, 4)) // onto the first widget's lower half
    expect(after[1]).toEqual(L(0, 2, 6, 4))
    expect(after[0]).toEqual(L(0, 6, 6, 4)) // pushed below the moved one
    expect(after[2]).toEqual(L(0, 10, 12, 2)) // and what it now overlaps, below it
    expect(noOverlap(after)).toBe(true)
    const clear = place(before, 2, L(0, 8, 12, 2))
    expect(clear.slice(0, 2)).toEqual(before.slice(0, 2))
  })

  it('resizes without overlapping (widening into a neighbour pushes it down)', () => {
    const widgets = [{ key: 'a', layout: L(0, 0, 6, 4) }, { key: 'b', layout: L(6, 0, 6, 4) }]
    moveWidget(widgets, 0, L(0, 0, 8, 4))
    expect(widgets[0].layout).toEqual(L(0, 0, 8, 4))
    expect(widgets[1].layout).toEqual(L(6, 4, 6, 4))
  })

  it('moves with the arrow keys and resizes with shift+arrows, within the grid', () => {
    const widgets = [{ key: 'a', layout: L(0, 0, 3, 2) }]
    expect(nudge(widgets, 0, 'ArrowRight')).toBe(true)
    nudge(widgets, 0, 'ArrowDown')
    expect(widgets[0].layout).toEqual(L(1, 1, 3, 2))
    nudge(widgets, 0, 'ArrowRight', true)
    nudge(widgets, 0, 'ArrowUp', true)
    expect(widgets[0].layout).toEqual(L(1, 1, 4, 1))
    nudge(widgets, 0, 'ArrowUp', true) // h stays ≥ 1
    nudge(widgets, 0, 'ArrowLeft')
    nudge(widgets, 0, 'ArrowLeft') // x stays ≥ 0
    expect(widgets[0].layout).toEqual(L(0, 1, 4, 1))
    expect(nudge(widgets, 0, 'Enter')).toBe(false)
  })

  it('shows widgets without a layout one after the other, and a move writes every layout', () => {
    const widgets = [{ key: 'a' }, { key: 'b', layout: L(0, 0, 3, 2) }, { key: 'c' }]
    expect(layoutsOf(widgets)).toEqual([L(0, 0, 6, 4), L(0, 0, 3, 2), L(6, 0, 6, 4)])
    moveWidget(widgets, 2, L(6, 1, 6, 4))
    expect(widgets.map((w) => w.layout)).toEqual([L(0, 0, 6, 4), L(0, 4, 3, 2), L(6, 1, 6, 4)])
  })

  it('finds the first free place for a new widget', () => {
    expect(freeSpot([], 6, 4)).toEqual(L(0, 0, 6, 4))
    expect(freeSpot([L(0, 0, 6, 4)], 6, 4)).toEqual(L(6, 0, 6, 4))
    expect(freeSpot([L(0, 0, 6, 4), L(6, 0, 6, 4)], 3, 2)).toEqual(L(0, 4, 3, 2))
  })
})

const customer = { key: 'customer', label: { zh: '客户' }, fields: [{ key: 'region', type: 'choice', label: { zh: '区域' } }, { key: 'spot', type: 'location' }] }
const opportunity = {
  key: 'opportunity', label: { zh: '商机' },
  fields: [{ key: 'amount', type: 'money' }, { key: 'customer', type: 'link', target: 'customer' }, { key: 'closed_on', type: 'date' }],
  stages: [{ key: 'contact' }, { key: 'closing' }],
}

describe('widgets', () => {
  it('offers fields, stage, owner, times and one link hop as dimensions', () => {
    const keys = dimensionFields(opportunity, [customer, opportunity]).map((c) => c.key)
    expect(keys).toEqual(['customer', 'closed_on', 'stage', 'owner', 'created_at', 'updated_at', 'customer.region'])
    expect(dimensionFields(opportunity, null).map((c) => c.key)).not.toContain('customer.region')
  })

  it('makes a new widget of a type with what its type needs, at a free place', () => {
    const bar = newWidget('bar', 'bar', opportunity, [{ layout: L(0, 0, 6, 4) }], 'zh')
    expect(bar).toMatchObject({ key: 'bar', type: 'bar', entity: 'opportunity', label: '柱状图', label_en: 'Bar', measures: [{ key: 'n', agg: 'count' }], layout: L(6, 0, 6, 4) })
    expect(bar.dimensions).toEqual([{ key: 'stage', field: 'stage' }])
    const heat = newWidget('heatmap', 'h', opportunity, [], 'en')
    expect(heat.dimensions.map((d) => d.key)).toEqual(['stage', 'customer'])
    expect(newWidget('number', 'n', opportunity, [], 'en')).not.toHaveProperty('dimensions')
    expect(newWidget('map', 'm', customer, [], 'en')).toMatchObject({ location: 'spot' })
    expect(newWidget('map', 'm', customer, [], 'en')).not.toHaveProperty('measures')
  })

  it('switches a measure between aggregate, ratio and conversion', () => {
    expect(measureKind({ key: 'n', agg: 'count' })).toBe('agg')
    expect(withKind({ key: 'r', agg: 'sum', of: 'amount', filter: 'x' }, 'ratio')).toEqual({ key: 'r', ratio: ['', ''] })
    expect(measureKind(withKind({ key: 'c' }, 'conversion'))).toBe('conversion')
    expect(withKind({ key: 'm', ratio: ['a', 'b'] }, 'agg')).toEqual({ key: 'm', agg: 'count' })
  })

  it('posts the widget for a preview without its layout', () => {
    const w = { key: 'a', type: 'number', layout: L(0, 0, 3, 2) }
    expect(previewBody(w)).toEqual({ key: 'a', type: 'number' })
    expect(w.layout).toBeDefined()
  })
})

describe('the preview table', () => {
  it('shows dimension labels and measure values per row, in the page language', () => {
    const result = {
      dimensions: [{ key: 'region', label: '区域', label_en: 'Region' }],
      measures: [{ key: 'n', label: '数量', label_en: 'Count' }],
      rows: [{ cell: { region: 'east' }, labels: { region: '华东' }, labels_en: { region: 'East' }, values: { n: 3 } }, { cell: { region: '' }, labels: {}, values: { n: 1 } }],
    }
    expect(tableOf(result, 'en')).toEqual({ head: ['Region', 'Count'], rows: [['East', '3'], ['—', '1']] })
    expect(tableOf(result, 'zh').rows[0]).toEqual(['华东', '3'])
  })

  it('shows a number card as its total and the previous period', () => {
    const result = { measures: [{ key: 'amount', label: '金额' }], rows: [], total: { values: { amount: 1200.5 }, previous: { amount: 900 } } }
    expect(tableOf(result, 'zh')).toEqual({ head: ['金额'], rows: [['1200.5'], ['900']] })
  })

  it('shows records, stages and a sentence', () => {
    expect(tableOf({ records: [{ id: 5, title: '华联', values: { name: '华联' } }] }, 'zh').rows).toEqual([['5', '华联', '华联']])
    expect(tableOf({ stages: [{ stage: 'contact', label: '接触', count: 4, conversion: 0.5 }] }, 'zh').rows).toEqual([['接触', '4', '0.5']])
    expect(tableOf({ sentence: '共 3 个', sentence_en: '3 in all', measures: [] }, 'en').sentence).toBe('3 in all')
  })
})

describe('dashboard edits in the draft store', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  function api(definition) {
    return {
      get: vi.fn(async () => ({ revision: { version: 1 }, definition, diagnostics: [] })),
      put: vi.fn(async (path, body) => ({ revision: { version: body.version + 1 }, diagnostics: [] })),
    }
  }

  it('undoes and redoes a drag, a resize and a measure edit, one step each', async () => {
    const doc = { key: 'a', entities: [opportunity], dashboards: [{ key: 'd', widgets: [{ key: 'a', type: 'number', layout: L(0, 0, 6, 2) }, { key: 'b', type: 'number', layout: L(6, 0, 6, 2) }] }] }
    const store = createDraftStore({ api: api(doc), appId: 1 })
    await store.load()
    const widgets = () => store.state.doc.dashboards[0].widgets
    store.edit('move', (d) => moveWidget(d.dashboards[0].widgets, 1, L(0, 1, 6, 2)))
    expect(widgets().map((w) => w.layout)).toEqual([L(0, 3, 6, 2), L(0, 1, 6, 2)])
    store.edit('resize', (d) => nudge(d.dashboards[0].widgets, 1, 'ArrowRight', true))
    store.edit('measure', (d) => { d.dashboards[0].widgets[1].measures = [{ key: 'amount', agg: 'sum', of: 'amount' }] })
    expect(store.state.undo.map((e) => e.label)).toEqual(['move', 'resize', 'measure'])
    store.undo()
    expect(widgets()[1].measures).toBeUndefined()
    store.undo()
    expect(widgets()[1].layout).toEqual(L(0, 1, 6, 2))
    store.undo()
    expect(widgets().map((w) => w.layout)).toEqual([L(0, 0, 6, 2), L(6, 0, 6, 2)])
    store.redo()
    store.redo()
    store.redo()
    expect(widgets()[1]).toMatchObject({ layout: L(0, 1, 7, 2), measures: [{ key: 'amount', agg: 'sum', of: 'amount' }] })
    await vi.advanceTimersByTimeAsync(800)
    expect(store.state.status).toBe('saved')
  })

  it('records nothing when a move changes nothing', async () => {
    const doc = { key: 'a', dashboards: [{ key: 'd', widgets: [{ key: 'a', type: 'number', layout: L(0, 0, 6, 2) }] }] }
    const store = createDraftStore({ api: api(doc), appId: 1 })
    await store.load()
    store.edit('move', (d) => nudge(d.dashboards[0].widgets, 0, 'ArrowLeft'))
    expect(store.state.undo).toHaveLength(0)
  })
})
