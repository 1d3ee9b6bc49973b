"""Writing outbox rows: the transactional half of the trigger engine.

Rows are added to the caller's session and never committed here: they commit with the
write that caused them, or vanish with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
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
        "expired_claims": 0,
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

    On PostgreSQL the rows go in as ``INSERT … SELECT … FROM unnest(:a_trigger_key,
    :a_payload, …)``: a column with the same value in every row (workspace, app, kind,
    record and times, for the rows of one write) is one scalar parameter, a column that
    differs is one array parameter. The driver's cost grows with the number of parameters
    it adapts; for the three rows of a create that is 13 parameters instead of 39, which
    took about a fifth off the statement's CPU against the multi-row VALUES list
    (SQLAlchemy's "insertmanyvalues"). One statement is compiled and cached per set of
    varying columns (a write's rows vary by trigger, a sweep's by record). SQLite runs in
    process, with no round trip to save: there the driver executes one prepared statement
    per row (``executemany``), which costs less CPU than SQLAlchemy building the multi-row
    statement — about half for the three rows of a write, a fifth less for 100 rows.
    Building the VALUES clause with ``.values(rows)`` instead recompiles it for every
    call — about 0.25 ms a row, most of an elapsed sweep's time.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _insert_unnest(session, rows)
        return
    # Columns left NULL in every row are left out of the statement (fewer parameters to
    # send and parse); they have no default, so they are NULL all the same.
    empty = [k for k in _NULL_BY_DEFAULT if all(row.get(k) is None for row in rows)]
    if empty:
        rows = [{k: v for k, v in row.items() if k not in empty} for row in rows]
    core_execute(session, _INSERT, rows)  # SQLite: the driver's executemany of one prepared statement


def _insert_unnest(session: Session, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: ``rows`` with one ``INSERT … SELECT … FROM unnest(…)`` (see
    :func:`enqueue_many`)."""
    scalars, arrays, parameters = unnest_parameters(rows)
    core_execute(session, _unnest_statement(scalars, arrays), parameters)


def unnest_parameters(
    rows: list[dict[str, Any]], prefix: str = ""
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Any]]:
    """How ``rows`` go into :func:`unnest_insert`: the columns sent as one scalar, those
    sent as one array, and the statement's parameters (named ``prefix`` + column for a
    scalar, ``prefix`` + ``a_`` + column for an array)."""
    first = rows[0]
    scalars: list[str] = []
    arrays: list[str] = []
    for name in _COLUMNS:
        value = first.get(name)
        if any(row.get(name) != value for row in rows):
            arrays.append(name)
        elif value is not None or name not in _NULL_BY_DEFAULT:
            # (A column NULL in every row and without a default is left out: NULL all the same.)
            scalars.append(name)
    if not arrays:  # a single row, or identical ones: unnest still gives the row count
        arrays.append("trigger_key")
        scalars.remove("trigger_key")
    parameters: dict[str, Any] = {prefix + name: first.get(name) for name in scalars}
    for name in arrays:
        values = [row.get(name) for row in rows]
        if name in _JSON_COLUMNS:  # JSON goes in as text, cast back in the statement
            values = [None if v is None else json.dumps(v) for v in values]
        parameters[f"{prefix}a_{name}"] = values
    return tuple(scalars), tuple(arrays), parameters


def unnest_insert(
    scalars: tuple[str, ...],
    arrays: tuple[str, ...],
    prefix: str = "",
    given: Mapping[str, Any] | None = None,
    joined: sa.FromClause | None = None,
) -> Any:
    """``INSERT INTO automation_outbox (…) SELECT :scalar, …, u.array_column, … FROM
    unnest(:a_array_column, …) AS u`` for :func:`unnest_parameters`' column sets.

    ``given`` maps further columns to SQL expressions over ``joined`` (e.g. the id a
    data-modifying CTE returned: the write path inserts a create's outbox rows in the
    record's statement), which is joined to the unnested rows (``ON true``).
    """
    unnested = sa.func.unnest(
        *(
            sa.bindparam(
                f"{prefix}a_{name}",
                type_=postgresql.ARRAY(sa.Text() if name in _JSON_COLUMNS else _OUTBOX.c[name].type),
            )
            for name in arrays
        )
    ).table_valued(*arrays).render_derived()
    values: dict[str, Any] = {name: sa.bindparam(prefix + name, type_=_OUTBOX.c[name].type) for name in scalars}
    for name in arrays:
        column = unnested.c[name]
        values[name] = sa.cast(column, _OUTBOX.c[name].type) if name in _JSON_COLUMNS else column
    values.update(given or {})
    names = [c for c in _COLUMNS if c in values]
    source = unnested if joined is None else joined.join(unnested, sa.true())
    return _OUTBOX.insert().from_select(names, sa.select(*(values[c] for c in names)).select_from(source))


_OUTBOX = cast(sa.Table, OutboxJob.__table__)
_INSERT = _OUTBOX.insert()
#: Nullable columns without a default: omitting them is the same as sending NULL.
_NULL_BY_DEFAULT = tuple(
    c.name for c in _OUTBOX.columns
    if c.nullable and c.default is None and c.server_default is None and not c.primary_key
)
#: Every column but ``id``, in table order (the keys of :func:`outbox_row`).
_COLUMNS = tuple(c.name for c in _OUTBOX.columns if not c.primary_key)
_JSON_COLUMNS = frozenset(c.name for c in _OUTBOX.columns if isinstance(c.type, sa.JSON))


@lru_cache(maxsize=32)
def _unnest_statement(scalars: tuple[str, ...], arrays: tuple[str, ...]) -> Any:
    """:func:`unnest_insert`, compiled once per pair of column sets."""
    return unnest_insert(scalars, arrays)
