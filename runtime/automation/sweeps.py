"""Time rules: elapsed-trigger sweeps, cron schedules, and the rule-health check.

**Elapsed** triggers ("need confirmation not done 48 h after stage entry") are found in the
due table (:mod:`runtime.automation.due`): every write that creates a record or moves its
``since`` value keeps one row per (trigger, record) with the episode's ``since``, and the
sweep reads the index range ``since <= now - after`` of those rows — however long ago they
fell due, so a record entered late (its ``since`` already past) fires at the next sweep.
Each due row is joined to its record by primary key, the condition (and ``when``) is
evaluated in SQL at sweep time, and every row read is settled: fired when the condition
holds and the record still has that ``since``, dropped otherwise. The table holds only
unsettled episodes, so the sweep's cost grows with the due records, not with the table.

Each firing adds an :class:`~runtime.automation.models.ElapsedMark` keyed by the episode's
timestamp, so a record fires once per episode (again only when its timestamp moves). The
marks of all due records go in one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` and their
outbox rows in one multi-row INSERT; only records whose mark this sweep inserted are queued.

A trigger seen for the first time (published, re-enabled, its ``since`` changed, or carried
over from the time-window sweeps before migration 0010) is **built**: due rows for the
records whose ``since`` is still within ``after`` (one ``INSERT … SELECT`` over the ``since``
index), and a **catch-up** of the records already due then — the old range query over the
record table's ``since`` index, walked in batches from the oldest (a trigger carried over
starts where the window sweep had got to, minus :data:`OVERLAP`).

**Schedule** triggers fire once per due cron time in their time zone (missed times while
nothing ran are coalesced into one firing). Both write outbox rows with a unique
``dedup_key``; nothing here uses Celery ETA/countdown — the sweep runs every
:data:`SWEEP_INTERVAL` seconds from the embedded scheduler or Celery beat.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from builder.model import FieldType
from builder.triggers import OnElapsed, OnSchedule, Trigger
from expressions import BOOLEAN, SqlContext, compile_expression
from runtime.automation import due as due_table
from runtime.automation.models import ElapsedDue, ElapsedMark, ScheduleState
from runtime.automation.outbox import enqueue_many, outbox_row
from runtime.clock import from_naive_utc, to_naive_utc
from runtime.models import AppRow, Workspace

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 30.0
#: A trigger carried over from the time-window sweeps catches up from where they got, minus this.
OVERLAP = timedelta(hours=1)
BATCH = 500
#: Batches of due rows one sweep settles per trigger (more wait for the next sweep).
MAX_BATCHES = 10


@dataclass
class SweepReport:
    """What one sweep fired."""

    elapsed: int = 0
    scheduled: int = 0
    alerts: int = 0
    purged_files: int = 0
    purged_rows: int = 0
    errors: list[str] = field(default_factory=list)


def since_column(app: Any, table: sa.Table, entity_key: str, since: str) -> sa.ColumnElement[Any]:
    """The timestamp column an elapsed trigger counts from."""
    if since.startswith("steps.") and since.endswith(".done_at"):
        return app.binding.step_done_at(table, entity_key, since[len("steps."):-len(".done_at")])  # type: ignore[no-any-return]
    return table.c[since]  # type: ignore[no-any-return]


def _state(session: Session, app: Any, trigger_key: str, now: datetime) -> ScheduleState:
    """The trigger's state row, locked on PostgreSQL until the sweep commits.

    On first sight the row is inserted with ``ON CONFLICT DO NOTHING``, so two sweeps that
    both find it missing don't fail: the second waits for the first one's row and locks it.
    """
    query = sa.select(ScheduleState).where(
        ScheduleState.app_id == app.app_id, ScheduleState.trigger_key == trigger_key
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    state = session.scalars(query).one_or_none()
    if state is None:
        session.execute(
            _insert_for(session)(ScheduleState)
            .values(workspace_id=app.workspace_id, app_id=app.app_id, trigger_key=trigger_key,
                    updated_at=to_naive_utc(now))
            .on_conflict_do_nothing(index_elements=["app_id", "trigger_key"])
        )
        state = session.scalars(query).one()
    return state


def _conditions(app: Any, trigger: Trigger, now: datetime, tz: Any, dialect: str) -> list[sa.ColumnElement[bool]]:
    """The trigger's condition and ``when`` as SQL over its entity's table."""
    on = trigger.on
    assert isinstance(on, OnElapsed) and trigger.entity is not None
    table = app.table(trigger.entity)
    sql_ctx = SqlContext(now=now, tz=tz, dialect=dialect, actor=None)
    scope = app.scope(trigger.entity)
    out = [compile_expression(on.condition, scope, expect=BOOLEAN).to_sql(app.binding, sql_ctx, table)]
    if trigger.when:
        out.append(compile_expression(trigger.when, scope, expect=BOOLEAN).to_sql(app.binding, sql_ctx, table))
    return out


def _is_date(app: Any, trigger: Trigger) -> bool:
    on = trigger.on
    assert isinstance(on, OnElapsed) and trigger.entity is not None
    spec = app.entity(trigger.entity).field(on.since)
    return spec is not None and spec.type is FieldType.DATE


def elapsed_query(
    app: Any,
    trigger: Trigger,
    now: datetime,
    lower: datetime | None,
    tz: Any,
    dialect: str,
    *,
    limit: int = BATCH,
    until: datetime | None = None,
) -> sa.Select[Any]:
    """The catch-up query: records of ``trigger`` with ``lower <= since <= until`` (default
    ``now - after``) whose condition holds, not yet fired in their episode, oldest first."""
    on = trigger.on
    assert isinstance(on, OnElapsed) and trigger.entity is not None
    entity = app.entity(trigger.entity)
    table = app.table(trigger.entity)
    since = since_column(app, table, trigger.entity, on.since)
    cutoff = until if until is not None else now - on.after_delta
    where: list[sa.ColumnElement[bool]] = [since <= cutoff, *_conditions(app, trigger, now, tz, dialect)]
    if lower is not None:
        where.insert(0, since >= lower)
    spec = entity.field(on.since)
    mark = sa.select(ElapsedMark.id).where(
        ElapsedMark.app_id == app.app_id,
        ElapsedMark.trigger_key == trigger.key,
        ElapsedMark.record_id == table.c.id,
    )
    if spec is None or spec.type is not FieldType.DATE:
        mark = mark.where(ElapsedMark.since == since)
    # OFFSET 0 keeps PostgreSQL from turning NOT EXISTS into an anti-join, which it may
    # plan as a scan of every mark of the trigger (they accumulate) merged with a sorted
    # range; as a per-row probe of the marks' unique index, the query's cost stays that of
    # its ``since`` index range, read in order.
    where.append(~mark.offset(0).exists())
    # Ordered by ``since`` alone, the order of its index: a tie-breaker (``id``) would make
    # the database sort each group of equal timestamps. A batch cut inside such a group
    # loses nothing: the next batch starts at the last ``since`` (inclusive) and the marks
    # skip what was fired.
    return sa.select(table.c.id, since.label("since")).where(*where).order_by(since).limit(limit)


def due_query(
    app: Any, trigger: Trigger, now: datetime, tz: Any, dialect: str, *, limit: int = BATCH
) -> sa.Select[Any]:
    """The sweep's query: the trigger's due rows (``since <= now - after``, oldest first, an
    index range of ``automation_elapsed_due``), each with its record's current ``since`` and
    whether the condition holds now and the episode has not fired (NULLs when the record is
    gone)."""
    on = trigger.on
    assert isinstance(on, OnElapsed) and trigger.entity is not None
    table = app.table(trigger.entity)
    since = since_column(app, table, trigger.entity, on.since)
    due = cast(sa.Table, ElapsedDue.__table__)
    fired = sa.select(ElapsedMark.id).where(
        ElapsedMark.app_id == app.app_id, ElapsedMark.trigger_key == trigger.key,
        ElapsedMark.record_id == due.c.record_id, ElapsedMark.since == due.c.since,
    ).offset(0).exists()  # OFFSET 0: a probe of the marks' unique index per row, never a hash of all marks
    holds = sa.case((sa.and_(*_conditions(app, trigger, now, tz, dialect), ~fired), sa.true()), else_=sa.false())
    return (
        sa.select(due.c.record_id, due.c.since, table.c.id, since.label("current"), holds.label("holds"))
        .select_from(due.outerjoin(table, table.c.id == due.c.record_id))
        .where(due.c.app_id == app.app_id, due.c.trigger_key == trigger.key,
               due.c.since <= to_naive_utc(now - on.after_delta))
        .order_by(due.c.since)
        .limit(limit)
    )


def signature(trigger: Trigger) -> str:
    """What an elapsed trigger's due rows depend on: its entity and ``since``."""
    on = trigger.on
    assert isinstance(on, OnElapsed)
    return f"{trigger.entity}|{on.since}"


