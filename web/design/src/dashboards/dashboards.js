// The dashboards section of a definition (`$.dashboards`, docs/dashboards.md) as the editor
// sees it: the 12-column grid (placing, moving, resizing widgets without overlap), new
// dashboards and widgets, and what each widget type takes. Pure functions over plain
// objects: the editor applies them inside `store.edit` so each is one undoable edit.

export const COLUMNS = 12
export const MAX_SPAN = 12
export const MAX_WIDGETS = 24

export const WIDGET_TYPES = [
  { type: 'number', zh: '数字卡', en: 'Number' },
  { type: 'bar', zh: '柱状图', en: 'Bar' },
  { type: 'line', zh: '折线图', en: 'Line' },
  { type: 'area', zh: '面积图', en: 'Area' },
  { type: 'pie', zh: '饼图', en: 'Pie' },
  { type: 'funnel', zh: '漏斗', en: 'Funnel' },
  { type: 'heatmap', zh: '热力图', en: 'Heatmap' },
  { type: 'table', zh: '表格 / 排行', en: 'Table / top N' },
  { type: 'map', zh: '地图', en: 'Map' },
  { type: 'sentence', zh: '业务语句', en: 'Sentence' },
]

export const AGGREGATES = [
  { agg: 'count', zh: '计数', en: 'Count' },
  { agg: 'count_distinct', zh: '去重计数', en: 'Count distinct' },
  { agg: 'sum', zh: '求和', en: 'Sum' },
  { agg: 'avg', zh: '平均', en: 'Average' },
  { agg: 'min', zh: '最小', en: 'Minimum' },
  { agg: 'max', zh: '最大', en: 'Maximum' },
]

export const RANGES = [
  { range: 'today', zh: '今天', en: 'Today' },
  { range: 'this_week', zh: '本周', en: 'This week' },
  { range: 'this_month', zh: '本月', en: 'This month' },
  { range: 'this_quarter', zh: '本季度', en: 'This quarter' },
  { range: 'last_7_days', zh: '最近 7 天', en: 'Last 7 days' },
  { range: 'last_30_days', zh: '最近 30 天', en: 'Last 30 days' },
]

export const BUCKETS = [
  { bucket: 'day', zh: '按日', en: 'Day' },
  { bucket: 'week', zh: '按周', en: 'Week' },
  { bucket: 'month', zh: '按月', en: 'Month' },
  { bucket: 'quarter', zh: '按季度', en: 'Quarter' },
]

/** How many dimensions a widget type takes: [min, max] (docs/dashboards.md, arity rules). */
export const DIMENSIONS = {
  number: [0, 0], sentence: [0, 0], bar: [1, 1], pie: [1, 1], line: [1, 2], area: [1, 2],
  heatmap: [2, 2], funnel: [0, 0], table: [0, 8], map: [0, 0],
}

/** Whether a widget of `type` takes option `name`. */
export function takes(type, name) {
  switch (name) {
    case 'dimensions': return DIMENSIONS[type]?.[1] > 0
    case 'measures': return type !== 'map'
    case 'stages': return type === 'funnel'
    case 'columns': return type === 'table'
    case 'location':
    case 'category': return type === 'map'
    case 'template': return type === 'sentence'
    case 'sort':
    case 'limit': return ['bar', 'line', 'area', 'pie', 'heatmap', 'table', 'map'].includes(type)
    default: return true
  }
}

/** A widget's layout, read leniently (an imported draft may hold anything), clamped to the grid. */
export function layoutOf(widget) {
  const l = widget && typeof widget.layout === 'object' && widget.layout ? widget.layout : {}
  return clamp({ x: l.x, y: l.y, w: l.w ?? 6, h: l.h ?? 4 })
}

function int(value, fallback) {
  const n = Number(value)
  return Number.isFinite(n) ? Math.round(n) : fallback
}

/**
 * The layouts of `widgets` as the grid shows them: a widget's own layout (clamped), and for
 * a widget without one (an imported or hand-written definition) the first free place after
 * the widgets before it, so they don't all sit at the top left.
 */
export function layoutsOf(widgets) {
  const out = []
  for (const w of widgets) {
    const has = w && w.layout && typeof w.layout === 'object'
    out.push(has ? layoutOf(w) : freeSpot(out, 6, 4))
  }
  return out
}

/** `layout` made valid: w and h within 1..12, x within the 12 columns, y ≥ 0. */
export function clamp(layout) {
  const w = Math.min(MAX_SPAN, Math.max(1, int(layout.w, 6)))
  const h = Math.min(MAX_SPAN, Math.max(1, int(layout.h, 4)))
  const x = Math.min(COLUMNS - w, Math.max(0, int(layout.x, 0)))
  const y = Math.max(0, int(layout.y, 0))
  return { x, y, w, h }
}

