"""Dashboard widgets over a 1,000,000-row entity on PostgreSQL, beside hand-written SQL (a script).

Fills a fresh PostgreSQL database (created next to ``--database-url`` and dropped at the
end) with ``--rows`` deals in one set-based ``INSERT … SELECT generate_series`` (8 regions,
5 stages, amounts, statuses, a location; one in 20 owned by a rep whose role reads
``owner == me()``) and their stage history (every stage up to the current one, the rows a
funnel counts), then times, in interleaved rounds (Cairn, hand-written, next widget, …),
each aggregating widget type computed fresh (no cache) by ``DashboardService.widget`` as
the manager (all rows):

* number (count and sum), bar (count and sum per region), heatmap (region × stage),
  funnel (records that entered each stage, from stage history), line (count per week of
  ``created_at`` in the workspace time zone), sentence (two filtered measures), top-N
  table (10 largest deals), map (points with a category);

against the same result computed by one hand-written SQL statement on a pooled
connection (the rows as a list). Each pair's results are compared before timing. Then a
dashboard of these 8 widgets served warm from the result cache (``service.dashboard``).

Prints, per widget, the median ms per call with the min–max spread over rounds, the ratio
Cairn / hand-written beside the goal (≤ 1.1×), the load average before and after, and the
``EXPLAIN (ANALYZE, BUFFERS)`` of both statements; then the warm dashboard's median
(goal ≤ 50 ms).

Usage::

    .venv/bin/python tests/bench/bench_dashboards.py                     # 1,000,000 rows
    .venv/bin/python tests/bench/bench_dashboards.py --rows 100000 --rounds 3
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
from decimal import Decimal
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
from runtime.settings import Settings  # noqa: E402
from runtime.workspaces import IdentityService  # noqa: E402
from tests.bench._common import DEFAULT_PG, interleave, load, scratch_database, spread  # noqa: E402

REP_EVERY = 20
REGIONS = ("north", "south", "east", "west", "central", "northeast", "southwest", "northwest")
STAGES = ("lead", "contact", "need", "proposal", "closing")
TZ = "Asia/Shanghai"
GOAL_RATIO = 1.1
GOAL_WARM_MS = 50.0


def _opt(values: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"value": v, "label": v} for v in values]


def _widget(key: str, kind: str, **rest: Any) -> dict[str, Any]:
    return {"key": key, "type": kind, "label": key, "entity": "deal", **rest}


COUNT = {"key": "n", "agg": "count", "label": "count"}
WIDGETS: list[dict[str, Any]] = [
    _widget("number", "number", measures=[COUNT, {"key": "amount", "agg": "sum", "of": "amount", "label": "amount"}]),
    _widget("bar", "bar", dimensions=[{"key": "region", "field": "region"}],
            measures=[COUNT, {"key": "amount", "agg": "sum", "of": "amount", "label": "amount"}],
            sort=[{"by": "n", "desc": True}]),
    _widget("heatmap", "heatmap", dimensions=[{"key": "region", "field": "region"}, {"key": "stage", "field": "stage"}],
            measures=[COUNT]),
    _widget("funnel", "funnel"),
    _widget("line", "line", dimensions=[{"key": "week", "field": "created_at", "bucket": "week"}], measures=[COUNT],
            limit=500),
    _widget("sentence", "sentence",
            measures=[{"key": "proposal", "agg": "count", "filter": "stage == \"proposal\""},
                      {"key": "won", "agg": "sum", "of": "amount", "filter": "status == \"won\""}],
            template="{proposal} 个商机处于方案阶段,已赢单金额 {won}", template_en="{proposal} in proposal, {won} won"),
    _widget("table", "table", columns=["name", "region", "amount"], sort=[{"by": "amount", "desc": True}], limit=10),
    _widget("map", "map", location="location", category="region", limit=500),
]
for _i, _w in enumerate(WIDGETS):
    _w["layout"] = {"x": (_i % 2) * 6, "y": (_i // 2) * 4, "w": 6, "h": 4}

DEALS: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "deals",
    "label": "Deals",
    "entities": [
        {"key": "deal", "label": "Deal", "title_field": "name",
         "fields": [
             {"key": "name", "type": "text", "label": "Name"},
             {"key": "region", "type": "choice", "label": "Region", "options": _opt(REGIONS)},
             {"key": "status", "type": "choice", "label": "Status", "options": _opt(("open", "won", "lost"))},
             {"key": "amount", "type": "number", "label": "Amount"},
             {"key": "location", "type": "location", "label": "Location"},
         ],
         "stages": [{"key": s, "label": s} for s in STAGES],
         "permissions": [{"role": "rep", "read_when": "owner == me()", "write_when": "owner == me()"},
                         {"role": "manager"}]},
    ],
    "dashboards": [{"key": "bench", "label": "Bench", "widgets": WIDGETS}],
}


def fill(platform: Platform, rows: int, ws: Workspace, app_id: int, admin: User, rep: User) -> str:
    """``rows`` deals and their stage history in two statements; returns the table's name."""
    names = [n for n in sa.inspect(platform.engine).get_table_names() if n.endswith("_deal")]
    assert len(names) == 1, names
    table = names[0]
    regions = "ARRAY[" + ",".join(f"'{r}'" for r in REGIONS) + "]"
    stages = "ARRAY[" + ",".join(f"'{s}'" for s in STAGES) + "]"
    with platform.engine.begin() as conn:
        conn.execute(sa.text(
            f'INSERT INTO "{table}" (created_at, updated_at, created_by, owner, version, name, region, status, '
            "amount, location__lat, location__lng, stage, stage_entered_at) SELECT "
            "timestamp '2026-01-01' + g * interval '30 second', timestamp '2026-01-01', :admin, "
            "CASE WHEN g % :every = 0 THEN :rep ELSE :admin END, 1, 'deal ' || g, "
            f"({regions})[1 + g % 8], (ARRAY['open','won','lost'])[1 + (g / 8) % 3], "
            "CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 1000) * 10 + (g % 7) END, "
            "20 + (g % 2000) / 100.0, 100 + (g % 3000) / 100.0, "
            f"({stages})[1 + (g / 3) % 5], timestamp '2026-01-01' + g * interval '30 second' "
            "FROM generate_series(1, :rows) AS g"
        ), {"admin": admin.id, "rep": rep.id, "every": REP_EVERY, "rows": rows})
        # Every stage up to the current one, entered one hour apart.
        conn.execute(sa.text(
            "INSERT INTO stage_history (workspace_id, app_id, entity_key, record_id, stage, from_stage, "
            "entered_at, left_at) SELECT :ws, :app, 'deal', d.id, "
            f"({stages})[s], CASE WHEN s > 1 THEN ({stages})[s - 1] END, "
            "d.created_at + (s - 1) * interval '1 hour', "
            f"CASE WHEN ({stages})[s] = d.stage THEN NULL ELSE d.created_at + s * interval '1 hour' END "
            f'FROM "{table}" d CROSS JOIN LATERAL generate_series(1, array_position({stages}, d.stage)) AS s'
        ), {"ws": ws.id, "app": app_id})
    with platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'VACUUM ANALYZE "{table}"'))
        conn.execute(sa.text("VACUUM ANALYZE stage_history"))
    return table


