"""Prometheus metrics of a Cairn process, through the ``prometheus_client`` library.

* ``cairn_http_request_duration_seconds`` (histogram; ``endpoint``, ``method``, ``status``):
  observed by the web layer for every request (``endpoint`` is the Flask endpoint name, so
  the label's values are bounded);
* ``cairn_jobs_total`` (counter; ``outcome``): outbox jobs run by this process's workers,
  by their result (``succeeded``, ``failed``, ``skipped``, ``retrying``, ``cut``,
  ``cancelled``, ``not_claimed``, ``interrupted`` …);
* ``cairn_sweep_duration_seconds`` (histogram): one pass of the time-rule sweeps;
* ``cairn_outbox_depth`` (gauge; ``status``) and ``cairn_outbox_lag_seconds`` (gauge): read
  from the database when scraped (:class:`OutboxCollector`), by indexed queries on
  ``(status, available_at)``; the lag is the age of the oldest job that is due and not
  claimed (pending and due, or dispatched to Celery and not yet picked up).

Counters and histograms live in this process. Under gunicorn (several worker processes) or
with Celery workers on the same host, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
shared by them (prometheus_client's multiprocess mode); :func:`exposition` then aggregates
every process's files. docs/deploy.md shows the set-up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from runtime.automation.models import OutboxJob
from runtime.clock import to_naive_utc

REQUEST_DURATION = Histogram(
    "cairn_http_request_duration_seconds", "Time to answer an HTTP request.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOBS = Counter("cairn_jobs", "Outbox jobs run by this process, by outcome.", ["outcome"])
SWEEP_DURATION = Histogram(
    "cairn_sweep_duration_seconds", "Time of one pass of the time-rule sweeps (and purges).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
#: Outbox statuses whose rows are waiting or in flight.
OPEN_STATUSES = ("pending", "dispatched", "running")


def job_finished(outcome: str) -> None:
    """Counts one job run."""
    JOBS.labels(outcome=outcome).inc()


@contextmanager
def timed_sweep() -> Iterator[None]:
    """Observes the duration of the sweep run inside the block."""
    started = time.perf_counter()
    try:
        yield
    finally:
        SWEEP_DURATION.observe(time.perf_counter() - started)


def outbox_lag(session: Any, now: datetime) -> float:
    """Seconds since the oldest due, unclaimed job became due (0 when there is none)."""
    at = to_naive_utc(now)
    pending = session.scalar(
        sa.select(sa.func.min(OutboxJob.available_at)).where(OutboxJob.status == "pending", OutboxJob.available_at <= at)
    )
    dispatched = session.scalar(
        sa.select(sa.func.min(OutboxJob.available_at)).where(OutboxJob.status == "dispatched")
    )
    oldest = min((v for v in (pending, dispatched) if v is not None), default=None)
    return max(0.0, (at - oldest).total_seconds()) if oldest is not None else 0.0


def outbox_depth(session: Any) -> dict[str, int]:
    """How many outbox rows wait or are in flight, by status."""
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    for status, count in session.execute(
        sa.select(OutboxJob.status, sa.func.count()).where(OutboxJob.status.in_(OPEN_STATUSES)).group_by(OutboxJob.status)
    ):
        counts[str(status)] = int(count)
    return counts


class OutboxCollector(Collector):
    """Outbox depth and lag, read from the database at scrape time."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform

    def collect(self) -> Iterable[Any]:
        depth = GaugeMetricFamily("cairn_outbox_depth", "Outbox rows waiting or in flight, by status.",
                                  labels=["status"])
        lag = GaugeMetricFamily("cairn_outbox_lag_seconds",
                                "Age of the oldest due outbox job no worker has claimed.")
        up = GaugeMetricFamily("cairn_database_up", "1 when the outbox could be read at scrape time.")
        try:
            with self.platform.read_session() as session:
                counts = outbox_depth(session)
                seconds = outbox_lag(session, self.platform.clock.now())
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        for status, count in counts.items():
            depth.add_metric([status], count)
        lag.add_metric([], seconds)
        up.add_metric([], 1)
        yield from (depth, lag, up)


def exposition(platform: Any) -> bytes:
    """The metrics page: this process's metrics (or every process's, in multiprocess mode)
    and the outbox gauges."""
    live = CollectorRegistry(auto_describe=False)
    live.register(OutboxCollector(platform))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(live)
        return generate_latest(live)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY) + generate_latest(live)
