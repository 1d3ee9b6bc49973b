"""Benchmark of the automation engine (a script, not a test).

Prints, in one run:

* record writes/s of an entity with **3 matching triggers** vs the **same write without
  triggers** (the cost of the transactional outbox on the write path), as a ratio;
* actions/s through the **embedded** worker vs the **Celery/Redis** path (relay + a real
  Celery worker on Redis), as a ratio.

Write and action rates are measured in interleaved rounds (plain writes, writes with 3
triggers, embedded drain, Celery drain, then again); each figure is printed as the median
with the min–max spread over the rounds, with the load average before and after. The
benchmark counts and drains the outbox of its whole database, so it always creates its
own: two temporary SQLite files, or two new PostgreSQL databases next to
``--database-url``, dropped at the end.

Usage::

    .venv/bin/python tests/bench/bench_automation.py                   # SQLite + local Redis
    .venv/bin/python tests/bench/bench_automation.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres \\
        --redis-url redis://127.0.0.1:6379/14 --writes 2000 --rounds 5

The numbers depend on the machine; the ratios are what to compare between changes.
Baseline (2 cores, 300 writes; table in docs/automation.md): writes with 3 triggers
≈ 0.6–0.85× the plain write; Celery actions/s ≈ 0.6–0.95× embedded.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runtime.apps import AppService  # noqa: E402
from runtime.automation.embedded import EmbeddedWorker  # noqa: E402
from runtime.automation.engine import install  # noqa: E402
from runtime.automation.models import OutboxJob  # noqa: E402
from runtime.clock import SystemClock  # noqa: E402
from runtime.context import Actor, CallContext  # noqa: E402
from runtime.migrate import upgrade  # noqa: E402
from runtime.models import User, Workspace  # noqa: E402
from runtime.platform import Platform  # noqa: E402
from runtime.records import RecordService  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.workspaces import IdentityService  # noqa: E402
from tests.bench._common import load, scratch_database, spread  # noqa: E402


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


def _celery_drain(bench: Bench, celery: Any, relay: Any, timeout: float) -> float:
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        relay.drain()
        if not bench.open_jobs():
            break
        time.sleep(0.2)  # polling SQLite harder would starve the workers' writes
    return time.perf_counter() - started


@contextmanager
def own_database(database_url: str | None) -> Iterator[str]:
    """A database only this benchmark uses: a new PostgreSQL database next to
    ``database_url`` (dropped on exit) or a new temporary SQLite file. The benchmark counts
    and drains the outbox of the whole database, so it must never run on a shared one."""
    if database_url and database_url.startswith("postgresql"):
        with scratch_database(database_url) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="cairn-bench-") as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"


def run(
    *, database_url: str | None = None, redis_url: str = "redis://127.0.0.1:6379/15",
    writes: int = 1000, timeout: float = 600.0, worker: WorkerFactory | None = None, rounds: int = 5,
) -> dict[str, float]:
    """Runs the benchmark, prints it and returns its figures (also used by the smoke test).

    ``database_url`` names the server (PostgreSQL) on which two fresh databases are created
    and dropped, or None for temporary SQLite files. ``writes`` records per side are
    written in ``rounds`` interleaved rounds (plain, 3 triggers, embedded drain, Celery
    drain, …); figures are medians over the rounds. ``worker`` gives the Celery app whose
    worker serves a platform (default: a new in-process worker on ``redis_url``; the smoke
    test passes its session's worker).
    """
    per_round = max(1, writes // rounds)
    samples: dict[str, list[float]] = {
        "writes_per_s_plain": [], "writes_per_s_3_triggers": [], "write_ratio_3_triggers_vs_plain": [],
        "actions_per_s_embedded": [], "actions_per_s_celery": [], "action_ratio_celery_vs_embedded": [],
    }
    with own_database(database_url) as url_a, own_database(database_url) as url_b:
        # Write path and embedded worker on A; the Celery path on B (its own outbox).
        bench = make_bench(url_a)
        other = make_bench(url_b)
        try:
            bench.publish(_app("plain", 0))
            bench.publish(_app("busy", 3))
            other.publish(_app("busy", 3))
            bench.write("plain", min(50, per_round))  # warm caches and connections
            with (worker or (lambda p: celery_worker(p, redis_url)))(other.platform) as celery:
                from runtime.celery_app import make_relay

                relay = make_relay(other.platform, celery, lease=timedelta(seconds=60))
                before = load()
                for _ in range(rounds):
                    plain = bench.write("plain", per_round)
                    busy = bench.write("busy", per_round)
                    started = time.perf_counter()
                    EmbeddedWorker(bench.platform, batch=50).drain(max_rounds=100_000)
                    embedded = time.perf_counter() - started
                    other.write("busy", per_round)
                    queued = _celery_drain(other, celery, relay, timeout)
                    left = other.open_jobs()
                    if left:
                        raise RuntimeError(f"the Celery path left {left} job(s) unfinished within {timeout} s")
                    jobs = 3 * per_round
                    for key, value in (
                        ("writes_per_s_plain", per_round / plain), ("writes_per_s_3_triggers", per_round / busy),
                        ("write_ratio_3_triggers_vs_plain", plain / busy),
                        ("actions_per_s_embedded", jobs / embedded), ("actions_per_s_celery", jobs / queued),
                        ("action_ratio_celery_vs_embedded", embedded / queued),
                    ):
                        samples[key].append(value)
                after = load()
        finally:
            bench.platform.dispose()
            other.platform.dispose()
    print(f"automation: {rounds} interleaved rounds × {per_round} writes per side (median, min–max)")
    print(f"  load average before: {before}")
    width = max(len(k) for k in samples)
    for key, values in samples.items():
        print(f"  {key:<{width}}  {spread(values, '', 2)}")
    print(f"  load average after:  {after}")
    return {key: statistics.median(values) for key, values in samples.items()}


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server to create two scratch databases on (default: temporary SQLite files)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--writes", type=int, default=1000, help="writes per side, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    figures = run(database_url=args.database_url, redis_url=args.redis_url, writes=args.writes, rounds=args.rounds)
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
