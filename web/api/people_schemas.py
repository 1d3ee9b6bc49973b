"""Marshmallow schemas of the people-and-access API (users, roles, tokens, audit log,
own password, the platform operator's workspaces); the OpenAPI document is built from them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.api.schemas import StrictSchema

_ID_RANGE = validate.Range(min=1, max=2**63 - 1)


class UserSchema(Schema):
    """A user of the workspace."""

    id = fields.Integer(required=True, dump_only=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"description": "admin, manager, rep or a role declared by a published app"})
    role_declared = fields.Boolean(required=True, metadata={"description": "False: no published app declares the role any more; "
                                                                           "it grants no permission in any app"})
    region = fields.String(allow_none=True, required=True, metadata={"description": "Team or region"})
    manager = fields.Integer(allow_none=True, required=True)
    manager_name = fields.String(allow_none=True, required=True)
    locale = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True, dump_only=True)


class UserListSchema(Schema):
    """The workspace's users by name."""

    items = fields.List(fields.Nested(UserSchema), required=True)


class UserCreateSchema(StrictSchema):
    """A new user; without a password one is generated and returned once."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    password = fields.String(allow_none=True, validate=validate.Length(max=128))
    role = fields.String(load_default="rep", validate=validate.Length(min=1, max=63))
    region = fields.String(allow_none=True, validate=validate.Length(max=100))
    manager = fields.Integer(allow_none=True, validate=_ID_RANGE)
    locale = fields.String(allow_none=True, validate=validate.OneOf(["zh_CN", "en"]))


class UserUpdateSchema(StrictSchema):
    """Changes to a user; only the members sent are changed."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    role = fields.String(validate=validate.Length(min=1, max=63))
    region = fields.String(allow_none=True, validate=validate.Length(max=100))
    manager = fields.Integer(allow_none=True, validate=_ID_RANGE)
    locale = fields.String(allow_none=True, validate=validate.OneOf(["zh_CN", "en"]))
    active = fields.Boolean()


class CreatedUserSchema(Schema):
    """A created user and the generated password (null when one was given)."""

    user = fields.Nested(UserSchema, required=True)
    password = fields.String(allow_none=True, required=True, metadata={"description": "Shown once"})


class PasswordResetSchema(StrictSchema):
    """A new password for a user (omit it to have one generated)."""

    password = fields.String(allow_none=True, validate=validate.Length(max=128))


class PasswordSetSchema(Schema):
    """The password set for the user, to hand over once."""

    password = fields.String(required=True)


class OwnPasswordSchema(StrictSchema):
    """Changing the caller's own password."""

    current_password = fields.String(required=True, validate=validate.Length(max=128))
    new_password = fields.String(required=True, validate=validate.Length(max=128))


class RoleSchema(Schema):
    """A role a user may be given."""

    key = fields.String(required=True)
    built_in = fields.Boolean(required=True)
    apps = fields.List(fields.String(), required=True, metadata={"description": "Keys of the published apps declaring it"})


class RoleListSchema(Schema):
    """Built-in roles first, then the roles the workspace's published apps declare."""

    items = fields.List(fields.Nested(RoleSchema), required=True)


class TokenSchema(Schema):
    """An API token's metadata (the secret is never stored)."""

    id = fields.Integer(required=True, dump_only=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    user_id = fields.Integer(required=True)
    user_name = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True)
    last_used_at = fields.String(allow_none=True, required=True)
    revoked_at = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)


class TokenListSchema(Schema):
    """API tokens, active first, newest first."""

    items = fields.List(fields.Nested(TokenSchema), required=True)


class TokenCreateSchema(StrictSchema):
    """A new token for a user of the workspace."""

    user_id = fields.Integer(required=True, validate=_ID_RANGE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class IssuedTokenSchema(Schema):
    """A new token and its secret (shown once)."""

    token = fields.Nested(TokenSchema, required=True)
    secret = fields.String(required=True, metadata={"description": "Send as `Authorization: Bearer <secret>`; shown once"})


class AuditEntrySchema(Schema):
    """One audit event: a record write, or a change to people and access (no app)."""

    id = fields.Integer(required=True)
    at = fields.String(required=True)
    at_local = fields.String(required=True, metadata={"description": "In the workspace's time zone"})
    actor_id = fields.Integer(allow_none=True, required=True)
    actor_name = fields.String(allow_none=True, required=True)
    app = fields.String(allow_none=True, required=True)
    entity = fields.String(required=True, metadata={"description": "An entity key, or user / api_token / workspace"})
    record_id = fields.Integer(allow_none=True, required=True)
    action = fields.String(required=True)
    outcome = fields.String(required=True)
    error_code = fields.String(allow_none=True, required=True)
    message = fields.String(allow_none=True, required=True)
    changes = fields.Dict(keys=fields.String(), required=True, metadata={"description": "key: [before, after]"})


class AuditPageSchema(Schema):
    """A page of audit events, newest first."""

    items = fields.List(fields.Nested(AuditEntrySchema), required=True)
    next_before = fields.Integer(allow_none=True, required=True, metadata={"description": "Pass as `before` for the next page"})


class WorkspaceSchema(Schema):
    """A workspace as the platform operator sees it."""

    id = fields.Integer(required=True)
    key = fields.String(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)
    users = fields.Integer(required=True, metadata={"description": "Active users"})
    created_at = fields.String(required=True)


class WorkspaceListSchema(Schema):
    """Every workspace."""

    items = fields.List(fields.Nested(WorkspaceSchema), required=True)


class WorkspaceCreateSchema(StrictSchema):
    """A new workspace and its first admin."""

    key = fields.String(required=True, validate=validate.Length(min=1, max=63))
    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    timezone = fields.String(allow_none=True, validate=validate.Length(max=64))
    admin_username = fields.String(allow_none=True, validate=validate.Length(max=150))
    admin_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    admin_password = fields.String(allow_none=True, validate=validate.Length(max=128))


class CreatedWorkspaceSchema(Schema):
    """A created workspace with its admin; the password (if generated) and the admin's token shown once."""

    workspace = fields.Nested(WorkspaceSchema, required=True)
    admin = fields.Nested(UserSchema, required=True)
    password = fields.String(allow_none=True, required=True)
    token = fields.String(required=True)


class MarkedAllReadSchema(Schema):
    """How many notifications were marked read."""

    marked = fields.Integer(required=True)


SCHEMAS = {
    "MarkedAllRead": MarkedAllReadSchema,
    "User": UserSchema,
    "UserList": UserListSchema,
    "UserCreate": UserCreateSchema,
    "UserUpdate": UserUpdateSchema,
    "CreatedUser": CreatedUserSchema,
    "PasswordReset": PasswordResetSchema,
    "PasswordSet": PasswordSetSchema,
    "OwnPassword": OwnPasswordSchema,
    "Role": RoleSchema,
    "RoleList": RoleListSchema,
    "Token": TokenSchema,
    "TokenList": TokenListSchema,
    "TokenCreate": TokenCreateSchema,
    "IssuedToken": IssuedTokenSchema,
    "AuditEntry": AuditEntrySchema,
    "AuditPage": AuditPageSchema,
    "Workspace": WorkspaceSchema,
    "WorkspaceList": WorkspaceListSchema,
    "WorkspaceCreate": WorkspaceCreateSchema,
    "CreatedWorkspace": CreatedWorkspaceSchema,
}
