"""A job that kills its worker is failed after its cap; a killed attempt still counts.

A record fires a webhook to a local HTTP sink. The sink SIGKILLs the worker process that
is delivering to it — every time (a poison job: the worker dies on it, like an OOM), or
only the first time (a delivery interrupted mid-way, then redelivered). The workers are
real subprocesses: the embedded worker (SQLite and PostgreSQL; restarted after each death
as a supervisor would) and a Celery prefork worker with the relay (PostgreSQL, Redis; the
Celery master restarts its killed child, the relay re-publishes the job when its lease
runs out).

Nothing here races a clock: the test waits for the job's outcome while the system makes
progress, and gives up only after :data:`STALL` seconds without any.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.automation.health import failure_causes
from runtime.automation.history import RunFilter, RunHistory, runs_page
from runtime.automation.jobs import MAX_EXPIRED_CLAIMS
from runtime.automation.models import ActionRun, OutboxJob, TriggerRun
from tests.integration.automation.conftest import World, child_pids, make_world
from tests.integration.automation.test_reliability import Procs

pytestmark = [pytest.mark.slow]

STALL = 120.0
ROOT = Path(__file__).resolve().parents[3]

#: The embedded worker as its own process: claims and runs due jobs with a 2 s lease.
EMBEDDED_WORKER = """
import time
from datetime import timedelta
from runtime.automation.embedded import EmbeddedWorker
from runtime.automation.engine import install
from runtime.platform import Platform
from runtime.settings import Settings
platform = Platform.from_settings(Settings.from_env())
install(platform)
worker = EmbeddedWorker(platform, lease=timedelta(seconds=2), poll_interval=0.2)
while True:
    if not worker.run_due():
        time.sleep(0.2)
