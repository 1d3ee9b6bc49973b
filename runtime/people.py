"""People and access: users, their roles and managers, API tokens, passwords, the audit log.

:class:`PeopleService` is what a workspace admin does (the admin console's people pages and
the ``/api/v1/users``, ``/tokens`` and ``/audit`` endpoints); :func:`change_own_password` is
for every signed-in user; :class:`OperatorService` creates workspaces for the platform
operator. Each service owns its transaction: it commits what it changed, with an audit event
(``app_id`` empty, ``entity_key`` ``user``, ``api_token`` or ``workspace``).

A user holds one role: ``admin``, ``manager``, ``rep`` or a role declared by one of the
workspace's published apps (docs/decisions/0009-roles-from-apps.md).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from builder.repository import AppRow, DefinitionRepository
from runtime.apps import load_published
from runtime.clock import Clock, to_naive_utc
from runtime.context import CallContext
from runtime.errors import CairnError, Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from runtime.models import ROLES, ApiToken, AuditEvent, User, Workspace
from runtime.passwords import check_password, hash_password
from runtime.workspaces import IdentityService

MIN_PASSWORD = 8
#: A shorter CAIRN_PLATFORM_TOKEN leaves the platform API off (it could be guessed).
MIN_PLATFORM_TOKEN = 32
MAX_PASSWORD = 128
MAX_NAME = 200
MAX_REGION = 100
MAX_TOKEN_NAME = 100
LOCALES = ("zh_CN", "en")
#: Entity keys of the audit events of people and access (they have no app).
ACCESS_ENTITIES = ("user", "api_token", "workspace")
#: At most this many events go into one CSV export (narrow the filters for more).
CSV_LIMIT = 50_000
#: Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _field(key: str, message: str, message_zh: str) -> dict[str, Any]:
    return {"code": "invalid", "params": {}, "label": {"en": key, "zh": key}, "message": message, "message_zh": message_zh}


class FieldErrors:
    """Collects per-field problems in both languages; raises them as one :class:`Invalid`."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[str, Any]] = {}

    def add(self, key: str, message: str, message_zh: str) -> None:
        """One problem of field ``key`` (the first one per field is kept)."""
        self.fields.setdefault(key, _field(key, message, message_zh))

    def raise_if_any(self, message: str = "Some values are not valid.", message_zh: str = "部分内容无效。",
                     error: type[CairnError] = Invalid) -> None:
        """Raises if a problem was added; ``message`` names the first one."""
        if not self.fields:
            return
        first = next(iter(self.fields.values()))
        raise error(
            first["message"] if len(self.fields) == 1 else message,
            message_zh=first["message_zh"] if len(self.fields) == 1 else message_zh,
            errors={k: [v["message"]] for k, v in self.fields.items()},
            fields=self.fields,
        )


def _text(value: Any) -> str | None:
    """``value`` as stripped text (None when absent or empty)."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    return value or None


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


def check_password_rules(password: Any, errors: FieldErrors, key: str = "password") -> str | None:
    """``password`` if it meets the rules (8 to 128 characters), else a problem in ``errors``."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        errors.add(key, f"A password has at least {MIN_PASSWORD} characters.", f"密码至少 {MIN_PASSWORD} 个字符。")
        return None
    if len(password) > MAX_PASSWORD or "\x00" in password or _has_control(password):
        errors.add(key, f"A password has at most {MAX_PASSWORD} characters and no control characters.",
                   f"密码最多 {MAX_PASSWORD} 个字符,且不能包含控制字符。")
        return None
    return password


def generated_password() -> str:
    """A random password an admin hands over once (the user changes it)."""
    return secrets.token_urlsafe(12)


def declared_roles(session: Session, workspace_id: int) -> dict[str, list[str]]:
    """Every role the workspace's published apps declare, with the keys of the apps declaring it."""
    roles: dict[str, list[str]] = {}
    for row in DefinitionRepository(session, workspace_id).apps():
        if row.published_revision_id is None:
            continue
        try:
            app = load_published(session, workspace_id, row.key)
        except CairnError:
            continue
        for role in app.definition.roles:
            roles.setdefault(role, []).append(row.key)
    return roles


