"""One elapsed-trigger sweep over 1,000,000 records with 100 due, on PostgreSQL (a script).

Fills a fresh PostgreSQL database (created next to ``--database-url``, dropped at the end)
with ``--rows`` tickets in one ``INSERT … SELECT generate_series`` — the data of
``tests/integration/automation/test_sweep_plan.py``: 100 open tickets 12–13 h past their
due time, the rest closed long ago or due in the future — then times full sweeps
(``sweep_elapsed``: the state row, the due query, the marks, the outbox rows, commit).
Between timed sweeps the marks, outbox rows and sweep state of this scratch database are
removed (not timed), so every sweep finds the same 100 due records.

The tickets are inserted behind the write path's back, so each timed sweep is a trigger's
first: it builds the due rows of the ~500,000 tickets not due yet (``INSERT … SELECT`` over
the ``since`` index) and catches up on the 100 due — the cost of publishing a rule over a
full table. Each round times one sweep; rounds alternate with an "empty" sweep (the
steady state: nothing due, the state row and the due table's index range only) as the B
side, so both feel the same machine. Prints median ms with min–max spread, the load
average before and after, and the ``EXPLAIN (ANALYZE, BUFFERS)`` of the catch-up query —
as a first sweep runs it and as the next one would, its marks written and analysed — and
of the steady sweep's due query with 100 tickets written 13 h late among the ~500,000 due
rows, each with a verdict: index ranges with no sort, or what is wrong.

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
from statistics import median
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runtime.apps import AppService, load_published  # noqa: E402
from runtime.automation.due import build_existing  # noqa: E402
from runtime.automation.engine import install  # noqa: E402
from runtime.automation.models import ElapsedDue  # noqa: E402
from runtime.automation.sweeps import due_query, sweep_elapsed  # noqa: E402
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
                for name in ("automation_elapsed_marks", "automation_outbox", "automation_schedule_state",
                             "automation_elapsed_due"):
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
        print(f"  {rounds} interleaved rounds, ms per sweep incl. commit (median, min–max); "
              "the full sweep is a first sweep (builds the due rows); goal ≤ 20 ms for the empty one")
        print(f"  load average before: {before}")
        for name, values in samples.items():
            print(f"  {name:<22} {spread(values, 'ms', 2)}")
        empty_median = median(samples["empty sweep (0 due)"])
        print(f"  empty sweep: {empty_median:.2f} ms = {empty_median / 20:.2f}× the 20 ms goal "
              f"({'met' if empty_median <= 20 else 'NOT met'})")
        print(f"  load average after:  {after}")
        # The due query as the sweep sends it, explained twice: as a first sweep runs it (no
        # marks) and as the next one would (the 100 marks written and analysed).
        reset()
        seen: list[tuple[str, object]] = []

        def listen(_conn: object, _cursor: object, statement: str, parameters: object, *_rest: object) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement and table in statement:
                seen.append((statement, parameters))

        sa.event.listen(platform.engine, "before_cursor_execute", listen)
        try:
            sweep(DUE, NOW)
        finally:
            sa.event.remove(platform.engine, "before_cursor_execute", listen)
        statement, parameters = next(q for q in seen if "automation_elapsed_due" not in q[0])
        with platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE automation_elapsed_marks")
        for label, clear in (("with 100 marks", False), ("first sweep, no marks", True)):
            if clear:
                reset()
            with platform.engine.connect() as conn:
                plan = [str(r[0]) for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()]
            text = "\n".join(plan)
            problems = [w for w in ("Sort", f"Seq Scan on {table}", "Bitmap Heap Scan") if w in text]
            verdict = "index range, no sort" if "Index Scan" in text and not problems else "NOT index-bound: " + ", ".join(problems)
            print(f"  EXPLAIN the catch-up query ({label}): {verdict}")
            for line in plan:
                print(f"    {line}")
        # The steady sweep: 100 tickets written 13 h late (their due rows as the write path
        # adds them) among the due rows of the ~500,000 not due yet.
        reset()
        sweep(DUE, NOW)
        with platform.session() as session:
            ticket = app.table("ticket")
            session.execute(sa.update(ticket).where(ticket.c.id > rows - DUE)
                            .values(due_at=NOW.replace(tzinfo=None) - timedelta(hours=13), closed=False))
            # As the write path would: their due rows upserted with the new ``since``.
            session.execute(sa.delete(ElapsedDue).where(ElapsedDue.record_id > rows - DUE))
            build_existing(session, app, trigger, ticket.c.due_at, False, ticket.c.id > rows - DUE)
            session.commit()
        with platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE automation_elapsed_due")
            conn.exec_driver_sql("ANALYZE automation_elapsed_marks")
            pending = conn.exec_driver_sql("SELECT count(*) FROM automation_elapsed_due").scalar()
        later = NOW + timedelta(minutes=2)
        with platform.session() as session:
            compiled = due_query(app, trigger, later, TZ, "postgresql").compile(dialect=session.get_bind().dialect)
            params = {k: (v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v)
                      for k, v in compiled.params.items()}
            plan = [str(r[0]) for r in session.connection().exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), params).all()]
            session.rollback()
        text = "\n".join(plan)
        problems = [w for w in ("Sort", f"Seq Scan on {table}", "Seq Scan on automation_elapsed_due", "hashed")
                    if w in text]
        verdict = "index ranges, no sort" if "Index Scan" in text and not problems else "NOT index-bound: " + ", ".join(problems)
        print(f"  EXPLAIN the steady sweep's due query ({pending:,} due rows, {DUE} due now): {verdict}")
        for line in plan:
            print(f"    {line}")
        started = time.perf_counter()
        if sweep(DUE, later) < 0:
            raise RuntimeError("unreachable")
        print(f"  steady sweep of those {DUE}: {(time.perf_counter() - started) * 1000:.1f} ms")
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
