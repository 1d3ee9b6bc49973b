// A stage's `exit_when` as the designer edits it: a list of parts joined by a top-level
// `and`, each labelled by the comment ending its line (`budget != null  # 预算已确认`) —
// the label the rep sees with ✓/✗ (docs/metadata.md, Stages). A label per locale is kept
// in the one comment as "中文 | English".
//
// Cutting the text is token-level (strings, comments, brackets and the words `and`/`or`);
// the server still checks every part. A text with a top-level `or` stays one part; a
// part typed with its own top-level `and` or `or` is written in brackets, so it stays one.
import { scanTokens } from './language.js'

const SEPARATOR = ' | '

export function decodeLabel(comment) {
  if (!comment) return { zh: '', en: '' }
  const at = comment.indexOf(SEPARATOR)
  if (at < 0) return /[\u3400-\u9fff]/.test(comment) ? { zh: comment, en: '' } : { zh: '', en: comment }
  return { zh: comment.slice(0, at).trim(), en: comment.slice(at + SEPARATOR.length).trim() }
}

export function encodeLabel(label) {
  const clean = (s) => (s || '').replace(/\s+/g, ' ').trim()
  const zh = clean(label?.zh)
  const en = clean(label?.en)
  if (zh && en && zh !== en) return `${zh}${SEPARATOR}${en}`
  return zh || en
}

function hasTopLevel(tokens, word) {
  let depth = 0
  for (const token of tokens) {
    if (token.type === 'open') depth += 1
    else if (token.type === 'close') depth = Math.max(0, depth - 1)
    else if (depth === 0 && token.type === 'keyword' && token.text === word) return true
  }
  return false
}

/** 1-based line and column of `offset` in `source` (columns in characters). */
function position(source, offset) {
  const before = source.slice(0, offset)
  const line = before.split('\n').length
  const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1
  return { line, column }
}

/**
 * The parts of `source`: [{text, label: {zh, en}, from, line, column}], `from` the part's
 * offset in `source` and line/column its 1-based start there.
 */
export function splitParts(source) {
  if (!source || !source.trim()) return []
  const tokens = scanTokens(source)
  const code = tokens.filter((t) => t.type !== 'comment')
  if (!code.length) return []
  const whole = () => {
    const comments = tokens.filter((t) => t.type === 'comment' && t.from > code.at(-1).from)
    const last = code.at(-1).to
    const trailing = comments.length === 1 && !source.slice(last, comments[0].from).includes('\n') ? comments[0] : null
    const text = source.slice(code[0].from, trailing ? last : source.length).trimEnd()
    return [{ text, label: decodeLabel(trailing?.text.slice(1).trim()), from: code[0].from, ...position(source, code[0].from) }]
  }
  if (hasTopLevel(tokens, 'or')) return whole()
  // Cut at each top-level `and`.
  const groups = [[]]
  let depth = 0
  for (const token of tokens) {
    if (token.type === 'open') depth += 1
    else if (token.type === 'close') depth = Math.max(0, depth - 1)
    if (depth === 0 && token.type === 'keyword' && token.text === 'and') groups.push([])
    else groups.at(-1).push(token)
  }
  if (groups.some((g) => !g.some((t) => t.type !== 'comment'))) return whole() // `and` with nothing on a side
  return groups.map((group) => {
    const codeTokens = group.filter((t) => t.type !== 'comment')
    const first = codeTokens[0]
    const last = codeTokens.at(-1)
    const after = group.filter((t) => t.type === 'comment' && t.from > last.from)
    const inside = group.filter((t) => t.type === 'comment' && t.from < last.from)
    // The label is the comment right after the part; comments within the part stay in its text.
    const end = inside.length ? Math.max(last.to, ...inside.map((t) => t.to)) : last.to
    return {
      text: source.slice(first.from, end),
      label: decodeLabel(after.map((t) => t.text.slice(1).trim()).filter(Boolean).join(' ')),
      from: first.from,
      ...position(source, first.from),
    }
  })
}

/** Whether the part's text needs brackets to stay one part (one operand of the `and`). */
function needsBrackets(text) {
  const tokens = scanTokens(text)
  return hasTopLevel(tokens, 'or') || hasTopLevel(tokens, 'and')
}

/**
 * The `exit_when` text of `parts` (blank parts left out), or '' when none is left:
 * one part per line, `and` at the start of each later line, the label as a trailing
 * comment. Returns {text, starts}: starts[i] = {line, column} of part i's text, or null
 * for a blank part.
 */
export function joinParts(parts) {
  const lines = []
  const starts = []
  let line = 1
  for (const part of parts) {
    const body = (part.text || '').trim()
    if (!body) {
      starts.push(null)
      continue
    }
    const wrapped = needsBrackets(body)
    const prefix = lines.length ? 'and ' : ''
    const label = encodeLabel(part.label)
    const text = `${prefix}${wrapped ? '(' : ''}${body}${wrapped ? ')' : ''}${label ? `  # ${label}` : ''}`
    starts.push({ line, column: prefix.length + (wrapped ? 1 : 0) + 1 })
    lines.push(text)
    line += text.split('\n').length
  }
  return { text: lines.join('\n'), starts }
}

/**
 * The problems of the whole `exit_when` (`source`) that fall in `part` (from splitParts),
 * with line/column made relative to the part's own text (its first line shifted by the
 * part's start column). `shown` is the part's text as the editor shows it: when the join
 * wrapped it in brackets, positions move one more column left.
 */
export function problemsInPart(source, parts, index, problems, shown = null) {
  const part = parts[index]
  const bracket = shown != null && part.text === `(${shown.trim()})` ? 1 : 0
  const next = parts[index + 1]
  const start = part.from
  const end = next ? next.from : Infinity
  const inside = []
  for (const problem of problems) {
    const where = problem.line != null ? problem : problem.detail || {}
    if (where.line == null) continue
    const offset = offsetOf(source, where.line, where.column)
    if (offset < start || offset >= end) continue
    const shift = (l, c) => (l === part.line ? c - part.column + 1 - bracket : c)
    const relative = {
      line: where.line - part.line + 1,
      column: Math.max(1, shift(where.line, where.column)),
      end_line: where.end_line != null ? where.end_line - part.line + 1 : undefined,
      end_column: where.end_column != null ? Math.max(1, shift(where.end_line ?? where.line, where.end_column)) : undefined,
    }
    const suggestion = problem.suggestion ?? problem.detail?.suggestion
    inside.push({ ...problem, ...relative, suggestion, detail: { ...(problem.detail || {}), ...relative } })
  }
  return inside
}

function offsetOf(source, line, column) {
  const lines = source.split('\n')
  let offset = 0
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1
  const text = lines[Math.min(line - 1, lines.length - 1)] || ''
  return offset + [...text].slice(0, Math.max(0, (column || 1) - 1)).join('').length
}
