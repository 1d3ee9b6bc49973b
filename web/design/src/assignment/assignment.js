// Pure helpers of the assignment panel: the strategies the engine runs and the range of a
// weight's slider.

/** The strategies of runtime/assignment (builder.triggers.rules.STRATEGIES). */
export const STRATEGIES = [
  { key: 'round_robin', zh: '轮流分配', en: 'Round robin' },
  { key: 'least_loaded', zh: '负载最低', en: 'Least loaded' },
  { key: 'rule', zh: '按规则匹配', en: 'By rule' },
  { key: 'weighted', zh: '加权评分', en: 'Weighted scoring' },
]

/**
 * The slider's range for a weight: fractions (|w| ≤ 1 and not whole) slide from -1 to 1 by
 * 0.05; other weights from -100 to 100 by 1 (wider when the weight already is).
 */
export function sliderRange(weight) {
  const w = Number(weight) || 0
  if (Math.abs(w) <= 1 && !Number.isInteger(w)) return { min: -1, max: 1, step: 0.05 }
  const bound = Math.max(100, Math.ceil(Math.abs(w) / 100) * 100)
  return { min: -bound, max: bound, step: 1 }
}

export function weightLabel(t, name) {
  return t(`${name} 的权重`, `Weight of ${name}`)
}
