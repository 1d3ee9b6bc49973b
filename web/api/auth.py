"""Bearer-token authentication for the API; every token is scoped to one workspace."""

from __future__ import annotations

from flask import g, request

from runtime.context import Actor, CallContext
from runtime.errors import Unauthenticated
from runtime.workspaces import IdentityService
from web import db
from web.api import bp

PUBLIC_ENDPOINTS = {"api.openapi_document"}


@bp.before_request
def authenticate() -> None:
    """Resolves ``Authorization: Bearer <token>`` into the request's user and workspace."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Send an API token as 'Authorization: Bearer <token>'.",
            message_zh="请在请求头中提供 API 令牌:Authorization: Bearer <令牌>。",
        )
    user, workspace = IdentityService(db.session(), db.platform().clock).authenticate_token(
        token.strip()
    )
    g.user = user
    g.workspace = workspace


def call_context() -> CallContext:
    """The explicit context runtime services receive for this request."""
    platform = db.platform()
    return CallContext(
        session=db.session(),
        workspace=g.workspace,
        actor=Actor.of(g.user),
        clock=platform.clock,
    )
