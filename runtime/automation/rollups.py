"""Run counts that outlive their detail rows: one row per (rule, UTC day, kind, outcome, cause).

Retention (:mod:`runtime.retention`) deletes old trigger runs in small batches; in the same
transaction as each batch it adds the batch's runs to these rows (an upsert that increments
``runs``), so a count moves from detail to rollup atomically and is never lost or counted
twice. Run detail is only ever purged up to a UTC day boundary. A run is therefore always
in exactly one place, detail or rollup, and a reader adds both (:func:`rollup_counts`): the
rolled-up days count whole (a window that starts inside a rolled-up day leaves that day out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from builder.repository import BigId, PlatformBase


class RunDaily(PlatformBase):
    """How many runs of one rule finished on one UTC day with one outcome and cause."""

    __tablename__ = "automation_run_daily"
    __table_args__ = (
        sa.UniqueConstraint("app_id", "trigger_key", "day", "kind", "status", "cause"),
        sa.Index("ix_automation_run_daily_workspace_day", "workspace_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    day: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    #: The run's cause, or ``""`` when it had none (part of the unique key, so never NULL).
    cause: Mapped[str] = mapped_column(sa.String(32), default="")
    runs: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


def day_start(day: date) -> datetime:
    """Naive UTC midnight starting ``day``."""
    return datetime.combine(day, time.min)


def utc_day(value: datetime) -> date:
    """The UTC calendar day of a naive-UTC or aware timestamp."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.date()


def add_runs(session: Session, rows: Iterable[Sequence[Any]]) -> int:
    """Adds grouped counts ``(workspace_id, app_id, trigger_key, day, kind, status, cause,
    runs, last_finished_at)`` to the rollups (insert or increment; no commit)."""
    values = [
        {"workspace_id": w, "app_id": a, "trigger_key": t, "day": d, "kind": k, "status": s,
         "cause": c or "", "runs": int(n), "last_finished_at": last}
        for w, a, t, d, k, s, c, n, last in rows
    ]
    if not values:
        return 0
    table = cast(sa.Table, RunDaily.__table__)
    insert: Any = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    statement = insert.on_conflict_do_update(
        index_elements=["app_id", "trigger_key", "day", "kind", "status", "cause"],
        set_={
            "runs": table.c.runs + insert.excluded.runs,
            "last_finished_at": sa.func.coalesce(
                sa.case((insert.excluded.last_finished_at > table.c.last_finished_at,
                         insert.excluded.last_finished_at), else_=table.c.last_finished_at),
                insert.excluded.last_finished_at,
            ),
        },
    )
    for row in values:  # one row per (rule, day, outcome): a handful per batch
        session.execute(statement, row)
    return sum(v["runs"] for v in values)


def rollup_counts(
    session: Session,
    workspace_id: int,
    app_id: int,
    since: datetime,
    until: datetime,
    *,
    statuses: Sequence[str],
    exclude_kind: str | None = None,
) -> list[tuple[str, date, str, str, int, datetime | None]]:
    """``(trigger_key, day, status, cause, runs, last_finished_at)`` of the rolled-up UTC days
    that lie wholly at or after ``since`` and before ``until`` (naive UTC)."""
    query = sa.select(
        RunDaily.trigger_key, RunDaily.day, RunDaily.status, RunDaily.cause, RunDaily.runs,
        RunDaily.last_finished_at,
    ).where(
        RunDaily.app_id == app_id, RunDaily.workspace_id == workspace_id,
        RunDaily.day >= _first_whole_day(since), RunDaily.day < utc_day(until),
        RunDaily.status.in_(statuses),
    )
    if exclude_kind is not None:
        query = query.where(RunDaily.kind != exclude_kind)
    return [
        (str(t), d if isinstance(d, date) else date.fromisoformat(str(d)[:10]), str(s), str(c), int(n), last)
        for t, d, s, c, n, last in session.execute(query).all()
    ]


def _first_whole_day(since: datetime) -> date:
    day = utc_day(since)
    naive = since.astimezone(UTC).replace(tzinfo=None) if since.tzinfo else since
    return day if naive == day_start(day) else day + timedelta(days=1)
