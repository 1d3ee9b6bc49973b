"""Writing outbox rows: the transactional half of the trigger engine.

Rows are added to the caller's session and never committed here: they commit with the
write that caused them, or vanish with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from expressions.scope import Location
from runtime.automation.models import OutboxJob
from runtime.clock import to_naive_utc
from runtime.db import core_execute

#: Types whose values are JSON as they are (exact types: subclasses take the long way).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a record value (for payloads and run details)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Location):
        return {"lat": value.lat, "lng": value.lng, "accuracy": value.accuracy}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def enqueue(session: Session, **fields: Any) -> OutboxJob:
    """Adds one outbox job to ``session`` (flushed, not committed) and returns it.

    ``fields`` are :func:`outbox_row`'s keyword arguments.
    """
    job = OutboxJob(**outbox_row(**fields))
    session.add(job)
    session.flush()
    return job


def outbox_row(
    *,
    workspace_id: int,
    app_id: int,
    app_key: str,
    trigger_key: str,
    kind: str,
    entity: str | None,
    record_id: int | None,
    now: datetime,
    depth: int = 0,
    payload: Mapping[str, Any] | None = None,
    dedup_key: str | None = None,
    status: str = "pending",
    error: str | None = None,
) -> dict[str, Any]:
    """The column values of one outbox job (for :func:`enqueue` or :func:`enqueue_many`)."""
    at = to_naive_utc(now)
    return {
        "workspace_id": workspace_id,
        "app_id": app_id,
        "app_key": app_key,
        "trigger_key": trigger_key,
        "kind": kind,
        "entity": entity,
        "record_id": record_id,
        "payload": jsonable(dict(payload or {})),
        "depth": depth,
        "status": status,
        "attempts": 0,
        "available_at": at,
        "locked_until": None,
        "claim_token": None,
        "dedup_key": dedup_key,
        "last_error": error,
        "created_at": at,
        "finished_at": at if status not in ("pending",) else None,
    }


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Inserts outbox jobs (from :func:`outbox_row`) with one multi-row INSERT.

    In ``session``'s transaction and never committed here: the rows commit with the write
    that caused them, or vanish with it. The write path uses this instead of one flushed
    :func:`enqueue` per row, so a write costs one outbox statement however many triggers
    it fires.

    The rows are passed as executemany parameters to a Core INSERT compiled once and
    cached. On PostgreSQL it has RETURNING, which SQLAlchemy ("insertmanyvalues") sends as
    one multi-row ``INSERT … VALUES (…), (…)``: one round trip. SQLite runs in process,
    with no round trip to save: there the driver executes the one prepared statement per
    row (``executemany``), which costs less CPU than SQLAlchemy building the multi-row
    statement — about half for the three rows of a write, a fifth less for 100 rows.
    Building the VALUES clause with ``.values(rows)`` instead recompiles it for every
    call — about 0.25 ms a row, most of an elapsed sweep's time.
    """
    if not rows:
        return
    # Columns left NULL in every row are left out of the statement (fewer parameters to
    # send and parse); they have no default, so they are NULL all the same.
    empty = [k for k in _NULL_BY_DEFAULT if all(row.get(k) is None for row in rows)]
    if empty:
        rows = [{k: v for k, v in row.items() if k not in empty} for row in rows]
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite" and dialect.insert_returning:
        core_execute(session, _INSERT_RETURNING, rows).all()
    else:  # SQLite: the driver's executemany of one prepared statement
        core_execute(session, _INSERT, rows)


_OUTBOX = cast(sa.Table, OutboxJob.__table__)
_INSERT = _OUTBOX.insert()
_INSERT_RETURNING = _OUTBOX.insert().returning(_OUTBOX.c.id)
#: Nullable columns without a default: omitting them is the same as sending NULL.
_NULL_BY_DEFAULT = tuple(
    c.name for c in _OUTBOX.columns
    if c.nullable and c.default is None and c.server_default is None and not c.primary_key
)
