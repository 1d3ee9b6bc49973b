"""Apps at run time: importing definitions, planning and publishing, and the published app.

:class:`AppService` owns the transactions of importing a definition as a draft revision and
of publishing a revision (validate → plan → apply DDL and data conversion → mark published,
all in one transaction). :func:`load_published` gives the :class:`PublishedApp` every other
service works with: the validated definition, its SQL tables and its expression scopes.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from builder import load_definition
from builder.errors import ROOT, Problem, join_path, problem
from builder.model import App, Entity
from builder.plan import plan_migration
from builder.repository import AppRow, DefinitionRepository, RevisionRow
from builder.schemas import dump_definition
from builder.scope import scope_for
from expressions import CompiledExpression, compile_expression
from expressions.scope import Scope
from expressions.types import ExprType
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.errors import Forbidden, NotFound, PublishRefused
from runtime.models import EntityTableRow, User
from runtime.schema_apply import PlanApplier, TableState
from runtime.tables import build_table, location_columns, new_metadata, step_column, table_name_for

DRAFT, PUBLISHED, SUPERSEDED = "draft", "published", "superseded"
_EXPRESSIONS_KEPT = 1024  # compiled expressions kept per published app


def formula_types(app: App, entity: Entity) -> dict[str, Any]:
    """The expression types the checker inferred for an entity's formula fields."""
    spec = scope_for(app, entity.key).entity_spec()
    if spec is None:
        return {}
    formulas = {f.key for f in entity.fields if f.formula is not None}
    return {f.name: f.type for f in spec.fields if f.name in formulas}


class AppBinding:
    """Maps expression names onto the published app's tables (an ``SqlBinding``)."""

    def __init__(self, app: PublishedApp) -> None:
        self.app = app

    def table(self, entity: str) -> sa.Table:
        """The table of ``entity``."""
        return self.app.table(entity)

    def column(self, table: sa.FromClause, entity: str, field: str) -> sa.ColumnElement[Any]:
        """The column of ``field``."""
        return table.c[field]  # type: ignore[no-any-return]

    def location_columns(
        self, table: sa.FromClause, entity: str, field: str
    ) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        """Latitude and longitude columns of a location field."""
        lat, lng, _acc = location_columns(field)
        return table.c[lat], table.c[lng]

    def step_done_at(self, table: sa.FromClause, entity: str, step: str) -> sa.ColumnElement[Any]:
        """The completion timestamp column of ``step``."""
        return table.c[step_column(step)]  # type: ignore[no-any-return]

    def users_table(self) -> sa.Table:
        """The platform's users table."""
        return User.__table__  # type: ignore[return-value]


