"""The OpenAPI paths of people and access (``web/api/people.py``); called by ``build_spec``."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from web.api.openapi import INVALID_BODY, _ok, _op, _problem
from web.api.people_schemas import SCHEMAS


def _ids(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "integer"}} for n in names]


def _query(**names: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": {"type": t}, "description": d}
            for n, (t, d) in names.items()]


ADMINS = _problem("Only workspace admins may manage people and access (forbidden)")
NO_USER = _problem("No such user in this workspace — or one of another workspace (not_found)")
AUDIT_FILTERS = _query(
    since=("string", "First day (YYYY-MM-DD, workspace time zone)"),
    until=("string", "Last day (YYYY-MM-DD)"),
    actor=("integer", "The acting user's id"),
    app=("string", "An app key"),
    entity=("string", "An entity key, or user / api_token / workspace"),
    action=("string", "create, update, delete, stage, user.update, token.revoke, …"),
    outcome=("string", "ok or refused"),
    record_id=("integer", "A record (or user, token) id"),
)


def register_schemas(spec: APISpec) -> None:
    """Adds the people-and-access schemas to the document's components."""
    for name, schema in SCHEMAS.items():
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)


def people_paths(spec: APISpec) -> None:
    """Users, roles, tokens, the audit log, the own password and the operator's workspaces."""
    user_p = _ids("user")
    role_refused = ("A wrong member (validation_failed; a role no published app declares is refused with the roles "
                    "that may be given; a manager of another workspace, a deactivated one or one making a cycle is "
                    "refused; you can't deactivate yourself or change your own role), or " + INVALID_BODY)
    spec.path("/users", operations={
        "get": _op("The workspace's users", {"200": _ok("Users", "UserList")}, {"403": ADMINS}),
        "post": _op("Create a user (a password is generated when none is sent, and shown once)",
                    {"201": _ok("Created", "CreatedUser")},
                    {"403": ADMINS, "409": _problem("The username is taken (username_taken)"), "422": role_refused},
                    body="UserCreate"),
    })
    spec.path("/users/{user}", operations={
        "get": _op("A user", {"200": _ok("User", "User")}, {"403": ADMINS, "404": NO_USER}, params=user_p),
        "patch": _op("Change a user's name, role, team/region, manager, language or active",
                     {"200": _ok("Changed", "User")}, {"403": ADMINS, "404": NO_USER, "422": role_refused},
                     body="UserUpdate", params=user_p),
    })
    spec.path("/users/{user}/password", operations={
        "post": _op("Reset a user's password (generated when none is sent; shown once)",
                    {"200": _ok("The new password", "PasswordSet")},
                    {"403": ADMINS, "404": NO_USER, "422": "A password under 8 characters (validation_failed), or " + INVALID_BODY},
                    body="PasswordReset", params=user_p),
    })
    spec.path("/roles", operations={
        "get": _op("Roles a user may be given", {"200": _ok("Roles", "RoleList")}, {"403": ADMINS}),
    })
    spec.path("/tokens", operations={
        "get": _op("API tokens with their last use", {"200": _ok("Tokens", "TokenList")},
                   {"403": ADMINS, "404": NO_USER, "422": "A user_id that is not an id (validation_failed)"},
                   params=_query(user_id=("integer", "Only this user's tokens"))),
        "post": _op("Issue a token for a user (its secret is shown once)", {"201": _ok("Issued", "IssuedToken")},
                    {"403": ADMINS, "404": NO_USER,
                     "422": "No name, or the user is deactivated (validation_failed), or " + INVALID_BODY},
                    body="TokenCreate"),
    })
    spec.path("/tokens/{token}", operations={
        "delete": _op("Revoke a token (the next request with it is refused)", {"204": _ok("Revoked", None)},
                      {"403": ADMINS, "404": _problem("No such token in this workspace (not_found)"),
                       "409": _problem("The token is the one this request is made with (token_in_use)")},
                      params=_ids("token")),
    })
    paging = _query(before=("integer", "next_before of the previous page"), limit=("integer", "Page size (≤ 200)"))
    wrong_filter = "A filter that is not a date or number (validation_failed)"
    spec.path("/audit", operations={
        "get": _op("Audit log: record writes and changes to people and access", {"200": _ok("Events", "AuditPage")},
                   {"403": _problem("Only workspace admins may read the audit log (forbidden)"), "422": wrong_filter},
                   params=AUDIT_FILTERS + paging),
    })
    spec.path("/audit.csv", operations={
        "get": _op("Audit log as CSV (cells that would start a formula get a leading ')",
                   {"200": {"description": "CSV, UTF-8 with BOM", "content": {"text/csv": {"schema": {"type": "string"}}}}},
                   {"403": _problem("Only workspace admins may read the audit log (forbidden)"), "422": wrong_filter},
                   params=AUDIT_FILTERS),
    })
    spec.path("/account/password", operations={
        "post": _op("Change your own password", {"204": _ok("Changed", None)},
                    {"403": _problem("Not a user's token (forbidden)"),
                     "422": "The current password is wrong or the new one is too short (validation_failed), or " + INVALID_BODY},
                    body="OwnPassword"),
    })
    spec.path("/inbox/read-all", operations={
        "post": _op("Mark all the caller's notifications read", {"200": _ok("How many", "MarkedAllRead")}, {}),
    })
    operator: dict[str, Any] = {"security": [{"platform": []}]}
    spec.path("/platform/workspaces", operations={
        "get": {**_op("Every workspace (platform operator: Bearer CAIRN_PLATFORM_TOKEN)",
                      {"200": _ok("Workspaces", "WorkspaceList")}, {}), **operator},
        "post": {**_op("Create a workspace with its first admin (platform operator)",
                       {"201": _ok("Created; the admin's password (if generated) and token are shown once", "CreatedWorkspace")},
                       {"409": _problem("The key or the admin's username is taken (workspace_exists, username_taken)"),
                        "422": "A wrong key, time zone or password (validation_failed), or " + INVALID_BODY},
                       body="WorkspaceCreate"), **operator},
    })
