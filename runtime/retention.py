"""Retention: how long each kind of history is kept, per workspace, and the batched purge.

Defaults (a workspace with no stored policy uses them; docs/deploy.md lists them):

============================  ===========  ==========================================
what                          kept         deleted through the index
============================  ===========  ==========================================
done outbox rows              7 days       ``(workspace_id, status, finished_at)``
trigger and action runs       90 days      ``(app_id, finished_at, …)``; action runs by ``outbox_id``
automation events             180 days     ``(workspace_id, at)``
read notifications            30 days      ``(workspace_id, read_at)``
audit events                  forever      ``(workspace_id, at)`` once an admin sets an age
============================  ===========  ==========================================

**How it deletes.** Each kind is purged in batches of :data:`BATCH` rows, one short
transaction and one statement per batch (:func:`batch_delete`): the oldest ``BATCH`` primary
keys are read through the index above, from where the previous batch ended, and those rows
are deleted by primary key. Only finished rows are touched — rows no writer updates — and
no statement locks a table; on PostgreSQL each batch also runs under a short
``lock_timeout`` and a ``statement_timeout``. So record writes, outbox inserts and workers go
on while a purge runs. A purge stops after :data:`MAX_BATCHES` batches per run and the next
scheduled run continues.

**What it never deletes.** Outbox rows that are pending, dispatched, running or failed (a
failed job can be retried by an admin); runs not finished; **elapsed marks** — a mark is
the exactly-once guard of a time rule (a record's episode fires once because its mark
exists), and whether an old episode can fire again depends on the record (a ``date``
field's mark guards the record for every episode, a late-entered record may still be due),
so purging marks could fire a rule twice; they are one narrow row per firing and are kept.
Automation events younger than the longest ``within`` of the workspace's published event
rules are kept whatever the setting, so a purge never changes whether an event rule fires.

**Counts outlive detail.** Before a batch of trigger runs is deleted, its runs are added to
:class:`~runtime.automation.rollups.RunDaily` in the same transaction, and the rule-health
board adds those counts to the detail it reads (:mod:`runtime.automation.health`). Run
detail is kept at least :data:`MIN_RUN_DAYS` days, longer than the board looks back, so the
board's default figures always come from detail rows.

Dropping a done outbox row drops its ``dedup_key`` too; that is safe because every kind of
firing has its own guard (elapsed marks, schedule state, the unique ids of events, alerts
and retried actions).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from builder.repository import BigId, PlatformBase
from runtime.automation.models import (
    ActionRun,
    InboxNotification,
    OutboxJob,
    RecordEvent,
    TriggerRun,
)
from runtime.automation.rollups import add_runs, day_start, utc_day
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.errors import Forbidden, Invalid
from runtime.models import AppRow, AuditEvent, Workspace

log = logging.getLogger(__name__)

BATCH = 2000
MAX_BATCHES = 500
#: How often the sweeps purge a workspace (the purge itself is cheap when nothing is due).
PURGE_INTERVAL = timedelta(hours=1)
#: Run detail is kept at least this long: the rule-health board looks back 14 days.
MIN_RUN_DAYS = 15
MAX_DAYS = 36500
FINISHED_RUN_STATUSES = ("succeeded", "failed", "skipped", "cut", "cancelled")


@dataclass(frozen=True)
class Retention:
    """A workspace's retention in days (``audit_days`` None: audit events are kept forever)."""

    outbox_days: int = 7
    runs_days: int = 90
    events_days: int = 180
    notifications_days: int = 30
    audit_days: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON."""
        return {"outbox_days": self.outbox_days, "runs_days": self.runs_days,
                "events_days": self.events_days, "notifications_days": self.notifications_days,
                "audit_days": self.audit_days}


DEFAULTS = Retention()
#: The smallest value of each setting.
MINIMUMS = {"outbox_days": 1, "runs_days": MIN_RUN_DAYS, "events_days": 1, "notifications_days": 1,
            "audit_days": 1}


class RetentionPolicy(PlatformBase):
    """A workspace's stored retention settings and when it was last purged."""

    __tablename__ = "workspace_retention"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True
    )
    outbox_days: Mapped[int] = mapped_column(sa.Integer, default=DEFAULTS.outbox_days)
    runs_days: Mapped[int] = mapped_column(sa.Integer, default=DEFAULTS.runs_days)
    events_days: Mapped[int] = mapped_column(sa.Integer, default=DEFAULTS.events_days)
    notifications_days: Mapped[int] = mapped_column(sa.Integer, default=DEFAULTS.notifications_days)
    audit_days: Mapped[int | None] = mapped_column(sa.Integer)
    last_purge_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    updated_by: Mapped[int | None] = mapped_column(sa.BigInteger)

    def settings(self) -> Retention:
        """The stored settings."""
        return Retention(self.outbox_days, self.runs_days, self.events_days,
                         self.notifications_days, self.audit_days)


