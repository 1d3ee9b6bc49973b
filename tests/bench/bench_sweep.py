"""One elapsed-trigger sweep over 1,000,000 records with 100 due, on PostgreSQL (a script).

Fills a fresh PostgreSQL database (created next to ``--database-url``, dropped at the end)
with ``--rows`` tickets in one ``INSERT … SELECT generate_series`` — the data of
``tests/integration/automation/test_sweep_plan.py``: 100 open tickets 12–13 h past their
due time, the rest closed long ago or due in the future — then times full sweeps
(``sweep_elapsed``: the state row, the due query, the marks, the outbox rows, commit).
Between timed sweeps the marks, outbox rows and sweep state of this scratch database are
removed (not timed), so every sweep finds the same 100 due records.

Each round times one sweep; rounds alternate with an "empty" sweep (nothing due, the
state row and the index range only) as the B side, so both feel the same machine. Prints
median ms with min–max spread, the goal (≤ 20 ms), the load average before and after,
and the due query's ``EXPLAIN (ANALYZE, BUFFERS)``.

Usage::

    .venv/bin/python tests/bench/bench_sweep.py                   # 1,000,000 rows
    .venv/bin/python tests/bench/bench_sweep.py --rows 100000 --rounds 5
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runtime.apps import AppService, load_published  # noqa: E402
from runtime.automation.engine import install  # noqa: E402
from runtime.automation.sweeps import INITIAL_LOOKBACK, OVERLAP, elapsed_query, sweep_elapsed  # noqa: E402
from runtime.clock import FrozenClock  # noqa: E402
from runtime.context import Actor, CallContext  # noqa: E402
from runtime.migrate import upgrade  # noqa: E402
from runtime.platform import Platform  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.workspaces import IdentityService  # noqa: E402
from tests.bench._common import DEFAULT_PG, interleave, load, scratch_database, spread  # noqa: E402
from tests.integration.automation.test_sweep_plan import TICKETS  # noqa: E402

DUE = 100
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


def run(database_url: str, rows: int, rounds: int) -> dict[str, float]:
    """Fills, times and prints; returns the median ms of a full sweep."""
    settings = Settings(database_url=database_url, secret_key="bench",
                        instance_path=Path(tempfile.mkdtemp(prefix="cairn-bench-")), embedded_worker=False)
    platform = Platform.from_settings(settings, clock=FrozenClock(NOW))
    try:
        upgrade(platform.engine)
        install(platform)
        with platform.session() as session:
            identity = IdentityService(session, platform.clock)
            ws = identity.create_workspace("bench", "Bench")
            admin = identity.create_user(ws, "bench-admin", role="admin")
        with platform.session() as session:
            service = AppService(CallContext(session, ws, Actor.of(admin), platform.clock))
            service.publish(service.import_definition(TICKETS).id)
        with platform.session() as session:
            app = load_published(session, ws.id, "support")
        table = app.table("ticket").name
        trigger = app.definition.triggers[0]
        naive_now = NOW.astimezone(UTC).replace(tzinfo=None)
        started = time.perf_counter()
        with platform.engine.begin() as conn:
            conn.exec_driver_sql(
                f'INSERT INTO "{table}" (created_at, updated_at, version, title, due_at, closed) '
                "SELECT %(now)s, %(now)s, 1, 't' || g, "
                "CASE WHEN g <= %(due)s THEN %(now)s - interval '12 hours 30 minutes' - g * interval '1 second' "
                "     WHEN g %% 2 = 0 THEN %(now)s - interval '60 days' - g * interval '1 second' "
                "     ELSE %(now)s + interval '1 day' + g * interval '1 second' END, "
                "CASE WHEN g <= %(due)s THEN false WHEN g %% 2 = 0 THEN true ELSE false END "
                "FROM generate_series(1, %(rows)s) AS g",
                {"now": naive_now, "due": DUE, "rows": rows},
            )
        with platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'VACUUM ANALYZE "{table}"')
        print(f"elapsed sweep on PostgreSQL: {rows:,} tickets, {DUE} due, filled in "
              f"{time.perf_counter() - started:.1f} s")

        def reset() -> None:
            # Only this scratch database's automation rows exist here.
            with platform.engine.begin() as conn:
                for name in ("automation_elapsed_marks", "automation_outbox", "automation_schedule_state"):
                    conn.exec_driver_sql(f"DELETE FROM {name}")

        def sweep(expected: int, at: datetime) -> float:
            with platform.session() as session:
                started = time.perf_counter()
                fired = sweep_elapsed(session, app, trigger, at, TZ)
                session.commit()
                elapsed = (time.perf_counter() - started) * 1000
            if fired != expected:
                raise RuntimeError(f"the sweep fired {fired} records, expected {expected}")
            return elapsed

        def full() -> float:
            reset()
            return sweep(DUE, NOW)

        def empty() -> float:
            # Right after a full sweep at NOW: nothing new is due a minute later.
            return sweep(0, NOW + timedelta(minutes=1))

        full()
        empty()  # warm
        before = load()
        samples = interleave(rounds, {"full sweep (100 due)": full, "empty sweep (0 due)": empty})
        after = load()
        print(f"  {rounds} interleaved rounds, ms per sweep incl. commit (median, min–max); goal ≤ 20 ms for the full sweep")
        print(f"  load average before: {before}")
        for name, values in samples.items():
            print(f"  {name:<22} {spread(values, 'ms', 2)}")
        print(f"  load average after:  {after}")
        reset()
        cutoff = NOW - timedelta(hours=12)
        query = elapsed_query(app, trigger, NOW, cutoff - INITIAL_LOOKBACK - OVERLAP, TZ, "postgresql")
        compiled = query.compile(dialect=platform.engine.dialect)
        params = {k: (v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v)
                  for k, v in compiled.params.items()}
        with platform.engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), params).all()
        print("  EXPLAIN the due query:")
        for line in plan:
            print(f"    {line[0]}")
        from statistics import median

        return {name: median(values) for name, values in samples.items()}
    finally:
        platform.dispose()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="PostgreSQL server to create a scratch database on (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with scratch_database(args.database_url) as url:
        run(url, args.rows, args.rounds)


if __name__ == "__main__":
    main()
