"""Delivery guarantees: the transactional outbox, broker outages, retries, loops, health."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.automation.actions import base
from runtime.automation.embedded import EmbeddedWorker
from runtime.automation.health import rule_health
from runtime.automation.models import ActionRun, OutboxJob, RuleAlert, TriggerRun
from runtime.automation.registry import load_handlers
from runtime.changes import Prompt, RecordChange
from runtime.records import RecordService
from tests.integration.automation.conftest import CeleryRig, World, make_world
from tests.integration.automation.definitions import sales_app


class _Explodes:
    """A write listener after the engine that makes the write fail (and roll back)."""

    def on_change(self, ctx: Any, app: Any, changes: Sequence[RecordChange]) -> Sequence[Prompt]:
        raise RuntimeError("boom after the outbox rows were added")


def test_rolled_back_write_leaves_no_outbox_row(embedded_world: World) -> None:
    world = embedded_world
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    order = records.create("order", {"customer": customer["id"]}).record
    ctx = world.ctx(world.rep)
    service = RecordService(ctx, world.app("sales"), listeners=[*world.platform.listeners, _Explodes()])
    with ctx.session, pytest.raises(RuntimeError):
        service.update("order", order["id"], {"status": "已验收"}, version=order["version"])
    assert world.jobs() == []
    world.settle()
    assert records.all("task") == [] and world.inbox(world.rep) == []
    assert records.get("order", order["id"])["status"] is None


@pytest.fixture
def celery_world(database_url: str, tmp_path: Any, celery_rig: CeleryRig) -> Iterator[World]:
    """A world in Celery mode (each database)."""
    built = make_world(database_url, tmp_path / "instance", "celery", celery_rig)
    yield built
    celery_rig.slot.current = None
    built.platform.dispose()


def test_committed_write_fires_once_the_broker_returns(celery_world: World) -> None:
    from runtime.celery_app import create_celery, make_relay

    world = celery_world
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    order = records.create("order", {"customer": customer["id"]}).record
    records.update("order", order["id"], {"status": "已验收"})  # committed; one job queued

    down = create_celery(world.platform.settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    down.conf.broker_connection_timeout = 0.5
    down.conf.broker_connection_max_retries = 0
    dead_relay = make_relay(world.platform, down)
    assert dead_relay.run_once() == 0  # broker unreachable: nothing lost, nothing published
    (job,) = world.jobs()
    assert job.status == "pending"
    assert records.all("task") == []

    assert world.rig is not None
    make_relay(world.platform, world.rig.app).drain()  # the broker is back
    world.settle(sweep=False)
    (task,) = records.all("task")
    assert task["title"] == "30 天回访"
    world.settle()
    assert len(records.all("task")) == 1


@pytest.fixture
def flaky_set_field() -> Iterator[dict[str, int]]:
    """``set_field`` fails transiently twice, then works (the real handler underneath)."""
    load_handlers()
    real = base.handler_for("set_field")
    calls = {"n": 0}

    class Flaky:
        type = "set_field"

        def run(self, ctx: base.ActionContext, config: Any) -> base.ActionOutcome:
            calls["n"] += 1
            if calls["n"] <= 2:
                raise base.TransientActionError("the service is busy")
            return real.run(ctx, config)

    base.register(Flaky())
    yield calls
    base.register(real)


def test_transient_failures_retry_with_backoff(embedded_world: World, flaky_set_field: dict[str, int]) -> None:
    world = embedded_world
    world.publish(sales_app())
    records = world.records("sales")
    lead = records.create("lead", {"name": "静默线索"}).record
    world.advance(timedelta(hours=73))
    world.settle()
    with world.platform.session() as session:
        job = session.scalars(sa.select(OutboxJob).where(OutboxJob.trigger_key == "silent_lead")).one()
        assert job.status == "pending" and job.attempts == 1
        assert job.available_at == (world.clock.now() + timedelta(seconds=10)).replace(tzinfo=None)
        runs = {r.action_index: r.status for r in session.scalars(sa.select(ActionRun))}
        assert runs == {0: "done", 1: "done", 2: "retrying"}
    world.settle()  # not due yet
    assert flaky_set_field["n"] == 1
    world.advance(timedelta(seconds=10))
    world.settle()
    world.advance(timedelta(seconds=20))
    world.settle()
    assert flaky_set_field["n"] == 3
    assert records.get("lead", lead["id"])["risk"] == "高风险流失线索"
    # The notification and the task of actions 0 and 1 were not repeated by the retries.
    assert len(world.inbox(world.rep)) == 1 and len(records.all("task")) == 1
    with world.platform.session() as session:
        run = session.scalars(sa.select(TriggerRun)).one()
        assert run.status == "succeeded" and run.attempts == 3


LOOP = [
    {"key": "ping", "label": "ping", "entity": "lead", "on": {"type": "field_changed", "field": "industry"},
     "actions": [{"type": "set_field", "field": "name", "value": 'name + "!"'}]},
    {"key": "pong", "label": "pong", "entity": "lead", "on": {"type": "field_changed", "field": "name"},
     "actions": [{"type": "set_field", "field": "industry", "value": 'industry + "?"'}]},
]


def test_loops_are_cut_at_the_documented_depth(embedded_world: World) -> None:
    from runtime.automation.engine import MAX_DEPTH

    world = embedded_world
    world.publish(sales_app(triggers=LOOP))
    records = world.records("sales")
    lead = records.create("lead", {"name": "a", "industry": "b"}).record
    world.settle()
    final = records.get("lead", lead["id"])
    # created (depth 0) fires ping and pong; each automated write goes one level deeper.
    assert final["name"].count("!") + final["industry"].count("?") <= 2 * MAX_DEPTH
    with world.platform.session() as session:
        cut = session.scalars(sa.select(TriggerRun).where(TriggerRun.status == "cut")).all()
        assert cut and all("loop cut" in (r.error or "") for r in cut)
        assert session.scalar(sa.select(sa.func.max(OutboxJob.depth))) == MAX_DEPTH


def test_permanent_failures_are_recorded_and_the_rule_flagged(embedded_world: World) -> None:
    broken = [{
        "key": "bad_task", "label": "坏规则", "entity": "lead", "on": "created",
        "actions": [{"type": "create_record", "entity": "task", "values": {"title": "industry"}}],
    }]
    world = embedded_world
    world.publish(sales_app(triggers=broken))
    records = world.records("sales")
    records.create("lead", {"name": "ok", "industry": "制造"})
    world.settle()
    for index in range(3):  # title is required: an empty industry makes the task invalid
        records.create("lead", {"name": f"empty {index}"})
    world.settle()
    app_id = world.app("sales").app_id
    with world.platform.session() as session:
        runs = session.scalars(
            sa.select(TriggerRun).where(TriggerRun.kind != "health_alert").order_by(TriggerRun.id)
        ).all()
        assert [r.status for r in runs] == ["succeeded", "failed", "failed", "failed"]
        assert "validation_failed" in (runs[-1].error or "")
        (health,) = rule_health(session, world.workspace.id, app_id, world.clock.now())
        assert health.runs == 4 and health.failed == 3 and health.success_rate == 0.25
        assert health.flagged
        alert = session.scalars(sa.select(RuleAlert)).one()
        assert alert.trigger_key == "bad_task" and alert.cleared_at is None
    (message,) = world.inbox(world.admin)
    assert "bad_task" in message.title


def test_rule_health_alerts_below_99_5_percent(embedded_world: World) -> None:
    world = embedded_world
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    for _ in range(5):
        order = records.create("order", {"customer": customer["id"]}).record
        records.update("order", order["id"], {"status": "已验收"})
    world.settle()
    app_id = world.app("sales").app_id
    with world.platform.session() as session:
        health = {h.trigger_key: h for h in rule_health(session, world.workspace.id, app_id, world.clock.now())}
        assert health["order_accepted"].success_rate == 1.0 and not health["order_accepted"].flagged
        # One failure in 200 runs is exactly 99.5 %: not below the threshold.
        runs = session.scalars(sa.select(TriggerRun)).all()
        template = runs[0]
        for index in range(195):
            session.add(TriggerRun(
                workspace_id=template.workspace_id, app_id=template.app_id, outbox_id=10_000 + index,
                trigger_key="order_accepted", kind="updated", status="failed" if index == 0 else "succeeded",
                attempts=1, started_at=template.started_at, finished_at=template.finished_at,
            ))
        session.commit()
    assert EmbeddedWorker(world.platform).sweep().alerts == 0
    with world.platform.session() as session:
        session.add(TriggerRun(
            workspace_id=template.workspace_id, app_id=template.app_id, outbox_id=20_000,
            trigger_key="order_accepted", kind="updated", status="failed",
            attempts=1, started_at=template.started_at, finished_at=template.finished_at,
        ))
        session.commit()
    assert EmbeddedWorker(world.platform).sweep().alerts == 1
    assert EmbeddedWorker(world.platform).sweep().alerts == 0  # one open alert, not one per sweep
    EmbeddedWorker(world.platform).drain()  # the alert goes to the admins through the outbox
    assert [m.title for m in world.inbox(world.admin)].count(
        "规则健康告警 / Rule health alert: order_accepted") == 1


def test_embedded_worker_threads_run_jobs_in_the_background(embedded_world: World) -> None:
    import time

    world = embedded_world
    world.publish(sales_app())
    records = world.records("sales")
    customer = records.create("customer", {"name": "华联超市"}).record
    worker = EmbeddedWorker(world.platform, threads=2, poll_interval=0.05, sweep_interval=0.2)
    worker.start()
    try:
        assert worker.running
        order = records.create("order", {"customer": customer["id"]}).record
        records.update("order", order["id"], {"status": "已验收"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not records.all("task"):
            time.sleep(0.05)
    finally:
        worker.stop()
    assert not worker.running
    assert len(records.all("task")) == 1
