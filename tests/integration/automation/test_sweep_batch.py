"""An elapsed sweep costs a constant number of SQL statements, whatever number is due.

The marks of all due records are one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` and
their outbox rows one multi-row INSERT, so sweeping 100 due records sends the same
statements as sweeping 10. The mark is the claim: a sweep that read the same due records
as another one (overlapping sweeps) queues nothing for the records the other one marked,
so each record fires once per episode.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from runtime.automation.due import build_existing
from runtime.automation.events import post_event
from runtime.automation.models import ElapsedMark, OutboxJob
from runtime.automation.sweeps import (
    elapsed_query,
    fire_elapsed,
    sweep_elapsed,
)
from runtime.clock import to_naive_utc
from tests.integration.automation.conftest import World, make_world
from tests.integration.automation.test_sweep_plan import TICKETS
from tests.sql_count import counted

TZ = ZoneInfo("Asia/Shanghai")
#: Statements of one elapsed sweep with records due (see the printed list, ``pytest -s``):
#: [BEGIN IMMEDIATE on SQLite], the trigger's state row, the due rows, the marks, the
#: outbox rows, the settled due rows' DELETE, the state update. Before marks and jobs were
#: batched: 2 more per due record.
MAX_SWEEP_STATEMENTS = {"sqlite": 7, "postgresql": 6}



def _add_tickets(world: World, app: Any, due: int, noise: int, start: datetime, tag: str) -> list[int]:
    """``due`` open tickets due in the hour after ``start``, and ``noise`` tickets that aren't
    (half closed in the same hour, half due next week), with their due rows as the write path
    adds them. Returns the due tickets' ids."""
    table = app.table("ticket")
    at = to_naive_utc(start)
    now = to_naive_utc(world.clock.now())
    base = {"created_at": now, "updated_at": now, "version": 1}
    rows = [
        {**base, "title": f"{tag}-due-{i}", "due_at": at + timedelta(seconds=1 + i), "closed": False}
        for i in range(due)
    ] + [
        {**base, "title": f"{tag}-noise-{i}", "closed": i % 2 == 0,
         "due_at": at + timedelta(seconds=1 + i % 3000) if i % 2 == 0 else at + timedelta(days=7, seconds=i)}
        for i in range(noise)
    ]
    with world.platform.session() as session:
        session.execute(sa.insert(table), rows)
        build_existing(session, app, app.definition.triggers[0], table.c.due_at, False,
                       table.c.title.like(f"{tag}-%"))
        session.commit()
        ids = session.scalars(
            sa.select(table.c.id).where(table.c.title.like(f"{tag}-due-%"))
        ).all()
    assert len(ids) == due
    return list(ids)


def _sweep(world: World, app: Any, now: datetime) -> tuple[int, list[str]]:
    trigger = app.definition.triggers[0]
    with world.platform.session() as session, counted(world.platform.engine) as statements:
        fired = sweep_elapsed(session, app, trigger, now, TZ)
        session.commit()
    return fired, statements


def _elapsed_jobs(world: World) -> dict[int, int]:
    """Elapsed outbox jobs per record id."""
    with world.platform.session() as session:
        rows = session.execute(
            sa.select(OutboxJob.record_id, sa.func.count())
            .where(OutboxJob.kind == "elapsed")
            .group_by(OutboxJob.record_id)
        ).all()
    return {record_id: n for record_id, n in rows}