@dataclass
class PublishedApp:
    """A published revision of an app with its tables: what records are read and written by."""

    app_id: int
    key: str
    workspace_id: int
    revision_id: int
    revision_number: int
    definition: App
    tables: dict[str, sa.Table]
    archived_entities: frozenset[str] = frozenset()
    _scopes: dict[str, Scope] = field(default_factory=dict, repr=False)
    _statements: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    #: Compiled expressions by expected type, then (entity key, source): see :meth:`compiled`.
    _compiled: dict[ExprType | None, dict[tuple[str, str], CompiledExpression]] = field(
        default_factory=dict, repr=False
    )

    def entity(self, key: str) -> Entity:
        """The entity ``key`` or NotFound."""
        entity = self.definition.entity(key)
        if entity is None or key in self.archived_entities:
            raise NotFound(
                f"The app {self.key!r} has no entity {key!r}.",
                message_zh=f"应用 {self.key} 中没有实体 {key}。",
            )
        return entity

    def table(self, key: str) -> sa.Table:
        """The table of entity ``key``."""
        self.entity(key)
        return self.tables[key]

    def scope(self, entity_key: str) -> Scope:
        """The expression scope of ``entity_key`` (cached)."""
        scope = self._scopes.get(entity_key)
        if scope is None:
            scope = self._scopes[entity_key] = scope_for(self.definition, entity_key)
        return scope

    def compiled(self, entity_key: str, source: str, expect: ExprType | None = None) -> CompiledExpression:
        """``source`` compiled in ``entity_key``'s scope, kept with this app.

        One dict lookup per evaluation instead of the expression language's global cache
        (which canonicalises the scope and keeps an LRU order). Bounded: an app's own
        expressions are few, but callers may pass ad-hoc sources too.
        """
        kept = self.expressions(expect)
        found = kept.get((entity_key, source))
        if found is None:
            found = compile_expression(source, self.scope(entity_key), expect=expect)
            if len(kept) >= _EXPRESSIONS_KEPT:
                kept.clear()
            kept[(entity_key, source)] = found
        return found

    def expressions(self, expect: ExprType | None = None) -> dict[tuple[str, str], CompiledExpression]:
        """The compiled expressions of ``expect`` kept so far, by (entity key, source).

        Hot paths look an expression up here first and call :meth:`compiled` on a miss.
        """
        kept = self._compiled.get(expect)
        if kept is None:
            kept = self._compiled.setdefault(expect, {})
        return kept

    def statement(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The statement ``build()`` made the first time ``key`` was asked for.

        For statements over this revision's tables that every write would otherwise
        rebuild: executed with their values as parameters, SQLAlchemy then compiles each
        once and reuses it.
        """
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = build()
        return found

    def insert_returning_id(self, key: str) -> sa.Insert:
        """``INSERT INTO <entity table> … RETURNING id``, built once per entity.

        Executed with the row's values as parameters, so SQLAlchemy compiles it once per
        set of columns and reuses it (``.values(row)`` would build a new statement per write).
        """
        table = self.table(key)
        return self.statement(("insert", key), lambda: table.insert().returning(table.c.id))  # type: ignore[no-any-return]

    @property
    def binding(self) -> AppBinding:
        """The SQL binding of this app's names."""
        return AppBinding(self)


_CACHE: OrderedDict[tuple[Any, ...], PublishedApp] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


@dataclass(frozen=True)
class PublishedState:
    """What decides whether the process's cache holds an app: its id and published revision.

    ``app_id`` is None when the workspace has no such app; ``revision_id`` when it has
    never been published.
    """

    app_id: int | None
    app_key: str | None
    revision_id: int | None
    number: int | None
    published_at: Any

    #: The columns :func:`join_published_state` adds, in this order.
    COLUMNS = ("app_id", "app_key", "revision_id", "number", "published_at")


def _state_columns() -> list[sa.ColumnElement[Any]]:
    apps, revisions = AppRow.__table__.c, RevisionRow.__table__.c
    return [
        apps.id.label("ps_app_id"),
        apps.key.label("ps_app_key"),
        apps.published_revision_id.label("ps_revision_id"),
        revisions.number.label("ps_number"),
        revisions.published_at.label("ps_published_at"),
    ]


def _state_joins(left: sa.FromClause, workspace_id: sa.ColumnElement[Any], *, by_id: bool) -> sa.Join:
    apps, revisions = AppRow.__table__.c, RevisionRow.__table__.c
    app_on = sa.and_(apps.workspace_id == workspace_id, (apps.id if by_id else apps.key) == sa.bindparam("app"))
    return left.outerjoin(AppRow.__table__, app_on).outerjoin(
        RevisionRow.__table__,
        sa.and_(revisions.id == apps.published_revision_id, revisions.workspace_id == workspace_id),
    )


def join_published_state(
    query: sa.Select[Any], left: sa.FromClause, workspace_id: sa.ColumnElement[Any], *, by_id: bool
) -> sa.Select[Any]:
    """``query`` (selecting from ``left``) outer-joined to the app named by the bind
    parameter ``app`` (id or key) of workspace ``workspace_id`` and to its published
    revision, with :class:`PublishedState`'s columns added (``ps_<name>``, NULL when the
    workspace has no such app).

    Lets a request find out who it is and which revision of the app it asks for in one
    round trip (see ``IdentityService.authenticate_token``).
    """
    return query.add_columns(*_state_columns()).select_from(
        _state_joins(left, workspace_id, by_id=by_id)
    )


def published_state_of(row: sa.Row[Any]) -> PublishedState:
    """The :class:`PublishedState` in a row of a :func:`join_published_state` query."""
    values = row._mapping
    return PublishedState(*(values[f"ps_{name}"] for name in PublishedState.COLUMNS))


#: Ids are signed 64-bit integers; a larger number names no app (and must not reach SQL).
_MAX_ID = 2**63 - 1


def app_ref_parameter(app_ref: str | int) -> tuple[bool, int | str]:
    """Whether ``app_ref`` names an app by id, and the value of the ``app`` parameter.

    Only ASCII digits are an id (``"²"`` is a key, which no app has); an id beyond 64 bits
    becomes -1, which no app has either — never a number the database can't hold.
    """
    if isinstance(app_ref, str) and not (app_ref.isascii() and app_ref.isdigit()):
        return False, app_ref
    number = int(app_ref)
    return True, number if 0 <= number <= _MAX_ID else -1


def _current_query(by_id: bool) -> sa.Select[Any]:
    """An app's :class:`PublishedState` in workspace ``workspace_id``, by id or by key."""
    apps, revisions = AppRow.__table__.c, RevisionRow.__table__.c
    workspace_id = sa.bindparam("workspace_id", type_=sa.BigInteger)
    return (
        sa.select(*_state_columns())
        .select_from(
            AppRow.__table__.outerjoin(
                RevisionRow.__table__,
                sa.and_(revisions.id == apps.published_revision_id, revisions.workspace_id == workspace_id),
            )
        )
        .where(apps.workspace_id == workspace_id, (apps.id if by_id else apps.key) == sa.bindparam("app"))
    )


# Built once: a request pays only for executing them.
_CURRENT_BY_ID = _current_query(by_id=True)
_CURRENT_BY_KEY = _current_query(by_id=False)


#: Each engine's URL as a string (``URL.__hash__`` renders the URL on every call).
_DATABASE_KEYS: weakref.WeakKeyDictionary[sa.Engine, str] = weakref.WeakKeyDictionary()


def _database_key(engine: sa.Engine) -> str:
    """The cache's name for ``engine``'s database: its URL, password included."""
    found = _DATABASE_KEYS.get(engine)
    if found is None:
        found = _DATABASE_KEYS[engine] = engine.url.render_as_string(hide_password=False)
    return found


def _definition_of(revision: RevisionRow) -> App:
    return load_definition(revision.definition)


def load_published(
    session: sa.orm.Session, workspace_id: int, app_ref: str | int, state: PublishedState | None = None
) -> PublishedApp:
    """The published app ``app_ref`` (key or id) of the workspace, or NotFound.

    ``state``, when given, is the app's :class:`PublishedState` read in this transaction
    already (the API reads it with the token, see :func:`join_published_state`); it
    replaces the query below.

    One small query on indexed columns (the app by workspace and key or id, joined to its
    published revision's id, number and publication time) decides whether the process's
    cache already holds that revision; only when it doesn't are the definition and the
    entity tables read and built. What is built depends on the revision alone (a stored
    definition never changes, table names follow from the app id and entity key, and
    publishing un-archives the tables of the revision's entities), so a publish made by
    any process is seen by the next request of every other.
    """
    if state is None:
        by_id, value = app_ref_parameter(app_ref)
        row = session.execute(
            _CURRENT_BY_ID if by_id else _CURRENT_BY_KEY, {"workspace_id": workspace_id, "app": value}
        ).first()
        state = published_state_of(row) if row is not None else PublishedState(None, None, None, None, None)
    app_id, app_key, revision_id, number, published_at = (
        state.app_id, state.app_key, state.revision_id, state.number, state.published_at
    )
    if app_id is None or app_key is None:
        raise NotFound(f"No app {app_ref!r} in this workspace.", message_zh=f"工作区中没有应用 {app_ref}。")
    if revision_id is None or number is None:
        raise NotFound(
            f"The app {app_key!r} has not been published yet; publish a revision first.",
            message_zh=f"应用 {app_key} 尚未发布,请先发布一个版本。",
        )
    # Revision ids are unique per database, and a process may talk to several (tests do).
    database = _database_key(session.get_bind().engine)
    cache_key = (database, app_id, revision_id, published_at)
    with _CACHE_LOCK:
        cached = _CACHE.get(cache_key)
        if cached is not None:
            _CACHE.move_to_end(cache_key)
            return cached
    revision = DefinitionRepository(session, workspace_id).revision(revision_id)
    if revision is None:  # pragma: no cover - the join above just found it
        raise NotFound(f"No app {app_ref!r} in this workspace.", message_zh=f"工作区中没有应用 {app_ref}。")
    tables = list(session.scalars(sa.select(EntityTableRow).where(EntityTableRow.app_id == app_id)))
    definition = _definition_of(revision)
    metadata = new_metadata()
    built: dict[str, sa.Table] = {}
    by_entity = {t.entity_key: t for t in tables}
    for entity in definition.entities:
        table_row = by_entity.get(entity.key)
        if table_row is None:
            continue
        built[entity.key] = build_table(
            metadata, table_row.table_name, entity, formula_types(definition, entity)
        )
    published = PublishedApp(
        app_id=app_id,
        key=app_key,
        workspace_id=workspace_id,
        revision_id=revision.id,
        revision_number=revision.number,
        definition=definition,
        tables=built,
        archived_entities=frozenset(t.entity_key for t in tables if t.archived_at is not None),
    )
    with _CACHE_LOCK:
        _CACHE[cache_key] = published
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return published


def revision_json(revision: RevisionRow) -> dict[str, Any]:
    """The API form of a revision (without its definition)."""
    return {
        "id": revision.id,
        "app_id": revision.app_id,
        "number": revision.number,
        "status": revision.status,
        "created_at": revision.created_at.isoformat() + "Z",
        "published_at": revision.published_at.isoformat() + "Z" if revision.published_at else None,
        "plan": revision.plan,
    }


def app_json(app: AppRow, published: RevisionRow | None = None) -> dict[str, Any]:
    """The API form of an app."""
    return {
        "id": app.id,
        "key": app.key,
        "label": app.label,
        "published_revision_id": app.published_revision_id,
        "published_revision_number": published.number if published else None,
        "created_at": app.created_at.isoformat() + "Z",
    }



def rollout_user_problems(session: sa.orm.Session, workspace_id: int, definition: Any) -> list[Problem]:
    """A trigger's ``rollout.users`` that are not users of this workspace (the builder
    checks the shape and the roles; only the runtime knows the users). Both the designer's
    diagnostics and every publish ask this."""
    triggers = definition.get("triggers") if isinstance(definition, Mapping) else None
    wanted: list[tuple[str, int]] = []
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        rollout = trigger.get("rollout") if isinstance(trigger, Mapping) else None
        users = rollout.get("users") if isinstance(rollout, Mapping) else None
        for u_index, user in enumerate(users if isinstance(users, list) else []):
            if isinstance(user, int) and not isinstance(user, bool) and 0 < user < 2**63:
                wanted.append((join_path(ROOT, "triggers", index, "rollout", "users", u_index), user))
    if not wanted:
        return []
    known = set(session.scalars(sa.select(User.id).where(
        User.workspace_id == workspace_id, User.id.in_({u for _, u in wanted}))))
    return [
        problem(path, "unknown_reference", reason=f"There is no user {user} in this workspace.",
                reason_zh=f"工作区中没有用户 {user}。")
        for path, user in wanted if user not in known
    ]

class AppService:
    """Imports definitions as draft revisions and publishes them. Owns its transactions."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.repo = DefinitionRepository(ctx.session, ctx.workspace_id)

    def _require_admin(self) -> None:
        if self.ctx.actor.role not in ("admin", "system"):
            raise Forbidden(
                "Only an admin may change app definitions.", message_zh="只有管理员可以修改应用定义。"
            )

    def import_definition(self, document: Any) -> RevisionRow:
        """Validates ``document`` and stores it as a new draft revision (creating the app)."""
        self._require_admin()
        definition = load_definition(document)
        now = to_naive_utc(self.ctx.now())
        app = self.repo.app_by_key(definition.key)
        label = {"zh": definition.label.zh, "en": definition.label.en}
        if app is None:
            app = AppRow(workspace_id=self.ctx.workspace_id, key=definition.key, label=label, created_at=now)
            self.repo.add(app)
        else:
            app.label = label
        revision = RevisionRow(
            workspace_id=self.ctx.workspace_id,
            app_id=app.id,
            number=self.repo.next_number(app.id),
            status=DRAFT,
            definition=dump_definition(definition),
            created_at=now,
            created_by=self.ctx.actor.id,
        )
        self.repo.add(revision)
        self.session.commit()
        return revision

    def app(self, app_ref: str | int) -> AppRow:
        """The app ``app_ref`` (id or key) of the workspace, or NotFound."""
        by_id, value = app_ref_parameter(app_ref)
        row = self.repo.app(int(value)) if by_id else self.repo.app_by_key(str(value))
        if row is None:
            raise NotFound(f"No app {app_ref!r} in this workspace.", message_zh=f"工作区中没有应用 {app_ref}。")
        return row

    def revision(self, revision_id: int) -> RevisionRow:
        """The revision ``revision_id`` of the workspace, or NotFound."""
        revision = self.repo.revision(revision_id)
        if revision is None:
            raise NotFound("No such revision in this workspace.", message_zh="工作区中没有该版本。")
        return revision

    def _old_definition(self, app: AppRow) -> App | None:
        published = self.repo.published(app)
        return _definition_of(published) if published else None

    def plan(self, revision_id: int, confirm_drops: Iterable[str] = ()) -> dict[str, Any]:
        """The migration plan publishing ``revision_id`` would apply (nothing changes)."""
        self._require_admin()
        revision = self.revision(revision_id)
        app = self.app(revision.app_id)
        new = _definition_of(revision)
        old = self._old_definition(app)
        plan = plan_migration(old, new, confirm_drops=frozenset(confirm_drops))
        preview = plan.describe()
        preview["revision"] = revision_json(revision)
        return preview

    def publish(self, revision_id: int, confirm_drops: Iterable[str] = ()) -> dict[str, Any]:
        """Validates, plans and applies ``revision_id`` in one transaction; returns the plan.

        Raises PublishRefused (nothing changed) when the plan has problems or existing
        values can't be converted to a changed type.
        """
        self._require_admin()
        revision = self.revision(revision_id)
        if revision.status == PUBLISHED:
            raise PublishRefused(
                "This revision is already published.", message_zh="该版本已经发布。", code="already_published"
            )
        app = self.app(revision.app_id)
        new = _definition_of(revision)
        old_revision = self.repo.published(app)
        old = _definition_of(old_revision) if old_revision else None
        plan = plan_migration(old, new, confirm_drops=frozenset(confirm_drops))
        described = plan.describe()
        unknown_users = rollout_user_problems(self.session, self.ctx.workspace_id, revision.definition)
        if unknown_users:
            raise PublishRefused(
                "The revision can't be published: " + "; ".join(p.message for p in unknown_users),
                message_zh="该版本无法发布:" + ";".join(p.message_zh for p in unknown_users),
                detail={"problems": [p.as_dict() for p in unknown_users]},
            )
        if plan.problems:
            raise PublishRefused(
                "The revision can't be published: " + "; ".join(p.message for p in plan.problems),
                message_zh="该版本无法发布:" + ";".join(p.message_zh for p in plan.problems),
                detail={"plan": described},
            )
        try:
            self._apply(app, revision, old, new, plan)
        except Exception:
            self.session.rollback()
            raise
        now = to_naive_utc(self.ctx.now())
        if old_revision is not None:
            old_revision.status = SUPERSEDED
        revision.status = PUBLISHED
        revision.published_at = now
        revision.published_by = self.ctx.actor.id
        revision.plan = described.get("steps", [])
        app.published_revision_id = revision.id
        self.session.commit()
        described["revision"] = revision_json(revision)
        return described

    def _apply(self, app: AppRow, revision: RevisionRow, old: App | None, new: App, plan: Any) -> None:
        rows = {
            t.entity_key: t
            for t in self.session.scalars(sa.select(EntityTableRow).where(EntityTableRow.app_id == app.id))
        }
        now = to_naive_utc(self.ctx.now())
        states: dict[str, TableState] = {}
        for entity in new.entities:
            row = rows.get(entity.key)
            if row is None:
                row = EntityTableRow(
                    workspace_id=self.ctx.workspace_id,
                    app_id=app.id,
                    entity_key=entity.key,
                    table_name=table_name_for(app.id, entity.key),
                    archived_columns=[],
                    created_at=now,
                )
                self.session.add(row)
                rows[entity.key] = row
            states[entity.key] = TableState(row.table_name, list(row.archived_columns or []))
        for key, row in rows.items():
            states.setdefault(key, TableState(row.table_name, list(row.archived_columns or [])))
        types: dict[str, Any] = {e.key: formula_types(new, e) for e in new.entities}
        if old is not None:
            for e in old.entities:
                types[f"old:{e.key}"] = formula_types(old, e)
        self.session.flush()
        applier = PlanApplier(
            self.session.connection(),
            old,
            new,
            states,
            types,
            self.ctx.tz,
            revision.number,
        )
        applier.apply(plan.steps)
        for key, state in states.items():
            row = rows[key]
            row.archived_columns = list(state.archived)
            if state.archived_entity:
                row.archived_at = now
            elif new.entity(key) is not None:
                row.archived_at = None
        self.session.flush()


def definition_json(revision: RevisionRow) -> Mapping[str, Any]:
    """The stored definition document of a revision."""
    return revision.definition
