"""Benchmark of the automation engine (a script, not a test).

Prints, in one run:

* record writes/s of an entity with **3 matching triggers** vs the **same write without
  triggers** (the cost of the transactional outbox on the write path), as a ratio;
* actions/s through the **embedded** worker vs the **Celery/Redis** path (relay + a real
  Celery worker on Redis), as a ratio.

Usage::

    .venv/bin/python -m tests.bench.bench_automation                   # SQLite + local Redis
    .venv/bin/python -m tests.bench.bench_automation --database-url postgresql+psycopg://postgres@127.0.0.1/bench \\
        --redis-url redis://127.0.0.1:6379/14 --writes 2000

The numbers depend on the machine; the ratios are what to compare between changes.
Baseline (2 cores, 300 writes; table in docs/automation.md): writes with 3 triggers
≈ 0.6–0.85× the plain write; Celery actions/s ≈ 0.6–0.95× embedded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.apps import AppService
from runtime.automation.embedded import EmbeddedWorker
from runtime.automation.engine import install
from runtime.automation.models import OutboxJob
from runtime.clock import SystemClock
from runtime.context import Actor, CallContext
from runtime.migrate import upgrade
from runtime.models import User, Workspace
from runtime.platform import Platform
from runtime.records import RecordService
from runtime.settings import Settings
from runtime.workspaces import IdentityService


def _app(key: str, triggers: int) -> dict[str, Any]:
    return {
        "format": "cairn.app/1",
        "key": key,
        "label": key,
        "entities": [
            {"key": "item", "label": "Item", "fields": [{"key": "n", "type": "integer", "label": "n"}]},
            {"key": "receipt", "label": "Receipt", "fields": [
                {"key": "item", "type": "link", "target": "item", "label": "item"},
                {"key": "tag", "type": "text", "label": "tag"},
            ]},
        ],
        "triggers": [
            {"key": f"t{i}", "label": f"t{i}", "entity": "item", "on": "created",
             "actions": [{"type": "create_record", "entity": "receipt",
                          "values": {"item": "id", "tag": f'"t{i}"'}}]}
            for i in range(triggers)
        ],
    }


@dataclass
class Bench:
    """A migrated platform with one workspace and its admin."""

    platform: Platform
    workspace: Workspace
    admin: User

    def ctx(self) -> CallContext:
        return CallContext(self.platform.session(), self.workspace, Actor.of(self.admin), self.platform.clock)

    def publish(self, doc: dict[str, Any]) -> None:
        ctx = self.ctx()
        with ctx.session:
            service = AppService(ctx)
            service.publish(service.import_definition(doc).id)

    def write(self, app_key: str, count: int) -> float:
        """Seconds for ``count`` record creations (one transaction each)."""
        from runtime.apps import load_published

        started = time.perf_counter()
        for n in range(count):
            ctx = self.ctx()
            with ctx.session:
                app = load_published(ctx.session, self.workspace.id, app_key)
                RecordService(ctx, app, listeners=self.platform.listeners).create("item", {"n": n})
        return time.perf_counter() - started

    def open_jobs(self) -> int:
        with self.platform.session() as session:
            return int(session.scalar(
                sa.select(sa.func.count()).where(OutboxJob.status.in_(("pending", "dispatched", "running")))
            ) or 0)


def make_bench(database_url: str) -> Bench:
    """A fresh platform on ``database_url`` (migrated) with the trigger engine installed."""
    settings = Settings(database_url=database_url, secret_key="bench",
                        instance_path=Path(tempfile.mkdtemp(prefix="cairn-bench-")), embedded_worker=False)
    platform = Platform.from_settings(settings, clock=SystemClock())
    upgrade(platform.engine)
    install(platform)
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        ws = identity.create_workspace(f"b{uuid.uuid4().hex[:8]}", "Bench")
        admin = identity.create_user(ws, f"admin-{uuid.uuid4().hex[:8]}", role="admin")
    return Bench(platform, ws, admin)


@contextmanager
def celery_worker(platform: Platform, redis_url: str) -> Iterator[Any]:
    """A Celery app on ``redis_url`` with a real worker (2 threads) serving ``platform``."""
    from celery.contrib.testing.worker import start_worker

    from runtime.celery_app import create_celery

    settings = platform.settings.with_overrides(redis_url=redis_url)
    queue = f"cairn-bench-{uuid.uuid4().hex[:8]}"
    celery = create_celery(settings, platform, queue=queue)
    with start_worker(celery, pool="threads", concurrency=2, perform_ping_check=False, queues=[queue],
                      loglevel="WARNING", shutdown_timeout=60):
        yield celery


WorkerFactory = Callable[[Platform], AbstractContextManager[Any]]


def _celery_drain(bench: Bench, worker: WorkerFactory, timeout: float) -> float:
    from runtime.celery_app import make_relay

    with worker(bench.platform) as celery:
        relay = make_relay(bench.platform, celery, lease=timedelta(seconds=60))
        started = time.perf_counter()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            relay.drain()
            if not bench.open_jobs():
                break
            time.sleep(0.2)  # polling SQLite harder would starve the workers' writes
        return time.perf_counter() - started


def run(
    *, database_url: str | None = None, redis_url: str = "redis://127.0.0.1:6379/15",
    writes: int = 1000, timeout: float = 600.0, worker: WorkerFactory | None = None,
) -> dict[str, float]:
    """Runs the benchmark and returns its figures (also used by the smoke test).

    ``worker`` gives the Celery app whose worker serves a platform (default: a new
    in-process worker on ``redis_url``; the smoke test passes its session's worker).
    """
    def url() -> str:
        return database_url or f"sqlite:///{tempfile.mkdtemp(prefix='cairn-bench-')}/bench.sqlite3"

    # Write path: same entity, with and without 3 matching triggers (separate apps).
    bench = make_bench(url())
    bench.publish(_app("plain", 0))
    bench.publish(_app("busy", 3))
    bench.write("plain", min(50, writes))  # warm caches and connections
    plain = bench.write("plain", writes)
    busy = bench.write("busy", writes)
    jobs = 3 * writes

    # Embedded path: drain those 3 × writes jobs in process.
    started = time.perf_counter()
    EmbeddedWorker(bench.platform, batch=50).drain(max_rounds=100_000)
    embedded = time.perf_counter() - started
    bench.platform.dispose()

    # Celery path: the same jobs on a fresh database, through the relay and Redis.
    other = make_bench(url())
    other.publish(_app("busy", 3))
    other.write("busy", writes)
    celery = _celery_drain(other, worker or (lambda p: celery_worker(p, redis_url)), timeout)
    left = other.open_jobs()
    other.platform.dispose()
    if left:
        raise RuntimeError(f"the Celery path left {left} job(s) unfinished within {timeout} s")

    figures = {
        "writes_per_s_plain": writes / plain,
        "writes_per_s_3_triggers": writes / busy,
        "write_ratio_3_triggers_vs_plain": plain / busy,
        "actions_per_s_embedded": jobs / embedded,
        "actions_per_s_celery": jobs / celery,
        "action_ratio_celery_vs_embedded": embedded / celery,
    }
    return figures


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args()
    figures = run(database_url=args.database_url, redis_url=args.redis_url, writes=args.writes)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:10.2f}")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
