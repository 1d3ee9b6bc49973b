// Renders one dashboard widget from its WidgetResult JSON (runtime/dashboards): the
// dashboard pages and the designer's preview share this module.
//
//   renderWidget(el, result, { lang, drillUrl, renderer })
//
// `lang` is 'zh' (default) or 'en'. `drillUrl(target)` returns the address behind a
// figure, or null for none: target is `{ cell }` for an aggregate (a bar, slice, heatmap
// cell, funnel stage — `cell` is the row's raw values; `{}` for a number card's total) and
// `{ record: id }` for a record (a record-table row, a map point). Without `drillUrl`
// nothing is a link (the designer's preview). `renderer` is 'canvas' (default) or 'svg';
// `size` ({width, height}) fixes the chart's size where the page has no layout (tests).
//
// Number cards, tables and sentences are plain HTML (links are real <a> elements); the
// charts are ECharts, each data item carrying its `url`, opened on click. Only the ECharts
// parts used here are imported, to keep the bundle small.
import * as echarts from 'echarts/core'
import { BarChart, FunnelChart, HeatmapChart, LineChart, PieChart, ScatterChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components'
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers'

echarts.use([
  BarChart, FunnelChart, HeatmapChart, LineChart, PieChart, ScatterChart,
  GridComponent, LegendComponent, TooltipComponent, VisualMapComponent,
  CanvasRenderer, SVGRenderer,
])

export const WIDGET_TYPES = ['number', 'bar', 'line', 'area', 'pie', 'funnel', 'heatmap', 'table', 'map', 'sentence']
const CHARTS = new Set(['bar', 'line', 'area', 'pie', 'funnel', 'heatmap', 'map'])

const TEXT = {
  empty: { zh: '(空)', en: '(empty)' },
  noData: { zh: '暂无数据', en: 'No data' },
  previous: { zh: '上期', en: 'previous' },
  conversion: { zh: '转化率', en: 'conversion' },
  record: { zh: '记录', en: 'Record' },
  unknownType: { zh: '不支持的部件类型', en: 'Unsupported widget type' },
}

export function t(key, lang) {
  return TEXT[key][lang === 'en' ? 'en' : 'zh']
}

/** The label of anything carrying label / label_en, in `lang`. */
export function labelOf(item, lang) {
  if (!item) return ''
  return (lang === 'en' ? item.label_en || item.label : item.label || item.label_en) || item.key || ''
}

/** The display label of a row's dimension `key` ("" is the null value). */
export function cellLabel(row, key, lang) {
  const labels = (lang === 'en' ? row.labels_en : row.labels) || row.labels || {}
  const value = labels[key] ?? row.cell?.[key]
  return value === '' || value === null || value === undefined ? t('empty', lang) : String(value)
}

/** A figure in the measure's format (integer | decimal | percent | money). */
export function formatValue(value, format, lang) {
  if (value === null || value === undefined || value === '') return '—'
  const number = Number(value)
  if (!Number.isFinite(number)) return String(value)
  const locale = lang === 'en' ? 'en-US' : 'zh-CN'
  switch (format) {
    case 'percent':
      return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(number)
    case 'money':
      return new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(number)
    case 'decimal':
      return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(number)
    default:
      return new Intl.NumberFormat(locale, { maximumFractionDigits: Number.isInteger(number) ? 0 : 2 }).format(number)
  }
}

/** A delta (a ratio: 0.29 → "+29%"), signed. */
export function formatDelta(delta, lang) {
  if (delta === null || delta === undefined || !Number.isFinite(Number(delta))) return ''
  const locale = lang === 'en' ? 'en-US' : 'zh-CN'
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(Number(delta))
}

/** Text made safe for ECharts' HTML tooltips (labels and titles are users' data). */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

function link(drillUrl, target) {
  if (typeof drillUrl !== 'function') return null
  return drillUrl(target) || null
}

function measureFormat(result, key) {
  return (result.measures || []).find((m) => m.key === key)?.format || 'integer'
}

function element(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

function linkOrSpan(url, className, text) {
  const node = element(url ? 'a' : 'span', className, text)
  if (url) node.href = url
  return node
}

// --------------------------------------------------------------------------- HTML widgets

function renderNumber(el, result, lang, drillUrl) {
  const total = result.total || { values: {} }
  const box = element('div', 'dw-number')
  const url = link(drillUrl, { cell: {} })
  for (const m of result.measures || []) {
    const item = element('div', 'dw-figure')
    const value = linkOrSpan(url, 'dw-value', formatValue(total.values?.[m.key], m.format, lang))
    value.dataset.measure = m.key
    item.append(value)
    if ((result.measures || []).length > 1) item.append(element('span', 'dw-measure', labelOf(m, lang)))
    const delta = total.delta?.[m.key]
    if (delta !== undefined && delta !== null) {
      const sign = Number(delta) > 0 ? 'up' : Number(delta) < 0 ? 'down' : 'flat'
      const deltaEl = element('span', `dw-delta dw-delta-${sign}`, formatDelta(delta, lang))
      const previous = total.previous?.[m.key]
      if (previous !== undefined) {
        deltaEl.title = `${t('previous', lang)}: ${formatValue(previous, m.format, lang)}`
        deltaEl.append(element('small', 'dw-previous', ` ${t('previous', lang)} ${formatValue(previous, m.format, lang)}`))
      }
      item.append(deltaEl)
    }
    box.append(item)
  }
  el.append(box)
}

function renderSentence(el, result, lang, drillUrl) {
  const text = (lang === 'en' ? result.sentence_en || result.sentence : result.sentence || result.sentence_en) || ''
  const p = element('p', 'dw-sentence')
  p.append(linkOrSpan(link(drillUrl, { cell: {} }), 'dw-sentence-text', text))
  el.append(p)
}

function recordColumns(result) {
  if (Array.isArray(result.columns) && result.columns.length) {
    return result.columns.map((c) => (typeof c === 'string' ? { key: c, label: c } : c))
  }
  const keys = []
  for (const r of result.records || []) for (const k of Object.keys(r.values || {})) if (!keys.includes(k)) keys.push(k)
  return keys.map((k) => ({ key: k, label: k }))
}

function renderTable(el, result, lang, drillUrl) {
  const wrap = element('div', 'dw-table-wrap')
  const table = element('table', 'dw-table')
  const head = element('tr')
  const body = element('tbody')
  if (Array.isArray(result.records)) {
    // The first column is the record's title (its link); a column repeating it is left out.
    const columns = recordColumns(result).filter((c) => !(result.records.length && result.records.every((r) => {
      const shown = ((lang === 'en' ? r.labels_en || r.labels : r.labels) || {})[c.key] ?? r.values?.[c.key]
      return String(shown ?? '') === String(r.title ?? '')
    })))
    head.append(element('th', null, t('record', lang)))
    for (const c of columns) head.append(element('th', null, labelOf(c, lang)))
    for (const r of result.records) {
      const tr = element('tr')
      tr.dataset.record = r.id
      const first = element('td')
      first.append(linkOrSpan(link(drillUrl, { record: r.id }), 'dw-record', r.title || `#${r.id}`))
      tr.append(first)
      const shown = (lang === 'en' ? r.labels_en || r.labels : r.labels) || {}
      for (const c of columns) {
        const value = shown[c.key] ?? r.values?.[c.key]
        tr.append(element('td', null, value === null || value === undefined ? '' : String(value)))
      }
      body.append(tr)
    }
  } else {
    const dims = result.dimensions || []
    const measures = result.measures || []
    for (const d of dims) head.append(element('th', null, labelOf(d, lang)))
    for (const m of measures) head.append(element('th', 'dw-num', labelOf(m, lang)))
    for (const row of result.rows || []) {
      const tr = element('tr')
      const url = link(drillUrl, { cell: row.cell || {} })
      for (const d of dims) tr.append(element('td', null, cellLabel(row, d.key, lang)))
      for (const m of measures) {
        const td = element('td', 'dw-num')
        td.append(linkOrSpan(url, 'dw-cell', formatValue(row.values?.[m.key], m.format, lang)))
        tr.append(td)
      }
      body.append(tr)
    }
  }
  const thead = element('thead')
  thead.append(head)
  table.append(thead, body)
  if (!body.children.length) {
    el.append(element('p', 'dw-empty', t('noData', lang)))
    return
  }
  wrap.append(table)
  el.append(wrap)
}

// --------------------------------------------------------------------------- chart options

const PALETTE = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d']

function tooltip(trigger, measures = [], lang = 'zh') {
  const base = { trigger, confine: true }
  if (trigger !== 'axis') return base
  // Plain lines (the default adds markers with inline styles, which the page's CSP refuses).
  return {
    ...base,
    formatter: (items) => {
      const list = Array.isArray(items) ? items : [items]
      const head = esc(list[0]?.name)
      const lines = list.map((p) => {
        const format = measures[p.seriesIndex]?.format || measures[0]?.format
        return `${esc(p.seriesName)}: ${esc(formatValue(Array.isArray(p.value) ? p.value[1] : p.value, format, lang))}`
      })
      return [head, ...lines].join('<br>')
    },
  }
}

function categoryAxis(data, narrow) {
  return { type: 'category', data, axisLabel: { hideOverlap: true, rotate: narrow && data.length > 4 ? 30 : 0 } }
}

/** A value axis; counts and other whole numbers get whole-number ticks. */
function valueAxis(measures = []) {
  const whole = measures.length > 0 && measures.every((m) => (m?.format || 'integer') === 'integer')
  return whole ? { type: 'value', minInterval: 1 } : { type: 'value' }
}

function seriesByMeasure(result, lang, drillUrl, type, extra = {}) {
  const dim = result.dimensions?.[0]?.key
  const rows = result.rows || []
  return (result.measures || []).map((m) => ({
    type,
    name: labelOf(m, lang),
    ...extra,
    data: rows.map((row) => ({
      value: row.values?.[m.key] ?? null,
      url: link(drillUrl, { cell: row.cell || {} }),
      cell: row.cell || {},
      label: dim ? cellLabel(row, dim, lang) : '',
    })),
  }))
}

function cartesian(result, lang, drillUrl, kind, narrow) {
  const dims = result.dimensions || []
  const rows = result.rows || []
  const type = kind === 'bar' ? 'bar' : 'line'
  const extra = kind === 'area' ? { areaStyle: {}, smooth: false } : {}
  if (dims.length >= 2 && kind !== 'bar') {
    // Line/area with a second dimension: one series per value of the second.
    const [x, s] = [dims[0].key, dims[1].key]
    const m = result.measures[0]
    const xs = [], xLabels = [], names = [], byName = new Map()
    for (const row of rows) {
      const xv = row.cell?.[x] ?? ''
      if (!xs.includes(xv)) { xs.push(xv); xLabels.push(cellLabel(row, x, lang)) }
      const sv = row.cell?.[s] ?? ''
      if (!byName.has(sv)) { byName.set(sv, new Map()); names.push([sv, cellLabel(row, s, lang)]) }
      byName.get(sv).set(xv, row)
    }
    return {
      color: PALETTE,
      tooltip: tooltip('axis', [m], lang),
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 8, right: 8, top: 16, bottom: 36 },
      xAxis: categoryAxis(xLabels, narrow),
      yAxis: valueAxis([m]),
      series: names.map(([sv, name]) => ({
        type, name, ...extra,
        data: xs.map((xv) => {
          const row = byName.get(sv).get(xv)
          return row
            ? { value: row.values?.[m.key] ?? null, url: link(drillUrl, { cell: row.cell }), cell: row.cell }
            : { value: null, url: null, cell: null }
        }),
      })),
    }
  }
  const dim = dims[0]?.key
  const series = seriesByMeasure(result, lang, drillUrl, type, extra)
  return {
    color: PALETTE,
    tooltip: tooltip('axis', result.measures || [], lang),
    legend: series.length > 1 ? { type: 'scroll', bottom: 0 } : undefined,
    grid: { left: 8, right: 8, top: 16, bottom: series.length > 1 ? 36 : 8 },
    xAxis: categoryAxis(rows.map((row) => (dim ? cellLabel(row, dim, lang) : '')), narrow),
    yAxis: valueAxis(result.measures),
    series,
  }
}

function pie(result, lang, drillUrl) {
  const dim = result.dimensions?.[0]?.key
  const m = result.measures?.[0]
  return {
    color: PALETTE,
    tooltip: { ...tooltip('item'), formatter: (p) => `${esc(p.name)}: ${esc(formatValue(p.value, m?.format, lang))} (${p.percent}%)` },
    legend: { type: 'scroll', bottom: 0 },
    series: [{
      type: 'pie',
      name: labelOf(m, lang),
      radius: ['35%', '65%'],
      center: ['50%', '45%'],
      label: { formatter: '{b}' },
      data: (result.rows || []).map((row) => ({
        name: dim ? cellLabel(row, dim, lang) : '',
        value: row.values?.[m?.key] ?? 0,
        url: link(drillUrl, { cell: row.cell || {} }),
        cell: row.cell || {},
      })),
    }],
  }
}

function funnel(result, lang, drillUrl) {
  const stages = result.stages || []
  return {
    color: PALETTE,
    tooltip: {
      ...tooltip('item'),
      formatter: (p) => {
        const s = p.data.stage
        const conv = s && s.conversion !== null && s.conversion !== undefined ? ` · ${t('conversion', lang)} ${formatValue(s.conversion, 'percent', lang)}` : ''
        return esc(`${p.name}: ${formatValue(p.value, 'integer', lang)}${conv}`)
      },
    },
    series: [{
      type: 'funnel',
      sort: 'none',
      left: '5%', width: '90%', top: 8, bottom: 8,
      minSize: '40%',
      gap: 2,
      label: { position: 'inside', color: '#fff', textBorderColor: 'rgba(0,0,0,.35)', textBorderWidth: 2,
        formatter: (p) => `${p.name} ${formatValue(p.value, 'integer', lang)}` },
      data: stages.map((s) => ({
        name: labelOf(s, lang) || s.stage,
        value: s.count ?? 0,
        url: link(drillUrl, { cell: { stage: s.stage } }),
        cell: { stage: s.stage },
        stage: s,
      })),
    }],
  }
}

/** Distinct values of dimension `key` in row order, with their labels. */
function axisValues(rows, key, lang) {
  const values = [], labels = []
  for (const row of rows) {
    const v = row.cell?.[key] ?? ''
    if (!values.includes(v)) { values.push(v); labels.push(cellLabel(row, key, lang)) }
  }
  return { values, labels }
}

function heatmap(result, lang, drillUrl, narrow) {
  const [dx, dy] = result.dimensions || []
  const m = result.measures?.[0]
  const rows = result.rows || []
  const xs = axisValues(rows, dx?.key, lang)
  const ys = axisValues(rows, dy?.key, lang)
  const numbers = rows.map((row) => Number(row.values?.[m?.key] ?? 0)).filter(Number.isFinite)
  return {
    tooltip: {
      ...tooltip('item'),
      formatter: (p) => esc(`${xs.labels[p.data.value[0]]} · ${ys.labels[p.data.value[1]]}: ${formatValue(p.data.value[2], m?.format, lang)}`),
    },
    grid: { left: 8, right: 8, top: 8, bottom: 8 },
    xAxis: { ...categoryAxis(xs.labels, narrow), splitArea: { show: true } },
    yAxis: { type: 'category', data: ys.labels, splitArea: { show: true } },
    // Every cell is labelled with its number: the colour scale needs no legend of its own.
    visualMap: {
      show: false,
      min: Math.min(0, ...numbers),
      max: Math.max(1, ...numbers),
      inRange: { color: ['#eff6ff', '#93c5fd', '#1d4ed8'] },
    },
    series: [{
      type: 'heatmap',
      name: labelOf(m, lang),
      label: { show: true, formatter: (p) => formatValue(p.data.value[2], m?.format, lang), textBorderColor: '#fff', textBorderWidth: 2 },
      emphasis: { itemStyle: { borderColor: '#111827', borderWidth: 1 } },
      data: rows.map((row) => ({
        value: [xs.values.indexOf(row.cell?.[dx.key] ?? ''), ys.values.indexOf(row.cell?.[dy.key] ?? ''), row.values?.[m?.key] ?? 0],
        url: link(drillUrl, { cell: row.cell || {} }),
        cell: row.cell || {},
      })),
    }],
  }
}

function map(result, lang, drillUrl) {
  const points = result.points || []
  const categories = []
  for (const p of points) {
    const c = p.category ?? ''
    if (!categories.includes(c)) categories.push(c)
  }
  const shown = new Map()
  for (const p of points) {
    const label = lang === 'en' ? p.category_label_en || p.category_label : p.category_label || p.category_label_en
    if (label && !shown.has(p.category ?? '')) shown.set(p.category ?? '', label)
  }
  const name = (c) => shown.get(c) || (c === '' ? t('empty', lang) : String(c))
  const lngs = points.map((p) => Number(p.lng)), lats = points.map((p) => Number(p.lat))
  const pad = (values) => {
    const lo = Math.min(...values), hi = Math.max(...values)
    const margin = Math.max((hi - lo) * 0.08, 0.01)
    return [Math.floor((lo - margin) * 100) / 100, Math.ceil((hi + margin) * 100) / 100]
  }
  const [xmin, xmax] = points.length ? pad(lngs) : [73, 135]
  const [ymin, ymax] = points.length ? pad(lats) : [18, 54]
  return {
    color: PALETTE,
    tooltip: { ...tooltip('item'), formatter: (p) => esc(`${p.data.title}${p.seriesName ? ` · ${p.seriesName}` : ''}`) },
    legend: categories.length > 1 || categories[0] !== '' ? { type: 'scroll', top: 0 } : undefined,
    grid: { left: 8, right: 24, top: 36, bottom: 8 },
    xAxis: { type: 'value', min: xmin, max: xmax, name: 'lng', axisLabel: { formatter: (v) => `${v}°` } },
    yAxis: { type: 'value', min: ymin, max: ymax, name: 'lat', axisLabel: { formatter: (v) => `${v}°` } },
    series: categories.map((c) => ({
      type: 'scatter',
      name: c === '' && categories.length === 1 ? '' : name(c),
      symbolSize: 10,
      data: points.filter((p) => (p.category ?? '') === c).map((p) => ({
        value: [Number(p.lng), Number(p.lat)],
        title: p.title || `#${p.id}`,
        url: link(drillUrl, { record: p.id }),
        record: p.id,
      })),
    })),
  }
}

/** The ECharts option of a chart widget (bar, line, area, pie, funnel, heatmap, map). */
export function chartOption(result, { lang = 'zh', drillUrl = null, narrow = false } = {}) {
  switch (result.type) {
    case 'bar':
    case 'line':
    case 'area':
      return cartesian(result, lang, drillUrl, result.type, narrow)
    case 'pie':
      return pie(result, lang, drillUrl)
    case 'funnel':
      return funnel(result, lang, drillUrl)
    case 'heatmap':
      return heatmap(result, lang, drillUrl, narrow)
    case 'map':
      return map(result, lang, drillUrl)
    default:
      throw new Error(`not a chart widget: ${result.type}`)
  }
}

function isEmpty(result) {
  switch (result.type) {
    case 'funnel': return !(result.stages || []).length
    case 'map': return !(result.points || []).length
    default: return !(result.rows || []).length
  }
}

/** The position (in pixels, inside `el`) of the data item whose drill cell is `cell`,
 *  or of record `record` — browser tests click it like a person would. */
function locate(chart, option, { cell, record }) {
  const same = (a, b) => a && b && Object.keys(b).every((k) => String(a[k] ?? '') === String(b[k] ?? ''))
  for (const [seriesIndex, series] of option.series.entries()) {
    for (const [dataIndex, item] of series.data.entries()) {
      if ((record !== undefined && item.record === record) || (cell && same(item.cell, cell))) {
        if (series.type === 'heatmap' || series.type === 'scatter') {
          return chart.convertToPixel({ seriesIndex }, item.value)
        }
        const layout = chart.getModel().getSeriesByIndex(seriesIndex).getData().getItemLayout(dataIndex)
        if (!layout) return null
        if (Array.isArray(layout)) return layout
        if (layout.cx !== undefined) {
          const mid = (layout.startAngle + layout.endAngle) / 2
          const r = (layout.r + layout.r0) / 2
          return [layout.cx + r * Math.cos(mid), layout.cy + r * Math.sin(mid)]
        }
        if (layout.points) {
          const xs = layout.points.map((p) => p[0]), ys = layout.points.map((p) => p[1])
          return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2]
        }
        return [layout.x + layout.width / 2, layout.y + layout.height / 2]
      }
    }
  }
  return null
}

