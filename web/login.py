"""Browser sessions (Flask-Login): who is signed in, and the call context of a page request.

The session cookie holds only the user's id; each request loads the user and the
workspace afresh, so a deactivated user is signed out on their next click.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, abort
from flask_login import LoginManager, UserMixin, current_user

from runtime.context import Actor, CallContext
from runtime.models import User, Workspace
from web import db

manager = LoginManager()


@dataclass
class SignedIn(UserMixin):  # type: ignore[misc]
    """The signed-in user of a page request, with their workspace."""

    user: User
    workspace: Workspace

    def get_id(self) -> str:
        """What the session cookie stores."""
        return str(self.user.id)

    @property
    def role(self) -> str:
        """admin, manager or rep."""
        return self.user.role

    @property
    def name(self) -> str:
        """The user's display name."""
        return self.user.name


def _load(user_id: str) -> SignedIn | None:
    try:
        uid = int(user_id)
    except ValueError:
        return None
    # One query: the active user joined to their workspace.
    found = db.session().execute(
        sa.select(User, Workspace)
        .join(Workspace, Workspace.id == User.workspace_id)
        .where(User.id == uid, User.is_active.is_(True))
    ).one_or_none()
    if found is None:
        return None
    user, workspace = found
    return SignedIn(user=user, workspace=workspace)


def signed_in() -> SignedIn:
    """The signed-in user (views behind ``login_required`` only)."""
    if not current_user.is_authenticated:
        abort(401)
    return current_user._get_current_object()  # type: ignore[no-any-return]


def call_context() -> CallContext:
    """The explicit context runtime services receive for this page request."""
    who = signed_in()
    return CallContext(
        session=db.session(),
        workspace=who.workspace,
        actor=Actor.of(who.user),
        clock=db.platform().clock,
    )


def init_app(app: Flask) -> None:
    """Sets up Flask-Login; anonymous visitors of protected pages go to the sign-in page."""
    manager.init_app(app)
    manager.user_loader(_load)
    manager.login_view = "auth.login"
    manager.login_message = None  # type: ignore[assignment]
    manager.session_protection = "basic"
