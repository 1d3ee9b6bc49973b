"""API: people and access — users, roles, API tokens, the audit log (admins), the caller's own
password (everyone), and the platform operator's workspaces (see docs/admin.md)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from runtime.automation.inbox import InboxService
from runtime.errors import Invalid
from runtime.models import User
from runtime.people import (
    AuditFilter,
    AuditLog,
    OperatorService,
    PeopleService,
    change_own_password,
    token_json,
    user_json,
    workspace_json,
)
from web.api import bp
from web.api.auth import call_context
from web.api.body import load
from web.api.people_schemas import (
    OwnPasswordSchema,
    PasswordResetSchema,
    TokenCreateSchema,
    UserCreateSchema,
    UserUpdateSchema,
    WorkspaceCreateSchema,
)
from web.db import platform, session
from web.i18n import language


def _people() -> PeopleService:
    return PeopleService(call_context())


@bp.get("/users")
def list_users() -> Any:
    """The workspace's users (admins only)."""
    return jsonify(items=_people().users())


@bp.post("/users")
def create_user() -> Any:
    """Creates a user; the generated password (when none was sent) is in the answer, once."""
    people = _people()
    created = people.create_user(load(UserCreateSchema()))
    return jsonify(user=people.user(created.user.id), password=created.password), 201


@bp.get("/users/<int:user>")
def get_user(user: int) -> Any:
    """One user."""
    return jsonify(_people().user(user))


@bp.patch("/users/<int:user>")
def update_user(user: int) -> Any:
    """Changes name, role, team/region, manager, language or active."""
    return jsonify(_people().update_user(user, load(UserUpdateSchema())))


@bp.post("/users/<int:user>/password")
def reset_password(user: int) -> Any:
    """Sets a user's password (generated when none is sent); the answer shows it once."""
    data = load(PasswordResetSchema())
    return jsonify(password=_people().reset_password(user, data.get("password")))


@bp.get("/roles")
def list_roles() -> Any:
    """The roles a user may be given: built-in, then those the published apps declare."""
    return jsonify(items=_people().role_choices())


@bp.get("/tokens")
def list_tokens() -> Any:
    """The workspace's API tokens (``user_id`` for one user's)."""
    raw = request.args.get("user_id")
    if raw is not None and (not raw.isdigit() or int(raw) >= 2**63):
        raise Invalid("user_id is a user's id.", message_zh="user_id 必须是用户编号。", errors={"user_id": ["expected an id"]})
    return jsonify(items=_people().tokens(int(raw) if raw else None))


@bp.post("/tokens")
def issue_token() -> Any:
    """Issues a token for a user of the workspace; its secret is in the answer, once."""
    data = load(TokenCreateSchema())
    issued = _people().issue_token(data["user_id"], data["name"])
    owner = session().get(User, issued.token.user_id)
    return jsonify(token=token_json(issued.token, owner), secret=issued.secret), 201


@bp.delete("/tokens/<int:token>")
def revoke_token(token: int) -> Any:
    """Revokes a token; the next request with it is refused (not the token of this request)."""
    _people().revoke_token(token, current_token_id=g.get("token_id"))
    return "", 204


@bp.get("/audit")
def audit_log() -> Any:
    """Audit events, newest first. Query: since, until, actor, app, entity, action, outcome,
    record_id, before, limit."""
    log = AuditLog(call_context())
    flt = AuditFilter.parse(request.args)
    before = request.args.get("before")
    limit = request.args.get("limit", "50")
    if (before is not None and (not before.isdigit() or int(before) >= 2**63)) or not limit.isdigit():
        raise Invalid("before and limit are numbers.", message_zh="before 和 limit 必须是数字。",
                      errors={"before": ["expected an integer"]})
    items, next_before = log.events(flt, before=int(before) if before else None,
                                    limit=max(1, min(200, int(limit))), locale=language())
    return jsonify(items=items, next_before=next_before)


@bp.get("/audit.csv")
def audit_csv() -> Any:
    """The filtered audit events as CSV (same filters as /audit)."""
    log = AuditLog(call_context())
    flt = AuditFilter.parse(request.args)
    return csv_response(log.csv_lines(flt, locale=language()))


def csv_response(lines: Any) -> Response:
    """A CSV download (also used by the audit-log page), built before it is sent so that the
    request's transaction ends with the request."""
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"', "Cache-Control": "no-store"},
    )


@bp.post("/account/password")
def own_password() -> Any:
    """Changes the caller's own password (the current one must be sent)."""
    data = load(OwnPasswordSchema())
    change_own_password(call_context(), data["current_password"], data["new_password"])
    return "", 204


@bp.post("/inbox/read-all")
def mark_all_read() -> Any:
    """Marks every notification of the caller read; answers how many were unread."""
    return jsonify(marked=InboxService(call_context()).mark_all_read())


@bp.get("/platform/workspaces")
def platform_workspaces() -> Any:
    """Every workspace (platform operator only: ``Authorization: Bearer <CAIRN_PLATFORM_TOKEN>``)."""
    return jsonify(items=OperatorService(session(), platform().clock).workspaces())


@bp.post("/platform/workspaces")
def platform_create_workspace() -> Any:
    """Creates a workspace with its first admin (platform operator only)."""
    created = OperatorService(session(), platform().clock).create_workspace(load(WorkspaceCreateSchema()))
    return jsonify(
        workspace=workspace_json(created.workspace, 1),
        admin=user_json(created.admin),
        password=created.password,
        token=created.token,
    ), 201
