// Constants of the roles and permissions editor (docs/metadata.md, Permissions).
export const DEFAULT_ROLES = ['admin', 'manager', 'rep']
export const OPERATIONS = ['create', 'read', 'update', 'delete']
/** The "own records" quick pick of a row condition. */
export const OWN_RECORDS = 'owner == me()'