def retention_of(session: Session, workspace_id: int) -> Retention:
    """The workspace's retention (the defaults when none is stored)."""
    row = session.scalars(sa.select(RetentionPolicy).where(RetentionPolicy.workspace_id == workspace_id)).first()
    return row.settings() if row is not None else DEFAULTS


def parse_days(name: str, value: Any) -> int | None:
    """A number of days from a form or JSON value; empty means None (only for ``audit_days``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if name == "audit_days":
            return None
        number = None
    elif isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        number = int(text) if text.isdigit() else None
    low = MINIMUMS[name]
    if number is None or not low <= number <= MAX_DAYS:
        raise Invalid(
            f"{name} must be a whole number of days from {low} to {MAX_DAYS}.",
            message_zh=f"{name} 必须是 {low} 到 {MAX_DAYS} 之间的整数天数。",
            errors={name: [f"must be a whole number of days from {low} to {MAX_DAYS}"]},
        )
    return number


class RetentionService:
    """Reads and changes a workspace's retention (admins only). Owns its transaction."""

    def __init__(self, ctx: CallContext) -> None:
        if ctx.actor.role != "admin":
            raise Forbidden("Only workspace admins may see or change retention.",
                            message_zh="只有工作区管理员可以查看或修改数据保留设置。")
        self.ctx = ctx

    def get(self) -> Retention:
        """The workspace's retention."""
        return retention_of(self.ctx.session, self.ctx.workspace_id)

    def update(self, values: dict[str, Any]) -> Retention:
        """Stores the given settings (all validated first; all problems reported together)."""
        current = self.get().as_json()
        errors: dict[str, list[str]] = {}
        for name in DEFAULTS.as_json():
            if name not in values:
                continue
            try:
                current[name] = parse_days(name, values[name])
            except Invalid as exc:
                errors.update(exc.errors or {})
        if errors:
            raise Invalid(
                "Some retention settings are not valid: " + "; ".join(f"{k} {v[0]}" for k, v in errors.items()),
                message_zh="部分数据保留设置无效:" + ";".join(errors),
                errors=errors,
            )
        session = self.ctx.session
        row = session.scalars(
            sa.select(RetentionPolicy).where(RetentionPolicy.workspace_id == self.ctx.workspace_id)
        ).first()
        if row is None:
            row = RetentionPolicy(workspace_id=self.ctx.workspace_id)
            session.add(row)
        for name, value in current.items():
            setattr(row, name, value)
        row.updated_at = to_naive_utc(self.ctx.now())
        row.updated_by = self.ctx.actor.id
        session.commit()
        return row.settings()


# --------------------------------------------------------------------------- purging


@dataclass
class PurgeReport:
    """Rows deleted (or, in a dry run, that would be) per kind, and batches used."""

    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    finished: bool = True
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """All rows."""
        return sum(self.counts.values())


def batch_delete(model: Any, where: list[Any], order: Any, returning: list[Any], *, batch: int,
                 cursor: Any = None) -> Any:
    """``DELETE … WHERE id IN (the oldest ``batch`` ids matching ``where``) RETURNING …``.

    The ids come through the index on ``where``'s columns and ``order``, from ``cursor`` on
    (keyset: the index entries of rows an earlier batch deleted are not walked again; on
    PostgreSQL they stay in the index until vacuum); the rows are deleted by primary key.
    ``returning`` (the id first) and ``order`` come back for the caller."""
    ids = sa.select(model.id).where(*where)
    if cursor is not None:
        ids = ids.where(order >= cursor)
    ids = ids.order_by(order).limit(batch)
    return sa.delete(model).where(model.id.in_(ids.scalar_subquery())).returning(*returning, order)


