"""Retention purges old history in batches, keeps what must stay, and health stays true."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from runtime.automation.health import daily_rates, failure_causes, rule_health
from runtime.automation.models import (
    ActionRun,
    ElapsedMark,
    InboxNotification,
    OutboxJob,
    RecordEvent,
    TriggerRun,
)
from runtime.automation.rollups import RunDaily
from runtime.clock import to_naive_utc
from runtime.models import AuditEvent
from runtime.retention import (
    MIN_RUN_DAYS,
    RetentionPolicy,
    purge_all,
    purge_workspace,
    retention_of,
)
from tests.integration.automation.conftest import World
from tests.integration.retention.conftest import TICKETS, seed_runs

# Midnight UTC: the 40-day health window starts on a day boundary, so rolled-up whole days
# cover exactly what the detail covered.
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def _health(session: Any, world: World, app_id: int) -> dict[str, Any]:
    ws = world.workspace.id
    return {
        "rules": [h.as_json() | {"last_error": None} for h in
                  rule_health(session, ws, app_id, NOW, window=timedelta(days=40))],
        "week": [h.as_json() for h in rule_health(session, ws, app_id, NOW)],
        "daily": daily_rates(session, ws, app_id, NOW, UTC, days=40),
        "causes": failure_causes(session, ws, app_id, NOW, window=timedelta(days=40)),
    }


def _count(session: Any, model: Any) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_purge_deletes_old_history_in_batches_and_keeps_health(embedded_world: World) -> None:
    world = embedded_world
    world.clock.set(NOW)
    app = world.publish(TICKETS)
    ws = world.workspace.id
    naive = to_naive_utc(NOW)
    with world.platform.session() as session:
        runs = seed_runs(session, ws, app.app_id, NOW, days=30)
        # Kept whatever their age: a pending job, a failed job, an unfinished run, marks.
        for status in ("pending", "failed"):
            session.add(OutboxJob(
                workspace_id=ws, app_id=app.app_id, app_key="support", trigger_key="tag", kind="created",
                status=status, available_at=naive - timedelta(days=60), created_at=naive - timedelta(days=60),
                finished_at=naive - timedelta(days=60) if status == "failed" else None, payload={},
            ))
        session.add(ElapsedMark(workspace_id=ws, app_id=app.app_id, trigger_key="tag", record_id=1,
                                since=naive - timedelta(days=300), fired_at=naive - timedelta(days=300)))
        for days in (10, 200):
            session.add(RecordEvent(workspace_id=ws, app_id=app.app_id, entity="ticket", record_id=1,
                                    name="viewed", at=naive - timedelta(days=days), data={}))
            session.add(AuditEvent(workspace_id=ws, app_id=app.app_id, entity_key="ticket", record_id=1,
                                   action="update", outcome="ok", changes={}, at=naive - timedelta(days=days)))
            for read in (True, False):
                session.add(InboxNotification(
                    workspace_id=ws, user_id=world.admin.id, title="t", message="m",
                    created_at=naive - timedelta(days=days),
                    read_at=naive - timedelta(days=days) if read else None,
                ))
        session.add(RetentionPolicy(workspace_id=ws, outbox_days=7, runs_days=MIN_RUN_DAYS, events_days=100,
                                    notifications_days=30, audit_days=None))
        session.commit()
        before = _health(session, world, app.app_id)
        session.rollback()
        assert before["rules"][0]["runs"] == 5 * 30  # 3 succeeded + failed + skipped, every day

        dry = purge_workspace(session, ws, NOW, dry_run=True)
        old_days = 30 - MIN_RUN_DAYS  # days 16..30 lie wholly before the cutoff day
        assert dry.counts["outbox"] == 2 * 5 * (30 - 7)
        assert dry.counts["trigger_runs"] == dry.counts["action_runs"] == 2 * 5 * old_days
        assert dry.counts["events"] == 1 and dry.counts["notifications"] == 1
        assert "audit_events" not in dry.counts
        assert _count(session, TriggerRun) == runs  # a dry run deletes nothing

        report = purge_workspace(session, ws, NOW, batch=17)
        assert report.counts == dry.counts
        assert report.batches > 10 and report.finished

        after = _health(session, world, app.app_id)
        assert after == before
        assert _count(session, TriggerRun) == runs - 2 * 5 * old_days
        assert _count(session, ActionRun) == runs - 2 * 5 * old_days
        assert session.scalar(sa.select(sa.func.sum(RunDaily.runs))) == 2 * 5 * old_days
        statuses = set(session.scalars(sa.select(OutboxJob.status)))
        assert statuses == {"done", "pending", "failed"}
        assert _count(session, ElapsedMark) == 1
        assert _count(session, AuditEvent) >= 2  # kept forever by default
        assert _count(session, RecordEvent) == 1
        assert _count(session, InboxNotification) == 3  # the unread ones and the recent read one

        # Audit events go once an admin sets an age; a second purge finds nothing else.
        session.get(RetentionPolicy, session.scalar(sa.select(RetentionPolicy.id))).audit_days = 100  # type: ignore[union-attr]
        session.commit()
        again = purge_workspace(session, ws, NOW)
        assert dict(again.counts) == {"audit_events": 1}
        assert _health(session, world, app.app_id) == before


def test_the_sweep_purges_hourly_and_a_budget_resumes(embedded_world: World) -> None:
    world = embedded_world
    world.clock.set(NOW)
    app = world.publish(TICKETS)
    ws = world.workspace.id
    with world.platform.session() as session:
        seed_runs(session, ws, app.app_id, NOW, days=10)
        assert retention_of(session, ws).outbox_days == 7
        partial = purge_all(session, NOW, due_only=True, batch=5, max_batches=2)
        assert partial[ws].batches == 2 and not partial[ws].finished
        assert session.scalar(sa.select(RetentionPolicy.last_purge_at)) is None  # resumes next sweep
        rest = purge_all(session, NOW, due_only=True, batch=5)
        assert partial[ws].counts["outbox"] + rest[ws].counts["outbox"] == 2 * 5 * 3
        assert rest[ws].finished
        assert purge_all(session, NOW + timedelta(minutes=30), due_only=True) == {}  # purged within the hour
        assert ws in purge_all(session, NOW + timedelta(hours=2), due_only=True)
