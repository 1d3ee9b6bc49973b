// Token-level colouring of the expression language for CodeMirror, and the same token
// scanner used to cut a stage's exit criteria into its top-level `and` parts.
// Only tokens: the client never parses or checks the language — the server does
// (POST /design/api/apps/<id>/expressions/check).
import { StreamLanguage } from '@codemirror/language'

export const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'where', 'if'])
export const ATOMS = new Set(['true', 'false', 'null'])
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/
const NUMBER = /^[0-9][0-9_]*(\.[0-9][0-9_]*)?(s|m|h|d|w)?(?![A-Za-z0-9_])/
const OPERATOR = /^(==|!=|<=|>=|[<>+\-*/%=.,])/

/** The CodeMirror token type of the next token in `stream` (a StringStream-like). */
function readToken(stream, state) {
  if (state.quote) return readString(stream, state)
  if (stream.eatSpace()) return null
  const ch = stream.peek()
  if (ch === '#') {
    stream.skipToEnd()
    return 'comment'
  }
  if (ch === '"' || ch === "'") {
    stream.next()
    state.quote = ch
    return readString(stream, state)
  }
  if (stream.match(NUMBER)) return 'number'
  const name = stream.match(NAME)
  if (name) {
    const word = name[0]
    if (KEYWORDS.has(word)) return 'keyword'
    if (ATOMS.has(word)) return 'atom'
    if (stream.match(/^\s*\(/, false)) return 'variableName.function'
    return 'variableName'
  }
  if (stream.match(OPERATOR)) return 'operator'
  if (stream.match(/^[()[\]]/)) return 'bracket'
  stream.next()
  return null
}

function readString(stream, state) {
  let escaped = false
  while (!stream.eol()) {
    const ch = stream.next()
    if (escaped) escaped = false
    else if (ch === '\\') escaped = true
    else if (ch === state.quote) {
      state.quote = null
      return 'string'
    }
  }
  return 'string'
}

export const expressionLanguage = StreamLanguage.define({
  name: 'cairn-expression',
  startState: () => ({ quote: null }),
  copyState: (state) => ({ ...state }),
  token: readToken,
  languageData: { commentTokens: { line: '#' } },
})

/**
 * The tokens of `source` with their offsets: [{type, text, from, to}], whitespace left out.
 * `type` is one of comment, string, number, keyword, atom, name, operator, open, close, other.
 */
export function scanTokens(source) {
  const tokens = []
  let i = 0
  while (i < source.length) {
    const rest = source.slice(i)
    const space = /^[\s\u3000\u00a0]+/.exec(rest)
    if (space) {
      i += space[0].length
      continue
    }
    let type = 'other'
    let length = 1
    const ch = rest[0]
    if (ch === '#') {
      const end = rest.indexOf('\n')
      length = end < 0 ? rest.length : end
      type = 'comment'
    } else if (ch === '"' || ch === "'") {
      let j = 1
      let escaped = false
      while (j < rest.length) {
        const c = rest[j++]
        if (escaped) escaped = false
        else if (c === '\\') escaped = true
        else if (c === ch) break
      }
      length = j
      type = 'string'
    } else {
      const number = NUMBER.exec(rest)
      const name = NAME.exec(rest)
      const operator = OPERATOR.exec(rest)
      if (number) [type, length] = ['number', number[0].length]
      else if (name) {
        const word = name[0]
        type = KEYWORDS.has(word) ? 'keyword' : ATOMS.has(word) ? 'atom' : 'name'
        length = word.length
      } else if (operator) [type, length] = ['operator', operator[0].length]
      else if (ch === '(' || ch === '[') type = 'open'
      else if (ch === ')' || ch === ']') type = 'close'
    }
    tokens.push({ type, text: rest.slice(0, length), from: i, to: i + length })
    i += length
  }
  return tokens
}