def role_is_known(role: str, declared: Mapping[str, list[str]]) -> bool:
    """Whether a user may hold ``role``: a built-in one or one a published app declares."""
    return role in ROLES or role in declared


def user_json(user: User, *, managers: Mapping[int, User] | None = None,
              declared: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """A user as the API and the pages show it (never the password hash)."""
    manager = (managers or {}).get(user.manager) if user.manager else None
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "role": user.role,
        "role_declared": True if declared is None else role_is_known(user.role, declared),
        "region": user.region,
        "manager": user.manager,
        "manager_name": manager.name if manager is not None else None,
        "locale": user.locale,
        "active": bool(user.is_active),
        "created_at": user.created_at.isoformat() + "Z",
    }


def token_json(token: ApiToken, owner: User | None = None) -> dict[str, Any]:
    """An API token's metadata (its secret is never stored)."""
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "user_id": token.user_id,
        "user_name": owner.name if owner is not None else None,
        "created_at": token.created_at.isoformat() + "Z",
        "last_used_at": token.last_used_at.isoformat() + "Z" if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() + "Z" if token.revoked_at else None,
        "active": token.revoked_at is None,
    }


def audit_access(session: Session, workspace_id: int, actor_id: int | None, at: datetime,
                 entity_key: str, record_id: int | None, action: str, changes: Mapping[str, Any]) -> None:
    """Adds an audit event of a change to people or access (the caller commits)."""
    session.add(AuditEvent(
        workspace_id=workspace_id,
        app_id=None,
        entity_key=entity_key,
        record_id=record_id,
        action=action,
        outcome="ok",
        changes=json.loads(json.dumps(dict(changes), default=str)),
        actor_id=actor_id,
        at=to_naive_utc(at),
    ))


@dataclass(frozen=True)
class CreatedUser:
    """A new user and, when the admin gave none, the generated password (shown once)."""

    user: User
    password: str | None


@dataclass(frozen=True)
class IssuedSecret:
    """A new API token: its row and its secret, shown once."""

    token: ApiToken
    secret: str