def test_sweep_statements_do_not_grow_with_the_due_records(embedded_world: World) -> None:
    world = embedded_world
    app = world.publish(TICKETS)
    start = world.clock.now()
    _sweep(world, app, start)  # first sight: creates the trigger's state row

    # 10 due an hour later, then 100 more due the hour after, among 600 that never fire
    # (300 closed, due in the same hours: read and settled in the same batch).
    first = _add_tickets(world, app, 10, 300, start - timedelta(hours=12), "a")
    fired_10, statements_10 = _sweep(world, app, start + timedelta(hours=1))
    second = _add_tickets(world, app, 100, 300, start - timedelta(hours=11), "b")
    fired_100, statements_100 = _sweep(world, app, start + timedelta(hours=2))
    print("\n".join(statements_100))

    assert (fired_10, fired_100) == (10, 100)
    assert len(statements_100) == len(statements_10), (statements_10, statements_100)
    dialect = world.platform.engine.dialect.name
    assert len(statements_100) <= MAX_SWEEP_STATEMENTS[dialect], statements_100
    # One INSERT each: on PostgreSQL one row per element of array parameters (marks and
    # outbox rows alike), on SQLite 100 VALUES groups in one statement (the marks) or
    # (the outbox rows, in process) one prepared statement the driver executes per row.
    for table in ("automation_elapsed_marks", "automation_outbox"):
        inserts = [s for s in statements_100 if s.startswith(f"INSERT INTO {table} ")]
        assert len(inserts) == 1, statements_100
        if dialect == "postgresql":
            assert "FROM unnest(" in inserts[0] and "), (" not in inserts[0], inserts[0]
        elif table == "automation_outbox" and dialect == "sqlite":
            assert "), (" not in inserts[0] and "RETURNING" not in inserts[0], inserts[0][:300]
        else:
            assert inserts[0].count("), (") == 99, inserts[0][:300]
    # Marks and jobs committed together, one of each per due record and nothing else.
    assert _elapsed_jobs(world) == {record_id: 1 for record_id in first + second}
    with world.platform.session() as session:
        marked = session.scalars(sa.select(ElapsedMark.record_id)).all()
    assert sorted(marked) == sorted(first + second)
    # The episode fired once: a later sweep finds nothing.
    assert _sweep(world, app, start + timedelta(hours=3))[0] == 0


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan] + [node for child in plan.get("Plans", []) for node in _plan_nodes(child)]


def test_the_due_query_reads_only_the_since_index_range(embedded_world: World) -> None:
    """The sweep's queries, as the sweep sent them, read index ranges only — no scan of a
    table and no sort of more than the range's rows: the first sweep's catch-up (records
    already due when the trigger was built) the ``since`` index of the record table, and
    the steady sweep the due table's ``(app, trigger, since)`` index, joined to the
    records by primary key."""
    world = embedded_world
    app = world.publish(TICKETS)
    table = app.table("ticket")
    now = to_naive_utc(world.clock.now())
    base = {"created_at": now, "updated_at": now, "version": 1, "title": "t"}
    rows = [{**base, "due_at": now - timedelta(hours=12, minutes=30, seconds=i), "closed": False} for i in range(100)]
    rows += [  # closed long ago, or due next month: outside the range the sweep reads
        {**base, "due_at": now + (timedelta(days=30, seconds=i) if i % 2 else -timedelta(days=90, seconds=i)),
         "closed": i % 2 == 0}
        for i in range(20_000)
    ]
    with world.platform.session() as session:
        session.execute(sa.insert(table), rows)
        session.commit()
    with world.platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'ANALYZE "{table.name}"')
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement and table.name in statement:
            seen.append((statement, parameters))

    trigger = app.definition.triggers[0]
    sa.event.listen(world.platform.engine, "before_cursor_execute", listen)
    try:
        with world.platform.session() as session:
            assert sweep_elapsed(session, app, trigger, world.clock.now(), TZ) == 100
            session.rollback()  # explained below as the first sweep runs it
    finally:
        sa.event.remove(world.platform.engine, "before_cursor_execute", listen)
    catch_up = [q for q in seen if "automation_elapsed_due" not in q[0]]
    assert len(catch_up) == 1, seen
    index = f"ix_{table.name}_due_at"
    _explain(world, *catch_up[0], index=index)
    # The next sweep, with the 100 marks written and analysed (as autovacuum does).
    assert _sweep(world, app, world.clock.now())[0] == 100
    with world.platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE automation_elapsed_marks")
    _explain(world, *catch_up[0], index=index)

    # Steady state: 100 more tickets written through the write path's due rows, 12 h late.
    later = _add_tickets(world, app, 100, 0, world.clock.now() - timedelta(hours=13), "late")
    with world.platform.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE automation_elapsed_due")
    seen.clear()
    sa.event.listen(world.platform.engine, "before_cursor_execute", listen)
    try:
        assert _sweep(world, app, world.clock.now() + timedelta(minutes=1))[0] == len(later)
    finally:
        sa.event.remove(world.platform.engine, "before_cursor_execute", listen)
    due_queries = [q for q in seen if "automation_elapsed_due" in q[0]]
    assert len(due_queries) == 1, seen
    check_due_plan(world.platform.engine, *due_queries[0], table=table.name)


