import { mount } from '@vue/test-utils'
import { EditorView } from '@codemirror/view'
import { forEachDiagnostic } from '@codemirror/lint'
import { currentCompletions, startCompletion } from '@codemirror/autocomplete'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import ExpressionEditor from './ExpressionEditor.vue'
import { LANG } from '../i18n.js'
import { ApiError } from '../api.js'
import { fakeApi } from './testing.js'

const NAMES = [
  { name: 'amount', kind: 'field', type: 'decimal', label: { zh: '金额', en: 'Amount' } },
  { name: 'account', kind: 'field', type: 'text', label: { zh: '账户', en: 'Account' } },
  { name: 'steps.competitor.done', kind: 'step', type: 'boolean', label: { zh: '竞品', en: 'Competitor' } },
  { name: 'count', kind: 'function', type: 'integer', signature: 'count(collection) → integer' },
]

function checkAnswer({ expression }) {
  if (expression.includes('amont')) {
    const column = expression.indexOf('amont') + 1
    return {
      ok: false,
      type: null,
      diagnostics: [{
        line: 1, column, end_line: 1, end_column: column + 5, code: 'unknown_name',
        message: 'unknown field `amont` — did you mean `amount`?', message_zh: '没有字段 `amont`',
        suggestion: 'did you mean `amount`?',
      }],
      explanation: null,
      names: NAMES,
    }
  }
  return { ok: true, type: 'boolean', diagnostics: [], explanation: { zh: '金额大于 0', en: 'amount is more than 0' }, names: NAMES }
}

function diagnosticsOf(view) {
  const found = []
  forEachDiagnostic(view.state, (d, from, to) => found.push({ from, to, message: d.message, actions: d.actions }))
  return found
}

function mountEditor(api, props = {}) {
  return mount(ExpressionEditor, {
    attachTo: document.body,
    props: { modelValue: '', appId: 7, api, entity: 'visit', kind: 'condition', label: 'Visible when', delay: 150, ...props },
    global: { provide: { [LANG]: 'en' } },
  })
}

