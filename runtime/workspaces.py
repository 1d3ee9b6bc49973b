"""Workspaces, users and API tokens: the tenancy and identity services."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.clock import Clock, to_naive_utc
from runtime.errors import Conflict, Invalid, NotFound, Unauthenticated
from runtime.models import ROLES, ApiToken, User, Workspace
from runtime.passwords import check_password, hash_password, needs_rehash

TOKEN_PREFIX = "cairn_"
#: A token's ``last_used_at`` is written at most this often (not on every request).
LAST_USED_GRANULARITY = timedelta(minutes=5)
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

    def authenticate_token(self, token: str) -> tuple[User, Workspace]:
        """The user and workspace of a valid, unrevoked token, or Unauthenticated."""
        found = self.authenticate_token_use(token)
        return found.user, found.workspace

    def authenticate_token_use(self, token: str) -> TokenUse:
        """The user, workspace and token row facts of a valid, unrevoked token, or Unauthenticated.

        One query on the token hash's unique index joins the token to its active user and
        workspace, so every request checks revocation and deactivation afresh at the cost
        of one round trip (nothing about a token is cached between requests).
        """
        found = self.session.execute(
            sa.select(User, Workspace, ApiToken.id, ApiToken.last_used_at)
            .select_from(ApiToken)
            .join(
                User,
                sa.and_(User.id == ApiToken.user_id, User.workspace_id == ApiToken.workspace_id),
            )
            .join(Workspace, Workspace.id == ApiToken.workspace_id)
            .where(
                ApiToken.token_hash == _token_hash(token),
                ApiToken.revoked_at.is_(None),
                User.is_active.is_(True),
            )
        ).one_or_none()
        if found is None:
            raise Unauthenticated("The API token is not valid.", message_zh="API 令牌无效。")
        user, workspace, token_id, last_used_at = found
        return TokenUse(user, workspace, token_id, last_used_at)

    def touch_token(self, token_id: int) -> None:
        """Records that the token was used now (the caller commits)."""
        self.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=to_naive_utc(self.clock.now()))
        )

    def revoke_token(self, workspace_id: int, token_id: int) -> None:
        """Revokes a token of the workspace."""
        row = self.session.scalars(
            sa.select(ApiToken).where(ApiToken.workspace_id == workspace_id, ApiToken.id == token_id)
        ).one_or_none()
        if row is None:
            raise NotFound("No such token.", message_zh="令牌不存在。")
        row.revoked_at = to_naive_utc(self.clock.now())
        self.session.commit()
