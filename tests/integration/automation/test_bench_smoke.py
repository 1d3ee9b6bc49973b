"""Smoke test of tests/bench/bench_automation.py: it runs end to end on a tiny load.

It uses the session's Celery worker (two in-process test workers at once do not shut down
reliably) and PostgreSQL (under pytest-xdist the other process may run the SIGKILL test,
and SQLite's single writer lock then makes the threaded Celery path crawl).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from runtime.platform import Platform
from tests.bench import bench_automation
from tests.integration.automation.conftest import CeleryRig


@pytest.mark.redis
@pytest.mark.postgres
def test_benchmark_runs(pg_url: str, celery_rig: CeleryRig) -> None:
    @contextmanager
    def worker(platform: Platform) -> Iterator[Any]:
        celery_rig.slot.current = platform
        try:
            yield celery_rig.app
        finally:
            celery_rig.slot.current = None

    figures = bench_automation.run(database_url=pg_url, writes=15, timeout=180, worker=worker)
    assert set(figures) == {
        "writes_per_s_plain", "writes_per_s_3_triggers", "write_ratio_3_triggers_vs_plain",
        "actions_per_s_embedded", "actions_per_s_celery", "action_ratio_celery_vs_embedded",
    }
    assert all(value > 0 for value in figures.values())
