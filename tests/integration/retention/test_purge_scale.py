"""Purging 1,000,000 done outbox rows goes in index-bound batches while writes go on, and
leaves rule health as it was (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.automation.health import daily_rates, failure_causes, rule_health
from runtime.automation.models import OutboxJob
from runtime.clock import to_naive_utc
from runtime.retention import batch_delete, purge_workspace
from tests.integration.automation.conftest import make_world
from tests.integration.retention.conftest import TICKETS, seed_runs

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = 1_000_000
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def _health(session: Any, ws: int, app_id: int) -> Any:
    return (
        [h.as_json() for h in rule_health(session, ws, app_id, NOW, window=timedelta(days=40))],
        daily_rates(session, ws, app_id, NOW, UTC, days=40),
        failure_causes(session, ws, app_id, NOW, window=timedelta(days=40)),
    )


def test_purging_a_million_done_rows_never_blocks_writers(pg_url: str, tmp_path: Path) -> None:
    world = make_world(pg_url, tmp_path / "instance", "embedded", None)
    # Every connection gives up on a lock it waits for longer than 2 s: a write that fails
    # would be the purge blocking it.
    sa.event.listen(world.platform.engine, "connect", _lock_timeout)
    world.platform.engine.dispose()
    try:
        world.clock.set(NOW)
        app = world.publish(TICKETS)
        ws = world.workspace.id
        with world.platform.session() as session:
            seed_runs(session, ws, app.app_id, NOW, days=30)
            old = to_naive_utc(NOW) - timedelta(days=30)
            session.connection().exec_driver_sql(
                "INSERT INTO automation_outbox (workspace_id, app_id, app_key, trigger_key, entity, "
                "record_id, kind, payload, depth, status, attempts, available_at, created_at, finished_at) "
                "SELECT %(ws)s, %(app)s, 'support', 'tag', 'ticket', g, 'created', '{}', 0, 'done', 1, "
                "%(old)s + g * interval '1 millisecond', %(old)s, %(old)s + g * interval '1 millisecond' "
                "FROM generate_series(1, %(rows)s) AS g",
                {"ws": ws, "app": app.app_id, "old": old, "rows": ROWS},
            )
            session.commit()
            session.connection().exec_driver_sql("ANALYZE automation_outbox")
            session.commit()
            before = _health(session, ws, app.app_id)
            session.rollback()

            statement = batch_delete(OutboxJob, [
                OutboxJob.workspace_id == ws, OutboxJob.status == "done",
                OutboxJob.finished_at < to_naive_utc(NOW) - timedelta(days=7),
            ], OutboxJob.finished_at, [OutboxJob.id], batch=5000, cursor=old)
            plan = _explain(session, statement)
            session.rollback()
        # The batch's ids come from the purge index, the rows by primary key: no table scan.
        assert "ix_automation_outbox_finished" in plan and "pk_automation_outbox" in plan, plan
        assert "Seq Scan" not in plan, plan

        stop = threading.Event()
        purging = threading.Event()
        written: list[int] = []
        during: list[int] = []
        errors: list[BaseException] = []

        def write() -> None:
            records = world.records("support")
            while not stop.is_set():
                try:
                    result = records.create("ticket", {"title": f"t{len(written)}"})
                except BaseException as exc:  # any failure is the test's failure
                    errors.append(exc)
                    return
                written.append(result.record["id"])
                if purging.is_set():
                    during.append(result.record["id"])

        writer = threading.Thread(target=write, name="writer")
        writer.start()
        try:
            with world.platform.session() as session:
                purging.set()
                report = purge_workspace(session, ws, NOW, batch=5000, max_batches=1000)
                purging.clear()
        finally:
            stop.set()
            writer.join(30)
        assert not errors, errors
        assert report.finished
        assert report.counts["outbox"] == ROWS + 2 * 5 * (30 - 7)
        assert report.batches >= ROWS // 5000
        # Writes went on all through the purge, each one a record and its two outbox rows.
        assert len(during) >= 10, len(during)
        with world.platform.session() as session:
            pending = session.scalar(sa.select(sa.func.count()).select_from(OutboxJob).where(OutboxJob.status == "pending"))
            assert pending == 2 * len(written)
            assert _health(session, ws, app.app_id) == before
            session.rollback()
    finally:
        world.platform.dispose()


def _explain(session: Any, statement: Any) -> str:
    compiled = statement.compile(dialect=session.get_bind().dialect)
    rows = session.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return "\n".join(r[0] for r in rows)


def _lock_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET lock_timeout = '2s'")
    cursor.close()
    dbapi_connection.commit()
