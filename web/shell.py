"""What the designer and the admin console share: the admin-only guard and the shell layout.

Both blueprints call :func:`require_admin` before every request: a visitor who is not
signed in is sent to the sign-in page (JSON callers get 401), a signed-in user who is not
an admin of the workspace gets 403. Their pages extend ``shell.html`` (in
``web/templates/``), which adds the left rail (apps, people, runs, rule health) to
``base.html``.
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from runtime.errors import Forbidden, Unauthenticated
from web.login import manager

ADMIN_ROLES = frozenset({"admin"})


def require_admin() -> ResponseReturnValue | None:
    """``before_request`` guard of the designer and the admin console."""
    if not current_user.is_authenticated:
        if "/api/" in request.path or request.accept_mimetypes.best == "application/json":
            raise Unauthenticated(
                "Sign in first (your session may have ended).",
                message_zh="请先登录(会话可能已过期)。",
            )
        return manager.unauthorized()
    if current_user.role not in ADMIN_ROLES:
        raise Forbidden(
            "Only workspace admins can open the designer and the admin console.",
            message_zh="只有工作区管理员可以打开设计器和管理后台。",
        )
    return None
