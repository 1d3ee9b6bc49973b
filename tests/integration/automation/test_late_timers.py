"""Time rules fire for records whose due time had already passed when they were written or
when the rule was published — once per episode, from the due table, on both databases."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from runtime.automation.models import ElapsedDue, OutboxJob
from runtime.clock import to_naive_utc
from tests.integration.automation.conftest import World

CASES: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "cases",
    "label": "Cases",
    "entities": [
        {"key": "case", "label": "Case", "fields": [
            {"key": "title", "type": "text", "label": "Title"},
            {"key": "status", "type": "text", "label": "Status"},
            {"key": "opened_at", "type": "datetime", "label": "Opened"},
            {"key": "alerts", "type": "integer", "label": "Alerts"},
        ]},
        {"key": "commitment", "label": "Commitment", "fields": [
            {"key": "deliverable", "type": "text", "label": "Deliverable"},
            {"key": "due_on", "type": "date", "label": "Due"},
            {"key": "delivered", "type": "boolean", "label": "Delivered"},
            {"key": "overdue", "type": "boolean", "label": "Overdue"},
        ]},
    ],
    "triggers": [
        {"key": "still_new", "label": "Still new", "entity": "case",
         "on": {"type": "elapsed", "condition": 'status == "新"', "since": "opened_at", "after": "1h"},
         "actions": [{"type": "set_field", "field": "alerts", "value": "coalesce(alerts, 0) + 1"}]},
        {"key": "overdue", "label": "Overdue", "entity": "commitment",
         "on": {"type": "elapsed", "condition": "not delivered", "since": "due_on", "after": "12h"},
         "actions": [{"type": "set_field", "field": "overdue", "value": "true"}]},
    ],
}


def _elapsed_jobs(world: World, trigger: str) -> dict[int, int]:
    with world.platform.session() as session:
        rows = session.execute(
            sa.select(OutboxJob.record_id, sa.func.count())
            .where(OutboxJob.kind == "elapsed", OutboxJob.trigger_key == trigger)
            .group_by(OutboxJob.record_id)
        ).all()
    return {record_id: n for record_id, n in rows}


def _due_rows(world: World) -> int:
    with world.platform.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(ElapsedDue)) or 0)


def test_a_record_entered_late_fires_once_on_the_next_sweep(embedded_world: World) -> None:
    world = embedded_world
    world.publish(CASES)
    world.settle()  # the triggers' first sweep: nothing to fire yet
    now = world.clock.now()
    records = world.records("cases")
    late = records.create("case", {"title": "late", "status": "新", "opened_at": now - timedelta(hours=3)}).record
    closed = records.create("case", {"title": "closed", "status": "已处理", "opened_at": now - timedelta(hours=3)}).record
    fresh = records.create("case", {"title": "fresh", "status": "新", "opened_at": now}).record
    yesterday = (now - timedelta(days=1)).date()
    owed = records.create("commitment", {"deliverable": "报价单", "due_on": yesterday, "delivered": False}).record
    done = records.create("commitment", {"deliverable": "合同", "due_on": yesterday, "delivered": True}).record
    assert _due_rows(world) == 5  # written with the records

    world.advance(timedelta(seconds=30))
    world.settle()
    assert _elapsed_jobs(world, "still_new") == {late["id"]: 1}
    assert records.get("case", late["id"])["alerts"] == 1
    assert records.get("case", closed["id"])["alerts"] is None
    assert _elapsed_jobs(world, "overdue") == {owed["id"]: 1}
    assert records.get("commitment", owed["id"])["overdue"] is True
    assert records.get("commitment", done["id"])["overdue"] is None
    assert _due_rows(world) == 1  # only the fresh case's episode is still open

    # Exactly once: more sweeps fire nothing more for the episode …
    for _ in range(3):
        world.advance(timedelta(minutes=30))
        world.settle()
    assert _elapsed_jobs(world, "still_new") == {late["id"]: 1, fresh["id"]: 1}
    assert records.get("case", late["id"])["alerts"] == 1
    # … and again only when its timestamp moves (entered late once more).
    records.update("case", late["id"], {"opened_at": world.clock.now() - timedelta(hours=5)})
    records.update("case", late["id"], {"title": "late, edited"})  # not a new episode
    world.settle()
    assert _elapsed_jobs(world, "still_new") == {late["id"]: 2, fresh["id"]: 1}
    assert records.get("case", late["id"])["alerts"] == 2
    assert _due_rows(world) == 0


def test_a_rule_published_after_records_became_due_fires_for_them(embedded_world: World) -> None:
    world = embedded_world
    without = copy.deepcopy(CASES)
    without["triggers"] = []
    world.publish(without)
    now = world.clock.now()
    records = world.records("cases")
    ids = [
        records.create("case", {"title": f"c{n}", "status": "新", "opened_at": now - age}).record["id"]
        for n, age in enumerate((timedelta(hours=3), timedelta(days=40), timedelta(days=400)))
    ]
    handled = records.create("case", {"title": "h", "status": "已处理", "opened_at": now - timedelta(days=2)}).record
    soon = records.create("case", {"title": "s", "status": "新", "opened_at": now - timedelta(minutes=30)}).record
    owed = records.create("commitment", {"deliverable": "x", "due_on": date(2025, 1, 6), "delivered": False}).record
    world.settle()
    assert _due_rows(world) == 0 and not world.jobs()

    world.advance(timedelta(minutes=10))
    world.publish(CASES)  # the rules arrive after the records fell due, some long ago
    world.settle()
    assert _elapsed_jobs(world, "still_new") == dict.fromkeys(ids, 1)
    assert _elapsed_jobs(world, "overdue") == {owed["id"]: 1}
    assert records.get("case", handled["id"])["alerts"] is None
    # The one not due yet at publish got its due row, and fires when it falls due.
    with world.platform.session() as session:
        assert session.scalars(sa.select(ElapsedDue.record_id)).all() == [soon["id"]]
        opened = to_naive_utc(world.clock.now())
        assert session.scalar(sa.select(ElapsedDue.since)) < opened
    world.advance(timedelta(minutes=21))
    world.settle()
    assert _elapsed_jobs(world, "still_new") == {**dict.fromkeys(ids, 1), soon["id"]: 1}
    world.advance(timedelta(hours=1))
    world.settle()
    assert sum(_elapsed_jobs(world, "still_new").values()) == 4


def test_a_disabled_rule_enabled_again_covers_what_was_written_meanwhile(embedded_world: World) -> None:
    world = embedded_world
    world.publish(CASES)
    world.settle()
    disabled = copy.deepcopy(CASES)
    disabled["triggers"][0]["enabled"] = False
    world.publish(disabled)
    records = world.records("cases")
    meanwhile = records.create(
        "case", {"title": "m", "status": "新", "opened_at": world.clock.now() - timedelta(hours=2)}
    ).record
    world.settle()
    assert _elapsed_jobs(world, "still_new") == {}
    world.publish(CASES)
    world.settle()
    assert _elapsed_jobs(world, "still_new") == {meanwhile["id"]: 1}
