"""Exactly-once effects with a real Celery worker on Redis that keeps getting SIGKILLed.

1,000 record writes each fire a trigger with two actions (create a receipt record, stamp
the item). While they run, worker child processes are SIGKILLed, the whole worker is
SIGKILLed and restarted, and the relay is SIGKILLed and restarted. In the end the database
must show every effect exactly once: 1,000 receipts, one per item, every item stamped,
2,000 finished action runs.

Nothing here races a clock: on a machine busy with other work the test waits as long as
the system keeps making progress, and gives up only after :data:`STALL` seconds without
any (no effect, no job changing state). Its verdict then tells apart effects still
*pending* (their outbox job has not finished: slow, not wrong) from effects *lost* (the
job finished, or never existed, yet the effect is missing) and *doubled* ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.automation.models import ActionRun, OutboxJob
from runtime.clock import SystemClock
from tests.integration.automation.conftest import STRESS_APP, World, child_pids, make_world

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

WRITES = 1_000
#: Seconds without any progress after which the system is declared stuck.
STALL = 180.0
ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent



class Procs:
    """The worker and relay subprocesses of the test."""

    def __init__(self, env: dict[str, str], queue: str, log_dir: Path) -> None:
        self.env = env
        self.queue = queue
        self.log_dir = log_dir
        self.worker: subprocess.Popen[bytes] | None = None
        self.relay: subprocess.Popen[bytes] | None = None
        self.logs: list[Any] = []

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
        self.logs.append(log)
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_worker(self) -> None:
        self.worker = self._spawn(
            [str(BIN / "celery"), "-A", "runtime.celery_app", "worker", "-Q", self.queue, "-c", "2",
             "--pool", "prefork", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
            "worker",
        )

    def start_relay(self) -> None:
        self.relay = self._spawn(
            [sys.executable, "-m", "runtime.automation.relay", "--lease", "3", "--queue", self.queue,
             "--interval", "0.2"],
            "relay",
        )

    def kill_worker_child(self) -> bool:
        assert self.worker is not None
        children = child_pids(self.worker.pid)
        if not children:
            return False
        os.kill(children[0], signal.SIGKILL)
        return True

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()

    def kill_relay(self) -> None:
        assert self.relay is not None
        os.killpg(self.relay.pid, signal.SIGKILL)
        self.relay.wait()

    def stop(self) -> None:
        for proc in (self.worker, self.relay):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in self.logs:
            log.close()


def _progress(world: World) -> tuple[int, int]:
    app = world.app("stress")
    items, receipts = app.table("item"), app.table("receipt")
    with world.platform.session() as session:
        stamped = session.scalar(sa.select(sa.func.count()).where(items.c.stamped.is_(True))) or 0
        made = session.scalar(sa.select(sa.func.count()).select_from(receipts)) or 0
    return int(stamped), int(made)


def _state(world: World) -> tuple[Any, ...]:
    """Everything whose change counts as progress: effects, job and action-run statuses."""
    with world.platform.session() as session:
        jobs = tuple(sorted(session.execute(
            sa.select(OutboxJob.status, sa.func.count()).group_by(OutboxJob.status)
        ).all()))
        runs = tuple(sorted(session.execute(
            sa.select(ActionRun.status, sa.func.count()).group_by(ActionRun.status)
        ).all()))
    return (_progress(world), jobs, runs)


def _wait_while_progressing(world: World, done: Any, what: str) -> float:
    """Waits until ``done()`` or until nothing changed for :data:`STALL` seconds.

    Returns the seconds waited; fails only when the system made no progress at all.
    """
    started = last_change = time.monotonic()
    state = _state(world)
    while not done():
        time.sleep(0.5)
        now_state = _state(world)
        if now_state != state:
            state, last_change = now_state, time.monotonic()
        elif time.monotonic() - last_change > STALL:
            pytest.fail(f"no progress for {STALL:.0f}s while waiting for {what}: {state}")
    return time.monotonic() - started


def _verdict(world: World, written: list[int]) -> dict[str, list[int]]:
    """Items whose effects are doubled, lost (job finished or missing) or still pending."""
    app = world.app("stress")
    receipts, items = app.table("receipt"), app.table("item")
    with world.platform.session() as session:
        per_item = dict(session.execute(
            sa.select(receipts.c.item, sa.func.count()).group_by(receipts.c.item)
        ).all())
        stamped = set(session.scalars(sa.select(items.c.id).where(items.c.stamped.is_(True))))
        job_status = dict(session.execute(
            sa.select(OutboxJob.record_id, OutboxJob.status).where(OutboxJob.entity == "item")
        ).all())
    verdict: dict[str, list[int]] = {"doubled": [], "lost": [], "pending": []}
    for item in written:
        made = per_item.get(item, 0)
        if made > 1:
            verdict["doubled"].append(item)
            continue
        if made == 1 and item in stamped:
            continue
        if job_status.get(item) in ("pending", "dispatched", "running"):
            verdict["pending"].append(item)
        else:
            verdict["lost"].append(item)
    verdict["doubled"] += [item for item in per_item if item not in set(written)]
    return verdict


def test_every_effect_exactly_once_despite_sigkills(
    pg_url: str, automation_redis_url: str, tmp_path: Path
) -> None:
    world = make_world(pg_url, tmp_path / "instance", "celery", None, clock=SystemClock())
    try:
        _run(world, pg_url, automation_redis_url, tmp_path)
    finally:
        world.platform.dispose()


def _run(world: World, pg_url: str, automation_redis_url: str, tmp_path: Path) -> None:
    world.publish(STRESS_APP)
    queue = f"cairn-reliability-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "REDIS_URL": automation_redis_url,
        "SECRET_KEY": "reliability",
        "CAIRN_INSTANCE_PATH": str(tmp_path / "instance"),
        "PYTHONPATH": str(ROOT),
    }
    procs = Procs(env, queue, tmp_path)
    procs.start_worker()
    procs.start_relay()
    written: list[int] = []
    failures: list[BaseException] = []

    def write_all() -> None:
        try:
            records = world.records("stress")
            for n in range(WRITES):
                written.append(records.create("item", {"n": n}).record["id"])
        except BaseException as exc:  # surfaced by the main thread
            failures.append(exc)

    writer = threading.Thread(target=write_all)
    writer.start()
    kills = {"child": 0, "worker": 0, "relay": 0}

    try:
        plan = ["child", "child", "relay", "worker", "child", "child"]
        for step, action in enumerate(plan, start=1):
            # Kill only while work is flowing (a prefork child killed during start-up makes
            # Celery give up on the whole worker, which is not the failure under test).
            target = min(WRITES - 50, step * 120)
            _wait_while_progressing(world, lambda t=target: _progress(world)[0] >= t, f"{target} effects")
            if action == "child":
                kills["child"] += procs.kill_worker_child()
            elif action == "worker":
                procs.kill_worker()
                kills["worker"] += 1
                procs.start_worker()
            else:
                procs.kill_relay()
                kills["relay"] += 1
                procs.start_relay()
        _wait_while_progressing(world, lambda: not writer.is_alive() or failures, "the writes")
        writer.join()
        assert not failures, failures
        assert len(written) == WRITES
        waited = _wait_while_progressing(
            world, lambda: _progress(world) == (WRITES, WRITES), f"all {WRITES} effects"
        )
        print(f"all effects in place {waited:.1f}s after the last write")
    finally:
        if writer.is_alive():
            writer.join()
        verdict = _verdict(world, written)
        print({k: len(v) for k, v in verdict.items()}, "effects doubled / lost / still pending")
        procs.stop()
    assert not verdict["doubled"], f"doubled effects for items {verdict['doubled'][:20]}"
    assert not verdict["lost"], f"lost effects for items {verdict['lost'][:20]} ({len(verdict['pending'])} pending)"
    assert not verdict["pending"], f"still pending: {len(verdict['pending'])}"
    assert kills["worker"] == 1 and kills["relay"] == 1 and kills["child"] >= 2, kills

    app = world.app("stress")
    receipts = app.table("receipt")
    items = app.table("item")
    with world.platform.session() as session:
        per_item = dict(
            session.execute(sa.select(receipts.c.item, sa.func.count()).group_by(receipts.c.item)).all()
        )
        assert len(per_item) == WRITES and set(per_item.values()) == {1}, "lost or doubled receipts"
        assert set(per_item) == set(written)
        assert session.scalar(sa.select(sa.func.count()).where(items.c.stamped.is_not(True))) == 0
        statuses = dict(session.execute(
            sa.select(ActionRun.status, sa.func.count()).group_by(ActionRun.status)
        ).all())
        assert statuses == {"done": 2 * WRITES}
        jobs = dict(session.execute(
            sa.select(OutboxJob.status, sa.func.count()).group_by(OutboxJob.status)
        ).all())
        assert jobs == {"done": WRITES}