class PeopleService:
    """What a workspace admin does with users, roles, managers and tokens."""

    EDITABLE = ("name", "role", "region", "manager", "locale", "active")

    def __init__(self, ctx: CallContext) -> None:
        if ctx.actor.role != "admin":
            raise Forbidden("Only workspace admins can manage people and access.",
                            message_zh="只有工作区管理员可以管理人员与权限。")
        self.ctx = ctx
        self.session = ctx.session
        self.workspace_id = ctx.workspace_id
        self._declared: dict[str, list[str]] | None = None

    # -- reading ------------------------------------------------------------------------

    def declared(self) -> dict[str, list[str]]:
        """Roles declared by the workspace's published apps (cached for this call)."""
        if self._declared is None:
            self._declared = declared_roles(self.session, self.workspace_id)
        return self._declared

    def role_choices(self) -> list[dict[str, Any]]:
        """Every role a user may be given: the built-in ones first, then the apps' roles."""
        declared = self.declared()
        out = [{"key": r, "built_in": True, "apps": declared.get(r, [])} for r in ROLES]
        out += [{"key": r, "built_in": False, "apps": apps} for r, apps in sorted(declared.items()) if r not in ROLES]
        return out

    def _all_users(self) -> list[User]:
        return list(self.session.scalars(
            sa.select(User).where(User.workspace_id == self.workspace_id).order_by(User.name, User.id)
        ))

    def users(self) -> list[dict[str, Any]]:
        """The workspace's users by name, each with its manager's name and whether its role is declared."""
        rows = self._all_users()
        by_id = {u.id: u for u in rows}
        declared = self.declared()
        return [user_json(u, managers=by_id, declared=declared) for u in rows]

    def _user(self, user_id: int) -> User:
        user = self.session.scalars(
            sa.select(User).where(User.workspace_id == self.workspace_id, User.id == user_id)
        ).one_or_none()
        if user is None:
            raise NotFound("No such user.", message_zh="用户不存在。")
        return user

    def user(self, user_id: int) -> dict[str, Any]:
        """One user of the workspace (NotFound for another workspace's)."""
        user = self._user(user_id)
        managers = {user.manager: self._user(user.manager)} if user.manager else {}
        return user_json(user, managers=managers, declared=self.declared())

    # -- checks -------------------------------------------------------------------------

    def _check_role(self, role: Any, errors: FieldErrors) -> str | None:
        if not isinstance(role, str) or not role.strip():
            errors.add("role", "Choose a role.", "请选择角色。")
            return None
        role = role.strip()
        if not role_is_known(role, self.declared()):
            known = ", ".join(c["key"] for c in self.role_choices())
            errors.add(
                "role",
                f"No published app of this workspace declares the role {role!r}. Choose one of: {known} "
                "(or declare the role in an app and publish it first).",
                f"本工作区没有已发布的应用声明角色 {role}。请从以下角色中选择:{known}(或先在应用中声明该角色并发布)。",
            )
            return None
        return role

    def _check_manager(self, manager: Any, user_id: int | None, errors: FieldErrors) -> int | None:
        """The manager's id if it is an active user of this workspace and no cycle results."""
        if manager in (None, ""):
            return None
        try:
            if isinstance(manager, bool):
                raise ValueError
            manager_id = int(manager)
        except (TypeError, ValueError):
            errors.add("manager", "Choose the manager from the list.", "请从列表中选择上级。")
            return None
        if not -(2**63) < manager_id < 2**63:
            errors.add("manager", "No such user in this workspace.", "本工作区没有该用户。")
            return None
        users = {u.id: u for u in self._all_users()}
        chosen = users.get(manager_id)
        if chosen is None:
            errors.add("manager", "The manager must be a user of this workspace.", "上级必须是本工作区的用户。")
            return None
        if not chosen.is_active:
            errors.add("manager", f"{chosen.name} is deactivated; choose an active user as manager.",
                       f"{chosen.name} 已停用,请选择在职的用户作为上级。")
            return None
        if user_id is not None:
            # Walking up from the chosen manager must never reach the user.
            seen: set[int] = set()
            current: int | None = manager_id
            while current is not None and current not in seen:
                if current == user_id:
                    errors.add("manager", "A user can't report to themselves, directly or through others: "
                               "that would make a cycle of managers.",
                               "用户不能直接或间接地成为自己的上级:这会形成上级循环。")
                    return None
                seen.add(current)
                row = users.get(current)
                current = row.manager if row is not None else None
        return manager_id

    def _check_text(self, data: Mapping[str, Any], key: str, limit: int, errors: FieldErrors,
                    label: str, label_zh: str) -> str | None:
        value = _text(data.get(key))
        if value is not None and (len(value) > limit or _has_control(value)):
            errors.add(key, f"{label} has at most {limit} characters and no control characters.",
                       f"{label_zh}最多 {limit} 个字符,且不能包含控制字符。")
            return None
        return value

    def _check_locale(self, value: Any, errors: FieldErrors) -> str | None:
        locale = _text(value)
        if locale is not None and locale not in LOCALES:
            errors.add("locale", "The language is zh_CN or en.", "语言只能是 zh_CN 或 en。")
            return None
        return locale

    # -- writing ------------------------------------------------------------------------

    def _audit(self, entity_key: str, record_id: int | None, action: str, changes: Mapping[str, Any]) -> None:
        audit_access(self.session, self.workspace_id, self.ctx.actor.id, self.ctx.now(), entity_key, record_id,
                     action, changes)

    def create_user(self, data: Mapping[str, Any]) -> CreatedUser:
        """A new user; without a password one is generated and returned once."""
        errors = FieldErrors()
        username = _text(data.get("username"))
        if username is None or len(username) > 150 or _has_control(username) or any(c.isspace() for c in username):
            errors.add("username", "A username is 1 to 150 characters without spaces.",
                       "用户名为 1 到 150 个字符,不能包含空格。")
            username = None
        name = self._check_text(data, "name", MAX_NAME, errors, "A name", "姓名")
        region = self._check_text(data, "region", MAX_REGION, errors, "A team or region", "团队/区域")
        role = self._check_role(data.get("role") or "rep", errors)
        manager = self._check_manager(data.get("manager"), None, errors)
        locale = self._check_locale(data.get("locale"), errors)
        raw_password = data.get("password")
        password = None
        if raw_password not in (None, ""):
            password = check_password_rules(raw_password, errors)
        errors.raise_if_any("The user was not created: fix the fields marked.", "用户未创建:请修改标出的字段。")
        assert username is not None and role is not None
        if self.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise Conflict(
                f"The username {username!r} is taken; choose another one.",
                message_zh=f"用户名 {username} 已被使用,请换一个。",
                errors={"username": ["taken"]},
                fields={"username": _field("username", f"The username {username!r} is taken; choose another one.",
                                           f"用户名 {username} 已被使用,请换一个。")},
                code="username_taken",
            )
        generated = None if password else generated_password()
        workspace = self.ctx.workspace
        user = IdentityService(self.session, self.ctx.clock).add_user(
            workspace, username, name=name, password=password or generated, role=role, region=region,
            manager=manager, locale=locale,
        )
        self._audit("user", user.id, "user.create", {
            "username": [None, user.username], "name": [None, user.name], "role": [None, role],
            "region": [None, region], "manager": [None, manager],
        })
        self.session.commit()
        return CreatedUser(user, generated)

    def update_user(self, user_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """Changes name, role, team/region, manager, language or active of a user.

        Only the members present are changed. An admin can't deactivate themselves or change
        their own role (they would lock themselves out). A role the user already holds is kept
        even if no app declares it any more; a newly given role must be declared.
        """
        user = self._user(user_id)
        unknown = sorted(set(data) - set(self.EDITABLE))
        if unknown:
            raise Invalid(f"These can't be changed here: {', '.join(unknown)}.",
                          message_zh=f"这些内容不能在此修改:{', '.join(unknown)}。",
                          errors={k: ["unknown member"] for k in unknown})
        errors = FieldErrors()
        changes: dict[str, Any] = {}
        is_self = user.id == self.ctx.actor.id
        if "name" in data:
            name = self._check_text(data, "name", MAX_NAME, errors, "A name", "姓名")
            if name is None and "name" not in errors.fields:
                errors.add("name", "Enter a name.", "请输入姓名。")
            elif name is not None:
                changes["name"] = name
        if "role" in data and data.get("role") != user.role:
            if is_self:
                errors.add("role", "You can't change your own role; ask another admin.",
                           "不能修改自己的角色,请联系其他管理员。")
            else:
                role = self._check_role(data.get("role"), errors)
                if role is not None:
                    changes["role"] = role
        if "region" in data:
            region = self._check_text(data, "region", MAX_REGION, errors, "A team or region", "团队/区域")
            if "region" not in errors.fields:
                changes["region"] = region
        if "manager" in data:
            manager = self._check_manager(data.get("manager"), user.id, errors)
            if "manager" not in errors.fields:
                changes["manager"] = manager
        if "locale" in data:
            locale = self._check_locale(data.get("locale"), errors)
            if "locale" not in errors.fields:
                changes["locale"] = locale
        if "active" in data:
            active = data.get("active")
            if not isinstance(active, bool):
                errors.add("active", "active is true or false.", "active 只能是 true 或 false。")
            elif not active and is_self:
                errors.add("active", "You can't deactivate yourself; ask another admin.",
                           "不能停用自己,请联系其他管理员。")
            else:
                changes["active"] = active
        errors.raise_if_any("Nothing was saved: fix the fields marked.", "未保存:请修改标出的字段。")
        diff: dict[str, list[Any]] = {}
        for key, value in changes.items():
            column = "is_active" if key == "active" else key
            before = getattr(user, column)
            if before != value:
                diff[key] = [before, value]
                setattr(user, column, value)
        if diff:
            action = "user.update"
            if set(diff) == {"active"}:
                action = "user.reactivate" if diff["active"][1] else "user.deactivate"
            self._audit("user", user.id, action, diff)
        self.session.commit()
        return self.user(user.id)

    def set_active(self, user_id: int, active: bool) -> dict[str, Any]:
        """Deactivates (signs out, stops tokens) or reactivates a user."""
        return self.update_user(user_id, {"active": active})

    def reset_password(self, user_id: int, password: str | None = None) -> str:
        """Sets a user's password (a generated one when None); returns it to hand over once."""
        user = self._user(user_id)
        if password:
            errors = FieldErrors()
            check_password_rules(password, errors)
            errors.raise_if_any()
        new = password or generated_password()
        user.password_hash = hash_password(new)
        self._audit("user", user.id, "user.password_reset", {})
        self.session.commit()
        return new

    # -- tokens -------------------------------------------------------------------------

    def tokens(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """The workspace's API tokens (or one user's), active first, newest first."""
        query = (
            sa.select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.workspace_id == self.workspace_id)
        )
        if user_id is not None:
            self._user(user_id)
            query = query.where(ApiToken.user_id == user_id)
        rows = self.session.execute(query.order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())).all()
        return [token_json(t, u) for t, u in rows]

    def issue_token(self, user_id: int, name: Any) -> IssuedSecret:
        """A new API token for a user of the workspace; the secret is returned once."""
        user = self._user(user_id)
        errors = FieldErrors()
        label = _text(name)
        if label is None or len(label) > MAX_TOKEN_NAME or _has_control(label):
            errors.add("name", f"Name the token (1 to {MAX_TOKEN_NAME} characters), e.g. what uses it.",
                       f"请为令牌命名(1 到 {MAX_TOKEN_NAME} 个字符),例如使用它的系统。")
        if not user.is_active:
            errors.add("user_id", f"{user.name} is deactivated; reactivate them first.",
                       f"{user.name} 已停用,请先重新启用。")
        errors.raise_if_any("No token was issued: fix the fields marked.", "未签发令牌:请修改标出的字段。")
        assert label is not None
        issued = IdentityService(self.session, self.ctx.clock).issue_token(user, label, commit=False)
        row = self.session.get(ApiToken, issued.id)
        assert row is not None
        self._audit("api_token", row.id, "token.issue", {"name": [None, label], "user_id": [None, user.id]})
        self.session.commit()
        return IssuedSecret(row, issued.token)

    def revoke_token(self, token_id: int, *, current_token_id: int | None = None) -> dict[str, Any]:
        """Revokes a token of the workspace (idempotent); the token in use by this call can't be."""
        row = self.session.scalars(
            sa.select(ApiToken).where(ApiToken.workspace_id == self.workspace_id, ApiToken.id == token_id)
        ).one_or_none()
        if row is None:
            raise NotFound("No such token.", message_zh="令牌不存在。")
        if current_token_id is not None and row.id == current_token_id:
            raise Conflict("This request is made with that token; revoke it with another token or from the page.",
                           message_zh="本次请求正在使用该令牌;请用其他令牌或在页面上吊销它。", code="token_in_use")
        if row.revoked_at is None:
            row.revoked_at = to_naive_utc(self.ctx.now())
            self._audit("api_token", row.id, "token.revoke", {"revoked_at": [None, row.revoked_at]})
        self.session.commit()
        owner = self.session.get(User, row.user_id)
        return token_json(row, owner)