export function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/**
 * The layouts of `layouts` after the one at `index` is put at `target`: it keeps its place,
 * and every widget it now overlaps moves down (in order of its row, then column) just below
 * what it would overlap, so no two widgets overlap. Widgets not in the way keep their place.
 */
export function place(layouts, index, target) {
  const fixed = clamp(target)
  const order = layouts
    .map((l, i) => ({ i, l: clamp(l) }))
    .filter(({ i }) => i !== index)
    .sort((a, b) => a.l.y - b.l.y || a.l.x - b.l.x || a.i - b.i)
  const placed = [{ i: index, l: fixed }]
  for (const item of order) {
    const l = { ...item.l }
    for (;;) {
      const hit = placed.find((p) => overlaps(p.l, l))
      if (!hit) break
      l.y = hit.l.y + hit.l.h
    }
    placed.push({ i: item.i, l })
  }
  const result = layouts.map((l) => clamp(l))
  for (const p of placed) result[p.i] = p.l
  return result
}

/** The first free place (top to bottom, left to right) for a w×h widget. */
export function freeSpot(layouts, w = 6, h = 4) {
  const size = clamp({ x: 0, y: 0, w, h })
  const all = layouts.map(clamp)
  for (let y = 0; ; y++) {
    for (let x = 0; x + size.w <= COLUMNS; x++) {
      const spot = { x, y, w: size.w, h: size.h }
      if (!all.some((l) => overlaps(l, spot))) return spot
    }
  }
}

/** Writes `layouts` onto `widgets` (each widget's `layout`), changing only those that differ. */
export function applyLayouts(widgets, layouts) {
  widgets.forEach((w, i) => {
    const old = w.layout || {}
    const l = layouts[i]
    if (old.x !== l.x || old.y !== l.y || old.w !== l.w || old.h !== l.h) w.layout = { ...l }
  })
}

/** Moves widget `index` of `widgets` to `target` (x/y/w/h), pushing those in the way down. */
export function moveWidget(widgets, index, target) {
  applyLayouts(widgets, place(layoutsOf(widgets), index, target))
}

/** The keyboard's move (arrows) or resize (shift+arrows) of widget `index`. */
export function nudge(widgets, index, key, resize = false) {
  const l = layoutsOf(widgets)[index]
  const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[key]
  if (!d) return false
  const target = resize ? { ...l, w: l.w + d[0], h: l.h + d[1] } : { ...l, x: l.x + d[0], y: l.y + d[1] }
  moveWidget(widgets, index, target)
  return true
}

/** The rows the grid needs to show every widget (and one free row to drop below them). */
export function gridRows(widgets) {
  return Math.max(4, ...layoutsOf(widgets).map((l) => l.y + l.h)) + 1
}

/** The grid cell under a point, from the grid's box and its row height (pixels). */
export function cellAt(box, rowHeight, clientX, clientY) {
  const colWidth = box.width / COLUMNS
  return {
    x: Math.floor((clientX - box.left) / colWidth),
    y: Math.floor((clientY - box.top) / rowHeight),
  }
}

/** A dimension's key made from its field (`customer.region` → `customer_region`). */
export function dimensionKey(field) {
  return String(field || '').replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'd'
}

/** A key not in `taken`, from `base` (`w`, `w_2`, ...). */
export function freeKey(base, taken) {
  let key = base
  for (let n = 2; taken.includes(key); n++) key = `${base}_${n}`
  return key
}

export function newDashboard(key, lang) {
  return { key, label: lang === 'en' ? 'New dashboard' : '新仪表盘', label_en: 'New dashboard', widgets: [] }
}

/** A new widget of `type` on `entity` (an entity of the draft), at the first free place. */
export function newWidget(type, key, entity, widgets, lang) {
  const t = WIDGET_TYPES.find((x) => x.type === type) || WIDGET_TYPES[0]
  const widget = { key, type: t.type, label: lang === 'en' ? t.en : t.zh, label_en: t.en }
  if (entity?.key) widget.entity = entity.key
  const [min] = DIMENSIONS[t.type] || [0]
  const candidates = defaultDimensions(entity)
  if (min > 0) {
    const dims = []
    for (const c of candidates.slice(0, min)) dims.push({ key: freeKey(dimensionKey(c.key), dims.map((d) => d.key)), field: c.key })
    widget.dimensions = dims
  }
  if (takes(t.type, 'measures') && t.type !== 'funnel') widget.measures = [{ key: 'n', agg: 'count' }]
  if (t.type === 'map') {
    const loc = (Array.isArray(entity?.fields) ? entity.fields : []).find((f) => f?.type === 'location')
    if (loc) widget.location = loc.key
  }
  if (t.type === 'sentence') {
    widget.template = '{n}'
    widget.template_en = '{n}'
  }
  const size = t.type === 'number' || t.type === 'sentence' ? { w: 3, h: 2 } : { w: 6, h: 4 }
  widget.layout = freeSpot(layoutsOf(widgets), size.w, size.h)
  return widget
}

