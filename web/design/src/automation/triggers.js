// The metadata of triggers (docs/automation.md) as the trigger editor writes it: the event
// types and action types the engine runs (builder/triggers/events.py, actions.py), their
// default options, durations as number + unit, and message placeholders. Pure functions:
// the panel applies them inside `store.edit`, so undo, redo and autosave cover them.
import { list } from '../paths.js'

/** `on.type` → [zh, en] name, in the order the picker offers them. */
export const EVENT_TYPES = {
  created: ['记录创建时', 'A record is created'],
  updated: ['记录修改时', 'A record is updated'],
  field_changed: ['字段变化时', 'A field changes'],
  stage_changed: ['进入/离开阶段时', 'The stage is entered or left'],
  step_completed: ['步骤完成时', 'A step is completed'],
  elapsed: ['条件持续一段时间后', 'A condition has held for a duration'],
  event: ['时间窗内发生一串事件', 'A sequence of events within a window'],
  schedule: ['定时(cron)', 'On a schedule (cron)'],
  deleted: ['记录删除时', 'A record is deleted'],
  webhook: ['外部系统推送(Webhook)', 'An inbound webhook'],
}

/** Action `type` → [zh, en] name. */
export const ACTION_TYPES = {
  set_field: ['设置字段', 'Set a field'],
  create_record: ['创建关联记录', 'Create a related record'],
  notify: ['发送通知', 'Notify'],
  assign: ['按分配规则指派', 'Assign by a rule'],
  prompt: ['表单内提示', 'In-form prompt'],
  http_webhook: ['调用 Webhook', 'Call a webhook'],
  report: ['发送报表', 'Send a report'],
  send_report: ['发送仪表盘报表', 'Send a dashboard report'],
}

export const CHANNELS = {
  inbox: ['站内收件箱', 'In-app inbox'],
  email: ['邮件', 'E-mail'],
  wecom: ['企业微信群机器人', 'WeCom group robot'],
  dingtalk: ['钉钉群机器人', 'DingTalk group robot'],
  feishu: ['飞书群机器人', 'Feishu group robot'],
}
export const ROBOT_CHANNELS = ['wecom', 'dingtalk', 'feishu']
export const PROMPT_LEVELS = { info: ['提示', 'Info'], warning: ['警告', 'Warning'], success: ['成功', 'Success'] }

export const DURATION_UNITS = {
  m: ['分钟', 'minutes'],
  h: ['小时', 'hours'],
  d: ['天', 'days'],
  w: ['周', 'weeks'],
  s: ['秒', 'seconds'],
}

/** System timestamps an elapsed trigger may count from (builder/triggers/validation.py). */
export const SYSTEM_SINCE = {
  stage_entered_at: ['进入当前阶段的时间', 'When the current stage was entered'],
  created_at: ['创建时间', 'Created at'],
  updated_at: ['最后修改时间', 'Last updated at'],
}

/** The `on` object of a trigger (a plain string such as "created" read as {type}). */
export function eventOf(trigger) {
  const on = trigger?.on
  if (typeof on === 'string') return { type: on }
  return on && typeof on === 'object' ? on : { type: '' }
}

/** A fresh `on` of `type`, keeping what the old one had that the new type also has. */
export function eventOfType(type, old = {}, entity = null) {
  const firstField = list(entity?.fields)[0]?.key || ''
  switch (type) {
    case 'updated': return { type, ...(Array.isArray(old.fields) ? { fields: old.fields } : {}) }
    case 'field_changed': return { type, field: old.field || firstField }
    case 'stage_changed': return { type, to: old.to ?? list(entity?.stages)[0]?.key ?? null }
    case 'step_completed': return { type, step: old.step || list(entity?.steps)[0]?.key || '' }
    case 'elapsed': return { type, condition: old.condition || 'true', since: old.since || (list(entity?.stages).length ? 'stage_entered_at' : 'created_at'), after: old.after || '48h' }
    case 'event': return { type, sequence: Array.isArray(old.sequence) && old.sequence.length ? old.sequence : ['event_a'], within: old.within || '3d' }
    case 'schedule': return { type, cron: old.cron || '0 9 * * mon', timezone: old.timezone || 'Asia/Shanghai' }
    case 'webhook': return { type }
    default: return { type }
  }
}

