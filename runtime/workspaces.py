"""Workspaces, users and API tokens: the tenancy and identity services."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from runtime.apps import PublishedState, app_ref_parameter, join_published_state, published_state_of
from runtime.clock import Clock, to_naive_utc
from runtime.db import core_execute
from runtime.errors import Conflict, Invalid, NotFound, Unauthenticated
from runtime.models import ROLES, ApiToken, User, Workspace
from runtime.passwords import check_password, hash_password, needs_rehash

TOKEN_PREFIX = "cairn_"
#: A token's ``last_used_at`` is written at most this often (not on every request).
LAST_USED_GRANULARITY = timedelta(minutes=5)

_USER_COLUMNS = ("id", "workspace_id", "username", "name", "role", "region", "manager", "locale", "is_active", "created_at")
_WORKSPACE_COLUMNS = ("id", "key", "name", "timezone", "created_at")
_users = User.__table__.c
_workspaces = Workspace.__table__.c
_tokens = ApiToken.__table__.c
_TOKEN_FROM = ApiToken.__table__.join(
    User.__table__, sa.and_(_users.id == _tokens.user_id, _users.workspace_id == _tokens.workspace_id)
).join(Workspace.__table__, _workspaces.id == _tokens.workspace_id)
#: A token's user and workspace, if the token is unrevoked and its user active (built once).
_TOKEN_QUERY = (
    sa.select(
        *(_users[c].label(f"u_{c}") for c in _USER_COLUMNS),
        *(_workspaces[c].label(f"w_{c}") for c in _WORKSPACE_COLUMNS),
        _tokens.id.label("t_id"),
        _tokens.last_used_at.label("t_last_used_at"),
    )
    .select_from(_TOKEN_FROM)
    .where(
        _tokens.token_hash == sa.bindparam("token_hash"),
        _tokens.revoked_at.is_(None),
        _users.is_active.is_(True),
    )
)
#: The same, with the published state of the app named by the parameter ``app``.
_TOKEN_AND_APP_QUERY = {
    by_id: join_published_state(_TOKEN_QUERY, _TOKEN_FROM, _tokens.workspace_id, by_id=by_id)
    for by_id in (True, False)
}


#: Detached users and workspaces by the exact row they were built from (see _detached).
_DETACHED: dict[tuple[Any, ...], tuple[User, Workspace]] = {}
_DETACHED_SIZE = 1024


def _detached(row: sa.Row[Any]) -> tuple[User, Workspace]:
    """The token's user and workspace as detached objects holding the row's values.

    Built once per distinct row and shared by the requests that read the same row: a
    changed user or workspace (role, region, deactivation …) is a different row, so it
    gets new objects on its very next request. Readers must not modify them.
    """
    values = tuple(row[: len(_USER_COLUMNS) + len(_WORKSPACE_COLUMNS)])
    found = _DETACHED.get(values)
    if found is None:
        user = User(**dict(zip(_USER_COLUMNS, values[: len(_USER_COLUMNS)], strict=True)))
        workspace = Workspace(**dict(zip(_WORKSPACE_COLUMNS, values[len(_USER_COLUMNS) :], strict=True)))
        make_transient_to_detached(user)  # never INSERTed if someone adds it to a session
        make_transient_to_detached(workspace)
        if len(_DETACHED) >= _DETACHED_SIZE:
            _DETACHED.clear()
        found = _DETACHED[values] = (user, workspace)
    return found


_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _unknown_user_hash() -> str:
    """A hash no password matches, checked when the name is unknown."""
    return hash_password(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class IssuedToken:
    """A token as shown once to its owner; only its hash is stored."""

    id: int
    token: str


@dataclass(frozen=True)
class TokenUse:
    """An authenticated token: its user and workspace, its id and when it was last used."""

    user: User
    workspace: Workspace
    token_id: int
    last_used_at: datetime | None
    #: The published state of the app the request names (None when it names none).
    state: PublishedState | None = None

    def stale(self, now: datetime) -> bool:
        """Whether ``last_used_at`` is worth writing again (unset or older than the granularity)."""
        return self.last_used_at is None or to_naive_utc(now) - self.last_used_at >= LAST_USED_GRANULARITY


class IdentityService:
    """Creates workspaces, users and tokens and authenticates them. Commits its own writes."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @staticmethod
    def valid_key(key: str) -> bool:
        """Whether ``key`` may name a workspace."""
        return bool(_KEY.match(key))

    def create_workspace(
        self, key: str, name: str, timezone: str = "Asia/Shanghai", *, commit: bool = True
    ) -> Workspace:
        """A new workspace; ``key`` is its unique short name."""
        if not _KEY.match(key):
            raise Invalid(
                "A workspace key is lower-case letters, digits, '-' or '_', starting with a letter.",
                message_zh="工作区标识只能包含小写字母、数字、'-' 或 '_',且以字母开头。",
                errors={"key": ["invalid"]},
            )
        if self.session.scalar(sa.select(Workspace.id).where(Workspace.key == key)) is not None:
            raise Conflict(f"Workspace {key!r} exists already.", message_zh=f"工作区 {key} 已存在。")
        ws = Workspace(key=key, name=name, timezone=timezone, created_at=to_naive_utc(self.clock.now()))
        self.session.add(ws)
        if commit:
            self.session.commit()
        else:
            self.session.flush()
        return ws

    def workspace_by_key(self, key: str) -> Workspace:
        """The workspace ``key`` or NotFound."""
        ws = self.session.scalars(sa.select(Workspace).where(Workspace.key == key)).one_or_none()
        if ws is None:
            raise NotFound(f"No workspace {key!r}.", message_zh=f"没有工作区 {key}。")
        return ws

    def create_user(
        self,
        workspace: Workspace,
        username: str,
        *,
        name: str | None = None,
        password: str | None = None,
        role: str = "rep",
        region: str | None = None,
        manager: int | None = None,
        locale: str | None = None,
    ) -> User:
        """A new user of ``workspace``; ``role`` is admin, manager or rep."""
        errors: dict[str, list[str]] = {}
        if role not in ROLES:
            errors["role"] = [f"must be one of {', '.join(ROLES)}"]
        if not username or len(username) > 150:
            errors["username"] = ["must be 1 to 150 characters"]
        if password is not None and len(password) < 8:
            errors["password"] = ["must be at least 8 characters"]
        if errors:
            raise Invalid("The user is not valid.", message_zh="用户信息无效。", errors=errors)
        if self.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise Conflict(
                f"The username {username!r} is taken.",
                message_zh=f"用户名 {username} 已被使用。",
                errors={"username": ["taken"]},
            )
        if manager is not None and self._user(workspace.id, manager) is None:
            raise Invalid("Unknown manager.", message_zh="上级不存在。", errors={"manager": ["unknown"]})
        user = self.add_user(
            workspace, username, name=name, password=password, role=role, region=region,
            manager=manager, locale=locale,
        )
        self.session.commit()
        return user

    def add_user(
        self,
        workspace: Workspace,
        username: str,
        *,
        name: str | None = None,
        password: str | None = None,
        role: str = "rep",
        region: str | None = None,
        manager: int | None = None,
        locale: str | None = None,
    ) -> User:
        """Adds a user the caller has checked (any role, see :mod:`runtime.people`); no commit."""
        user = User(
            workspace_id=workspace.id,
            username=username,
            name=name or username,
            password_hash=hash_password(password) if password else None,
            role=role,
            region=region,
            manager=manager,
            locale=locale,
            is_active=True,
            created_at=to_naive_utc(self.clock.now()),
        )
        self.session.add(user)
        self.session.flush()
        return user

    def _user(self, workspace_id: int, user_id: int) -> User | None:
        return self.session.scalars(
            sa.select(User).where(User.workspace_id == workspace_id, User.id == user_id)
        ).one_or_none()

    def user(self, workspace_id: int, user_id: int) -> User:
        """User ``user_id`` of the workspace, or NotFound."""
        user = self._user(workspace_id, user_id)
        if user is None:
            raise NotFound("No such user.", message_zh="用户不存在。")
        return user

    def users(self, workspace_id: int) -> list[User]:
        """The workspace's users by name."""
        return list(
            self.session.scalars(
                sa.select(User).where(User.workspace_id == workspace_id).order_by(User.name, User.id)
            )
        )

    def authenticate_password(self, username: str, password: str) -> User:
        """The active user with these credentials, or Unauthenticated."""
        user = self.session.scalars(sa.select(User).where(User.username == username)).one_or_none()
        # An unknown name costs one hash check too, so timing does not tell names apart.
        stored = user.password_hash if user is not None else _unknown_user_hash()
        if not check_password(stored, password) or user is None or not user.is_active:
            raise Unauthenticated(
                "Wrong username or password.", message_zh="用户名或密码错误。"
            )
        if user.password_hash and needs_rehash(user.password_hash):
            # Made with an older algorithm or weaker parameters: store today's hash now
            # that the password is known.
            user.password_hash = hash_password(password)
            self.session.commit()
        return user

    def issue_token(self, user: User, name: str = "default", *, commit: bool = True) -> IssuedToken:
        """A new API token for ``user``, scoped to the user's workspace."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            workspace_id=user.workspace_id,
            user_id=user.id,
            name=name,
            token_hash=_token_hash(token),
            prefix=token[: len(TOKEN_PREFIX) + 6],
            created_at=to_naive_utc(self.clock.now()),
        )
        self.session.add(row)
        if commit:
            self.session.commit()
        else:
            self.session.flush()
        return IssuedToken(id=row.id, token=token)

    def authenticate_token(
        self, token: str, app_ref: str | int | None = None
    ) -> tuple[User, Workspace, PublishedState | None]:
        """The user and workspace of a valid, unrevoked token, or Unauthenticated.

        See :meth:`authenticate_token_use`, which also gives the token's id and last use.
        """
        found = self.authenticate_token_use(token, app_ref)
        return found.user, found.workspace, found.state

    def authenticate_token_use(self, token: str, app_ref: str | int | None = None) -> TokenUse:
        """The user, workspace and token facts of a valid, unrevoked token, or Unauthenticated.

        One query on the token hash's unique index joins the token to its active user and
        workspace, so every request checks revocation and deactivation afresh at the cost
        of one round trip (nothing about a token is cached between requests). The query is
        a Core statement built once; the user and workspace come back as detached objects
        holding the row's values (read them, don't write through them).

        With ``app_ref`` (an app's key or id) the same query also reads that app's
        :class:`~runtime.apps.PublishedState` in the token's workspace, for
        ``load_published``; the third item is None without it.
        """
        parameters: dict[str, Any] = {"token_hash": _token_hash(token)}
        if app_ref is None:
            query = _TOKEN_QUERY
        else:
            by_id, parameters["app"] = app_ref_parameter(app_ref)
            query = _TOKEN_AND_APP_QUERY[by_id]
        row = core_execute(self.session, query, parameters).first()
        if row is None:
            raise Unauthenticated("The API token is not valid.", message_zh="API 令牌无效。")
        state = published_state_of(row) if app_ref is not None else None
        user, workspace = _detached(row)
        return TokenUse(user, workspace, row.t_id, row.t_last_used_at, state)

    def touch_token(self, token_id: int, *, commit: bool = False) -> None:
        """Records that the token was used now: in the caller's transaction, or committed
        at once with ``commit`` (for a session of its own, beside a read-only request)."""
        self.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=to_naive_utc(self.clock.now()))
        )
        if commit:
            self.session.commit()

    def revoke_token(self, workspace_id: int, token_id: int) -> None:
        """Revokes a token of the workspace."""
        row = self.session.scalars(
            sa.select(ApiToken).where(ApiToken.workspace_id == workspace_id, ApiToken.id == token_id)
        ).one_or_none()
        if row is None:
            raise NotFound("No such token.", message_zh="令牌不存在。")
        row.revoked_at = to_naive_utc(self.clock.now())
        self.session.commit()
