// The field types of the definition format (builder/model.py FieldType, docs/metadata.md)
// with the options each one takes, and the creation of new fields from the palette.

export const FIELD_TYPES = [
  { type: 'text', zh: '单行文本', en: 'Text', icon: 'T' },
  { type: 'long_text', zh: '多行文本', en: 'Long text', icon: '¶' },
  { type: 'number', zh: '数字', en: 'Number', icon: '#' },
  { type: 'integer', zh: '整数', en: 'Integer', icon: '1' },
  { type: 'money', zh: '金额', en: 'Money', icon: '¥' },
  { type: 'percent', zh: '百分比', en: 'Percent', icon: '%' },
  { type: 'rating', zh: '评分', en: 'Rating', icon: '★' },
  { type: 'boolean', zh: '是/否', en: 'Yes / no', icon: '☑' },
  { type: 'date', zh: '日期', en: 'Date', icon: 'D' },
  { type: 'datetime', zh: '日期时间', en: 'Date and time', icon: 'DT' },
  { type: 'duration', zh: '时长', en: 'Duration', icon: '时' },
  { type: 'choice', zh: '单选', en: 'Choice', icon: '◉' },
  { type: 'multi_choice', zh: '多选', en: 'Multiple choice', icon: '☰' },
  { type: 'link', zh: '关联记录', en: 'Link', icon: '⇢' },
  { type: 'user', zh: '成员', en: 'User', icon: '☺' },
  { type: 'location', zh: '定位', en: 'Location', icon: '位' },
  { type: 'photo', zh: '照片', en: 'Photo', icon: '▣' },
  { type: 'file', zh: '文件', en: 'File', icon: '档' },
  { type: 'phone', zh: '电话', en: 'Phone', icon: '☎' },
  { type: 'email', zh: '邮箱', en: 'Email', icon: '@' },
  { type: 'url', zh: '网址', en: 'URL', icon: '网' },
  { type: 'formula', zh: '公式', en: 'Formula', icon: 'ƒ' },
]

/** Not a field type: a child list is a link on another entity pointing here. */
export const CHILD_LIST = { type: 'child_list', zh: '子表', en: 'Child list', icon: '▤' }

export const PALETTE = [...FIELD_TYPES, CHILD_LIST]

const NUMERIC = ['number', 'integer', 'money', 'percent', 'rating', 'duration']
const TEXTUAL = ['text', 'long_text', 'phone', 'email', 'url']
const NO_DEFAULT = ['link', 'user', 'location', 'photo', 'file', 'formula']
const NOT_INDEXABLE = ['long_text', 'multi_choice', 'location', 'photo', 'file']

/** Whether the option `name` applies to a field of `type` (docs/metadata.md "Field options"). */
export function takes(type, name) {
  switch (name) {
    case 'required':
    case 'required_when':
    case 'read_only_when':
      return type !== 'formula'
    case 'visible_when':
    case 'help':
      return true
    case 'default':
      return !NO_DEFAULT.includes(type)
    case 'min':
    case 'max':
      return NUMERIC.includes(type)
    case 'max_length':
      return TEXTUAL.includes(type)
    case 'options':
      return type === 'choice' || type === 'multi_choice'
    case 'target':
    case 'related_name':
    case 'related_label':
      return type === 'link'
    case 'multiple':
    case 'max_size_mb':
    case 'accept':
      return type === 'photo' || type === 'file'
    case 'formula':
      return type === 'formula'
    case 'unique':
      return !NOT_INDEXABLE.includes(type) && type !== 'formula'
    case 'index':
      return !NOT_INDEXABLE.includes(type)
    default:
      return false
  }
}

export function typeInfo(type) {
  return PALETTE.find((t) => t.type === type) || { type, zh: type, en: type, icon: '?' }
}

/**
 * The label of a new field of `type`: its type's name in the page language (numbered when
 * taken). Only that language: the other one is left for the admin to write, so an English
 * reader never sees a stale default.
 */
export function newLabel(type, existing = [], lang = 'zh') {
  const info = typeInfo(type)
  const name = lang === 'en' ? info.en : info.zh
  const taken = new Set(existing.map((f) => (typeof f.label === 'string' ? f.label : f.label?.[lang])))
  let n = 1
  let text = name
  while (taken.has(text)) text = `${name} ${++n}`
  return { [lang === 'en' ? 'en' : 'zh']: text }
}

/**
 * A new field of `type` with `key` and `label`, valid as far as its type allows:
 * a choice gets one option, a link points at `target` (the first other entity).
 */
export function newField(type, key, label, { target = null } = {}) {
  const field = { key, type, label }
  if (type === 'choice' || type === 'multi_choice') field.options = [{ value: '选项 1' }]
  if (type === 'link' && target) field.target = target
  if (type === 'formula') field.formula = '1'
  if (type === 'photo') field.accept = ['image/jpeg', 'image/png']
  return field
}

/** Drops the options that no longer apply when a field's type changes. */
export function changeType(field, type) {
  field.type = type
  for (const name of ['required', 'required_when', 'read_only_when', 'default', 'min', 'max', 'max_length', 'options', 'target', 'related_name', 'related_label', 'multiple', 'max_size_mb', 'accept', 'formula', 'unique', 'index']) {
    if (name in field && !takes(type, name)) delete field[name]
  }
  if ((type === 'choice' || type === 'multi_choice') && !field.options) field.options = [{ value: '选项 1' }]
  if (type === 'formula' && !field.formula) field.formula = '1'
}

/** An option's value and label whichever way it is written ("华东" or {value, label, color}). */
export function optionValue(option) {
  return typeof option === 'string' ? option : option?.value
}
