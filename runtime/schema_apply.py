"""Applies a migration plan (``builder.plan``) to the entity tables, in the caller's transaction.

Each plan step becomes DDL through Alembic's operations on the session's connection, so
the whole publish — DDL, data conversion and the revision bookkeeping — commits or rolls
back as one transaction on SQLite and PostgreSQL alike.

Type changes copy through Python: every existing value is converted with
:func:`runtime.values.convert`; if any value can't be converted the publish is refused
with the number of offending rows, and nothing has changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from builder.model import App, Entity, FieldType
from runtime.errors import PublishRefused
from runtime.table_ids import ensure_autoincrement
from runtime.tables import (
    archived_column,
    bounded,
    build_table,
    field_columns,
    field_indexes,
    list_index_name,
    list_indexes,
    location_columns,
    new_metadata,
    stage_columns,
    step_column,
    superseded_indexes,
    system_indexes,
)
from runtime.values import ValueProblem, convert, from_row, to_row

BATCH = 1000


@dataclass
class TableState:
    """What the platform knows about an entity's table while a plan is applied."""

    table_name: str
    archived: list[str] = field(default_factory=list)
    created: bool = False
    archived_entity: bool = False


@dataclass
class ConversionReport:
    """Rows whose value could not be converted, per ``entity.field``."""

    failures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, entity: str, field_key: str, count: int, sample: list[int], reason: str) -> None:
        """Records ``count`` failing rows of one field."""
        self.failures[f"{entity}.{field_key}"] = {"rows": count, "sample_ids": sample, "reason": reason}


def _ops(connection: Connection) -> Operations:
    return Operations(MigrationContext.configure(connection=connection))


def _index_names(connection: Connection, table_name: str, column: str) -> list[str]:
    inspector = sa.inspect(connection)
    names = []
    for index in inspector.get_indexes(table_name):
        if column in (index.get("column_names") or []) and index.get("name"):
            names.append(str(index["name"]))
    return names


