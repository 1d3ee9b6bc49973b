import { describe, expect, it } from 'vitest'
import { chartOption, drillLinks, formatDelta, formatValue, renderWidget, WIDGET_TYPES } from './render.js'

const drill = drillLinks({ list: '/a/sales/opportunity/', record: '/a/sales/opportunity/0', dashboard: 'workbench', widget: 'w' })

function box() {
  const el = document.createElement('div')
  Object.defineProperty(el, 'clientWidth', { value: 600 })
  Object.defineProperty(el, 'clientHeight', { value: 300 })
  document.body.append(el)
  return el
}

const count = { key: 'n', label: '数量', label_en: 'Count', format: 'integer' }
const region = { key: 'region', label: '区域', label_en: 'Region' }
const stage = { key: 'stage', label: '阶段', label_en: 'Stage' }

function row(cell, labels, labelsEn, values) {
  return { cell, labels, labels_en: labelsEn, values }
}

const BY_REGION = [
  row({ region: 'east' }, { region: '华东' }, { region: 'East' }, { n: 12 }),
  row({ region: 'north' }, { region: '华北' }, { region: 'North' }, { n: 5 }),
  row({ region: '' }, { region: '' }, { region: '' }, { n: 1 }),
]

const RESULTS = {
  number: {
    key: 'visits', type: 'number', label: '本周拜访', label_en: 'Visits this week', dimensions: [], measures: [count], rows: [],
    total: { values: { n: 40 }, previous: { n: 31 }, delta: { n: 0.29 } },
  },
  bar: { key: 'w', type: 'bar', dimensions: [region], measures: [count], rows: BY_REGION },
  line: { key: 'w', type: 'line', dimensions: [region], measures: [count], rows: BY_REGION },
  area: { key: 'w', type: 'area', dimensions: [region], measures: [count], rows: BY_REGION },
  pie: { key: 'w', type: 'pie', dimensions: [region], measures: [count], rows: BY_REGION },
  funnel: {
    key: 'w', type: 'funnel', dimensions: [], measures: [],
    stages: [
      { stage: 'contact', label: '接触', label_en: 'Contact', count: 50, conversion: 1.0 },
      { stage: 'proposal', label: '方案', label_en: 'Proposal', count: 20, conversion: 0.4 },
    ],
  },
  heatmap: {
    key: 'w', type: 'heatmap', dimensions: [region, stage], measures: [count],
    rows: [
      row({ region: 'east', stage: 'proposal' }, { region: '华东', stage: '方案' }, { region: 'East', stage: 'Proposal' }, { n: 12 }),
      row({ region: 'east', stage: 'contact' }, { region: '华东', stage: '接触' }, { region: 'East', stage: 'Contact' }, { n: 3 }),
      row({ region: 'north', stage: 'proposal' }, { region: '华北', stage: '方案' }, { region: 'North', stage: 'Proposal' }, { n: 7 }),
    ],
  },
  table: { key: 'w', type: 'table', dimensions: [region], measures: [count], rows: BY_REGION },
  map: {
    key: 'w', type: 'map', dimensions: [], measures: [],
    points: [
      { id: 5, title: '上海一店', lat: 31.2, lng: 121.4, category: 'customer' },
      { id: 6, title: '杭州竞品', lat: 30.3, lng: 120.2, category: 'competitor' },
    ],
  },
  sentence: {
    key: 'w', type: 'sentence', dimensions: [], measures: [count],
    sentence: '142 个客户处于方案阶段', sentence_en: '142 customers are at the proposal stage',
  },
}

describe('formatting', () => {
  it('formats figures by the measure format and signs deltas', () => {
    expect(formatValue(1234, 'integer', 'en')).toBe('1,234')
    expect(formatValue(0.5, 'percent', 'en')).toBe('50%')
    expect(formatValue(12.5, 'money', 'en')).toBe('12.50')
    expect(formatValue(null, 'integer', 'en')).toBe('—')
    expect(formatDelta(0.29, 'en')).toBe('+29%')
    expect(formatDelta(-0.1, 'en')).toBe('-10%')
  })
})

describe('drillLinks', () => {
  it('makes list addresses with the drill cell, and record addresses', () => {
    expect(drill({ cell: { region: '华东', stage: 'proposal' } })).toBe(
      '/a/sales/opportunity/?drill=workbench.w&cell.region=%E5%8D%8E%E4%B8%9C&cell.stage=proposal',
    )
    expect(drill({ cell: { region: '' } })).toBe('/a/sales/opportunity/?drill=workbench.w&cell.region=')
    expect(drill({ cell: {} })).toBe('/a/sales/opportunity/?drill=workbench.w')
    expect(drill({ record: 17 })).toBe('/a/sales/opportunity/17')
  })
})

