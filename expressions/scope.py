"""What an expression can see: the scope it is checked against, and the contexts it runs in.

These are the seams between the pure language and the rest of Cairn. ``builder`` turns an
app definition into a :class:`Scope`; ``runtime`` implements :class:`DataResolver` (loading
linked and related records) and :class:`SqlBinding` (mapping names to table columns). The
language itself never opens a connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

import sqlalchemy as sa

from expressions.types import INTEGER, TEXT, USER, ExprType


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One readable name of a record: a user field or a system column.

    ``type`` is the expression type (a link field has ``record<target>``, a user field
    ``user``, a multi-choice field ``list<text>``, photos ``list<file>``).
    """

    name: str
    type: ExprType


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """A related collection: the records of ``entity`` whose ``link_field`` points here."""

    name: str
    entity: str
    link_field: str


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """Everything an expression may name on one entity.

    ``fields`` includes the system names the builder exposes (``id``, ``created_at``,
    ``updated_at``, ``created_by``, ``owner``, and ``stage`` / ``stage_entered_at`` when the
    entity has stages). ``steps`` are the step keys, usable as ``steps.<key>.done`` etc.
    """

    key: str
    fields: tuple[FieldSpec, ...]
    collections: tuple[CollectionSpec, ...] = ()
    steps: tuple[str, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name``, or None."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    def collection(self, name: str) -> CollectionSpec | None:
        """The collection called ``name``, or None."""
        for spec in self.collections:
            if spec.name == name:
                return spec
        return None


DEFAULT_USER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", INTEGER),
    FieldSpec("name", TEXT),
    FieldSpec("role", TEXT),
    FieldSpec("region", TEXT),
    FieldSpec("manager", USER),
)


@dataclass(frozen=True, slots=True)
class Scope:
    """The names in scope for expressions evaluated on records of ``entity``.

    ``entities`` holds every entity of the app, so that link paths (``customer.region``)
    and collection filters can be resolved. ``user_fields`` are the attributes of a
    ``user`` value (``me().role``, ``owner.manager``). Scopes are hashable and are part of
    the compile cache key.
    """

    entity: str
    entities: tuple[EntitySpec, ...]
    user_fields: tuple[FieldSpec, ...] = DEFAULT_USER_FIELDS

    def entity_spec(self, key: str | None = None) -> EntitySpec | None:
        """The entity ``key`` (default: the current entity), or None."""
        wanted = self.entity if key is None else key
        for spec in self.entities:
            if spec.key == wanted:
                return spec
        return None


@dataclass(frozen=True, slots=True)
class StepState:
    """The state of one step of a record, as the runtime computed it."""

    done: bool
    done_at: datetime | None
    unlocked: bool


@dataclass(frozen=True, slots=True)
class Location:
    """A captured position (WGS-84 degrees, accuracy in metres)."""

    lat: float
    lng: float
    accuracy: float | None = None


class DataResolver(Protocol):
    """Loads what one record's expression reaches beyond the record itself.

    Records are mappings from field name to the Python value of the field's type
    (``int``, ``Decimal``, ``str``, ``bool``, ``date``, aware ``datetime``, ``timedelta``,
    :class:`Location`, a user id for ``user``, a record id for links, a list for lists).
    """

    def record(self, entity: str, record_id: int) -> Mapping[str, Any] | None:
        """The linked record ``record_id`` of ``entity``, or None if it does not exist."""
        ...

    def user(self, user_id: int) -> Mapping[str, Any] | None:
        """The attributes of user ``user_id`` (keys of ``Scope.user_fields``), or None."""
        ...

    def related(
        self, collection: CollectionSpec, parent: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        """The records of ``collection`` that link to ``parent``."""
        ...

    def step(self, entity: str, record: Mapping[str, Any], step: str) -> StepState:
        """The state of ``step`` on ``record``."""
        ...


@dataclass(frozen=True)
class EvalContext:
    """What one evaluation may read besides the record: clock, zone, actor, data."""

    now: datetime
    tz: tzinfo
    actor: Mapping[str, Any] | None = None
    resolver: DataResolver | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class SqlBinding(Protocol):
    """Maps the names of a scope onto SQLAlchemy tables and columns (runtime implements)."""

    def table(self, entity: str) -> sa.Table:
        """The table holding records of ``entity``."""
        ...

    def column(self, table: sa.FromClause, entity: str, field: str) -> sa.ColumnElement[Any]:
        """The column of ``field`` in ``table`` (an alias of ``self.table(entity)``).

        Location fields are reached through :meth:`location_columns` instead.
        """
        ...

    def location_columns(
        self, table: sa.FromClause, entity: str, field: str
    ) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        """The latitude and longitude columns of a location field."""
        ...

    def step_done_at(self, table: sa.FromClause, entity: str, step: str) -> sa.ColumnElement[Any]:
        """The column holding when ``step`` was first done (null while not done)."""
        ...

    def users_table(self) -> sa.Table:
        """The platform table of users (columns ``id`` and the ``user_fields``)."""
        ...


class RowFilter(Protocol):
    """The extra condition rows of ``entity`` in ``table`` must meet (None: no condition)."""

    def __call__(self, entity: str, table: sa.FromClause) -> sa.ColumnElement[bool] | None: ...


@dataclass(frozen=True)
class SqlContext:
    """Constants an SQL compilation folds in: the clock, zone, actor and dialect name."""

    now: datetime
    tz: tzinfo
    dialect: str
    actor: Mapping[str, Any] | None = None
    row_filter: RowFilter | None = field(default=None, compare=False)
    """Asked for each related or linked table the SQL reaches (``entity``, alias): an extra
    WHERE condition its rows must meet, or None. Runtime passes the row conditions of the
    actor who reads, so an aggregate over a collection sees only rows the actor may read."""