class PlanApplier:
    """Turns plan steps into DDL and data copies on one connection."""

    def __init__(
        self,
        connection: Connection,
        old: App | None,
        new: App,
        states: dict[str, TableState],
        formula_types: dict[str, dict[str, Any]],
        tz: tzinfo,
        revision_number: int,
    ) -> None:
        self.connection = connection
        self.ops = _ops(connection)
        self.old = old
        self.new = new
        self.states = states
        self.formula_types = formula_types
        self.tz = tz
        self.revision_number = revision_number

    def _entity(self, key: str) -> Entity:
        entity = self.new.entity(key)
        assert entity is not None, key
        return entity

    def _old_entity(self, key: str) -> Entity:
        entity = self.old.entity(key) if self.old else None
        assert entity is not None, key
        return entity

    def apply(self, steps: Any) -> None:
        """Applies every step in order.

        First gives the app's existing SQLite tables ``AUTOINCREMENT`` if they were created
        without it (:func:`runtime.table_ids.ensure_autoincrement`).
        """
        for state in self.states.values():
            ensure_autoincrement(self.connection, state.table_name)
        self._ensure_list_indexes()
        for step in steps:
            handler = getattr(self, f"_{step.kind}", None)
            if handler is None:
                raise PublishRefused(
                    f"This version can't apply a plan step of kind {step.kind!r}.",
                    message_zh=f"当前版本无法执行 {step.kind} 类型的变更。",
                )
            handler(step)

    def _create_entity(self, step: Any) -> None:
        entity = self._entity(step.entity)
        state = self.states[step.entity]
        table = build_table(
            new_metadata(), state.table_name, entity, self.formula_types.get(step.entity)
        )
        table.create(self.connection)
        state.created = True

    def _add_field(self, step: Any) -> None:
        entity = self._entity(step.entity)
        f = entity.field(step.field)
        assert f is not None
        state = self.states[step.entity]
        table_name = state.table_name
        columns = field_columns(f, self.formula_types.get(step.entity, {}).get(f.key))
        archived = self._restorable(state, columns)
        if archived is not None:
            # The field was removed earlier and comes back (a rollback): so does its data.
            for column, name in zip(columns, archived, strict=True):
                self.ops.alter_column(table_name, name, new_column_name=column.name)
                state.archived.remove(name)
        else:
            for column in columns:
                self.ops.add_column(table_name, column)
        for name, cols, unique in field_indexes(table_name, f):
            self.ops.create_index(name, table_name, cols, unique=unique)

    def _restorable(self, state: TableState, columns: list[sa.Column[Any]]) -> list[str] | None:
        """The archived columns holding an earlier life of these columns, newest first, if
        every one of them is there with the same SQL type; else None."""
        reflected = {c["name"]: c["type"] for c in sa.inspect(self.connection).get_columns(state.table_name)}
        dialect = self.connection.dialect
        found: list[str] = []
        for column in columns:
            candidates = []
            for name in state.archived:
                _, _, number = name.rpartition("_r")
                if number.isdigit() and archived_column(column.name, int(number)) == name and name in reflected:
                    candidates.append((int(number), name))
            if not candidates:
                return None
            name = max(candidates)[1]
            was = str(reflected[name].compile(dialect=dialect)).replace(" ", "").upper()
            wanted = str(column.type.compile(dialect=dialect)).replace(" ", "").upper()
            if was != wanted:
                return None
            found.append(name)
        return found

    def _add_index(self, step: Any) -> None:
        table_name = self.states[step.entity].table_name
        f = self._entity(step.entity).field(step.field)
        assert f is not None
        present = _index_names(self.connection, table_name, step.field)
        for name, cols, unique in field_indexes(table_name, f):
            if name not in present:
                self.ops.create_index(name, table_name, cols, unique=unique)

    def _ensure_list_indexes(self) -> None:
        """Gives the old definition's existing tables the list indexes they should have.

        Tables created before list indexes existed have none, and a plan only adds those
        that differ between two definitions; this adds the missing ones (idempotent), drops
        the single-column ``created_at``, ``updated_at`` and ``owner`` indexes they make
        redundant, and rebuilds field indexes made on the field alone as ``(field, id)``.
        """
        if self.old is None:
            return
        inspector = sa.inspect(self.connection)
        for entity in self.old.entities:
            state = self.states.get(entity.key)
            if state is None or state.archived_entity or not inspector.has_table(state.table_name):
                continue
            present = {index.get("name") for index in inspector.get_indexes(state.table_name)}
            for name, cols, unique in list_indexes(state.table_name, entity):
                if name not in present:
                    self.ops.create_index(name, state.table_name, cols, unique=unique)
            for name in superseded_indexes(state.table_name):
                if name in present:
                    self.ops.drop_index(name, table_name=state.table_name)
            self._extend_field_indexes(state.table_name, entity)

    def _extend_field_indexes(self, table_name: str, entity: Entity) -> None:
        """Rebuilds a field index made on the field alone as ``(field, id)`` (idempotent)."""
        indexes = sa.inspect(self.connection).get_indexes(table_name)
        columns = {index.get("name"): list(index.get("column_names") or []) for index in indexes}
        for f in entity.fields:
            for name, cols, unique in field_indexes(table_name, f):
                if name in columns and columns[name] != cols:
                    self.ops.drop_index(name, table_name=table_name)
                    self.ops.create_index(name, table_name, cols, unique=unique)

    def _add_list_index(self, step: Any) -> None:
        table_name = self.states[step.entity].table_name
        name = list_index_name(table_name, tuple(step.columns))
        if name not in _index_names(self.connection, table_name, step.columns[0]):
            self.ops.create_index(name, table_name, list(step.columns))

    def _drop_list_index(self, step: Any) -> None:
        table_name = self.states[step.entity].table_name
        name = list_index_name(table_name, tuple(step.columns))
        if name in _index_names(self.connection, table_name, step.columns[0]):
            self.ops.drop_index(name, table_name=table_name)

    def _drop_index(self, step: Any) -> None:
        table_name = self.states[step.entity].table_name
        prefix = "uq" if step.unique else "ix"
        name = bounded(f"{prefix}_{table_name}_{step.field}")
        if name in _index_names(self.connection, table_name, step.field):
            self.ops.drop_index(name, table_name=table_name)

    def _relabel_field(self, step: Any) -> None:
        """Labels live in the definition only; the column keeps its key."""

    def _drop_indexes_of(self, table_name: str, column: str) -> None:
        for name in _index_names(self.connection, table_name, column):
            self.ops.drop_index(name, table_name=table_name)

    def _columns_of(self, field_type: FieldType, key: str) -> list[str]:
        if field_type is FieldType.LOCATION:
            return list(location_columns(key))
        return [key]

    def _archive_field(self, step: Any) -> None:
        old_field = self._old_entity(step.entity).field(step.field)
        assert old_field is not None
        state = self.states[step.entity]
        for column in self._columns_of(old_field.type, old_field.key):
            self._drop_indexes_of(state.table_name, column)
            target = archived_column(column, self.revision_number)
            self.ops.alter_column(state.table_name, column, new_column_name=target)
            state.archived.append(target)

    def _drop_field(self, step: Any) -> None:
        old_field = self._old_entity(step.entity).field(step.field)
        assert old_field is not None
        table_name = self.states[step.entity].table_name
        for column in self._columns_of(old_field.type, old_field.key):
            self._drop_indexes_of(table_name, column)
            self.ops.drop_column(table_name, column)

    def _archive_entity(self, step: Any) -> None:
        self.states[step.entity].archived_entity = True

    def _add_step(self, step: Any) -> None:
        from expressions.sqltypes import UTCDateTime

        table_name = self.states[step.entity].table_name
        self.ops.add_column(table_name, sa.Column(step_column(step.step), UTCDateTime(), nullable=True))

    def _remove_step(self, step: Any) -> None:
        table_name = self.states[step.entity].table_name
        column = step_column(step.step)
        target = archived_column(column.lstrip("_"), self.revision_number)
        self.ops.alter_column(table_name, column, new_column_name=target)
        self.states[step.entity].archived.append(target)

    def _add_stages(self, step: Any) -> None:
        table_name = self.states[step.entity].table_name
        for column in stage_columns():
            self.ops.add_column(table_name, column)
        for name, cols, unique in system_indexes(table_name, True):
            if "stage" in cols:
                self.ops.create_index(name, table_name, cols, unique=unique)

    def _remove_stages(self, step: Any) -> None:
        """Stage columns stay (history keeps its meaning); they are simply no longer used."""

    def _change_field_type(self, step: Any) -> None:
        old_field = self._old_entity(step.entity).field(step.field)
        new_field = self._entity(step.entity).field(step.field)
        assert old_field is not None and new_field is not None
        state = self.states[step.entity]
        old_table = build_table(
            new_metadata(), state.table_name, self._old_entity(step.entity),
            self.formula_types.get(f"old:{step.entity}"),
        )
        converted: list[dict[str, Any]] = []
        failures: list[int] = []
        reason = ""
        old_cols = [old_table.c[c] for c in self._columns_of(old_field.type, old_field.key)]
        query = sa.select(old_table.c.id, *old_cols).order_by(old_table.c.id)
        for row in self.connection.execute(query).mappings():
            try:
                value = convert(from_row(old_field, row), old_field, new_field, self.tz)
            except ValueProblem as problem:
                failures.append(row["id"])
                reason = reason or problem.message
                continue
            converted.append({"_id": row["id"], **to_row(new_field, value)})
        if failures:
            raise PublishRefused(
                f"{len(failures)} existing row(s) of {step.entity}.{step.field} can't be converted "
                f"from {old_field.type} to {new_field.type} ({reason}). Fix or clear those values, "
                "or keep the old type.",
                message_zh=f"{step.entity}.{step.field} 有 {len(failures)} 行现有数据无法从 "
                f"{old_field.type} 转换为 {new_field.type}。请先修正或清空这些值,或保留原类型。",
                detail={
                    "entity": step.entity,
                    "field": step.field,
                    "rows": len(failures),
                    "sample_ids": failures[:20],
                    "reason": reason,
                },
                code="conversion_failed",
            )
        table_name = state.table_name
        temp_field = new_field.__class__(**{**_field_kwargs(new_field), "key": f"conv_{new_field.key}"})
        temp_columns = field_columns(temp_field, self.formula_types.get(step.entity, {}).get(new_field.key))
        for column in temp_columns:
            self.ops.add_column(table_name, column)
        temp_table = sa.Table(
            table_name, sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True),
            *[sa.Column(c.name, c.type) for c in temp_columns],
        )
        new_names = self._columns_of(new_field.type, new_field.key)
        temp_names = [c.name for c in temp_columns]
        rename = dict(zip(new_names, temp_names, strict=True))
        if converted:
            statement = (
                sa.update(temp_table)
                .where(temp_table.c.id == sa.bindparam("_id"))
                .values({rename[k]: sa.bindparam(k) for k in new_names})
            )
            for start in range(0, len(converted), BATCH):
                self.connection.execute(statement, converted[start : start + BATCH])
        for old_column in self._columns_of(old_field.type, old_field.key):
            self._drop_indexes_of(table_name, old_column)
            self.ops.drop_column(table_name, old_column)
        for final, temp in rename.items():
            self.ops.alter_column(table_name, temp, new_column_name=final)
        for name, cols, unique in field_indexes(table_name, new_field):
            self.ops.create_index(name, table_name, cols, unique=unique)


def _field_kwargs(f: Any) -> dict[str, Any]:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}
