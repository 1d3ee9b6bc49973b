"""The elapsed due table: each record's open episode per elapsed trigger, kept with the record.

An elapsed trigger fires for a record when ``since`` + ``after`` has passed and the
condition holds. Instead of finding such records by a time window over the record table
(which misses a record entered with its ``since`` already in the past), every write that
creates a record or moves its ``since`` value upserts one row of
:class:`~runtime.automation.models.ElapsedDue` — ``(app, trigger, record) → since`` — in
the write's own transaction. The sweep (:mod:`runtime.automation.sweeps`) reads the index
range of rows whose ``since`` is at least ``after`` old, whatever their age, fires those
whose condition holds, and deletes every row it settled. So the table holds only episodes
not settled yet, and the sweep's cost grows with the due episodes, not the table.

Cost on the write path: nothing for an entity without enabled elapsed triggers; else one
``INSERT … ON CONFLICT (app_id, trigger_key, record_id) DO UPDATE`` per write that creates
a record or moves a ``since`` value (all triggers and records of the write in that one
statement), none for other updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from builder.triggers import OnElapsed, Trigger
from runtime.automation.models import ElapsedDue
from runtime.db import core_execute
from runtime.tables import step_column

if TYPE_CHECKING:
    from runtime.apps import PublishedApp
    from runtime.changes import RecordChange

TABLE = cast(sa.Table, ElapsedDue.__table__)


def since_key(since: str) -> str:
    """The key of a record dict (and column) that holds an elapsed trigger's ``since``."""
    if since.startswith("steps.") and since.endswith(".done_at"):
        return step_column(since[len("steps."):-len(".done_at")])
    return since


def episode(value: Any) -> datetime | None:
    """A ``since`` value as the naive UTC datetime that names its episode (a date: midnight)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def elapsed_triggers(app: PublishedApp, entity: str | None = None) -> list[Trigger]:
    """The app's enabled elapsed triggers (of ``entity``)."""
    return [
        t for t in app.definition.triggers
        if isinstance(t, Trigger) and isinstance(t.on, OnElapsed) and t.enabled
        and t.entity is not None and (entity is None or t.entity == entity)
    ]


def track(session: Session, app: PublishedApp, changes: Sequence[RecordChange]) -> int:
    """Upserts the due rows of a write's created records and moved ``since`` values, with one
    statement (none when there are none); returns how many rows it sent."""
    triggers = elapsed_triggers(app)
    if not triggers:
        return 0
    rows: dict[tuple[str, int], datetime] = {}
    for change in changes:
        if change.kind not in ("created", "updated") or change.after is None:
            continue
        for trigger in triggers:
            if trigger.entity != change.entity:
                continue
            key = since_key(cast(OnElapsed, trigger.on).since)
            value = episode(change.after.get(key))
            if value is None:
                continue  # no episode; a stale row is dropped by the sweep
            if change.kind == "updated" and change.before is not None and episode(change.before.get(key)) == value:
                continue
            rows[(trigger.key, change.record_id)] = value
    if not rows:
        return 0
    params = [
        {"app_id": app.app_id, "trigger_key": key, "record_id": record_id, "since": since}
        for (key, record_id), since in rows.items()
    ]
    core_execute(session, _upsert(session.get_bind().dialect.name), params)
    return len(params)


@cache
def _upsert(dialect: str) -> Any:
    """``INSERT INTO automation_elapsed_due … ON CONFLICT (app_id, trigger_key, record_id)
    DO UPDATE SET since = excluded.since``, built once per dialect."""
    insert = postgresql.insert(TABLE) if dialect == "postgresql" else sqlite.insert(TABLE)
    return insert.on_conflict_do_update(
        index_elements=["app_id", "trigger_key", "record_id"], set_={"since": insert.excluded.since}
    )


def since_as_timestamp(column: sa.ColumnElement[Any], is_date: bool, dialect: str) -> sa.ColumnElement[Any]:
    """A ``since`` column as the due table stores it (a date column: its midnight)."""
    if not is_date:
        return column
    if dialect == "sqlite":  # dates are 'YYYY-MM-DD' text; datetimes '… HH:MM:SS.ffffff'
        return sa.type_coerce(column, sa.String()).concat(" 00:00:00.000000")
    return sa.cast(column, sa.DateTime())


def build_existing(
    session: Session, app: PublishedApp, trigger: Trigger, since: sa.ColumnElement[Any],
    is_date: bool, *where: sa.ColumnElement[bool],
) -> int:
    """Adds due rows for the existing records of ``trigger`` matching ``where`` (one
    ``INSERT … SELECT``; rows a write already added are kept, being at least as fresh)."""
    assert trigger.entity is not None
    table = app.table(trigger.entity)
    dialect = session.get_bind().dialect.name
    select = sa.select(
        sa.literal(app.app_id, sa.BigInteger()), sa.literal(trigger.key, sa.String()), table.c.id,
        since_as_timestamp(since, is_date, dialect),
    ).where(since.is_not(None), *where)
    insert = postgresql.insert(TABLE) if dialect == "postgresql" else sqlite.insert(TABLE)
    statement = insert.from_select(["app_id", "trigger_key", "record_id", "since"], select).on_conflict_do_nothing(
        index_elements=["app_id", "trigger_key", "record_id"]
    )
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
