// The parts of the designer built in src/expr (expression editor, stages, roles and
// permissions, publish and history) join the build when their files are there; until
// then the designer shows a labelled placeholder in their place.
const modules = import.meta.glob(['./expr/*.vue', './automation/*.vue'], { eager: true })

function find(...names) {
  for (const name of names) {
    const module = modules[`./expr/${name}.vue`] || modules[`./automation/${name}.vue`]
    if (module) return module.default
  }
  return null
}

export const editorComponent = () => find('ExpressionEditor')
export const stagesComponent = () => find('StagesPanel', 'Stages')
export const rolesComponent = () => find('RolesPanel', 'PermissionsPanel', 'Roles')
export const publishComponent = () => find('PublishDialog', 'Publish')
export const historyComponent = () => find('HistoryPanel', 'History')
export const triggersComponent = () => find('TriggersPanel')
