// The designer's larger parts (expression editor, stages, roles and permissions, publish,
// history, triggers), reached through functions so that parts which use each other (a
// trigger's condition is an expression editor) import without an initialisation cycle.
import ExpressionEditor from './expr/ExpressionEditor.vue'
import HistoryPanel from './expr/HistoryPanel.vue'
import PublishDialog from './expr/PublishDialog.vue'
import RolesPanel from './expr/RolesPanel.vue'
import StagesPanel from './expr/StagesPanel.vue'
import TriggersPanel from './automation/TriggersPanel.vue'

export const editorComponent = () => ExpressionEditor
export const stagesComponent = () => StagesPanel
export const rolesComponent = () => RolesPanel
export const publishComponent = () => PublishDialog
export const historyComponent = () => HistoryPanel
export const triggersComponent = () => TriggersPanel
