// A widget's result (WidgetResult JSON, docs/dashboards.md) as a plain table: the preview's
// form when the chart renderer is not part of the build, and its accessible fallback.

function pickLabel(lang, item) {
  if (!item) return ''
  return (lang === 'en' ? item.label_en || item.label : item.label || item.label_en) || item.key || ''
}

function number(value) {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Math.round(value * 1000) / 1000)
  return String(value)
}

/** {head: [..], rows: [[..]], sentence?} of a result, in `lang`. */
export function tableOf(result, lang = 'zh') {
  if (!result || typeof result !== 'object') return { head: [], rows: [] }
  const dims = Array.isArray(result.dimensions) ? result.dimensions : []
  const measures = Array.isArray(result.measures) ? result.measures : []
  const out = { head: [], rows: [] }
  if (result.sentence !== undefined || result.sentence_en !== undefined) {
    out.sentence = lang === 'en' ? result.sentence_en || result.sentence : result.sentence || result.sentence_en
  }
  if (Array.isArray(result.records)) {
    const keys = [...new Set(result.records.flatMap((r) => Object.keys(r.values || {})))]
    out.head = ['#', lang === 'en' ? 'Record' : '记录', ...keys]
    out.rows = result.records.map((r) => [String(r.id), r.title ?? '', ...keys.map((k) => r.labels?.[k] ?? number(r.values?.[k]))])
  } else if (Array.isArray(result.points)) {
    out.head = ['#', lang === 'en' ? 'Record' : '记录', 'lat', 'lng', lang === 'en' ? 'Category' : '分类']
    out.rows = result.points.map((p) => [String(p.id), p.title ?? '', number(p.lat), number(p.lng), p.category ?? ''])
  } else if (Array.isArray(result.stages)) {
    out.head = [lang === 'en' ? 'Stage' : '阶段', lang === 'en' ? 'Count' : '数量', lang === 'en' ? 'Conversion' : '转化率']
    out.rows = result.stages.map((s) => [pickLabel(lang, { ...s, key: s.stage }), number(s.count), number(s.conversion)])
  } else if (Array.isArray(result.rows) && (dims.length || !result.total)) {
    out.head = [...dims.map((d) => pickLabel(lang, d)), ...measures.map((m) => pickLabel(lang, m))]
    out.rows = result.rows.map((r) => [
      ...dims.map((d) => {
        const labels = lang === 'en' ? r.labels_en || r.labels : r.labels || r.labels_en
        const text = labels?.[d.key] ?? r.cell?.[d.key]
        return text === '' || text === null || text === undefined ? '—' : String(text)
      }),
      ...measures.map((m) => number(r.values?.[m.key])),
    ])
  }
  if (!out.head.length && result.total && typeof result.total === 'object') {
    out.head = measures.map((m) => pickLabel(lang, m))
    const total = result.total.values || {}
    out.rows = [measures.map((m) => number(total[m.key]))]
    if (result.total.previous) out.rows.push(measures.map((m) => number(result.total.previous[m.key])))
  }
  return out
}
