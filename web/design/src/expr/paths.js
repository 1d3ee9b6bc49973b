// JSON paths of the definition document as the server writes them (`$.entities[1].stages[0]`)
// and the problems under a path.

/** The segments of a simple path: `$.entities[1].stages` → ['entities', 1, 'stages']. */
export function segments(path) {
  const out = []
  const pattern = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g
  let match
  while ((match = pattern.exec(path))) {
    if (match[1] !== undefined) out.push(match[1])
    else if (match[2] !== undefined) out.push(Number(match[2]))
    else out.push(JSON.parse(`"${match[3]}"`))
  }
  return out
}

/** The node of `doc` at `path`, or undefined. */
export function resolve(doc, path) {
  let node = doc
  for (const key of segments(path)) {
    if (node == null) return undefined
    node = node[key]
  }
  return node
}

/** Whether `path` is `prefix` or lies under it (`[1]` is not under `[10]`). */
export function under(path, prefix) {
  if (!path) return false
  if (path === prefix) return true
  return path.startsWith(prefix) && (path[prefix.length] === '.' || path[prefix.length] === '[')
}

/** The problems (from `problemsAt`, or a plain list) exactly at `path`, or under it with `deep`. */
export function problemsOf(problemsAt, path, deep = false) {
  const list = (typeof problemsAt === 'function' ? problemsAt(path) : problemsAt) || []
  return list.filter((p) => (deep ? under(p.path, path) : p.path === path))
}

/** The text of a problem in the page language. */
export function problemText(problem, lang) {
  return (lang === 'en' ? problem.message : problem.message_zh) || problem.message || problem.code
}