/**
 * Renders `result` into `el` (its previous content is replaced). Returns the ECharts
 * instance for a chart, else null.
 */
export function renderWidget(el, result, { lang = 'zh', drillUrl = null, renderer = 'canvas', navigate = null, size = null } = {}) {
  const previous = el.__dwChart
  if (previous) {
    previous.dispose()
    el.__dwChart = null
  }
  if (el.__dwResize) {
    el.__dwResize.disconnect()
    el.__dwResize = null
  }
  el.replaceChildren()
  el.dataset.widgetType = result.type
  if (!WIDGET_TYPES.includes(result.type)) {
    el.append(element('p', 'dw-error', `${t('unknownType', lang)}: ${result.type}`))
    return null
  }
  if (result.type === 'number') {
    renderNumber(el, result, lang, drillUrl)
    return null
  }
  if (result.type === 'sentence') {
    renderSentence(el, result, lang, drillUrl)
    return null
  }
  if (result.type === 'table') {
    renderTable(el, result, lang, drillUrl)
    return null
  }
  if (isEmpty(result)) {
    el.append(element('p', 'dw-empty', t('noData', lang)))
    return null
  }
  const canvas = element('div', 'dw-chart')
  el.append(canvas)
  const narrow = (el.clientWidth || 800) < 480
  const option = chartOption(result, { lang, drillUrl, narrow })
  const chart = echarts.init(canvas, null, { renderer, locale: lang === 'en' ? 'EN' : 'ZH', ...(size || {}) })
  chart.setOption(option)
  const go = navigate || ((url) => window.location.assign(url))
  chart.on('click', (params) => {
    const url = params.data?.url
    if (url) go(url)
  })
  chart.getZr().on('mousemove', (event) => {
    canvas.style.cursor = event.target ? 'pointer' : 'default'
  })
  el.__dwChart = chart
  // Browser tests find where a figure is drawn (see locate()).
  el.dwLocate = (target) => locate(chart, option, target)
  if (typeof ResizeObserver !== 'undefined') {
    el.__dwResize = new ResizeObserver(() => chart.resize())
    el.__dwResize.observe(canvas)
  }
  return chart
}

/**
 * The `drillUrl` of a dashboard page: `list` is the entity's list address, `record` a
 * record's address with `0` for its id. Aggregates open
 * `<list>?drill=<dashboard>.<widget>&cell.<dim>=<value>`; records open their page.
 */
export function drillLinks({ list, record, dashboard, widget }) {
  return (target) => {
    if (target.record !== undefined) {
      return record ? record.replace(/\/0(?=$|[/?#])/, `/${encodeURIComponent(target.record)}`) : null
    }
    if (!list) return null
    const params = new URLSearchParams()
    params.set('drill', `${dashboard}.${widget}`)
    for (const [key, value] of Object.entries(target.cell || {})) {
      params.set(`cell.${key}`, value === null || value === undefined ? '' : String(value))
    }
    return `${list}${list.includes('?') ? '&' : '?'}${params.toString()}`
  }
}
