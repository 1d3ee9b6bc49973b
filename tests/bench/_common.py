"""Shared helpers of the benchmark scripts: interleaved rounds, summaries, scratch databases.

Not a test module (pytest collects ``test_*.py`` only).
"""

from __future__ import annotations

import os
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def load() -> str:
    """The 1, 5 and 15 minute load averages, formatted."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def interleave(rounds: int, sides: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Runs each side once per round, in turn (A, B, A, B …); returns each side's samples."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, run in sides.items():
            samples[name].append(run())
    return samples


def spread(values: list[float], unit: str, digits: int = 2) -> str:
    """``median (min–max) unit``."""
    return (f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``url``'s, dropped on exit; yields its URL.

    Only the database created here is ever dropped. ``url``'s query (e.g. a
    ``search_path``) is not carried over; the new database uses its ``public`` schema.
    """
    base = make_url(url)
    name = f"cairn_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            # Options such as a search_path name schemas of the other database: dropped.
            yield base.set(database=name, query={}).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
