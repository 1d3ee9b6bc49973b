"""Entity tables: one real SQL table per published entity, built with SQLAlchemy Core.

Column names come from stable keys, never from labels, and never from text formatted into
SQL: keys are validated identifiers and every statement is built with Core constructs.

Layout of an entity table:

- system columns ``id`` (never reused: ``AUTOINCREMENT`` on SQLite, ``BIGSERIAL`` on
  PostgreSQL), ``created_at``, ``updated_at``, ``created_by``, ``owner``,
  ``version`` (optimistic locking);
- ``stage`` and ``stage_entered_at`` when the entity has stages;
- ``_done_<step>`` per step: when the step's ``done_when`` first held;
- one column per field named by its key, except location fields, which take three
  (``<key>__lat``, ``<key>__lng``, ``<key>__acc``; keys never contain ``__``).

Formula fields are stored (recomputed on every write) so that lists, filters and
dashboards read them like any other column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from builder.list_indexes import UPDATED_ORDER, list_index_columns
from builder.model import Entity, Field, FieldType
from builder.repository import NAMING_CONVENTION, BigId
from builder.scope import FIELD_TYPES
from expressions import types as t
from expressions.sqltypes import DurationSeconds, UTCDateTime, sql_type_for

MAX_NAME = 63
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "owner", "version")
STAGE_COLUMNS = ("stage", "stage_entered_at")
LOCATION_PARTS = ("lat", "lng", "acc")


def bounded(name: str) -> str:
    """``name`` if it fits PostgreSQL's 63-byte limit, else a stable shortened form."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def table_name_for(app_id: int, entity_key: str) -> str:
    """The table name of an entity of an app (unique across workspaces by app id)."""
    return bounded(f"e{app_id}_{entity_key}")


def step_column(step_key: str) -> str:
    """The column holding when step ``step_key`` was first done."""
    return bounded(f"_done_{step_key}")


def location_columns(field_key: str) -> tuple[str, str, str]:
    """The latitude, longitude and accuracy columns of a location field."""
    lat, lng, acc = (bounded(f"{field_key}__{part}") for part in LOCATION_PARTS)
    return lat, lng, acc


def archived_column(field_key: str, revision: int) -> str:
    """The name a removed field's column is renamed to (data is kept)."""
    return bounded(f"_arch_{field_key}_r{revision}")




def column_type(field: Field, formula_type: t.ExprType | None = None) -> sa.types.TypeEngine[Any]:
    """The SQL type of a (non-location) field's column."""
    if field.type is FieldType.LINK:
        return sa.BigInteger()
    if field.type is FieldType.FORMULA:
        return sql_type_for(formula_type or t.TEXT)
    return sql_type_for(FIELD_TYPES[field.type])


def field_columns(field: Field, formula_type: t.ExprType | None = None) -> list[sa.Column[Any]]:
    """The columns of one field (three for a location, one otherwise)."""
    if field.type is FieldType.LOCATION:
        return [sa.Column(name, sa.Float(), nullable=True) for name in location_columns(field.key)]
    return [sa.Column(field.key, column_type(field, formula_type), nullable=True)]


def field_indexes(table_name: str, field: Field) -> list[tuple[str, list[str], bool]]:
    """(index name, columns, unique) for the indexes a field asks for.

    Link and user fields are always indexed: related collections and "my records"
    filters read them. A (non-unique) field index ends with ``id``: a list sorted by the
    field is ordered by ``(field, id)``, and the index then hands rows over in exactly that
    order (equal values included) — see :mod:`runtime.record_list`.
    """
    if field.type is FieldType.LOCATION:
        return []
    wanted = field.unique or field.index or field.type in (FieldType.LINK, FieldType.USER)
    if not wanted:
        return []
    if field.unique:
        return [(bounded(f"uq_{table_name}_{field.key}"), [field.key], True)]
    return [(bounded(f"ix_{table_name}_{field.key}"), [field.key, "id"], False)]