def change_own_password(ctx: CallContext, current: Any, new: Any, confirm: Any = None) -> None:
    """The signed-in user's own password; the current one must be given. Commits."""
    if ctx.actor.id is None:
        raise Forbidden("Only a user can change their password.", message_zh="只有用户本人可以修改密码。")
    user = ctx.session.scalars(
        sa.select(User).where(User.workspace_id == ctx.workspace_id, User.id == ctx.actor.id)
    ).one()
    errors = FieldErrors()
    if not isinstance(current, str) or not check_password(user.password_hash, current):
        errors.add("current_password", "The current password is wrong.", "当前密码不正确。")
    password = check_password_rules(new, errors, "new_password")
    if password is not None and confirm is not None and confirm != password:
        errors.add("confirm_password", "The two new passwords differ; type the same one twice.",
                   "两次输入的新密码不一致,请重新输入。")
    if password is not None and isinstance(current, str) and current == password and "current_password" not in errors.fields:
        errors.add("new_password", "Choose a new password different from the current one.", "新密码不能与当前密码相同。")
    errors.raise_if_any("The password was not changed: fix the fields marked.", "密码未修改:请修改标出的字段。")
    assert password is not None
    user.password_hash = hash_password(password)
    audit_access(ctx.session, ctx.workspace_id, user.id, ctx.now(), "user", user.id, "user.password_change", {})
    ctx.session.commit()