def check_due_plan(engine: Any, statement: str, parameters: Any, *, table: str) -> str:
    """Checks that the due query reads the due table by its ``since`` index and the record
    table by primary key — no Seq Scan, no sort; returns the plan's text."""
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            details = [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]
            assert not [d for d in details if "TEMP B-TREE" in d], details
            assert [d for d in details if "USING INDEX ix_automation_elapsed_due_since" in d], details
            assert not [d for d in details if d.startswith("SCAN") and "INDEX" not in d], details
            return "\n".join(details)
        raw = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
        text = "\n".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters).all())
        conn.rollback()
    nodes = _plan_nodes((raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"])
    # The record table and the due table are read by index. The marks are probed per due
    # row, never hashed whole (they accumulate); a marks table of a few pages may be read
    # by that probe sequentially, the planner's cheapest way at this size.
    scans = [n for n in nodes if n["Node Type"] == "Seq Scan"]
    assert not [n for n in scans if n.get("Relation Name") != "automation_elapsed_marks"], text
    assert not [n for n in scans if n.get("Parent Relationship") != "SubPlan"] and "hashed" not in text, text
    assert not [n for n in nodes if "Sort" in n["Node Type"]], text
    assert "ix_automation_elapsed_due_since" in {n.get("Index Name") for n in nodes}, text
    assert {n.get("Index Name") for n in nodes if n.get("Relation Name") == table} <= {f"pk_{table}"}, text
    return text


def _explain(world: World, statement: str, parameters: Any, *, index: str) -> None:
    """Checks that ``statement`` reads its table through ``index`` only and sorts nothing
    beyond the 100 rows of the index range.

    At this size PostgreSQL may sort or hash the range's rows (its cheapest plan for 100
    rows); over 1,000,000 rows it walks the index in order with no sort at all
    (``test_sweep_plan.py``, ``tests/bench/bench_sweep.py``). SQLite's plan has no
    temporary sort B-tree."""
    with world.platform.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            details = [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]
            assert not [d for d in details if "TEMP B-TREE" in d], details
            assert [d for d in details if f"USING INDEX {index}" in d], details
            return
        raw = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
        conn.rollback()
    nodes = _plan_nodes((raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"])
    table = index[len("ix_"):-len("_due_at")]
    on_table = [n for n in nodes if n.get("Relation Name") == table or n.get("Index Name") == index]
    assert on_table and not [n for n in on_table if n["Node Type"] == "Seq Scan"], nodes
    assert {n.get("Index Name") for n in on_table if n["Node Type"] != "Bitmap Heap Scan"} == {index}, nodes
    assert all(n["Actual Rows"] <= 100 for n in nodes if "Sort" in n["Node Type"]), nodes


def test_overlapping_sweeps_queue_each_record_once(embedded_world: World) -> None:
    """Two sweeps that read the same due records: only the one that marked them queues."""
    world = embedded_world
    app = world.publish(TICKETS)
    trigger = app.definition.triggers[0]
    now = world.clock.now()
    due = _add_tickets(world, app, 20, 50, now - timedelta(hours=13), "o")
    lower = None  # the catch-up from the oldest record
    dialect = world.platform.engine.dialect.name

    with world.platform.session() as one, world.platform.session() as other:
        seen_one = one.execute(elapsed_query(app, trigger, now, lower, TZ, dialect)).all()
        one.commit()
        seen_other = other.execute(elapsed_query(app, trigger, now, lower, TZ, dialect)).all()
        other.commit()
        assert len(seen_one) == len(seen_other) == 20
        # The first marks 5 of them, the second all 20 (15 new), the first the rest.
        assert fire_elapsed(one, app, trigger, now, seen_one[:5]) == 5
        one.commit()
        assert fire_elapsed(other, app, trigger, now, seen_other) == 15
        other.commit()
        assert fire_elapsed(one, app, trigger, now, seen_one) == 0
        one.commit()
    assert _elapsed_jobs(world) == {record_id: 1 for record_id in due}


@pytest.mark.postgres
def test_racing_sweeps_on_postgresql_queue_each_record_once(pg_url: str, tmp_path: Path) -> None:
    world = make_world(pg_url, tmp_path / "instance", "embedded", None)
    try:
        app = world.publish(TICKETS)
        trigger = app.definition.triggers[0]
        now = world.clock.now()
        due = _add_tickets(world, app, 100, 200, now - timedelta(hours=13), "r")
        lower = None  # the catch-up from the oldest record

        # Both sweeps read the due records before either marks one; the first holds its
        # marks uncommitted while the second tries to mark the same records.
        with world.platform.session() as first, world.platform.session() as second:
            seen_first = first.execute(elapsed_query(app, trigger, now, lower, TZ, "postgresql")).all()
            seen_second = second.execute(elapsed_query(app, trigger, now, lower, TZ, "postgresql")).all()
            assert len(seen_first) == len(seen_second) == 100
            assert fire_elapsed(first, app, trigger, now, seen_first) == 100
            result: dict[str, Any] = {}

            def race() -> None:
                try:
                    result["fired"] = fire_elapsed(second, app, trigger, now, seen_second)
                    second.commit()
                except BaseException as exc:  # reported below
                    result["error"] = exc

            thread = threading.Thread(target=race)
            thread.start()
            thread.join(timeout=1.0)
            assert thread.is_alive(), "the second sweep must wait for the first one's marks"
            first.commit()
            thread.join(timeout=30)
            assert not thread.is_alive()
        assert "error" not in result, result
        assert result["fired"] == 0

        # And whole sweeps started together from separate threads.
        more = _add_tickets(world, app, 50, 0, now - timedelta(hours=12, minutes=30), "s")
        later = now + timedelta(minutes=10)
        barrier = threading.Barrier(2)
        fired: list[int] = []

        def sweep() -> None:
            with world.platform.session() as session:
                barrier.wait(timeout=10)
                fired.append(sweep_elapsed(session, app, trigger, later, TZ))
                session.commit()

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(fired) == [0, 50]
        assert _elapsed_jobs(world) == {record_id: 1 for record_id in due + more}
    finally:
        world.platform.dispose()



def _event_trigger(key: str) -> dict[str, Any]:
    return {"key": key, "label": key, "entity": "lead",
            "on": {"type": "event", "sequence": ["visit", "pay"], "within": "1d"},
            "actions": [{"type": "set_field", "field": "note", "value": f'"{key}"'}]}


EVENTS: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "funnel",
    "label": "Funnel",
    "entities": [
        {"key": "lead", "label": "Lead", "fields": [
            {"key": "name", "type": "text", "label": "Name"},
            {"key": "note", "type": "text", "label": "Note"},
        ]},
    ],
    "triggers": [_event_trigger("first"), _event_trigger("second"), _event_trigger("third")],
}


def test_an_event_completing_several_sequences_queues_them_with_one_insert(embedded_world: World) -> None:
    world = embedded_world
    world.publish(EVENTS)
    lead = world.records("funnel", world.admin).create("lead", {"name": "a"}).record
    post_event(world.ctx(world.admin), "funnel", "lead", lead["id"], "visit")

    with counted(world.platform.engine) as statements:
        result = post_event(world.ctx(world.admin), "funnel", "lead", lead["id"], "pay")
    assert sorted(result["fired"]) == ["first", "second", "third"]
    inserts = [s for s in statements if s.startswith("INSERT INTO automation_outbox ")]
    assert len(inserts) == 1, statements
    if world.platform.engine.dialect.name == "sqlite":  # one prepared statement, executemany
        assert "), (" not in inserts[0], inserts[0][:300]
    else:  # one row per element of the array parameters
        assert "FROM unnest(" in inserts[0] and "), (" not in inserts[0], inserts[0][:300]
    with world.platform.session() as session:
        jobs = session.execute(
            sa.select(OutboxJob.trigger_key, OutboxJob.record_id).where(OutboxJob.kind == "event")
        ).all()
    assert sorted(jobs) == [("first", lead["id"]), ("second", lead["id"]), ("third", lead["id"])]
    # The sequence was consumed: another "pay" alone completes nothing.
    assert post_event(world.ctx(world.admin), "funnel", "lead", lead["id"], "pay")["fired"] == []


def test_sweep_on_a_sqlite_without_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.35 has no RETURNING: marks and jobs still go in, once each."""
    world = make_world(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "instance", "embedded", None)
    try:
        app = world.publish(TICKETS)
        monkeypatch.setattr(world.platform.engine.dialect, "insert_returning", False)
        now = world.clock.now()
        due = _add_tickets(world, app, 30, 30, now - timedelta(hours=13), "x")
        fired, statements = _sweep(world, app, now)
        assert fired == 30
        assert not any("RETURNING" in s for s in statements), statements
        assert _elapsed_jobs(world) == {record_id: 1 for record_id in due}
        assert _sweep(world, app, now + timedelta(minutes=1))[0] == 0
    finally:
        world.platform.dispose()