/** A new action of `type` with the options its schema requires. */
export function newAction(type, entity = null, definition = null) {
  const firstField = list(entity?.fields)[0]?.key || ''
  switch (type) {
    case 'set_field': return { type, field: firstField, value: '""' }
    case 'create_record': return { type, entity: entity?.key || '', values: {} }
    case 'notify': return { type, channel: 'inbox', to: 'owner', message: { zh: '', en: '' } }
    case 'assign': return { type, rule: '' }
    case 'prompt': return { type, message: { zh: '', en: '' }, level: 'info' }
    case 'http_webhook': return { type, url: 'https://' }
    case 'report': return { type, query: { entity: entity?.key || '' }, channel: 'inbox', title: { zh: '', en: '' }, to: 'owner' }
    case 'send_report': return { type, dashboard: list(definition?.dashboards)[0]?.key || '', channel: 'inbox', to_role: 'manager' }
    default: return { type }
  }
}

/** A new trigger of `entity` (created, no action yet: the server asks for one). */
export function newTrigger(key, name, entity) {
  return { key, label: name, entity: entity?.key || '', on: { type: 'created' }, enabled: true, actions: [] }
}

/** Moves item `from` of `items` to `to` (in place); false when nothing moves. */
export function move(items, from, to) {
  if (!Array.isArray(items) || from === to || from < 0 || to < 0 || from >= items.length || to >= items.length) return false
  const [item] = items.splice(from, 1)
  items.splice(to, 0, item)
  return true
}

/** "48h" → {amount: 48, unit: 'h'}; null for a combined or unreadable duration ("1d12h"). */
export function splitDuration(text) {
  const match = /^\s*(\d+)\s*([smhdw])\s*$/.exec(String(text ?? ''))
  return match ? { amount: Number(match[1]), unit: match[2] } : null
}

export function joinDuration(amount, unit) {
  return `${amount}${unit}`
}

/** `template` with `{name}` inserted at [start, end) (the selection); the caret after it. */
export function insertPlaceholder(template, name, start = null, end = null) {
  const text = String(template ?? '')
  const from = start ?? text.length
  const to = end ?? from
  const token = `{${name}}`
  return { text: text.slice(0, from) + token + text.slice(to), caret: from + token.length }
}

/** The names a record of `entity` offers to a template: its fields, then system names. */
export function placeholderNames(entity) {
  const names = list(entity?.fields).filter((f) => f.key && f.type !== 'child_list').map((f) => ({ key: f.key, label: f.label }))
  names.push({ key: 'id', label: { zh: '编号', en: 'ID' } })
  if (list(entity?.stages).length) names.push({ key: 'stage', label: { zh: '阶段', en: 'Stage' } })
  names.push({ key: 'created_at', label: { zh: '创建时间', en: 'Created at' } })
  return names
}

/** A five-field cron's parts, for the hint next to the raw expression; null if not five. */
export function cronParts(cron) {
  const parts = String(cron ?? '').trim().split(/\s+/).filter(Boolean)
  return parts.length === 5 ? parts : null
}

/** Whether a select's current `value` is none of its `keys` (shown as a "missing" option). */
export function orphan(value, keys) {
  return value !== undefined && value !== null && value !== '' && !keys.includes(value)
}

/** Problems an expression editor shows itself (the checker's), and the others (a missing
 * expression, a wrong type of value) which are listed under it. */
export const exprOnly = (problems) => problems.filter((p) => String(p.code || '').startsWith('expression_'))
export const notExpr = (problems) => problems.filter((p) => !String(p.code || '').startsWith('expression_'))