def sweep_elapsed(
    session: Session, app: Any, trigger: Trigger, now: datetime, tz: Any, *, limit: int = BATCH
) -> int:
    """Fires ``trigger`` for every record whose episode is due and not fired; returns how
    many (no commit). Builds the trigger's due rows and catch-up first if it is new."""
    on = trigger.on
    assert isinstance(on, OnElapsed) and trigger.entity is not None
    state = _state(session, app, trigger.key, now)
    dialect = session.get_bind().dialect.name
    if state.due_signature != signature(trigger):
        build_due(session, app, trigger, state, now)
    fired = 0
    if state.catchup_until is not None:
        rows = session.execute(elapsed_query(
            app, trigger, now, from_naive_utc(state.catchup_from), tz, dialect, limit=limit,
            until=from_naive_utc(state.catchup_until),
        )).all()
        fired += fire_elapsed(session, app, trigger, now, rows)
        if len(rows) < limit:
            state.catchup_from = state.catchup_until = None
        else:
            state.catchup_from = to_naive_utc(_as_datetime(rows[-1][1]))
    for _ in range(MAX_BATCHES):
        rows = session.execute(due_query(app, trigger, now, tz, dialect, limit=limit)).all()
        if not rows:
            break
        ready = [
            (record_id, since) for record_id, since, found, current, holds in rows
            if found is not None and holds and due_table.episode(current) == _naive(since)
        ]
        fired += fire_elapsed(session, app, trigger, now, ready)
        _settle(session, app, trigger, [(record_id, since) for record_id, since, *_ in rows])
        if len(rows) < limit:
            break
    state.updated_at = to_naive_utc(now)
    return fired


