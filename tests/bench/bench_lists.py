"""List pages on a 1,000,000-row entity on PostgreSQL (a script, not a test).

Fills a fresh PostgreSQL database (created next to ``--database-url`` and dropped at the
end) with ``--rows`` records in one set-based ``INSERT … SELECT generate_series``, one in
20 owned by a rep whose role reads ``owner == me()`` (50,000 of 1,000,000), then times,
in interleaved rounds, three calls of ``RecordService.list`` ordered by ``-created_at``:

* the admin's first page,
* the rep's first page (the ``owner == me()`` row condition),
* the rep's second page, by the keyset cursor of the first.

Each call is what a request does below HTTP: a session, ``load_published`` and the list.
Prints per query the median ms per call with the min–max spread over rounds, the goal
(≤ 50 ms, index-bound), the load average before and after, and the statement's
``EXPLAIN (ANALYZE, BUFFERS)`` plan.

Usage::

    .venv/bin/python tests/bench/bench_lists.py                      # 1,000,000 rows
    .venv/bin/python tests/bench/bench_lists.py --rows 100000 --rounds 5 --calls 20
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runtime.apps import AppService, load_published  # noqa: E402
from runtime.clock import SystemClock  # noqa: E402
from runtime.context import Actor, CallContext  # noqa: E402
from runtime.migrate import upgrade  # noqa: E402
from runtime.models import User, Workspace  # noqa: E402
from runtime.platform import Platform  # noqa: E402
from runtime.records import RecordService  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.workspaces import IdentityService  # noqa: E402
from tests.bench._common import DEFAULT_PG, interleave, load, scratch_database, spread  # noqa: E402

REP_EVERY = 20
LEADS: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "leads",
    "label": "Leads",
    "entities": [
        {"key": "lead", "label": "Lead", "title_field": "name",
         "fields": [
             {"key": "name", "type": "text", "label": "Name"},
             {"key": "score", "type": "integer", "label": "Score"},
         ],
         "permissions": [{"role": "rep", "read_when": "owner == me()", "write_when": "owner == me()"}]},
    ],
}


@contextmanager
def captured(platform: Platform) -> Iterator[list[tuple[str, Any]]]:
    """The list SELECTs (those with an ORDER BY) sent inside the block, with parameters."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement:
            seen.append((statement, parameters))

    sa.event.listen(platform.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(platform.engine, "before_cursor_execute", listen)


def fill(platform: Platform, rows: int, admin: User, rep: User) -> str:
    """``rows`` leads in one statement; returns the table's name."""
    names = [n for n in sa.inspect(platform.engine).get_table_names() if n.endswith("_lead")]
    assert len(names) == 1, names
    table = names[0]
    with platform.engine.begin() as conn:
        conn.execute(sa.text(
            f'INSERT INTO "{table}" (created_at, updated_at, created_by, owner, version, name, score) SELECT '
            "timestamp '2026-01-01' + g * interval '1 second', timestamp '2026-01-01', :admin, "
            "CASE WHEN g % :every = 0 THEN :rep ELSE :admin END, 1, 'lead ' || g, g % 100 "
            "FROM generate_series(1, :rows) AS g"
        ), {"admin": admin.id, "rep": rep.id, "every": REP_EVERY, "rows": rows})
    with platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'VACUUM ANALYZE "{table}"'))
    return table


def run(database_url: str, rows: int, rounds: int, calls: int) -> dict[str, float]:
    """Fills, times and prints; returns the median ms per query."""
    settings = Settings(database_url=database_url, secret_key="bench",
                        instance_path=Path(tempfile.mkdtemp(prefix="cairn-bench-")), embedded_worker=False)
    platform = Platform.from_settings(settings, clock=SystemClock())
    try:
        upgrade(platform.engine)
        with platform.session() as session:
            identity = IdentityService(session, platform.clock)
            ws = identity.create_workspace("bench", "Bench")
            admin = identity.create_user(ws, "bench-admin", role="admin")
            rep = identity.create_user(ws, "bench-rep", role="rep")
        with platform.session() as session:
            ctx = CallContext(session, ws, Actor.of(admin), platform.clock)
            service = AppService(ctx)
            service.publish(service.import_definition(LEADS).id)
        started = time.perf_counter()
        fill(platform, rows, admin, rep)
        print(f"lists on PostgreSQL: {rows:,} rows ({rows // REP_EVERY:,} the rep's) filled in "
              f"{time.perf_counter() - started:.1f} s")

        def page(user: User, workspace: Workspace, after: str | None = None) -> Any:
            with platform.session() as session:
                ctx = CallContext(session, workspace, Actor.of(user), platform.clock)
                app = load_published(session, workspace.id, "leads")
                return RecordService(ctx, app).list("lead", order_by="-created_at", after=after, limit=50)

        rep_first = page(rep, ws)
        assert len(rep_first.items) == 50 and {r["owner"] for r in rep_first.items} == {rep.id}
        cursor = rep_first.next_cursor
        assert cursor

        queries: dict[str, Callable[[], Any]] = {
            "admin first page": lambda: page(admin, ws),
            "rep first page (owner == me())": lambda: page(rep, ws),
            "rep second page (keyset)": lambda: page(rep, ws, cursor),
        }

        def timed(query: Callable[[], Any]) -> Callable[[], float]:
            def sample() -> float:
                started = time.perf_counter()
                for _ in range(calls):
                    query()
                return (time.perf_counter() - started) / calls * 1000
            return sample

        sides = {name: timed(query) for name, query in queries.items()}
        for sample in sides.values():
            sample()  # warm
        before = load()
        samples = interleave(rounds, sides)
        after = load()
        print(f"  {rounds} interleaved rounds × {calls} calls, ms per call (median, min–max); goal ≤ 50 ms")
        print(f"  load average before: {before}")
        for name, values in samples.items():
            print(f"  {name:<32} {spread(values, 'ms', 2)}")
        print(f"  load average after:  {after}")
        for name, query in queries.items():
            with captured(platform) as seen:
                query()
            statement, parameters = seen[-1]
            with platform.engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            print(f"  EXPLAIN {name}:")
            for line in plan:
                print(f"    {line[0]}")
        return {name: statistics.median(values) for name, values in samples.items()}
    finally:
        platform.dispose()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="PostgreSQL server to create a scratch database on (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50, help="calls per query per round")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with scratch_database(args.database_url) as url:
        run(url, args.rows, args.rounds, args.calls)


if __name__ == "__main__":
    main()