def system_columns() -> list[sa.Column[Any]]:
    """The columns every entity table has."""
    return [
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("owner", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    ]


def stage_columns() -> list[sa.Column[Any]]:
    """The columns of an entity with stages."""
    return [
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("stage_entered_at", UTCDateTime(), nullable=True),
    ]


def system_indexes(table_name: str, has_stages: bool) -> list[tuple[str, list[str], bool]]:
    """Indexes time-based rules need besides the list indexes.

    ``created_at``, ``updated_at`` and ``owner`` lead list indexes (:func:`list_indexes`:
    ``(created_at, id)``, ``(updated_at, id)``, ``(owner, updated_at, id)``), which serve
    everything a single-column index on them would.
    """
    indexes: list[tuple[str, list[str], bool]] = []
    if has_stages:
        indexes.append((bounded(f"ix_{table_name}_stage_entered"), ["stage", "stage_entered_at"], False))
    return indexes


def superseded_indexes(table_name: str) -> list[str]:
    """Indexes older tables have that a list index now covers (dropped at publish)."""
    return [bounded(f"ix_{table_name}_{column}") for column in ("created_at", "updated_at", "owner")]


def list_index_name(table_name: str, columns: tuple[str, ...]) -> str:
    """The name of the list index of ``table_name`` on ``columns``.

    ``(created_at, id)`` is ``ix_<table>_list``; a role's condition columns come before
    the order and name the index (``ix_<table>_list_owner``). An index of the
    ``(updated_at, id)`` order ends in ``__updated`` (keys never contain ``__``):
    ``ix_<table>_list__updated``, ``ix_<table>_list_owner__updated``.
    """
    order = columns[len(columns) - 2:]
    lead = columns[: len(columns) - 2]
    suffix = "__updated" if order == UPDATED_ORDER else ""
    return bounded(f"ix_{table_name}_list" + "".join(f"_{c}" for c in lead) + suffix)


def list_indexes(table_name: str, entity: Entity) -> list[tuple[str, list[str], bool]]:
    """(name, columns, unique) of the indexes the entity's lists are ordered and filtered by
    (see :mod:`builder.list_indexes`)."""
    return [(list_index_name(table_name, cols), list(cols), False) for cols in list_index_columns(entity)]


def build_table(
    metadata: sa.MetaData,
    table_name: str,
    entity: Entity,
    formula_types: dict[str, t.ExprType] | None = None,
    archived: Iterable[str] = (),
) -> sa.Table:
    """The Core table of ``entity`` (with indexes) registered in ``metadata``.

    ``archived`` lists columns of removed fields that still exist (kept as text-agnostic
    columns so that ``select *``-style copies do not drop them; they are never read).
    """
    formula_types = formula_types or {}
    columns: list[sa.Column[Any]] = system_columns()
    if entity.stages:
        columns.extend(stage_columns())
    for step in entity.steps:
        columns.append(sa.Column(step_column(step.key), UTCDateTime(), nullable=True))
    for field in entity.fields:
        columns.extend(field_columns(field, formula_types.get(field.key)))
    # AUTOINCREMENT: SQLite never hands out the id of a deleted record again (PostgreSQL's
    # BIGSERIAL never does anyway); see runtime.table_ids for tables created without it.
    table = sa.Table(table_name, metadata, *columns, sqlite_autoincrement=True)
    indexes = system_indexes(table_name, bool(entity.stages)) + list_indexes(table_name, entity)
    for field in entity.fields:
        indexes.extend(field_indexes(table_name, field))
    for name, cols, unique in indexes:
        sa.Index(name, *(table.c[c] for c in cols), unique=unique)
    return table


def new_metadata() -> sa.MetaData:
    """A MetaData with Cairn's naming convention, for one app's tables."""
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


__all__ = [
    "DurationSeconds",
    "UTCDateTime",
    "archived_column",
    "bounded",
    "build_table",
    "column_type",
    "field_columns",
    "field_indexes",
    "list_index_name",
    "superseded_indexes",
    "list_indexes",
    "location_columns",
    "new_metadata",
    "step_column",
    "system_indexes",
    "table_name_for",
]