def hand_sql(table: str, app_id: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """The statement a developer would write for each widget (the manager reads every row)."""
    t = f'"{table}"'
    stage_list = ", ".join(f"'{s}'" for s in STAGES)
    return {
        "number": (f"SELECT count(*), sum(amount) FROM {t}", {}),
        "bar": (f"SELECT region, count(*) AS n, sum(amount) FROM {t} GROUP BY region ORDER BY n DESC, region "
                "LIMIT 100", {}),
        "heatmap": (f"SELECT region, stage, count(*) FROM {t} GROUP BY region, stage ORDER BY region, stage "
                    "LIMIT 100", {}),
        "funnel": ("SELECT " + ", ".join(f"count(*) FILTER (WHERE r.reached >= {i + 1})" for i in range(len(STAGES)))
                   + f" FROM {t} d JOIN (SELECT record_id, max(array_position(ARRAY[{stage_list}]::text[], stage)) "
                   "AS reached FROM stage_history WHERE app_id = :app AND entity_key = 'deal' "
                   f"AND stage IN ({stage_list}) GROUP BY record_id) r ON r.record_id = d.id", {"app": app_id}),
        "line": (f"SELECT date_trunc('week', created_at AT TIME ZONE 'UTC' AT TIME ZONE '{TZ}') AS week, count(*) "
                 f"FROM {t} GROUP BY week ORDER BY week LIMIT 500", {}),
        "sentence": (f"SELECT count(*) FILTER (WHERE stage = 'proposal'), sum(amount) FILTER (WHERE status = 'won') "
                     f"FROM {t}", {}),
        "table": (f"SELECT id, name, region, amount FROM {t} ORDER BY amount DESC NULLS LAST, id DESC LIMIT 10", {}),
        "map": (f"SELECT id, name, location__lat, location__lng, region FROM {t} "
                "WHERE location__lat IS NOT NULL AND location__lng IS NOT NULL ORDER BY id DESC LIMIT 500", {}),
    }


def _num(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return round(float(value), 4)
    return value


def figures(result: dict[str, Any]) -> Any:
    """The comparable figures of a WidgetResult (what the hand-written rows must equal)."""
    if result.get("total") and result["type"] in ("number", "sentence"):
        return sorted(_num(v) for v in result["total"]["values"].values())
    if result["type"] == "funnel":
        return sorted((s["stage"], s["count"]) for s in result["stages"])
    if result["type"] == "map":
        return [p["id"] for p in result["points"]]
    if result.get("records") is not None and not result.get("rows"):
        return [r["id"] for r in result["records"]]
    return sorted(tuple(_num(v) for v in row["values"].values()) for row in result["rows"])


def hand_figures(name: str, rows: list[tuple[Any, ...]]) -> Any:
    """The same figures from the hand-written statement's rows."""
    if name in ("number", "sentence"):
        return sorted(_num(v) for v in rows[0])
    if name == "funnel":
        return sorted(zip(STAGES, rows[0], strict=True))
    if name in ("map", "table"):
        return [r[0] for r in rows]
    width = {"bar": 1, "heatmap": 2, "line": 1}[name]
    return sorted(tuple(_num(v) for v in r[width:]) for r in rows)


@contextmanager
def captured(platform: Platform) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements sent inside the block, with parameters."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    sa.event.listen(platform.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(platform.engine, "before_cursor_execute", listen)


def explain(platform: Platform, statement: str, parameters: Any, *, driver: bool) -> list[str]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of a statement, one string per line (``driver``: a
    statement as sent to the driver, with its own parameter style; else ``:name`` SQL)."""
    with platform.engine.connect() as conn:
        sql = "EXPLAIN (ANALYZE, BUFFERS) " + statement
        result = conn.exec_driver_sql(sql, parameters) if driver else conn.execute(sa.text(sql), parameters)
        return [str(line[0]) for line in result.all()]


def run(database_url: str, rows: int, rounds: int, calls: int) -> dict[str, float]:
    """Fills, times and prints; returns the median ms per widget and side."""
    settings = Settings(database_url=database_url, secret_key="bench",
                        instance_path=Path(tempfile.mkdtemp(prefix="cairn-bench-")), embedded_worker=False)
    platform = Platform.from_settings(settings, clock=SystemClock())
    from runtime.dashboards import DashboardService
    from runtime.dashboards.cache import MemoryCache

    try:
        upgrade(platform.engine)
        with platform.session() as session:
            identity = IdentityService(session, platform.clock)
            ws = identity.create_workspace("bench", "Bench")
            admin = identity.create_user(ws, "bench-admin", role="admin")
            manager = identity.create_user(ws, "bench-manager", role="manager")
            rep = identity.create_user(ws, "bench-rep", role="rep")
        assert ws.timezone == TZ, ws.timezone  # the line widget's weeks are Shanghai weeks
        with platform.session() as session:
            ctx = CallContext(session, ws, Actor.of(admin), platform.clock)
            service = AppService(ctx)
            service.publish(service.import_definition(DEALS).id)
        with platform.session() as session:
            app_id = load_published(session, ws.id, "deals").app_id
        started = time.perf_counter()
        table = fill(platform, rows, ws, app_id, admin, rep)
        print(f"dashboards on PostgreSQL: {rows:,} deals (+ stage history) filled in "
              f"{time.perf_counter() - started:.1f} s")

        def widget(key: str, fresh: bool = True) -> dict[str, Any]:
            with platform.session() as session:
                ctx = CallContext(session, ws, Actor.of(manager), platform.clock)
                app = load_published(session, ws.id, "deals")
                return DashboardService(session, ctx, app).widget("bench", key, fresh=fresh)

        statements = hand_sql(table, app_id)

        def hand(name: str) -> Callable[[], list[tuple[Any, ...]]]:
            sql, params = statements[name]
            statement = sa.text(sql)

            def query() -> list[tuple[Any, ...]]:
                with platform.engine.connect() as conn:
                    return [tuple(r) for r in conn.execute(statement, params)]

            return query

        names = [w["key"] for w in WIDGETS]
        mismatches = []
        for name in names:
            ours, theirs = figures(widget(name)), hand_figures(name, hand(name)())
            if ours != theirs:
                mismatches.append(name)
                print(f"  RESULT DIFFERS for {name}: Cairn {str(ours)[:300]} vs hand-written {str(theirs)[:300]}")

        def timed(query: Callable[[], Any]) -> Callable[[], float]:
            def sample() -> float:
                started = time.perf_counter()
                for _ in range(calls):
                    query()
                return (time.perf_counter() - started) / calls * 1000
            return sample

        sides: dict[str, Callable[[], float]] = {}
        for name in names:
            sides[f"cairn|{name}"] = timed(lambda name=name: widget(name))  # type: ignore[misc]
            sides[f"hand|{name}"] = timed(hand(name))
        for sample in sides.values():
            sample()  # warm
        before = load()
        samples = interleave(rounds, sides)
        after = load()
        print(f"  {rounds} interleaved rounds × {calls} calls, ms per call (median, min–max), computed fresh "
              f"(no cache), as the manager; goal ≤ {GOAL_RATIO}× hand-written")
        print(f"  load average before: {before}")
        print(f"  {'widget':<10} {'Cairn':<28} {'hand-written':<28} ratio   goal")
        for name in names:
            cairn, theirs = samples[f"cairn|{name}"], samples[f"hand|{name}"]
            ratio = statistics.median(cairn) / statistics.median(theirs)
            verdict = "ok" if ratio <= GOAL_RATIO else "OVER"
            print(f"  {name:<10} {spread(cairn, 'ms', 2):<28} {spread(theirs, 'ms', 2):<28} {ratio:.2f}×   "
                  f"≤ {GOAL_RATIO}× {verdict}")
        print(f"  load average after:  {after}")
        if mismatches:
            print(f"  results differing from the hand-written SQL: {', '.join(mismatches)}")

        # A dashboard of 8 widgets, warm from the result cache (in-process here; Redis
        # when configured adds a round trip per widget).
        cache = MemoryCache()
        with platform.session() as session:
            ctx = CallContext(session, ws, Actor.of(manager), platform.clock)
            app = load_published(session, ws.id, "deals")
            DashboardService(session, ctx, app, cache=cache).dashboard("bench")  # fills the cache

        def warm() -> float:
            with platform.session() as session:
                ctx = CallContext(session, ws, Actor.of(manager), platform.clock)
                app = load_published(session, ws.id, "deals")
                started = time.perf_counter()
                page = DashboardService(session, ctx, app, cache=cache).dashboard("bench")
                elapsed = (time.perf_counter() - started) * 1000
            assert all(w.get("result", {}).get("cached") for w in page["widgets"]), "not served from the cache"
            return elapsed

        warm_samples = [warm() for _ in range(max(rounds * 5, 20))]
        median = statistics.median(warm_samples)
        print(f"  dashboard of {len(names)} widgets warm from the cache: {spread(warm_samples, 'ms', 2)}, "
              f"goal ≤ {GOAL_WARM_MS:.0f} ms {'ok' if median <= GOAL_WARM_MS else 'OVER'}")

        for name in names:
            with captured(platform) as seen:
                widget(name)
            print(f"  EXPLAIN {name} — Cairn ({len(seen)} statement(s); the last):")
            statement, parameters = seen[-1]
            for line in explain(platform, statement, parameters, driver=True):
                print(f"    {line}")
            sql, params = statements[name]
            print(f"  EXPLAIN {name} — hand-written:")
            for line in explain(platform, sql, params, driver=False):
                print(f"    {line}")
        out = {key: statistics.median(values) for key, values in samples.items()}
        out["warm_dashboard"] = median
        return out
    finally:
        platform.dispose()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="PostgreSQL server to create a scratch database on (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3, help="calls per widget per round")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with scratch_database(args.database_url) as url:
        run(url, args.rows, args.rounds, args.calls)


if __name__ == "__main__":
    main()
