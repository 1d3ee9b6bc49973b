// Texts of the island in the page language. `t('中文', 'English')` picks one;
// `label(text)` reads a metadata text ({zh, en} or a plain string) with fallback.
import { inject } from 'vue'

export const LANG = Symbol('lang')

export function pick(lang, zh, en) {
  return lang === 'en' ? en : zh
}

export function label(lang, text) {
  if (text == null) return ''
  if (typeof text === 'string') return text
  return (lang === 'en' ? text.en || text.zh : text.zh || text.en) || ''
}

/** In a component: const { t, label } = useI18n() */
export function useI18n() {
  const lang = inject(LANG, 'zh')
  return { lang, t: (zh, en) => pick(lang, zh, en), label: (text) => label(lang, text) }
}