describe('renderWidget', () => {
  it('renders every one of the ten widget types', () => {
    expect(WIDGET_TYPES).toHaveLength(10)
    for (const type of WIDGET_TYPES) {
      const el = box()
      renderWidget(el, RESULTS[type], { lang: 'zh', drillUrl: drill, renderer: 'svg', size: { width: 600, height: 300 } })
      expect(el.dataset.widgetType).toBe(type)
      expect(el.children.length, type).toBeGreaterThan(0)
      expect(el.querySelector('.dw-empty, .dw-error'), type).toBeNull()
    }
  })

  it('shows a number card with its delta and links the figure to its records', () => {
    const el = box()
    renderWidget(el, RESULTS.number, { lang: 'en', drillUrl: drill })
    const value = el.querySelector('a.dw-value')
    expect(value.textContent).toBe('40')
    expect(value.getAttribute('href')).toBe('/a/sales/opportunity/?drill=workbench.w')
    expect(el.querySelector('.dw-delta').classList.contains('dw-delta-up')).toBe(true)
    expect(el.querySelector('.dw-delta').textContent).toContain('+29%')
    expect(el.querySelector('.dw-delta').textContent).toContain('31')
  })

  it('links every cell of an aggregate table and labels null values', () => {
    const el = box()
    renderWidget(el, RESULTS.table, { lang: 'zh', drillUrl: drill })
    const cells = [...el.querySelectorAll('tbody tr')]
    expect(cells.map((tr) => tr.querySelector('td').textContent)).toEqual(['华东', '华北', '(空)'])
    expect(cells[0].querySelector('a').getAttribute('href')).toContain('cell.region=east')
    expect(cells[2].querySelector('a').getAttribute('href')).toMatch(/cell\.region=$/)
    renderWidget(el, RESULTS.table, { lang: 'en', drillUrl: drill })
    expect(el.querySelector('th').textContent).toBe('Region')
    expect(el.querySelector('tbody td').textContent).toBe('East')
  })

  it('lists the records of a TOP-N table, each linked to its page', () => {
    const el = box()
    const result = {
      key: 'top', type: 'table', dimensions: [], measures: [],
      columns: [{ key: 'region', label: '区域', label_en: 'Region' }, { key: 'potential', label: '潜力', label_en: 'Potential' }],
      records: [
        { id: 3, title: '星巴克', values: { region: 'east', potential: 90 }, labels: { region: '华东' }, labels_en: { region: 'East' } },
        { id: 9, title: '瑞幸', values: { region: 'north', potential: 80 }, labels: { region: '华北' } },
      ],
    }
    renderWidget(el, result, { lang: 'zh', drillUrl: drill })
    const links = [...el.querySelectorAll('a.dw-record')]
    expect(links.map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['星巴克', '/a/sales/opportunity/3'],
      ['瑞幸', '/a/sales/opportunity/9'],
    ])
    expect([...el.querySelectorAll('tbody tr')[0].querySelectorAll('td')].map((td) => td.textContent)).toEqual(['星巴克', '华东', '90'])
    // A column repeating the record's title (its link) is not shown twice.
    const titled = { ...result, columns: [{ key: 'name', label: '名称' }, ...result.columns],
      records: result.records.map((r) => ({ ...r, values: { ...r.values, name: r.title } })) }
    renderWidget(el, titled, { lang: 'zh', drillUrl: drill })
    expect([...el.querySelectorAll('th')].map((th) => th.textContent)).toEqual(['记录', '区域', '潜力'])
  })

  it('writes the sentence in the page language, without links in a preview', () => {
    const el = box()
    renderWidget(el, RESULTS.sentence, { lang: 'en' })
    expect(el.textContent).toBe('142 customers are at the proposal stage')
    expect(el.querySelector('a')).toBeNull()
  })

  it('says there is no data instead of drawing an empty chart', () => {
    const el = box()
    renderWidget(el, { ...RESULTS.bar, rows: [] }, { lang: 'en', renderer: 'svg', size: { width: 600, height: 300 } })
    expect(el.querySelector('.dw-empty').textContent).toBe('No data')
  })

  it('draws a chart and opens the drill address of the clicked item', () => {
    const el = box()
    const opened = []
    const chart = renderWidget(el, RESULTS.bar, { lang: 'zh', drillUrl: drill, renderer: 'svg', size: { width: 600, height: 300 }, navigate: (u) => opened.push(u) })
    expect(chart).not.toBeNull()
    expect(el.querySelector('svg')).not.toBeNull()
    chart.trigger('click', { data: { url: '/x?drill=workbench.w&cell.region=east' } })
    expect(opened).toEqual(['/x?drill=workbench.w&cell.region=east'])
    expect(el.dwLocate({ cell: { region: 'north' } })).toHaveLength(2)
  })
})

