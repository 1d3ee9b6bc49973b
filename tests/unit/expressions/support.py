"""A small test world for the expression tests: a scope, records, a resolver, tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from expressions import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    FILE,
    INTEGER,
    LOCATION,
    TEXT,
    USER,
    CollectionSpec,
    EntitySpec,
    EvalContext,
    FieldSpec,
    Scope,
    StepState,
    list_of,
    record_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 18, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai, a Wednesday


def _system(stages: bool) -> tuple[FieldSpec, ...]:
    base = (
        FieldSpec("id", INTEGER),
        FieldSpec("created_at", DATETIME),
        FieldSpec("updated_at", DATETIME),
        FieldSpec("created_by", USER),
        FieldSpec("owner", USER),
    )
    if stages:
        base += (FieldSpec("stage", TEXT), FieldSpec("stage_entered_at", DATETIME))
    return base


OPPORTUNITY = EntitySpec(
    "opportunity",
    _system(True)
    + (
        FieldSpec("name", TEXT),
        FieldSpec("budget", DECIMAL),
        FieldSpec("budget_range", TEXT),
        FieldSpec("amount", DECIMAL),
        FieldSpec("transcript", TEXT),
        FieldSpec("referrals", INTEGER),
        FieldSpec("signed_at", DATE),
        FieldSpec("region", TEXT),
        FieldSpec("customer", record_of("customer")),
        FieldSpec("activity", DECIMAL),
        FieldSpec("demand", DECIMAL),
        FieldSpec("coverage", DECIMAL),
        FieldSpec("progress", DECIMAL),
        FieldSpec("ecosystem", DECIMAL),
        FieldSpec("tags", list_of(TEXT)),
        FieldSpec("photos", list_of(FILE)),
        FieldSpec("check_in", LOCATION),
        FieldSpec("approved", BOOLEAN),
        FieldSpec("call_length", DURATION),
        FieldSpec("quantity", INTEGER),
        FieldSpec("due_at", DATETIME),
    ),
    collections=(
        CollectionSpec("contacts", "contact", "opportunity"),
        CollectionSpec("visits", "visit", "opportunity"),
        CollectionSpec("meeting_notes", "note", "opportunity"),
    ),
    steps=("competitor", "need_confirmation"),
)
CUSTOMER = EntitySpec(
    "customer",
    _system(False)
    + (
        FieldSpec("name", TEXT),
        FieldSpec("region", TEXT),
        FieldSpec("level", INTEGER),
        FieldSpec("location", LOCATION),
    ),
)
CONTACT = EntitySpec(
    "contact",
    _system(False)
    + (
        FieldSpec("name", TEXT),
        FieldSpec("role", TEXT),
        FieldSpec("opportunity", record_of("opportunity")),
        FieldSpec("score", INTEGER),
    ),
)
VISIT = EntitySpec(
    "visit",
    _system(False)
    + (
        FieldSpec("opportunity", record_of("opportunity")),
        FieldSpec("outcome", TEXT),
        FieldSpec("score", DECIMAL),
        FieldSpec("region", TEXT),
        FieldSpec("wait", DURATION),
    ),
)
NOTE = EntitySpec(
    "note",
    _system(False) + (FieldSpec("opportunity", record_of("opportunity")), FieldSpec("body", TEXT)),
)
SCOPE = Scope("opportunity", (OPPORTUNITY, CUSTOMER, CONTACT, VISIT, NOTE))

ACTOR = {"id": 7, "name": "王经理", "role": "manager", "region": "华东", "manager": None}


@dataclass
class MemoryResolver:
    """A :class:`DataResolver` over dictionaries."""

    records: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    steps: dict[tuple[str, int, str], StepState] = field(default_factory=dict)

    def record(self, entity: str, record_id: int) -> Mapping[str, Any] | None:
        return self.records.get(entity, {}).get(record_id)

    def user(self, user_id: int) -> Mapping[str, Any] | None:
        return self.users.get(user_id)

    def related(
        self, collection: CollectionSpec, parent: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        rows = self.records.get(collection.entity, {}).values()
        return [r for r in rows if r.get(collection.link_field) == parent.get("id")]

    def step(self, entity: str, record: Mapping[str, Any], step: str) -> StepState:
        found = self.steps.get((entity, int(record.get("id") or 0), step))
        return found or StepState(False, None, False)


def context(
    resolver: MemoryResolver | None = None, actor: Mapping[str, Any] | None = None
) -> EvalContext:
    """An evaluation context at :data:`NOW` in Shanghai."""
    return EvalContext(
        NOW, SHANGHAI, ACTOR if actor is None else actor, resolver or MemoryResolver()
    )


# --- SQL ----------------------------------------------------------------------------------

import sqlalchemy as sa  # noqa: E402

from expressions.sqltypes import install_sqlite_functions, sql_type_for  # noqa: E402


def build_tables(metadata: sa.MetaData, scope: Scope = SCOPE) -> dict[str, sa.Table]:
    """One table per entity (plus ``users``), columns typed by :func:`sql_type_for`."""
    tables: dict[str, sa.Table] = {}
    for entity in scope.entities:
        columns: list[sa.Column[Any]] = []
        for f in entity.fields:
            if f.name == "id":
                columns.append(sa.Column("id", sql_type_for(INTEGER), primary_key=True))
            elif f.type == LOCATION:
                columns += [
                    sa.Column(f"{f.name}_lat", sa.Float()),
                    sa.Column(f"{f.name}_lng", sa.Float()),
                    sa.Column(f"{f.name}_accuracy", sa.Float()),
                ]
            else:
                columns.append(sa.Column(f.name, sql_type_for(f.type)))
        for step in entity.steps:
            columns.append(sa.Column(f"step_{step}_done_at", sql_type_for(DATETIME)))
        tables[entity.key] = sa.Table(f"e_{entity.key}", metadata, *columns)
    tables["users"] = sa.Table(
        "users",
        metadata,
        sa.Column("id", sql_type_for(INTEGER), primary_key=True),
        *(sa.Column(f.name, sql_type_for(f.type)) for f in scope.user_fields if f.name != "id"),
    )
    return tables


@dataclass
class TableBinding:
    """A :class:`SqlBinding` over :func:`build_tables`."""

    tables: dict[str, sa.Table]

    def table(self, entity: str) -> sa.Table:
        return self.tables[entity]

    def column(self, table: sa.FromClause, entity: str, field: str) -> sa.ColumnElement[Any]:
        return table.c[field]

    def location_columns(
        self, table: sa.FromClause, entity: str, field: str
    ) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        return table.c[f"{field}_lat"], table.c[f"{field}_lng"]

    def step_done_at(self, table: sa.FromClause, entity: str, step: str) -> sa.ColumnElement[Any]:
        return table.c[f"step_{step}_done_at"]

    def users_table(self) -> sa.Table:
        return self.tables["users"]


def sqlite_engine(url: str = "sqlite://") -> sa.Engine:
    """A SQLite engine with the expression functions installed on every connection."""
    engine = sa.create_engine(url)
    sa.event.listen(engine, "connect", lambda conn, _record: install_sqlite_functions(conn))
    return engine