def build_due(session: Session, app: Any, trigger: Trigger, state: ScheduleState, now: datetime) -> None:
    """Builds a trigger's due rows for the existing records: rows for those whose ``since``
    is within ``after`` of ``now`` (still to fall due), and a catch-up of those already due.

    A trigger carried over from the time-window sweeps (``swept_until`` set) catches up from
    where they got, minus :data:`OVERLAP` (records they passed were judged then); any other
    (new, re-enabled, ``since`` changed) from the oldest record. Rows a write added since the
    trigger was published are kept (they are at least as fresh); rows built for another
    ``since`` are removed first.
    """
    on = trigger.on
    assert isinstance(on, OnElapsed) and trigger.entity is not None
    if state.due_signature is not None:
        _drop_rows(session, app.app_id, trigger.key)
    cutoff = to_naive_utc(now - on.after_delta)
    table = app.table(trigger.entity)
    since = since_column(app, table, trigger.entity, on.since)
    due_table.build_existing(session, app, trigger, since, _is_date(app, trigger), since > cutoff)
    carried = state.due_signature is None and state.swept_until is not None
    state.catchup_from = state.swept_until - OVERLAP if carried and state.swept_until else None
    state.catchup_until = cutoff
    state.swept_until = None
    state.due_signature = signature(trigger)


