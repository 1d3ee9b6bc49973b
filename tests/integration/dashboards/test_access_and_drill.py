"""Row conditions, drill-down conditions, the one-query rule and the designer's preview."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from builder.dashboards import load_dashboards
from runtime.errors import Forbidden, Invalid, NotFound
from runtime.record_list import RecordLister
from tests.integration.dashboards.conftest import World
from tests.sql_count import counted


def ids(world: World, user: Any, entity: str, condition: Any) -> set[int]:
    """The records the drill list shows ``user`` (RecordLister with the extra condition)."""
    service = world.records(user)
    found: set[int] = set()
    after = None
    while True:
        page = RecordLister(service).page(entity, condition=condition, after=after, limit=200)
        found.update(r["id"] for r in page.items)
        if page.next_cursor is None:
            return found
        after = page.next_cursor


# --------------------------------------------------------------------------- row conditions


def test_reps_and_managers_see_what_their_row_conditions_allow(world: World) -> None:
    ann, bob = world.reps["ann"], world.reps["bob"]
    for user, where in ((ann, f"owner = {ann.id}"), (bob, f"owner = {bob.id}"), (world.manager, "1 = 1")):
        total = world.dashboards(user).widget("board", "total")["total"]["values"]["n"]
        assert total == world.scalar(f"select count(*) from {world.opp} where {where}")
    assert world.dashboards(ann).widget("board", "total")["total"]["values"]["n"] == 5
    assert world.dashboards(bob).widget("board", "total")["total"]["values"]["n"] == 5
    assert world.dashboards(world.manager).widget("board", "total")["total"]["values"]["n"] == 10


@pytest.mark.parametrize("who", ["ann", "manager"])
def test_link_dimensions_apply_the_targets_row_condition(world: World, who: str) -> None:
    user = world.manager if who == "manager" else world.reps[who]
    # rep: own opportunities, own customers; manager: every opportunity, customers of region east
    opp_where = "1 = 1" if who == "manager" else f"o.owner = {user.id}"
    cust_on = "c.region = 'east'" if who == "manager" else f"c.owner = {user.id}"
    expected = world.all(
        f"select c.region, o.stage, count(*) from {world.opp} o "
        f"left join {world.cust} c on c.id = o.customer and {cust_on} "
        f"where {opp_where} group by c.region, o.stage"
    )
    result = world.dashboards(user).widget("board", "region_stage")
    got = {(r["cell"]["region"], r["cell"]["stage"]): r["values"]["n"] for r in result["rows"]}
    assert got == {("" if r is None else r, s): n for r, s, n in expected}
    regions = {r["cell"]["region"] for r in result["rows"]}
    if who == "manager":
        assert "west" not in regions and "north" not in regions
    else:
        assert "north" not in regions  # Delta is bob's
    assert "" in regions  # hidden customers are absent: their opportunities count under "none"


def test_a_role_that_may_not_read_the_entity_is_refused(world: World) -> None:
    world.republish([{"key": "notes", "type": "number", "entity": "note", "measures": [{"key": "n", "agg": "count"}]}])
    try:
        with pytest.raises(Forbidden) as refused:
            world.dashboards(world.reps["ann"]).widget("board", "notes")
        assert "无权" in refused.value.message_zh
        board = world.dashboards(world.reps["ann"]).dashboard("board")
        assert board["widgets"][0]["error"]["code"] == "forbidden"
        assert world.dashboards().widget("board", "notes")["total"]["values"]["n"] == 0
    finally:
        from tests.integration.dashboards.conftest import WIDGETS

        world.republish(WIDGETS)


def test_dashboards_per_role(world: World) -> None:
    assert [d.key for d in world.dashboards(world.reps["ann"]).visible()] == ["board"]
    assert [d.key for d in world.dashboards().visible()] == ["board", "admin_only"]
    home = world.dashboards(world.manager).home_for()
    assert home is not None and home.key == "board"
    assert world.dashboards(world.reps["ann"]).home_for() is None
    with pytest.raises(Forbidden):
        world.dashboards(world.manager).dashboard("admin_only")
    with pytest.raises(NotFound):
        world.dashboards().widget("board", "nope")
    board = world.dashboards(world.manager).dashboard("board")
    assert board["label"] == "经理工作台" and board["label_en"] == "Manager workbench"
    assert [w["key"] for w in board["widgets"]] == [d["key"] for d in world.app.definition.dashboards[0]["widgets"]]
    assert all("result" in w for w in board["widgets"])
    assert load_dashboards(world.app.definition.dashboards, world.app.definition)[1] == []


# --------------------------------------------------------------------------- drill


GROUPED = ["by_stage", "weekly", "daily", "status", "region_stage", "by_owner", "closing", "quarters",
           "by_customer", "won_flag"]


@pytest.mark.parametrize("who", ["admin", "ann", "manager"])
def test_every_cell_drills_to_exactly_its_records(world: World, who: str) -> None:
    user = {"admin": world.admin, "ann": world.reps["ann"], "manager": world.manager}[who]
    service = world.dashboards(user)
    checked = 0
    for key in GROUPED:
        result = service.widget("board", key)
        assert result["rows"], key
        for row in result["rows"]:
            condition = service.drill("board", key, row["cell"])
            assert condition.entity == "opportunity"
            assert len(ids(world, user, "opportunity", condition.condition)) == row["values"]["n"], (key, row)
            checked += 1
    for key in ("total", "this_week", "story"):
        result = service.widget("board", key)
        condition = service.drill("board", key, None)
        assert len(ids(world, user, "opportunity", condition.condition)) == result["total"]["values"].get(
            "n", result["total"]["values"].get("proposal") if key != "story" else None
        ) or key == "story"
    story = service.widget("board", "story")["total"]["values"]
    everything = ids(world, user, "opportunity", service.drill("board", "story", None).condition)
    assert len(everything) == world.scalar(
        f"select count(*) from {world.opp}" + ("" if who in ("admin", "manager") else f" where owner = {user.id}")
    )
    assert story["proposal"] <= len(everything)
    funnel = service.widget("board", "funnel")
    for stage in funnel["stages"]:
        condition = service.drill("board", "funnel", {"stage": stage["stage"]})
        assert len(ids(world, user, "opportunity", condition.condition)) == stage["count"]
    points = service.widget("board", "map")["points"]
    assert len(ids(world, user, "customer", service.drill("board", "map", None).condition)) == len(points)
    first = points[0]
    assert ids(world, user, "customer", service.drill("board", "map", {"id": str(first["id"])}).condition) == {first["id"]}
    for category in {p["category"] for p in points}:
        drilled = service.drill("board", "map", {"category": category})
        assert len(ids(world, user, "customer", drilled.condition)) == len([p for p in points if p["category"] == category])
    assert checked > 20


def test_drill_describes_its_cell(world: World) -> None:
    service = world.dashboards()
    condition = service.drill("board", "region_stage", {"region": "east", "stage": "proposal"})
    assert condition.describe("zh") == "客户·区域 华东 · 阶段 方案"
    assert condition.describe("en") == "Customer · Region East · Stage Proposal"
    owner = service.drill("board", "by_owner", {"owner": str(world.reps["ann"].id)})
    assert owner.describe("en") == "Owner Ann"
    assert service.drill("board", "weekly", {"region": ""}).describe("zh") == "客户·区域 (空)"
    with pytest.raises(Invalid):
        service.drill("board", "by_stage", {"nope": "x"})
    with pytest.raises(Invalid):
        service.drill("board", "closing", {"month": "not a date"})


# --------------------------------------------------------------------------- one query


@pytest.mark.parametrize("key", ["total", "by_stage", "top", "this_week", "weekly", "daily", "status", "region_stage",
                                 "funnel", "map", "story", "by_owner", "closing", "quarters", "by_customer", "won_flag"])
def test_one_statement_per_widget(world: World, key: str) -> None:
    service = world.dashboards(world.reps["ann"])
    assert world.workspace.timezone  # loaded before counting (the session may have expired it)
    world.session.execute(sa.text("select 1"))  # the transaction is begun before counting
    with counted(world.engine) as statements:
        service.widget("board", key)
    assert len(statements) == 1, statements


def test_a_dashboard_is_one_stamp_query_plus_one_per_widget(world: World) -> None:
    service = world.dashboards(world.manager, cache=True)
    world.cache.clear()
    assert world.workspace.timezone
    world.session.execute(sa.text("select 1"))
    count = len(world.app.definition.dashboards[0]["widgets"])
    with counted(world.engine) as statements:
        service.dashboard("board")
    assert len(statements) == 1 + count
    with counted(world.engine) as statements:
        board = service.dashboard("board")
    assert len(statements) == 1
    assert all(w["result"]["cached"] for w in board["widgets"])


# --------------------------------------------------------------------------- export rows


def test_rows_for_export(world: World) -> None:
    service = world.dashboards()
    header, rows = service.rows("board", "region_stage")
    assert header == ["客户·区域", "阶段", "数量"]
    assert ["华东", "方案"] == rows[[r[:2] for r in rows].index(["华东", "方案"])][:2]
    header, rows = service.rows("board", "top", lang="en")
    assert header[:2] == ["ID", "Title"] and len(rows) == 3
    header, rows = service.rows("board", "this_week", lang="en")
    assert header == ["Count", "Sum of Amount", "Count (previous)", "Sum of Amount (previous)"]
    header, rows = service.rows("board", "funnel")
    assert [r[0] for r in rows] == ["接触", "需求确认", "方案", "签约"]


# --------------------------------------------------------------------------- preview


def test_preview_runs_a_draft_widget(world: World) -> None:
    service = world.dashboards()
    result = service.preview({"key": "draft", "type": "bar", "entity": "opportunity",
                              "dimensions": [{"key": "s", "field": "status"}], "measures": [{"key": "n", "agg": "count"}]})
    assert sum(r["values"]["n"] for r in result["rows"]) == 10
    with pytest.raises(Invalid) as refused:
        service.preview({"key": "draft", "type": "bar", "entity": "opportunity",
                         "dimensions": [{"key": "s", "field": "nope"}],
                         "measures": [{"key": "n", "agg": "sum", "of": "amount +"}]})
    paths = {p["path"]: p["code"] for p in refused.value.detail["problems"]}
    assert paths["$.dimensions[0].field"] == "unknown_reference"
    assert paths["$.measures[0].of"].startswith("expression_")
    assert refused.value.code == "widget_invalid"
