// The designer's place in the URL hash, so a reload keeps it:
// `#/` the apps, `#/apps/3` an app, `#/apps/3/e/1/fields/2` entity 1's fields with field 2
// selected, `#/apps/3/settings` the app's settings, `#/apps/3/assignment` its assignment rules,
// `#/apps/3/triggers/1` its triggers with trigger 1 open, `#/apps/3/dashboards/0/2` its
// dashboard 0 with widget 2 selected.
export const SECTIONS = ['fields', 'steps', 'stages', 'rules', 'roles']

export function parseRoute(hash) {
  const parts = String(hash || '').replace(/^#\/?/, '').split('/').filter(Boolean)
  if (parts[0] !== 'apps' || !/^\d+$/.test(parts[1] || '')) return { view: 'apps' }
  const route = { view: 'app', appId: Number(parts[1]), entity: null, section: 'fields', item: null }
  if (parts[2] === 'settings') route.section = 'settings'
  else if (parts[2] === 'assignment') route.section = 'assignment'
  else if (parts[2] === 'triggers') {
    route.section = 'triggers'
    if (/^\d+$/.test(parts[3] || '')) route.item = Number(parts[3])
  }
  else if (parts[2] === 'dashboards') {
    route.section = 'dashboards'
    if (/^\d+$/.test(parts[3] || '')) route.item = Number(parts[3])
    if (route.item !== null && /^\d+$/.test(parts[4] || '')) route.widget = Number(parts[4])
  }
  else if (parts[2] === 'e' && /^\d+$/.test(parts[3] || '')) {
    route.entity = Number(parts[3])
    if (SECTIONS.includes(parts[4])) route.section = parts[4]
    if (/^\d+$/.test(parts[5] || '')) route.item = Number(parts[5])
  }
  return route
}

export function formatRoute(route) {
  if (route.view !== 'app') return '#/'
  let hash = `#/apps/${route.appId}`
  if (route.section === 'settings') return `${hash}/settings`
  if (route.section === 'assignment') return `${hash}/assignment`
  if (route.section === 'triggers') return `${hash}/triggers${route.item !== null && route.item !== undefined ? '/' + route.item : ''}`
  if (route.section === 'dashboards') {
    if (route.item === null || route.item === undefined) return `${hash}/dashboards`
    return `${hash}/dashboards/${route.item}${route.widget !== null && route.widget !== undefined ? '/' + route.widget : ''}`
  }
  if (route.entity !== null && route.entity !== undefined) {
    hash += `/e/${route.entity}/${route.section || 'fields'}`
    if (route.item !== null && route.item !== undefined) hash += `/${route.item}`
  }
  return hash
}