def _drop_rows(session: Session, app_id: int, trigger_key: str) -> None:
    due = cast(sa.Table, ElapsedDue.__table__)
    session.execute(sa.delete(due).where(due.c.app_id == app_id, due.c.trigger_key == trigger_key))


def _settle(session: Session, app: Any, trigger: Trigger, rows: Sequence[tuple[int, datetime]]) -> None:
    """Deletes the due rows a sweep read (fired or not): one statement. On PostgreSQL only
    rows still holding the ``since`` read — a write that moved it meanwhile keeps its new
    episode; SQLite serialises writers, so nothing moved since the read."""
    due = cast(sa.Table, ElapsedDue.__table__)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_settle_pairs(), {
            "app_id": app.app_id, "trigger_key": trigger.key,
            "record_ids": [r for r, _ in rows], "sinces": [_naive(s) for _, s in rows],
        })
        return
    session.execute(sa.delete(due).where(
        due.c.app_id == app.app_id, due.c.trigger_key == trigger.key,
        due.c.record_id.in_([r for r, _ in rows]),
    ))


@cache
def _settle_pairs() -> Any:
    """PostgreSQL: ``DELETE FROM automation_elapsed_due USING unnest(:record_ids, :sinces)
    … WHERE (record_id, since) match``."""
    due = cast(sa.Table, ElapsedDue.__table__)
    pairs = sa.func.unnest(
        sa.bindparam("record_ids", type_=postgresql.ARRAY(sa.BigInteger())),
        sa.bindparam("sinces", type_=postgresql.ARRAY(sa.DateTime())),
    ).table_valued("record_id", "since").render_derived()
    return sa.delete(due).where(
        due.c.app_id == sa.bindparam("app_id", type_=sa.BigInteger()),
        due.c.trigger_key == sa.bindparam("trigger_key", type_=sa.String()),
        due.c.record_id == pairs.c.record_id, due.c.since == pairs.c.since,
    )


def drop_unused(session: Session, app: Any) -> int:
    """Forgets the due rows of the app's elapsed triggers that are no longer published and
    enabled (a trigger enabled again is built anew); returns how many triggers."""
    keep = [t.key for t in due_table.elapsed_triggers(app)]
    stale = list(session.scalars(
        sa.select(ScheduleState).where(
            ScheduleState.app_id == app.app_id, ScheduleState.due_signature.is_not(None),
            ScheduleState.trigger_key.not_in(keep),
        )
    ))
    for state in stale:
        _drop_rows(session, app.app_id, state.trigger_key)
        state.due_signature = state.catchup_from = state.catchup_until = state.swept_until = None
    return len(stale)