# -- the audit log ----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What the audit-log viewer narrows to; every member optional."""

    since: date | None = None
    until: date | None = None
    actor: int | None = None
    app: str | None = None
    entity: str | None = None
    action: str | None = None
    outcome: str | None = None
    record_id: int | None = None

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> AuditFilter:
        """From query parameters (``since``/``until`` as YYYY-MM-DD); a wrong one is Invalid."""
        errors = FieldErrors()

        def day(key: str) -> date | None:
            raw = _text(args.get(key))
            if raw is None:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                errors.add(key, "Give a date as YYYY-MM-DD.", "日期格式为 YYYY-MM-DD。")
                return None

        def number(key: str) -> int | None:
            raw = _text(args.get(key))
            if raw is None:
                return None
            if not raw.isdigit() or int(raw) >= 2**63:
                errors.add(key, f"{key} is a number.", f"{key} 必须是数字。")
                return None
            return int(raw)

        def word(key: str) -> str | None:
            raw = _text(args.get(key))
            if raw is not None and (len(raw) > 63 or _has_control(raw)):
                errors.add(key, f"{key} has at most 63 characters.", f"{key} 最多 63 个字符。")
                return None
            return raw

        found = cls(since=day("since"), until=day("until"), actor=number("actor"), app=word("app"),
                    entity=word("entity"), action=word("action"), outcome=word("outcome"),
                    record_id=number("record_id"))
        if found.since and found.until and found.since > found.until:
            errors.add("until", "The end date is before the start date.", "结束日期早于开始日期。")
        errors.raise_if_any("The filters are not valid: fix the fields marked.", "筛选条件无效:请修改标出的字段。")
        return found

    def query_args(self) -> dict[str, str]:
        """The filter as query parameters (for links such as the CSV export)."""
        out = {}
        for key in ("since", "until", "actor", "app", "entity", "action", "outcome", "record_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, date) else str(value)
        return out


class AuditLog:
    """The workspace's audit events (record writes and changes to people and access), for admins."""

    def __init__(self, ctx: CallContext) -> None:
        if ctx.actor.role != "admin":
            raise Forbidden("Only workspace admins can read the audit log.", message_zh="只有工作区管理员可以查看审计日志。")
        self.ctx = ctx

    def _query(self, flt: AuditFilter) -> Any:
        actor = sa.orm.aliased(User)
        query = (
            sa.select(AuditEvent, AppRow.key, actor.name)
            .outerjoin(AppRow, AppRow.id == AuditEvent.app_id)
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
            .where(AuditEvent.workspace_id == self.ctx.workspace_id)
        )
        tz = self.ctx.tz
        if flt.since:
            query = query.where(AuditEvent.at >= to_naive_utc(datetime.combine(flt.since, time(), tz)))
        if flt.until:
            query = query.where(AuditEvent.at < to_naive_utc(datetime.combine(flt.until + timedelta(days=1), time(), tz)))
        if flt.actor is not None:
            query = query.where(AuditEvent.actor_id == flt.actor)
        if flt.app:
            query = query.where(AppRow.key == flt.app)
        if flt.entity:
            query = query.where(AuditEvent.entity_key == flt.entity)
        if flt.action:
            query = query.where(AuditEvent.action == flt.action)
        if flt.outcome:
            query = query.where(AuditEvent.outcome == flt.outcome)
        if flt.record_id is not None:
            query = query.where(AuditEvent.record_id == flt.record_id)
        return query

    def _json(self, event: AuditEvent, app_key: str | None, actor_name: str | None, locale: str) -> dict[str, Any]:
        at = event.at.replace(tzinfo=ZoneInfo("UTC"))
        message = event.message_zh if locale.startswith("zh") and event.message_zh else event.message
        return {
            "id": event.id,
            "at": event.at.isoformat() + "Z",
            "at_local": at.astimezone(self.ctx.tz).strftime("%Y-%m-%d %H:%M:%S"),
            "actor_id": event.actor_id,
            "actor_name": actor_name if event.actor_id is not None else None,
            "app": app_key,
            "entity": event.entity_key,
            "record_id": event.record_id,
            "action": event.action,
            "outcome": event.outcome,
            "error_code": event.error_code,
            "message": message,
            "changes": event.changes or {},
        }

    def events(self, flt: AuditFilter, *, before: int | None = None, limit: int = 50,
               locale: str = "en") -> tuple[list[dict[str, Any]], int | None]:
        """A page of events, newest first, and the ``before`` id of the next page (None: last page)."""
        query = self._query(flt)
        if before is not None:
            query = query.where(AuditEvent.id < before)
        rows = self.ctx.session.execute(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
        items = [self._json(e, key, name, locale) for e, key, name in rows[:limit]]
        return items, (items[-1]["id"] if len(rows) > limit and items else None)

    def csv_lines(self, flt: AuditFilter, *, locale: str = "en", limit: int = CSV_LIMIT) -> Iterator[str]:
        """The filtered events as CSV lines (UTF-8 with a BOM first so spreadsheets read Chinese)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        zh = locale.startswith("zh")
        header = (["时间", "操作人", "应用", "对象", "记录编号", "动作", "结果", "错误代码", "消息", "变更"] if zh else
                  ["time", "actor", "app", "entity", "record_id", "action", "outcome", "error_code", "message", "changes"])
        writer.writerow(header)
        yield "\ufeff" + buffer.getvalue()
        query = self._query(flt).order_by(AuditEvent.id.desc()).limit(limit)
        for event, key, name in self.ctx.session.execute(query):
            item = self._json(event, key, name, locale)
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([csv_cell(v) for v in (
                item["at_local"],
                item["actor_name"] if item["actor_id"] is not None else ("系统" if zh else "system"),
                item["app"], item["entity"], item["record_id"], item["action"],
                item["outcome"], item["error_code"], item["message"],
                json.dumps(item["changes"], ensure_ascii=False) if item["changes"] else "",
            )])
            yield buffer.getvalue()


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# -- workspaces (the platform operator) ---------------------------------------------------


@dataclass(frozen=True)
class CreatedWorkspace:
    """A new workspace with its first admin; the password (if generated) and token shown once."""

    workspace: Workspace
    admin: User
    password: str | None
    token: str


class OperatorService:
    """What the platform operator does: workspaces, each with its own first admin.

    The operator is not a user of any workspace: the CLI (shell access to the server) and the
    ``/api/v1/platform`` endpoints (the ``CAIRN_PLATFORM_TOKEN`` credential) act as it.
    """

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def workspaces(self) -> list[dict[str, Any]]:
        """Every workspace with its number of active users."""
        counts = dict(self.session.execute(
            sa.select(User.workspace_id, sa.func.count()).where(User.is_active.is_(True)).group_by(User.workspace_id)
        ).all())
        return [workspace_json(w, counts.get(w.id, 0))
                for w in self.session.scalars(sa.select(Workspace).order_by(Workspace.key))]

    def create_workspace(self, data: Mapping[str, Any]) -> CreatedWorkspace:
        """A workspace and its admin user (with an API token), in one transaction."""
        errors = FieldErrors()
        key = _text(data.get("key"))
        if key is None or not IdentityService.valid_key(key):
            errors.add("key", "A workspace key is lower-case letters, digits, '-' or '_', starting with a letter.",
                       "工作区标识只能包含小写字母、数字、'-' 或 '_',且以字母开头。")
        name = _text(data.get("name")) or key
        if name is not None and (len(name) > MAX_NAME or _has_control(name)):
            errors.add("name", f"A name has at most {MAX_NAME} characters.", f"名称最多 {MAX_NAME} 个字符。")
        timezone = _text(data.get("timezone")) or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.add("timezone", "Give an IANA time zone such as Asia/Shanghai.", "请填写 IANA 时区,例如 Asia/Shanghai。")
        admin_username = _text(data.get("admin_username")) or (f"{key}-admin" if key else None)
        if admin_username is None or len(admin_username) > 150 or any(c.isspace() for c in admin_username) \
                or _has_control(admin_username):
            errors.add("admin_username", "The admin's username is 1 to 150 characters without spaces.",
                       "管理员用户名为 1 到 150 个字符,不能包含空格。")
        admin_name = _text(data.get("admin_name")) or admin_username
        password = None
        if data.get("admin_password") not in (None, ""):
            password = check_password_rules(data.get("admin_password"), errors, "admin_password")
        errors.raise_if_any("The workspace was not created: fix the fields marked.", "工作区未创建:请修改标出的字段。")
        assert key is not None and admin_username is not None
        if self.session.scalar(sa.select(Workspace.id).where(Workspace.key == key)) is not None:
            raise Conflict(f"Workspace {key!r} exists already.", message_zh=f"工作区 {key} 已存在。",
                           errors={"key": ["taken"]}, code="workspace_exists")
        if self.session.scalar(sa.select(User.id).where(User.username == admin_username)) is not None:
            raise Conflict(f"The username {admin_username!r} is taken; choose another admin username.",
                           message_zh=f"用户名 {admin_username} 已被使用,请换一个管理员用户名。",
                           errors={"admin_username": ["taken"]}, code="username_taken")
        identity = IdentityService(self.session, self.clock)
        workspace = identity.create_workspace(key, name or key, timezone, commit=False)
        generated = None if password else generated_password()
        admin = identity.add_user(workspace, admin_username, name=admin_name, password=password or generated,
                                  role="admin")
        issued = identity.issue_token(admin, "first-run", commit=False)
        audit_access(self.session, workspace.id, None, self.clock.now(), "workspace", workspace.id,
                     "workspace.create", {"key": [None, key], "admin": [None, admin_username]})
        self.session.commit()
        return CreatedWorkspace(workspace, admin, generated, issued.token)


def workspace_json(workspace: Workspace, users: int = 0) -> dict[str, Any]:
    """A workspace as the operator's API shows it."""
    return {
        "id": workspace.id,
        "key": workspace.key,
        "name": workspace.name,
        "timezone": workspace.timezone,
        "users": users,
        "created_at": workspace.created_at.isoformat() + "Z",
    }


def check_platform_token(configured: str | None, given: str) -> None:
    """Unauthenticated unless ``given`` is the operator's token (see docs/admin.md)."""
    import hmac

    if not configured or len(configured) < MIN_PLATFORM_TOKEN:
        raise Unauthenticated(
            f"The platform API is off: set CAIRN_PLATFORM_TOKEN on the server to a random secret of at least "
            f"{MIN_PLATFORM_TOKEN} characters to use it.",
            message_zh=f"平台接口未启用:请在服务器上将 CAIRN_PLATFORM_TOKEN 设置为至少 {MIN_PLATFORM_TOKEN} 个字符的随机密钥后再使用。",
        )
    if not hmac.compare_digest(configured.encode(), given.encode()):
        raise Unauthenticated("The platform token is not valid.", message_zh="平台令牌无效。")
