// Step cards: the "strong dependency" switch and `unlock_when` are two views of the same
// metadata. The switch is on exactly when `unlock_when` is `steps.<previous card>.done`;
// any other expression is a custom condition (the switch shows off, the expression shown).

export function strongExpression(previousKey) {
  return `steps.${previousKey}.done`
}

/** 'none' | 'strong' | 'custom' for the card at `index`. */
export function dependencyOf(steps, index) {
  const expression = (steps[index]?.unlock_when || '').trim()
  if (!expression) return 'none'
  if (index > 0 && expression === strongExpression(steps[index - 1].key)) return 'strong'
  return 'custom'
}

/** Turns the switch of the card at `index` on or off (the first card has no previous). */
export function setStrong(steps, index, on) {
  const step = steps[index]
  if (on) {
    if (index === 0) return
    step.unlock_when = strongExpression(steps[index - 1].key)
  } else {
    delete step.unlock_when
  }
}

/**
 * Moves the card at `from` to `to`. A card whose switch was on keeps it on, now waiting
 * for its new previous card; a card moved first has nothing to wait for.
 */
export function moveStep(steps, from, to) {
  const strong = steps.map((_, i) => dependencyOf(steps, i) === 'strong')
  const [card] = steps.splice(from, 1)
  const [flag] = strong.splice(from, 1)
  steps.splice(to, 0, card)
  strong.splice(to, 0, flag)
  steps.forEach((_, i) => {
    if (strong[i]) setStrong(steps, i, i > 0)
  })
}

/** Moves field `key` into the card at `index` (null: into no card), out of any other card. */
export function assignField(steps, key, index) {
  for (const step of steps) {
    if (step.fields) step.fields = step.fields.filter((k) => k !== key)
  }
  if (index !== null && index !== undefined) {
    const step = steps[index]
    step.fields = [...(step.fields || []), key]
  }
}

/** The index of the card owning field `key`, or null. */
export function cardOf(steps, key) {
  const index = (steps || []).findIndex((s) => (s.fields || []).includes(key))
  return index < 0 ? null : index
}