def _batches(
    session: Session, model: Any, where: list[Any], order: Any, returning: list[Any],
    after: Callable[[Any], None] | None, budget: list[int], batch: int,
) -> Iterator[int]:
    """Deletes up to ``batch`` rows oldest first, hands them to ``after`` and commits;
    repeats while the budget lasts and rows are found. Yields each batch's size.

    On PostgreSQL each batch's transaction sets a short ``lock_timeout`` (the rows purged are
    finished ones nobody writes, so it never fires in practice, but a batch must never queue
    behind a lock) and a ``statement_timeout``: no long-running delete, ever."""
    postgres = session.get_bind().dialect.name == "postgresql"
    cursor: Any = None
    while budget[0] > 0:
        if postgres:
            session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            session.execute(sa.text("SET LOCAL statement_timeout = '60s'"))
        statement = batch_delete(model, where, order, returning, batch=batch, cursor=cursor)
        rows = session.execute(statement, execution_options={"synchronize_session": False}).all()
        if not rows:
            session.rollback()
            return
        if after is not None:
            after(rows)
        session.commit()
        budget[0] -= 1
        cursor = max(r[-1] for r in rows)
        yield len(rows)
        if len(rows) < batch:
            return


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def _longest_event_window(session: Session, workspace_id: int) -> timedelta:
    """The longest ``within`` of the workspace's published event rules."""
    from builder.triggers import OnEvent
    from runtime.apps import load_published

    longest = timedelta()
    for app_id in session.scalars(
        sa.select(AppRow.id).where(AppRow.workspace_id == workspace_id, AppRow.published_revision_id.is_not(None))
    ):
        try:
            app = load_published(session, workspace_id, app_id)
        except Exception:  # an app that does not load has no rule to protect
            continue
        for trigger in app.definition.triggers:
            on = getattr(trigger, "on", None)
            if isinstance(on, OnEvent):
                longest = max(longest, on.within_delta)
    return longest