const SYSTEM_TIMES = [
  { key: 'created_at', type: 'datetime', zh: '创建时间', en: 'Created at' },
  { key: 'updated_at', type: 'datetime', zh: '更新时间', en: 'Updated at' },
]

function fieldsOf(entity) {
  return (Array.isArray(entity?.fields) ? entity.fields : []).filter((f) => f && f.key && f.type !== 'child_list')
}

const GROUPABLE = ['text', 'choice', 'boolean', 'integer', 'rating', 'user', 'link', 'date', 'datetime', 'phone', 'email', 'url']

/**
 * The fields a dimension can group by on `entity`: its own groupable fields, `stage` of a
 * staged entity, `owner`, the created/updated times, and — through ONE link hop — the
 * groupable fields of each linked entity (`customer.region`). `entities` is the draft's list
 * (null: no hop). Each is {key, label: {zh, en}, type, hop}.
 */
export function dimensionFields(entity, entities) {
  if (!entity) return []
  const out = []
  for (const f of fieldsOf(entity)) if (GROUPABLE.includes(f.type)) out.push({ key: f.key, label: f.label, type: f.type })
  if (Array.isArray(entity.stages) && entity.stages.length) out.push({ key: 'stage', label: { zh: '阶段', en: 'Stage' }, type: 'stage' })
  out.push({ key: 'owner', label: { zh: '负责人', en: 'Owner' }, type: 'user' })
  for (const s of SYSTEM_TIMES) out.push({ key: s.key, label: { zh: s.zh, en: s.en }, type: s.type })
  if (entities) {
    for (const link of fieldsOf(entity).filter((f) => f.type === 'link' && f.target)) {
      const target = entities.find((e) => e?.key === link.target)
      for (const f of fieldsOf(target)) {
        if (GROUPABLE.includes(f.type) && f.type !== 'link') out.push({ key: `${link.key}.${f.key}`, label: f.label, type: f.type, hop: link })
      }
      if (Array.isArray(target?.stages) && target.stages.length) out.push({ key: `${link.key}.stage`, label: { zh: '阶段', en: 'Stage' }, type: 'stage', hop: link })
    }
  }
  return out
}

const PREFERRED = ['choice', 'stage', 'link', 'boolean', 'user', 'date', 'datetime']

/** The fields a new widget groups by first: choices, then the stage, links, … (own fields only). */
export function defaultDimensions(entity) {
  const rank = (c) => { const i = PREFERRED.indexOf(c.type); return i < 0 ? PREFERRED.length : i }
  return dimensionFields(entity, null).map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map(({ c }) => c)
}

/** Whether a dimension on `field` (of dimensionFields) takes a time bucket. */
export function isTime(field) {
  return field?.type === 'date' || field?.type === 'datetime'
}

/** The date/datetime fields of `entity` a period can be over. */
export function periodFields(entity) {
  if (!entity) return []
  return [
    ...fieldsOf(entity).filter((f) => f.type === 'date' || f.type === 'datetime').map((f) => ({ key: f.key, label: f.label })),
    ...SYSTEM_TIMES.map((s) => ({ key: s.key, label: { zh: s.zh, en: s.en } })),
  ]
}

/** A measure's kind: an aggregate, a ratio of two measures or a stage conversion. */
export function measureKind(m) {
  if (m && Array.isArray(m.ratio)) return 'ratio'
  if (m && m.conversion && typeof m.conversion === 'object') return 'conversion'
  return 'agg'
}

/** `m` turned into a measure of `kind`, keeping its key (and filter for aggregates). */
export function withKind(m, kind) {
  const named = { key: m.key }
  if (m.label) named.label = m.label
  if (m.label_en) named.label_en = m.label_en
  if (kind === 'ratio') return { ...named, ratio: ['', ''] }
  if (kind === 'conversion') return { ...named, conversion: { from: '', to: '' } }
  const next = { ...named, agg: 'count' }
  if (m.filter) next.filter = m.filter
  return next
}

/** Moves `items[from]` to `to` (clamped); false when nothing moves. */
export function moveItem(items, from, to) {
  if (to < 0 || to >= items.length || from === to) return false
  const [item] = items.splice(from, 1)
  items.splice(to, 0, item)
  return true
}

/** Where a problem of `$.dashboards` belongs: {dashboard, widget, option, sub}. */
export function dashboardPlace(segments) {
  const dashboard = typeof segments[1] === 'number' ? segments[1] : null
  const widget = segments[2] === 'widgets' && typeof segments[3] === 'number' ? segments[3] : null
  return { dashboard, widget, option: widget === null ? segments[2] : segments[4] }
}

/** The widget JSON posted for a preview: the widget as drafted, without its layout. */
export function previewBody(widget) {
  const body = JSON.parse(JSON.stringify(widget || {}))
  delete body.layout
  return body
}
