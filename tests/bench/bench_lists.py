"""List pages on a 1,000,000-row entity on PostgreSQL, beside hand-written queries (a script).

Fills a fresh PostgreSQL database (created next to ``--database-url`` and dropped at the
end) with ``--rows`` records in one set-based ``INSERT … SELECT generate_series``, one in
20 owned by a rep whose role reads ``owner == me()`` (50,000 of 1,000,000), then times,
in interleaved rounds (Cairn, hand-written, next query, …), these pages of 50:

* the admin's first page, ``-created_at`` (the default order);
* the rep's first page (the ``owner == me()`` row condition), ``-created_at``;
* the rep's second page, by the keyset cursor of the first;
* the admin's first page, ``-updated_at`` ("recently updated");
* the admin's first page, ``-score`` (an indexed field that may be empty, one in 7 is:
  nulls last, two ranges of its ``(score, id)`` index; the hand-written side reads the
  first range only, which is all a first page needs here);
* the rep's records, ``-updated_at`` (``filter owner`` — the home page's list).

The Cairn side is what a request does below HTTP: a session, ``load_published`` and
``RecordService.list``. The hand-written side is what a hand-written endpoint would send:
a pooled connection, one SQL statement written for the page (same columns, order and
keyset condition) and its rows as dicts. Prints per query the median ms per call with the
min–max spread over rounds, the ratio Cairn / hand-written, the goal (≤ 50 ms,
index-bound), the load average before and after, and each Cairn statement's
``EXPLAIN (ANALYZE, BUFFERS)`` plan with a verdict: index-bound when the table is read by
an index scan only, with no sort and no sequential scan.

Usage::

    .venv/bin/python tests/bench/bench_lists.py                      # 1,000,000 rows
    .venv/bin/python tests/bench/bench_lists.py --rows 100000 --rounds 5 --calls 20
"""

from __future__ import annotations

import argparse
import logging
import re
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
             {"key": "score", "type": "integer", "label": "Score", "index": True},
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
            "CASE WHEN g % :every = 0 THEN :rep ELSE :admin END, 1, 'lead ' || g, "
            "CASE WHEN g % 7 = 0 THEN NULL ELSE g % 100 END "
            "FROM generate_series(1, :rows) AS g"
        ), {"admin": admin.id, "rep": rep.id, "every": REP_EVERY, "rows": rows})
    with platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'VACUUM ANALYZE "{table}"'))
    return table


def hand_written(platform: Platform, table: str, where: str, order: str, params: dict[str, Any]) -> Callable[[], Any]:
    """A page as a hand-written endpoint would read it: one statement on a pooled connection."""
    statement = sa.text(f'SELECT * FROM "{table}" WHERE {where} ORDER BY {order} LIMIT 51')

    def page() -> Any:
        with platform.engine.connect() as conn:
            return [dict(row) for row in conn.execute(statement, params).mappings()]

    return page


def verdict(plan: list[str], table: str, page_rows: int = 51) -> str:
    """"index-bound" when ``table`` is read by index scans only and nothing but the page's
    own rows is sorted: no sort at all, or (a nulls-last page's two ranges) a sort of at
    most ``2 × page_rows`` rows."""
    text = "\n".join(plan)
    problems = [word for word in (f"Seq Scan on {table}", "Bitmap Heap Scan") if word in text]
    sorted_rows = [int(m.group(1)) for line in plan if re.search(r"Sort  \(", line)
                   for m in [re.search(r"actual time=\S+ rows=(\d+)", line)] if m]
    problems += [f"a sort of {n} rows" for n in sorted_rows if n > 2 * page_rows]
    if "Index Scan" not in text or problems:
        return "NOT index-bound: " + ", ".join(problems or ["no index scan"])
    return "index-bound" + (f", sorting only the two ranges' rows (≤ {2 * page_rows})" if sorted_rows else ", no sort")


def run(database_url: str, rows: int, rounds: int, calls: int) -> dict[str, float]:
    """Fills, times and prints; returns the median ms per query and side."""
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
        table = fill(platform, rows, admin, rep)
        print(f"lists on PostgreSQL: {rows:,} rows ({rows // REP_EVERY:,} the rep's) filled in "
              f"{time.perf_counter() - started:.1f} s")

        def page(user: User, workspace: Workspace, order_by: str = "-created_at", after: str | None = None,
                 filters: dict[str, Any] | None = None) -> Any:
            with platform.session() as session:
                ctx = CallContext(session, workspace, Actor.of(user), platform.clock)
                app = load_published(session, workspace.id, "leads")
                return RecordService(ctx, app).list("lead", order_by=order_by, after=after, filters=filters, limit=50)

        rep_first = page(rep, ws)
        assert len(rep_first.items) == 50 and {r["owner"] for r in rep_first.items} == {rep.id}
        cursor = rep_first.next_cursor
        assert cursor
        last = rep_first.items[-1]
        newest = "created_at DESC, id DESC"
        updated = "updated_at DESC, id DESC"
        queries: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
            "admin first page, -created_at": (
                lambda: page(admin, ws), hand_written(platform, table, "true", newest, {})),
            "rep first page (owner == me())": (
                lambda: page(rep, ws), hand_written(platform, table, "owner = :me", newest, {"me": rep.id})),
            "rep second page (keyset)": (
                lambda: page(rep, ws, after=cursor),
                hand_written(platform, table, "owner = :me AND (created_at, id) < (:c, :i)", newest,
                             {"me": rep.id, "c": last["created_at"], "i": last["id"]})),
            "admin first page, -updated_at": (
                lambda: page(admin, ws, "-updated_at"), hand_written(platform, table, "true", updated, {})),
            "admin first page, -score": (
                lambda: page(admin, ws, "-score"),
                hand_written(platform, table, "score IS NOT NULL", "score DESC, id DESC", {})),
            "rep's own, -updated_at (home)": (
                lambda: page(rep, ws, "-updated_at", filters={"owner": rep.id}),
                hand_written(platform, table, "owner = :me", updated, {"me": rep.id})),
        }

        def timed(query: Callable[[], Any]) -> Callable[[], float]:
            def sample() -> float:
                started = time.perf_counter()
                for _ in range(calls):
                    query()
                return (time.perf_counter() - started) / calls * 1000
            return sample

        sides = {f"{side}|{name}": timed(pair[i])
                 for name, pair in queries.items() for i, side in enumerate(("cairn", "hand"))}
        for sample in sides.values():
            sample()  # warm
        before = load()
        samples = interleave(rounds, sides)
        after = load()
        print(f"  {rounds} interleaved rounds × {calls} calls, ms per call (median, min–max); goal ≤ 50 ms, index-bound")
        print(f"  load average before: {before}")
        print(f"  {'query':<32} {'Cairn':<24} {'hand-written':<24} ratio")
        for name in queries:
            cairn, hand = samples[f"cairn|{name}"], samples[f"hand|{name}"]
            ratio = statistics.median(cairn) / statistics.median(hand)
            print(f"  {name:<32} {spread(cairn, 'ms', 2):<24} {spread(hand, 'ms', 2):<24} {ratio:.1f}×")
        print(f"  load average after:  {after}")
        for name, (query, _hand) in queries.items():
            with captured(platform) as seen:
                query()
            statement, parameters = seen[-1]
            with platform.engine.connect() as conn:
                plan = [str(line[0]) for line in
                        conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()]
            print(f"  EXPLAIN {name}: {verdict(plan, table)}")
            for line in plan:
                print(f"    {line}")
        return {key: statistics.median(values) for key, values in samples.items()}
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