describe('chartOption', () => {
  it('puts a drill address on every bar, in the page language', () => {
    const option = chartOption(RESULTS.bar, { lang: 'en', drillUrl: drill })
    expect(option.yAxis.minInterval).toBe(1)
    expect(option.xAxis.data).toEqual(['East', 'North', '(empty)'])
    expect(option.series[0].data.map((d) => d.value)).toEqual([12, 5, 1])
    expect(option.series[0].data[1].url).toBe('/a/sales/opportunity/?drill=workbench.w&cell.region=north')
  })

  it('makes an area chart a filled line, and splits a second dimension into series', () => {
    expect(chartOption(RESULTS.area, { drillUrl: drill }).series[0].areaStyle).toEqual({})
    const two = chartOption({ ...RESULTS.heatmap, type: 'line' }, { lang: 'zh', drillUrl: drill })
    expect(two.xAxis.data).toEqual(['华东', '华北'])
    expect(two.series.map((s) => s.name)).toEqual(['方案', '接触'])
    expect(two.series[0].data.map((d) => d.value)).toEqual([12, 7])
    expect(two.series[1].data.map((d) => d.value)).toEqual([3, null])
  })

  it('links every pie slice', () => {
    const option = chartOption(RESULTS.pie, { lang: 'zh', drillUrl: drill })
    expect(option.series[0].data.map((d) => [d.name, d.value])).toEqual([['华东', 12], ['华北', 5], ['(空)', 1]])
    expect(option.series[0].data.every((d) => d.url.includes('drill=workbench.w'))).toBe(true)
  })

  it('links every funnel stage by its stage key', () => {
    const option = chartOption(RESULTS.funnel, { lang: 'en', drillUrl: drill })
    expect(option.series[0].data.map((d) => [d.name, d.value, d.url])).toEqual([
      ['Contact', 50, '/a/sales/opportunity/?drill=workbench.w&cell.stage=contact'],
      ['Proposal', 20, '/a/sales/opportunity/?drill=workbench.w&cell.stage=proposal'],
    ])
  })

  it('places heatmap cells on the two dimensions and links each cell', () => {
    const option = chartOption(RESULTS.heatmap, { lang: 'zh', drillUrl: drill })
    expect(option.xAxis.data).toEqual(['华东', '华北'])
    expect(option.yAxis.data).toEqual(['方案', '接触'])
    expect(option.series[0].data.map((d) => d.value)).toEqual([[0, 0, 12], [0, 1, 3], [1, 0, 7]])
    expect(option.series[0].data[2].url).toBe('/a/sales/opportunity/?drill=workbench.w&cell.region=north&cell.stage=proposal')
    expect(option.visualMap.max).toBe(12)
    expect(option.visualMap.show).toBe(false)
  })

  it('plots map points on their coordinates, one series per category, each linked to its record', () => {
    const option = chartOption(RESULTS.map, { lang: 'zh', drillUrl: drill })
    expect(option.series.map((s) => s.name)).toEqual(['customer', 'competitor'])
    const labelled = { ...RESULTS.map, points: RESULTS.map.points.map((p) => ({ ...p, category_label: `${p.category}-zh`, category_label_en: `${p.category}-en` })) }
    expect(chartOption(labelled, { lang: 'en' }).series.map((s) => s.name)).toEqual(['customer-en', 'competitor-en'])
    expect(option.series[0].data[0].value).toEqual([121.4, 31.2])
    expect(option.series[1].data[0].url).toBe('/a/sales/opportunity/6')
    expect(option.xAxis.min).toBeLessThan(120.2)
    expect(option.xAxis.max).toBeGreaterThan(121.4)
  })
})

describe('tooltips', () => {
  it('escape labels and titles (they are users\' data, shown as HTML)', () => {
    const result = { ...RESULTS.map, points: [{ id: 1, title: '<img src=x onerror=alert(1)>', lat: 1, lng: 2, category: '' }] }
    const option = chartOption(result, { drillUrl: drill })
    const text = option.tooltip.formatter({ data: option.series[0].data[0], seriesName: '' })
    expect(text).toBe('&lt;img src=x onerror=alert(1)&gt;')
    const bar = chartOption({ ...RESULTS.bar, rows: [row({ region: 'x' }, { region: '<b>' }, {}, { n: 1 })] }, { drillUrl: drill })
    expect(bar.tooltip.formatter([{ name: '<b>', seriesName: '数量', seriesIndex: 0, value: 1 }])).toBe('&lt;b&gt;<br>数量: 1')
  })
})
