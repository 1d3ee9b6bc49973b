"""Automation keeps going when its Redis broker restarts, with nobody restarting anything.

A Redis server of the test's own (never the shared one) is the broker of a real Celery
worker and a dedicated relay, both started the way an operator starts them: ``cairn
worker`` / ``cairn relay``, i.e. under the supervisor. Record writes keep coming, each
firing a trigger with two database effects (create a receipt, stamp the item). While they
come, the broker is SIGKILLed and started again (empty: no persistence) three times, and
the worker's Celery process is made to quit once, as it did on the unrecoverable error
kombu raised after a broker restart. In the end every item has exactly one receipt and is
stamped, every outbox job is done — and nobody touched the worker or relay in between.

Nothing races a clock: the test waits while the system makes progress and fails only
after :data:`STALL` seconds without any.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.automation.models import OutboxJob
from runtime.clock import SystemClock
from tests.conftest import need_service
from tests.integration.automation.conftest import STRESS_APP, World, child_pids, make_world

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[3]
#: Seconds without any progress after which the system is declared stuck.
STALL = 60.0
RESTARTS = 3
#: Most writes whose effects are still outstanding while writing.
BACKLOG = 10
#: Seconds before the relay publishes a job again whose message was lost (with Redis).
LEASE = "10"

APP: dict[str, Any] = {**STRESS_APP, "key": "brk", "label": "Broker restarts"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A throw-away redis-server on a free port (no persistence)."""

    def __init__(self, binary: str, log_dir: Path) -> None:
        self.binary = binary
        self.port = _free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.log_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None


def _counts(world: World) -> tuple[int, int]:
    app = world.app("brk")
    items, receipts = app.table("item"), app.table("receipt")
    with world.platform.session() as session:
        stamped = session.scalar(sa.select(sa.func.count()).where(items.c.stamped.is_(True))) or 0
        made = session.scalar(sa.select(sa.func.count()).select_from(receipts)) or 0
    return int(stamped), int(made)


def _jobs(world: World) -> dict[str, int]:
    with world.platform.session() as session:
        return {s: int(n) for s, n in session.execute(
            sa.select(OutboxJob.status, sa.func.count()).group_by(OutboxJob.status)
        ).all()}


def _wait(world: World, done: Any, what: str) -> None:
    last_change = time.monotonic()
    state = (_counts(world), _jobs(world))
    while not done():
        time.sleep(0.2)
        now = (_counts(world), _jobs(world))
        if now != state:
            state, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > STALL:
            pytest.fail(f"no progress for {STALL:.0f}s while waiting for {what}: {state}")


def test_work_resumes_after_broker_restarts_without_a_person(pg_url: str, tmp_path: Path) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        need_service("redis-server", "the binary is not on PATH")
    assert binary is not None
    redis = OwnRedis(binary, tmp_path)
    redis.start()
    world = make_world(pg_url, tmp_path / "instance", "celery", None, clock=SystemClock())
    procs: list[subprocess.Popen[bytes]] = []
    try:
        world.publish(APP)
        queue = f"cairn-brk-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis.url, "SECRET_KEY": "brk",
            "CAIRN_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(ROOT),
        }

        def spawn(args: list[str], name: str) -> subprocess.Popen[bytes]:
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
            proc = subprocess.Popen([sys.executable, "-m", "web.cli", *args], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            procs.append(proc)
            return proc

        worker = spawn(["worker", "-Q", queue, "-c", "2", "--pool", "prefork", "--loglevel", "INFO"], "worker")
        relay = spawn(["relay", "--lease", LEASE, "--queue", queue, "--interval", "0.2"], "relay")

        written: list[int] = []
        failures: list[BaseException] = []
        stop_writing = threading.Event()

        def write() -> None:
            try:
                records = world.records("brk")
                n = 0
                while not stop_writing.is_set() and n < 300:
                    # Stay at most BACKLOG writes ahead of the effects: a steady load, not a
                    # queue so long that jobs wait in Redis past their lease.
                    if n - _counts(world)[1] >= BACKLOG:
                        time.sleep(0.1)
                        continue
                    written.append(records.create("item", {"n": n}).record["id"])
                    n += 1
                    time.sleep(0.05)
            except BaseException as exc:  # surfaced by the main thread
                failures.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            for round_ in range(1, RESTARTS + 1):
                # Kill the broker only while effects are flowing through it.
                target = _counts(world)[1] + 10
                _wait(world, lambda t=target: _counts(world)[1] >= t or bool(failures), f"{target} receipts")
                redis.kill()
                print(f"broker killed ({round_}); effects so far {_counts(world)}, jobs {_jobs(world)}")
                time.sleep(1.5)
                redis.start()
                if round_ == 2:
                    # The worker's Celery process quits, as on kombu's "unrecoverable" error.
                    celery_main = child_pids(worker.pid)
                    assert celery_main, "the supervisor runs no worker"
                    os.kill(celery_main[0], signal.SIGQUIT)
            target = _counts(world)[1] + 10
            _wait(world, lambda: _counts(world)[1] >= target or bool(failures), "effects after the last restart")
        finally:
            stop_writing.set()
            writer.join()
        assert not failures, failures
        total = len(written)
        _wait(world, lambda: _counts(world) == (total, total) and set(_jobs(world)) == {"done"},
              f"all {total} effects")

        assert worker.poll() is None and relay.poll() is None, "a supervisor exited"
        app = world.app("brk")
        receipts, items = app.table("receipt"), app.table("item")
        with world.platform.session() as session:
            per_item = dict(session.execute(
                sa.select(receipts.c.item, sa.func.count()).group_by(receipts.c.item)
            ).all())
            unstamped = session.scalar(sa.select(sa.func.count()).where(items.c.stamped.is_not(True)))
        assert set(per_item) == set(written), "lost receipts"
        assert set(per_item.values()) == {1}, "doubled receipts"
        assert unstamped == 0
        assert _jobs(world) == {"done": total}
        worker_log = (tmp_path / "worker.log").read_text(errors="replace")
        assert "restart 1 in" in worker_log, "the supervisor did not restart the worker"
        print(f"{total} writes, {RESTARTS} broker restarts, worker restarts logged: "
              f"{worker_log.count('supervise: ') // 2}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        if redis.proc is not None:
            redis.kill()
        world.platform.dispose()