describe('ExpressionEditor', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('checks with the server and offers the suggestion under the editor too', async () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, checkAnswer)
    const wrapper = mountEditor(api, { modelValue: 'amont > 0', definition: { format: 'cairn.app/1' } })
    await vi.runAllTimersAsync()
    expect(api.calls[0]).toEqual(['POST', '/apps/7/expressions/check',
      { entity: 'visit', expression: 'amont > 0', kind: 'condition', definition: { format: 'cairn.app/1' } }])
    const view = wrapper.vm.view
    expect(diagnosticsOf(view)).toHaveLength(1)
    expect(view.contentDOM.getAttribute('aria-invalid')).toBe('true')
    await wrapper.find('[data-testid="expr-suggestion"]').trigger('click')
    expect(view.state.doc.toString()).toBe('amount > 0')
    expect(document.activeElement).toBe(view.contentDOM) // back in the editor after the button
    view.contentDOM.blur() // happy-dom fires selectionchange synchronously inside CodeMirror's updates
    await vi.runAllTimersAsync()
    expect(diagnosticsOf(view)).toEqual([])
    expect(view.contentDOM.getAttribute('aria-invalid')).toBe('false')
    expect(wrapper.find('[data-testid="expr-type"]').text()).toBe('Type: boolean')
    wrapper.unmount()
  })

  it('maps the server line/column (1-based, end exclusive) to the underlined range', async () => {
    const text = 'x > 1 and\n  amont > 0'
    const api = fakeApi().reply('POST', /expressions\/check$/, () => ({
      ok: false, type: null, names: NAMES, explanation: null,
      diagnostics: [{ line: 2, column: 3, end_line: 2, end_column: 8, code: 'unknown_name',
        message: 'unknown field `amont`', message_zh: '没有字段 `amont`', suggestion: 'did you mean `amount`?' }],
    }))
    const wrapper = mountEditor(api, { modelValue: text })
    await vi.runAllTimersAsync()
    const view = wrapper.vm.view
    const [d] = diagnosticsOf(view)
    expect(text.slice(d.from, d.to)).toBe('amont')
    expect(d.message).toBe('unknown field `amont`')
    expect(d.actions.map((a) => a.name)).toEqual(['Use amount'])
    d.actions[0].apply(view, d.from, d.to)
    expect(view.state.doc.toString()).toBe('x > 1 and\n  amount > 0')
    expect(wrapper.emitted('update:modelValue').at(-1)).toEqual(['x > 1 and\n  amount > 0'])
    expect(view.contentDOM.getAttribute('aria-label')).toBe('Visible when')
    wrapper.unmount()
  })

  it('counts columns in characters, as the server does', async () => {
    const text = '"😀" == amont'
    const api = fakeApi().reply('POST', /expressions\/check$/, () => ({
      ok: false, names: [], diagnostics: [{ line: 1, column: 8, end_line: 1, end_column: 13, code: 'unknown_name', message: 'x' }],
    }))
    const wrapper = mountEditor(api, { modelValue: text })
    await vi.runAllTimersAsync()
    const [d] = diagnosticsOf(wrapper.vm.view)
    expect(text.slice(d.from, d.to)).toBe('amont')
    wrapper.unmount()
  })

  it('checks again as you type, debounced, and drops stale answers', async () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, checkAnswer, { hold: true })
    const wrapper = mountEditor(api, { modelValue: '' })
    await vi.runAllTimersAsync()
    expect(api.held).toHaveLength(1) // the check on mount (for the names in scope)
    const view = wrapper.vm.view
    view.dispatch({ changes: { from: 0, insert: 'amont' } })
    await vi.advanceTimersByTimeAsync(50)
    view.dispatch({ changes: { from: 5, insert: ' > 0' } })
    await vi.advanceTimersByTimeAsync(100)
    expect(api.held).toHaveLength(1) // debounced: nothing sent yet
    await vi.advanceTimersByTimeAsync(60)
    expect(api.held).toHaveLength(2)
    expect(api.held[1].body.expression).toBe('amont > 0')
    // The user types on ("amont > 0" → "amount > 0") before that answer comes back.
    view.dispatch({ changes: { from: 0, to: 5, insert: 'amount' } })
    await vi.advanceTimersByTimeAsync(200)
    expect(api.held).toHaveLength(3)
    api.release(2) // the newest answer first: no problem
    await vi.advanceTimersByTimeAsync(0)
    api.release(1) // then the stale one, which had a problem: ignored
    api.release(0)
    await vi.runAllTimersAsync()
    expect(diagnosticsOf(view)).toEqual([])
    expect(wrapper.find('[data-testid="expr-type"]').text()).toContain('boolean')
    expect(wrapper.find('[data-testid="expr-explanation"]').text()).toBe('amount is more than 0')
    wrapper.unmount()
  })

  it('offers the names in scope from the answer', async () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, checkAnswer)
    const wrapper = mountEditor(api, { modelValue: 'am' })
    await vi.runAllTimersAsync()
    const view = wrapper.vm.view
    view.dispatch({ selection: { anchor: 2 } })
    startCompletion(view)
    await vi.runAllTimersAsync()
    const options = currentCompletions(view.state)
    expect(options.map((o) => o.label)).toEqual(['amount'])
    expect(options[0].detail).toBe('decimal')
    expect(options[0].info).toBe('Amount')
    wrapper.unmount()
  })

  it('shows the saved draft problems until the first answer, and says when the server is unreachable', async () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, () => { throw new TypeError('Failed to fetch') })
    const problems = [{ path: '$.entities[0].fields[1].visible_when', code: 'expression_unknown_name',
      message: 'unknown field `budjet`', message_zh: '没有字段', detail: { line: 1, column: 1, end_column: 7, suggestion: 'did you mean `budget`?' } }]
    const wrapper = mountEditor(api, { modelValue: 'budjet > 3', problems })
    await vi.runAllTimersAsync()
    const view = wrapper.vm.view
    const [d] = diagnosticsOf(view)
    expect('budjet > 3'.slice(d.from, d.to)).toBe('budjet')
    expect(wrapper.find('[data-testid="expr-offline"]').text()).toContain("Can't reach the server")
    await wrapper.find('[data-testid="expr-suggestion"]').trigger('click')
    expect(view.state.doc.toString()).toBe('budget > 3') // the text is kept and edited
    wrapper.unmount()
  })

  it('shows a 4xx answer as its message', async () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, () => {
      throw new ApiError(404, { code: 'not_found', message: 'No entity visit', message_zh: '没有实体 visit' })
    })
    const wrapper = mountEditor(api, { modelValue: 'a' })
    await vi.runAllTimersAsync()
    expect(wrapper.text()).toContain('No entity visit')
    wrapper.unmount()
  })

  it('takes outside changes (undo) without echoing them', async () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, checkAnswer)
    const wrapper = mountEditor(api, { modelValue: 'amount > 0' })
    await vi.runAllTimersAsync()
    await wrapper.setProps({ modelValue: 'amount > 1' })
    expect(wrapper.vm.view.state.doc.toString()).toBe('amount > 1')
    expect(wrapper.emitted('update:modelValue')).toBeUndefined()
    wrapper.unmount()
  })

  it('checks again in the scope of another entity or kind', async () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, checkAnswer)
    const wrapper = mountEditor(api, { modelValue: 'amount' })
    await vi.runAllTimersAsync()
    await wrapper.setProps({ kind: 'formula' })
    await vi.runAllTimersAsync()
    await wrapper.setProps({ entity: 'customer' })
    await vi.runAllTimersAsync()
    expect(api.calls.map((c) => [c[2].entity, c[2].kind])).toEqual([['visit', 'condition'], ['visit', 'formula'], ['customer', 'formula']])
    wrapper.unmount()
  })

  it('hands the style nonce to CodeMirror', () => {
    const api = fakeApi().reply('POST', /expressions\/check$/, checkAnswer)
    const wrapper = mountEditor(api, { styleNonce: 'n0nce' })
    expect(wrapper.vm.view.state.facet(EditorView.cspNonce)).toBe('n0nce')
    wrapper.unmount()
  })
})
