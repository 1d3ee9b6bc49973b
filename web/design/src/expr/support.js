// What the expression editor does with the server's answers: line/column → document
// offsets, diagnostics with their "did you mean" action, and completions from `names`.

/**
 * The document offset of the 1-based `line` and `column` the server reports. The server
 * counts columns in characters (code points); JavaScript strings count UTF-16 units.
 * Out-of-range positions are clamped into the text.
 */
export function offsetAt(text, line, column) {
  const lines = text.split('\n')
  const lineIndex = Math.min(Math.max((line || 1) - 1, 0), lines.length - 1)
  let offset = 0
  for (let i = 0; i < lineIndex; i++) offset += lines[i].length + 1
  const lineText = lines[lineIndex]
  let units = 0
  let chars = 1
  for (const ch of lineText) {
    if (chars >= (column || 1)) break
    units += ch.length
    chars += 1
  }
  return offset + Math.min(units, lineText.length)
}

/** The name a suggestion offers: "amount", or the `amount` of "did you mean `amount`?". */
export function suggestedName(suggestion) {
  if (!suggestion || typeof suggestion !== 'string') return null
  const quoted = /`([^`]+)`/.exec(suggestion)
  if (quoted) return quoted[1]
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(suggestion.trim()) ? suggestion.trim() : null
}

/**
 * One server diagnostic (a check answer's item, or a saved draft's problem whose
 * position is in `detail`) as {from, to, message, severity, name, code}.
 */
export function toRange(text, diagnostic, lang) {
  const where = diagnostic.line != null ? diagnostic : diagnostic.detail || {}
  const from = offsetAt(text, where.line, where.column)
  let to
  if (where.end_column != null) {
    to = offsetAt(text, where.end_line ?? where.line, where.end_column)
  }
  if (to == null || to < from) to = from
  if (to === from) {
    // No extent given: underline the word at the position (or one character).
    const word = /^[A-Za-z0-9_]+/.exec(text.slice(from))
    to = from + (word ? word[0].length : Math.min(1, text.length - from))
  }
  const message = (lang === 'en' ? diagnostic.message : diagnostic.message_zh) || diagnostic.message || diagnostic.code
  return {
    from,
    to,
    message,
    severity: 'error',
    code: diagnostic.code,
    name: suggestedName(diagnostic.suggestion ?? where.suggestion),
  }
}

/** Whether a problem carries a position inside its expression. */
export function positioned(problem) {
  const where = problem.line != null ? problem : problem.detail || {}
  return where.line != null && where.column != null
}

const KIND_TYPES = {
  field: 'variable',
  step: 'property',
  collection: 'class',
  function: 'function',
  keyword: 'keyword',
  variable: 'variable',
}

function option(entry, label, lang) {
  const text = entry.label ? (lang === 'en' ? entry.label.en || entry.label.zh : entry.label.zh || entry.label.en) : ''
  const isFunction = entry.kind === 'function'
  const signatures = entry.signature ? entry.signature.split(' | ') : []
  const info = [
    text && text !== entry.name ? text : '',
    signatures.length > 1 ? signatures.join('\n') : '',
    entry.doc || '',
  ].filter(Boolean)
  return {
    label,
    type: KIND_TYPES[entry.kind] || 'variable',
    detail: signatures[0] || entry.type || '',
    info: info.length ? info.join('\n') : undefined,
    apply: isFunction ? `${label}(` : label,
  }
}

/**
 * The completions for the dotted name ending at the cursor, from the check answer's
 * `names`: `prefix` is the text typed so far (e.g. "amo", "steps.comp", "customer.").
 * Returns {offset, options}: `offset` is where the replaced text starts within `prefix`.
 */
export function completionsFor(prefix, names, lang) {
  const dot = prefix.lastIndexOf('.')
  if (dot < 0) {
    const options = names.map((entry) => option(entry, entry.name, lang))
    return { offset: 0, options: options.filter((o) => o.label.toLowerCase().startsWith(prefix.toLowerCase())) }
  }
  const head = prefix.slice(0, dot + 1)
  const tail = prefix.slice(dot + 1).toLowerCase()
  const options = []
  const seen = new Set()
  for (const entry of names) {
    let rest = null
    if (entry.name.startsWith(head)) rest = entry.name.slice(head.length)
    else if (head === 'steps.' && entry.kind === 'step' && !entry.name.includes('.')) rest = entry.name
    if (!rest) continue
    if (!rest.toLowerCase().startsWith(tail) || seen.has(rest)) continue
    seen.add(rest)
    options.push(option(entry, rest, lang))
  }
  return { offset: dot + 1, options }
}

/** A CodeMirror completion source reading the latest names through `getNames()`. */
export function completionSource(getNames, getLang) {
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\.?/)
    if (!word && !context.explicit) return null
    const prefix = word ? word.text : ''
    const { offset, options } = completionsFor(prefix, getNames() || [], getLang())
    if (!options.length) return null
    return { from: (word ? word.from : context.pos) + offset, options, validFor: /^[A-Za-z0-9_]*$/ }
  }
}
