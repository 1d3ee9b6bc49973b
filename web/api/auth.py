"""Bearer-token authentication for the API; every token is scoped to one workspace."""

from __future__ import annotations

from flask import g, request

from runtime.apps import PublishedState
from runtime.context import Actor, CallContext
from runtime.errors import TooManyAttempts, Unauthenticated
from runtime.people import MIN_PLATFORM_TOKEN, check_platform_token
from runtime.workspaces import IdentityService
from web import db
from web.api import bp
from web.auth.throttle import minutes, throttle
from web.db import READ_METHODS

PUBLIC_ENDPOINTS = {"api.openapi_document"}
#: Endpoints of the platform operator: authenticated by ``CAIRN_PLATFORM_TOKEN``, not a user's token.
PLATFORM_ENDPOINTS = {"api.platform_workspaces", "api.platform_create_workspace"}


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
    guard = throttle()
    limits = guard.token_limits(request.remote_addr)
    wait = guard.wait(limits)
    if wait is not None:
        raise TooManyAttempts(
            f"Too many requests with an invalid API token. Try again in {minutes(wait)} minutes.",
            message_zh=f"无效 API 令牌的请求过多,请 {minutes(wait)} 分钟后再试。",
            detail={"retry_after": int(wait) + 1},
        )
    if request.endpoint in PLATFORM_ENDPOINTS:
        configured = db.platform().settings.platform_token
        try:
            check_platform_token(configured, token.strip())
        except Unauthenticated:
            if configured and len(configured) >= MIN_PLATFORM_TOKEN:  # while it is off there is nothing to guess
                guard.failed(limits)
            raise
        g.platform_operator = True
        return
    # Routes under an app read its published state with the token: one round trip.
    app_ref = request.view_args.get("app_ref") if request.view_args else None
    identity = IdentityService(db.session(), db.platform().clock)
    try:
        found = identity.authenticate_token_use(token.strip(), app_ref)
    except Unauthenticated:
        guard.failed(limits)
        raise
    g.user = found.user
    g.workspace = found.workspace
    g.token_id = found.token_id
    if found.state is not None:
        g.published_state = (app_ref, found.state)
    if found.stale(db.platform().clock.now()):
        _touch(found.token_id)


def _touch(token_id: int) -> None:
    """Writes the token's ``last_used_at``: in the request's transaction when it writes anyway,
    else in a short transaction of its own (a read request's session must not write)."""
    platform = db.platform()
    if request.method not in READ_METHODS:
        IdentityService(db.session(), platform.clock).touch_token(token_id)
        return
    with platform.session() as session:
        IdentityService(session, platform.clock).touch_token(token_id, commit=True)


def published_state(app_ref: str) -> PublishedState | None:
    """The state of ``app_ref`` read with this request's token (None if it wasn't)."""
    found = g.get("published_state")
    if found is None or found[0] != app_ref:
        return None
    return found[1]  # type: ignore[no-any-return]


def call_context() -> CallContext:
    """The explicit context runtime services receive for this request."""
    platform = db.platform()
    return CallContext(
        session=db.session(),
        workspace=g.workspace,
        actor=Actor.of(g.user),
        clock=platform.clock,
    )