"""


class Sink:
    """A local HTTP endpoint that calls ``kill`` on the requests it is told to."""

    def __init__(self, kill: Callable[[], None], kills: int | None) -> None:
        self.kill = kill
        self.kills_left = kills  # None: every request
        self.keys: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.keys.append(self.headers.get("Idempotency-Key") or "")
                if sink.kills_left is None or sink.kills_left > 0:
                    if sink.kills_left is not None:
                        sink.kills_left -= 1
                    sink.kill()  # the worker dies mid-delivery: no answer
                    return
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _app(url: str) -> dict[str, Any]:
    return {
        "format": "cairn.app/1",
        "key": "hooks",
        "label": "Hooks",
        "entities": [{"key": "item", "label": "Item", "fields": [{"key": "n", "type": "integer", "label": "n"}]}],
        "triggers": [
            {"key": "push", "label": "Push", "entity": "item", "on": "created",
             "actions": [{"type": "http_webhook", "url": url, "retries": 3, "timeout_s": 30}]},
        ],
    }


class Workers:
    """The worker processes of one mode, and how the sink kills the one delivering."""

    def __init__(self, mode: str, env: dict[str, str], log_dir: Path) -> None:
        self.mode = mode
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.procs: Procs | None = None
        self.deaths = 0
        self.logs: list[Any] = []

    def start(self) -> None:
        if self.mode == "embedded":
            log = open(self.log_dir / f"embedded-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
            self.logs.append(log)
            self.proc = subprocess.Popen([sys.executable, "-c", EMBEDDED_WORKER], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            return
        self.procs = Procs(self.env, f"cairn-deaths-{uuid.uuid4().hex[:8]}", self.log_dir)
        self.procs.start_worker()
        # A lease long enough for a fresh worker child's first job (imports, connections),
        # so that only the deaths expire it.
        self.procs.relay = self.procs._spawn(
            [sys.executable, "-m", "runtime.automation.relay", "--lease", "15", "--queue", self.procs.queue,
             "--interval", "0.2"],
            "relay",
        )

    def kill_deliverer(self) -> None:
        """SIGKILLs the process delivering the webhook (called from the sink)."""
        self.deaths += 1
        if self.mode == "embedded":
            assert self.proc is not None
            os.kill(self.proc.pid, signal.SIGKILL)
            return
        assert self.procs is not None and self.procs.worker is not None
        for child in child_pids(self.procs.worker.pid):  # the prefork children; the master restarts them
            os.kill(child, signal.SIGKILL)

    def supervise(self) -> None:
        """Restarts a dead embedded worker (Celery's master restarts its own children)."""
        if self.mode == "embedded" and self.proc is not None and self.proc.poll() is not None:
            self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.procs is not None:
            self.procs.stop()
        for log in self.logs:
            log.close()


@pytest.fixture(params=["embedded-sqlite", "embedded-postgresql", "celery-postgresql"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Workers, dict[str, str]]]:
    mode, database = request.param.split("-")
    url = f"sqlite:///{tmp_path / 'cairn.sqlite3'}" if database == "sqlite" else request.getfixturevalue("pg_url")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({
        "DATABASE_URL": url, "SECRET_KEY": "deaths", "CAIRN_INSTANCE_PATH": str(tmp_path / "instance"),
        "CAIRN_WEBHOOK_ALLOWLIST": "127.0.0.1", "PYTHONPATH": str(ROOT),
    })
    if mode == "celery":
        env["REDIS_URL"] = request.getfixturevalue("automation_redis_url")
    world = make_world(url, tmp_path / "instance", mode, None)
    workers = Workers(mode, env, tmp_path)
    try:
        yield world, workers, env
    finally:
        workers.stop()
        world.platform.dispose()


def _job(world: World, job_id: int | None) -> OutboxJob:
    with world.platform.session() as session:
        query = sa.select(OutboxJob).where(OutboxJob.kind == "created")
        job = session.scalars(query.where(OutboxJob.id == job_id) if job_id else query).one()
        session.expunge(job)
        return job


def _wait_for_outcome(world: World, workers: Workers, job_id: int | None = None) -> OutboxJob:
    """Waits until the job is done or failed, restarting dead embedded workers; fails only
    after :data:`STALL` seconds without any change."""
    last_change = time.monotonic()
    seen: tuple[Any, ...] = ()
    while True:
        workers.supervise()
        job = _job(world, job_id)
        if job.status in ("done", "failed"):
            return job
        state = (job.status, job.attempts, job.expired_claims, workers.deaths)
        if state != seen:
            print("job", state, flush=True)
            seen, last_change = state, time.monotonic()
        elif time.monotonic() - last_change > STALL:
            pytest.fail(f"no progress for {STALL:.0f}s: {state}")
        time.sleep(0.2)


def test_a_job_that_kills_its_worker_every_time_is_failed_after_its_cap(
    rig: tuple[World, Workers, dict[str, str]],
) -> None:
    world, workers, _env = rig
    sink = Sink(workers.kill_deliverer, kills=None)
    try:
        _poison(world, workers, sink)
    finally:
        sink.close()


def _poison(world: World, workers: Workers, sink: Sink) -> None:
    world.publish(_app(sink.url))
    item = world.records("hooks").create("item", {"n": 1}).record
    workers.start()
    job = _wait_for_outcome(world, workers)
    workers.stop()
    assert job.status == "failed", job.last_error
    assert job.expired_claims == MAX_EXPIRED_CLAIMS
    assert f"worker died {MAX_EXPIRED_CLAIMS} times" in (job.last_error or "")
    assert "工作进程已 3 次中途退出" in (job.last_error or "")
    # Each death happened mid-delivery; the capped claim delivered nothing.
    assert len(sink.keys) == MAX_EXPIRED_CLAIMS and set(sink.keys) == {f"{job.id}:0"}
    assert job.attempts == MAX_EXPIRED_CLAIMS

    with world.platform.session() as session:
        run = session.scalars(sa.select(TriggerRun).where(TriggerRun.outbox_id == job.id)).one()
        action = session.scalars(sa.select(ActionRun).where(ActionRun.outbox_id == job.id)).one()
        assert (run.status, run.cause, run.attempts) == ("failed", "worker_died", MAX_EXPIRED_CLAIMS)
        assert (action.status, action.attempts, action.failures) == ("failed", MAX_EXPIRED_CLAIMS, 0)
        # Run history shows it with its reason; rule health counts it by its cause.
        items, _ = runs_page(session, world.workspace.id, job.app_id, RunFilter(cause="worker_died"))
        assert [(i["record_id"], i["status"], i["attempts"]) for i in items] == [
            (item["id"], "failed", MAX_EXPIRED_CLAIMS)]
        assert "worker" in items[0]["reason"] and "工作进程" in items[0]["reason_zh"]
        assert items[0]["actions"][0]["retryable"]
        causes = failure_causes(session, world.workspace.id, job.app_id, world.clock.now())
        assert [(c["trigger"], c["cause"], c["count"]) for c in causes] == [("push", "worker_died", 1)]

    # An admin retries it from run history (the cause fixed): a new job, delivered once.
    ctx = world.ctx(world.admin)
    with ctx.session:
        retried = RunHistory(ctx, job.app_id).retry_action(action.id)
    sink.kills_left = 0
    workers.start()
    _wait_for_outcome(world, workers, retried["outbox_id"])
    with world.platform.session() as session:
        again = session.get(OutboxJob, retried["outbox_id"])
        assert again is not None and again.status == "done"
    assert sink.keys[MAX_EXPIRED_CLAIMS:] == [f"{retried['outbox_id']}:0"]


def test_a_webhook_killed_mid_delivery_shows_two_attempts(rig: tuple[World, Workers, dict[str, str]]) -> None:
    world, workers, _env = rig
    sink = Sink(workers.kill_deliverer, kills=1)
    try:
        world.publish(_app(sink.url))
        world.records("hooks").create("item", {"n": 1})
        workers.start()
        job = _wait_for_outcome(world, workers)
    finally:
        sink.close()
    assert job.status == "done", job.last_error
    assert workers.deaths == 1
    assert sink.keys == [f"{job.id}:0", f"{job.id}:0"]  # delivered twice, same key
    assert (job.attempts, job.expired_claims) == (2, 1)
    with world.platform.session() as session:
        items, _ = runs_page(session, world.workspace.id, job.app_id, RunFilter(trigger_key="push"))
    assert len(items) == 1
    assert (items[0]["status"], items[0]["attempts"]) == ("succeeded", 2)
    assert [(a["status"], a["attempts"]) for a in items[0]["actions"]] == [("done", 2)]