def fire_elapsed(
    session: Session, app: Any, trigger: Trigger, now: datetime, rows: Sequence[Any]
) -> int:
    """Marks the due ``rows`` and queues a job for each one this sweep marked.

    Two statements whatever the number due: one ``INSERT … ON CONFLICT DO NOTHING
    RETURNING`` for the marks (from two arrays on PostgreSQL, a multi-row VALUES list on
    SQLite), one multi-row INSERT for the outbox rows. The mark
    is the claim: a record whose episode another sweep already marked (committed, or
    committing concurrently — PostgreSQL waits for that transaction, then skips the row) is
    not returned, so only the sweep that marked a record queues its job. On SQLite writers
    are serialised anyway (``BEGIN IMMEDIATE``), and the unique outbox ``dedup_key`` remains
    the last guard on both databases.
    """
    on = trigger.on
    assert isinstance(on, OnElapsed) and trigger.entity is not None
    if not rows:
        return 0
    fired_at = to_naive_utc(now)
    episodes = {record_id: to_naive_utc(_as_datetime(since)) for record_id, since in rows}
    marks = [
        {"workspace_id": app.workspace_id, "app_id": app.app_id, "trigger_key": trigger.key,
         "record_id": record_id, "since": since, "fired_at": fired_at}
        for record_id, since in episodes.items()
    ]
    table = ElapsedMark.__table__
    insert = _insert_for(session)(table).on_conflict_do_nothing(
        index_elements=["app_id", "trigger_key", "record_id", "since"]
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two array parameters instead of 6 per row: a statement of constant text, which
        # the driver converts once (a 100-row VALUES list is ~600 placeholders it would
        # re-parse on every sweep — about half the statement's time).
        claimed = session.execute(_marks_from_arrays(), {
            "workspace_id": app.workspace_id, "app_id": app.app_id, "trigger_key": trigger.key,
            "fired_at": fired_at, "record_ids": list(episodes), "sinces": list(episodes.values()),
        }).all()
        ours = {record_id for record_id, since in claimed if episodes.get(record_id) == _naive(since)}
    elif session.get_bind().dialect.insert_returning:
        # executemany + RETURNING: one multi-row INSERT from a cached statement (see enqueue_many).
        claimed = session.execute(insert.returning(table.c.record_id, table.c.since), marks).all()
        ours = {record_id for record_id, since in claimed if episodes.get(record_id) == _naive(since)}
    else:
        # SQLite before 3.35 has no RETURNING. Its writers are serialised (BEGIN IMMEDIATE),
        # so no other sweep marked these rows since this transaction's due query read them.
        session.execute(insert, marks)
        ours = set(episodes)
    jobs = [
        outbox_row(
            workspace_id=app.workspace_id, app_id=app.app_id, app_key=app.key,
            trigger_key=trigger.key, kind="elapsed", entity=trigger.entity, record_id=record_id,
            now=now, payload={"since": since.isoformat(), "after": on.after},
            dedup_key=f"elapsed:{app.app_id}:{trigger.key}:{record_id}:{since.isoformat()}",
        )
        for record_id, since in episodes.items()
        if record_id in ours
    ]
    enqueue_many(session, jobs)
    return len(jobs)


@cache
def _marks_from_arrays() -> Any:
    """PostgreSQL: ``INSERT INTO automation_elapsed_marks … SELECT … FROM unnest(:record_ids,
    :sinces) ON CONFLICT DO NOTHING RETURNING record_id, since``."""
    table = cast(sa.Table, ElapsedMark.__table__)
    due = sa.func.unnest(
        sa.bindparam("record_ids", type_=postgresql.ARRAY(sa.BigInteger())),
        sa.bindparam("sinces", type_=postgresql.ARRAY(sa.DateTime())),
    ).table_valued("record_id", "since").render_derived()
    rows = sa.select(
        sa.bindparam("workspace_id", type_=sa.BigInteger()), sa.bindparam("app_id", type_=sa.BigInteger()),
        sa.bindparam("trigger_key", type_=sa.String()), due.c.record_id, due.c.since,
        sa.bindparam("fired_at", type_=sa.DateTime()),
    ).select_from(due)
    columns = ["workspace_id", "app_id", "trigger_key", "record_id", "since", "fired_at"]
    return (
        postgresql.insert(table).from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["app_id", "trigger_key", "record_id", "since"])
        .returning(table.c.record_id, table.c.since)
    )


