// Entry of the dashboard pages (web/dashboards/templates): every `.dw-widget` element
// names its JSON address (`data-url`) and drill addresses; its result is fetched and
// rendered by render.js. A failing widget shows its own message; the others still render.
import { drillLinks, renderWidget } from './render.js'
import './dashboards.css'

const lang = document.documentElement.lang === 'en' ? 'en' : 'zh'

function message(problem, status) {
  if (problem && (problem.detail || problem.message)) {
    return lang === 'en' ? problem.detail || problem.message : problem.detail_zh || problem.message_zh || problem.detail
  }
  return lang === 'en' ? `The widget could not be loaded (${status}).` : `部件加载失败(${status})。`
}

export async function load(widget, fresh = false) {
  const body = widget.querySelector('.dw-body')
  const url = widget.dataset.url + (fresh ? (widget.dataset.url.includes('?') ? '&' : '?') + 'fresh=1' : '')
  widget.setAttribute('aria-busy', 'true')
  try {
    const answer = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    const data = await answer.json().catch(() => null)
    if (!answer.ok) throw new Error(message(data, answer.status))
    const drillUrl = drillLinks({
      list: widget.dataset.list,
      record: widget.dataset.record,
      dashboard: widget.dataset.dashboard,
      widget: widget.dataset.widget,
    })
    renderWidget(body, data, { lang, drillUrl })
    const stamp = widget.querySelector('.dw-stamp')
    if (stamp && data.computed_at) {
      stamp.textContent = new Date(data.computed_at).toLocaleTimeString(lang === 'en' ? 'en-US' : 'zh-CN', { hour: '2-digit', minute: '2-digit' })
      stamp.dateTime = data.computed_at
    }
    widget.dataset.state = 'ready'
  } catch (error) {
    body.replaceChildren()
    const p = document.createElement('p')
    p.className = 'dw-error'
    p.textContent = error.message
    body.append(p)
    widget.dataset.state = 'error'
  } finally {
    widget.removeAttribute('aria-busy')
  }
}

/** Places a widget by its layout ("x y w h" on the 12-column grid). Set through the CSSOM:
 *  the page's CSP refuses style attributes. The stylesheet ignores it on a phone. */
export function place(widget) {
  const [x, y, w, h] = (widget.dataset.layout || '').split(' ').map(Number)
  if ([x, y, w, h].some((n) => !Number.isInteger(n))) return
  widget.style.setProperty('--dw-column', `${x + 1} / span ${w}`)
  widget.style.setProperty('--dw-row', `${y + 1} / span ${h}`)
}

for (const widget of document.querySelectorAll('.dw-widget[data-url]')) {
  place(widget)
  load(widget)
  widget.querySelector('.dw-refresh')?.addEventListener('click', (event) => {
    event.preventDefault()
    load(widget, true)
  })
}