def purge_workspace(
    session: Session,
    workspace_id: int,
    now: datetime,
    *,
    dry_run: bool = False,
    batch: int = BATCH,
    max_batches: int = MAX_BATCHES,
    policy: Retention | None = None,
) -> PurgeReport:
    """Purges (or counts, with ``dry_run``) what the workspace's retention lets go.

    One short transaction per batch; commits as it goes. ``report.finished`` is False when
    the batch budget ran out first (the next run continues)."""
    policy = policy or retention_of(session, workspace_id)
    report = PurgeReport(dry_run=dry_run)
    budget = [max_batches]
    at = to_naive_utc(now)

    def run(kind: str, model: Any, where: list[Any], order: Any, returning: list[Any] | None = None,
            after: Callable[[Any], None] | None = None) -> None:
        if dry_run:
            report.counts[kind] += _count(session, sa.select(model.id).where(*where))
            return
        for size in _batches(session, model, where, order, returning or [model.id], after, budget, batch):
            report.counts[kind] += size
            report.batches += 1
        if budget[0] <= 0:
            report.finished = False

    # Done outbox rows, oldest first, through ix_automation_outbox_finished.
    outbox_cutoff = at - timedelta(days=policy.outbox_days)
    run("outbox", OutboxJob, [
        OutboxJob.workspace_id == workspace_id, OutboxJob.status == "done", OutboxJob.finished_at < outbox_cutoff,
    ], OutboxJob.finished_at)

    # Finished trigger runs (and their action runs) before a UTC day boundary, app by app
    # through ix_automation_trigger_runs_finished; their counts go to the daily rollups.
    runs_cutoff = day_start(utc_day(at - timedelta(days=max(policy.runs_days, MIN_RUN_DAYS))))
    app_ids = list(session.scalars(sa.select(AppRow.id).where(AppRow.workspace_id == workspace_id).order_by(AppRow.id)))
    for app_id in app_ids:
        run_where = [
            TriggerRun.app_id == app_id, TriggerRun.finished_at < runs_cutoff,
            TriggerRun.status.in_(FINISHED_RUN_STATUSES), TriggerRun.workspace_id == workspace_id,
        ]
        returning = [TriggerRun.id, TriggerRun.outbox_id, TriggerRun.trigger_key, TriggerRun.finished_at,
                     TriggerRun.kind, TriggerRun.status, TriggerRun.cause]

        def rolled_up(rows: list[Any], app_id: int = app_id) -> None:
            groups: dict[tuple[Any, ...], list[Any]] = {}
            for _id, _outbox, key, finished, kind, status, cause, *_ in rows:
                slot = groups.setdefault((key, utc_day(finished), kind, status, cause or ""), [0, finished])
                slot[0] += 1
                slot[1] = max(slot[1], finished)
            add_runs(session, [(workspace_id, app_id, *k, n, last) for k, (n, last) in groups.items()])
            outbox = [r[1] for r in rows]
            deleted = session.execute(
                sa.delete(ActionRun).where(ActionRun.outbox_id.in_(outbox), ActionRun.app_id == app_id),
                execution_options={"synchronize_session": False},
            )
            report.counts["action_runs"] += int(getattr(deleted, "rowcount", 0) or 0)

        run("trigger_runs", TriggerRun, run_where, TriggerRun.finished_at, returning, rolled_up)
        if dry_run:
            report.counts["action_runs"] += int(session.scalar(
                sa.select(sa.func.count()).select_from(ActionRun).where(
                    ActionRun.app_id == app_id,
                    ActionRun.outbox_id.in_(sa.select(TriggerRun.outbox_id).where(*run_where).scalar_subquery()),
                )
            ) or 0)

    # Automation events, never younger than the longest event-rule window.
    keep_events = max(timedelta(days=policy.events_days), _longest_event_window(session, workspace_id))
    run("events", RecordEvent, [RecordEvent.workspace_id == workspace_id, RecordEvent.at < at - keep_events],
        RecordEvent.at)

    # Notifications read long enough ago (unread ones stay).
    run("notifications", InboxNotification, [
        InboxNotification.workspace_id == workspace_id,
        InboxNotification.read_at < at - timedelta(days=policy.notifications_days),
    ], InboxNotification.read_at)

    if policy.audit_days is not None:
        run("audit_events", AuditEvent, [
            AuditEvent.workspace_id == workspace_id, AuditEvent.at < at - timedelta(days=policy.audit_days),
        ], AuditEvent.at)
    session.rollback()  # end the read transaction of a dry run (or of the last empty select)
    return report


def purge_all(
    session: Session, now: datetime, *, dry_run: bool = False, due_only: bool = False,
    workspace_id: int | None = None, batch: int = BATCH, max_batches: int = MAX_BATCHES,
) -> dict[int, PurgeReport]:
    """Purges every workspace (or one). ``due_only``: only those not purged for
    :data:`PURGE_INTERVAL` (the sweeps use this); their ``last_purge_at`` is then set once
    a purge finished."""
    at = to_naive_utc(now)
    query = sa.select(Workspace.id, RetentionPolicy).outerjoin(
        RetentionPolicy, RetentionPolicy.workspace_id == Workspace.id
    ).order_by(Workspace.id)
    if workspace_id is not None:
        query = query.where(Workspace.id == workspace_id)
    workspaces = [(ws_id, row.settings() if row else DEFAULTS, row.last_purge_at if row else None)
                  for ws_id, row in session.execute(query).all()]
    session.rollback()
    reports: dict[int, PurgeReport] = {}
    for ws_id, policy, last in workspaces:
        if due_only and last is not None and last > at - PURGE_INTERVAL:
            continue
        report = purge_workspace(session, ws_id, now, dry_run=dry_run, batch=batch,
                                 max_batches=max_batches, policy=policy)
        reports[ws_id] = report
        if not dry_run and report.finished:
            _mark_purged(session, ws_id, at)
        if report.total:
            log.info("retention purge of workspace %s: %s", ws_id, dict(report.counts))
    return reports


def _mark_purged(session: Session, workspace_id: int, at: datetime) -> None:
    row = session.scalars(sa.select(RetentionPolicy).where(RetentionPolicy.workspace_id == workspace_id)).first()
    if row is None:
        row = RetentionPolicy(workspace_id=workspace_id, **DEFAULTS.as_json())
        session.add(row)
    row.last_purge_at = at
    try:
        session.commit()
    except IntegrityError:  # another process stored the row first; it purged too
        session.rollback()