def _insert_for(session: Session) -> Any:
    """The dialect's INSERT construct (both SQLite and PostgreSQL have ON CONFLICT)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def next_fire(cron: str, after: datetime, tz: Any) -> datetime:
    """The first time of ``cron`` (in zone ``tz``) strictly after ``after`` (aware UTC)."""
    from croniter import croniter

    local = after.astimezone(tz)
    nxt: datetime = croniter(cron, local).get_next(datetime)
    return nxt.astimezone(UTC)


def sweep_schedule(session: Session, app: Any, trigger: Trigger, now: datetime, tz: Any) -> int:
    """Fires a schedule trigger once if one of its times passed since the last fire."""
    on = trigger.on
    assert isinstance(on, OnSchedule)
    zone = ZoneInfo(on.timezone) if on.timezone else tz
    state = _state(session, app, trigger.key, now)
    last = from_naive_utc(state.last_fire_at)
    if last is None:  # first sight: start counting from now, don't fire for the past
        state.last_fire_at = to_naive_utc(now)
        state.updated_at = to_naive_utc(now)
        return 0
    due = next_fire(on.cron, last, zone)
    if due > now:
        return 0
    latest = due
    for _ in range(10_000):  # coalesce missed fires into the latest one
        following = next_fire(on.cron, latest, zone)
        if following > now:
            break
        latest = following
    state.last_fire_at = to_naive_utc(latest)
    state.updated_at = to_naive_utc(now)
    enqueue_many(session, [outbox_row(
        workspace_id=app.workspace_id, app_id=app.app_id, app_key=app.key,
        trigger_key=trigger.key, kind="schedule", entity=trigger.entity, record_id=None,
        now=now, payload={"fire_at": latest.isoformat()},
        dedup_key=f"schedule:{app.app_id}:{trigger.key}:{latest.isoformat()}",
    )])
    return 1


def _published_apps(session: Session) -> list[tuple[int, int, str]]:
    return [
        (row.workspace_id, row.id, tz)
        for row, tz in session.execute(
            sa.select(AppRow, Workspace.timezone)
            .join(Workspace, Workspace.id == AppRow.workspace_id)
            .where(AppRow.published_revision_id.is_not(None))
            .order_by(AppRow.id)
        ).all()
    ]


def run_sweeps(platform: Any, *, health: bool = True) -> SweepReport:
    """One pass over every published app: elapsed, schedule and health. Commits per trigger."""
    from runtime.apps import load_published
    from runtime.automation.health import check_health

    report = SweepReport()
    now = platform.clock.now()
    with platform.session() as session:
        for workspace_id, app_id, tz_name in _published_apps(session):
            tz = ZoneInfo(tz_name)
            try:
                app = load_published(session, workspace_id, app_id)
            except Exception as exc:  # one broken app must not stop the others
                report.errors.append(f"app {app_id}: {exc}")
                session.rollback()
                continue
            try:
                drop_unused(session, app)
                session.commit()
            except Exception as exc:
                session.rollback()
                report.errors.append(f"{app.key}: due rows of disabled triggers: {exc}")
            for trigger in app.definition.triggers:
                if not isinstance(trigger, Trigger) or not trigger.enabled:
                    continue
                try:
                    if isinstance(trigger.on, OnElapsed):
                        report.elapsed += sweep_elapsed(session, app, trigger, now, tz)
                    elif isinstance(trigger.on, OnSchedule):
                        report.scheduled += sweep_schedule(session, app, trigger, now, tz)
                    else:
                        continue
                    session.commit()
                except IntegrityError:  # another sweeper fired the same rows first
                    session.rollback()
                except Exception as exc:
                    session.rollback()
                    log.exception("sweep of trigger %s.%s failed", app.key, trigger.key)
                    report.errors.append(f"{app.key}.{trigger.key}: {exc}")
            if health:
                try:
                    report.alerts += len(check_health(session, workspace_id, app_id, now))
                    session.commit()
                except Exception as exc:
                    session.rollback()
                    report.errors.append(f"health of app {app_id}: {exc}")
        report.purged_files += _purge_files(platform, session, now, report)
        report.purged_rows += _purge_history(session, now, report)
    return report


def _purge_history(session: Any, now: Any, report: SweepReport) -> int:
    """History past each workspace's retention, hourly, in short batches (runtime.retention)."""
    from runtime.retention import purge_all

    try:
        return sum(r.total for r in purge_all(session, now, due_only=True).values())
    except Exception as exc:
        session.rollback()
        log.exception("purging history past its retention failed")
        report.errors.append(f"retention purge: {exc}")
        return 0


def _purge_files(platform: Any, session: Any, now: Any, report: SweepReport) -> int:
    """Uploads no record ever used are removed a day later (runtime.files)."""
    from pathlib import Path

    from runtime.files import LocalDiskStorage, purge_unattached

    try:
        return purge_unattached(session, LocalDiskStorage(Path(platform.settings.upload_dir)), now)
    except Exception as exc:
        session.rollback()
        log.exception("purging unattached uploads failed")
        report.errors.append(f"file purge: {exc}")
        return 0
