"""Dashboards in the browser: the manager's workbench drills from a heatmap cell into exactly
the records behind it; the rep's home shows the TOP 3 and the risk list, on a phone too.

The store-sales template ships both dashboards; the data is seeded through the REST API as
the rep, the second rep and the manager (owners matter: the rep's home counts only the
rep's own customers). Screenshots: dashboard-workbench, dashboard-drill, dashboard-rep-home
(copied into docs/images for docs/dashboards.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.apps import load_published
from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import DashboardPage, DrillListPage, SignInPage
from tests.unit.web.support import PASSWORD, platform_of

pytestmark = pytest.mark.browser

TEMPLATE = Path(__file__).resolve().parents[2] / "app_templates" / "store_sales" / "app.json"
APP = "store_sales"
REGIONS = {"华东": (31.23, 121.47), "华北": (39.9, 116.4), "华南": (23.13, 113.26), "西部": (30.66, 104.06)}


def _customer(api: Any, name: str, region: str, score: int, at_risk: bool, phone: str) -> int:
    lat, lng = REGIONS[region]
    values = {"name": name, "region": region, "health_score": score, "at_risk": at_risk, "phone": phone,
              "location": {"lat": lat + score / 1000, "lng": lng + score / 1000}}
    return int(api.create(APP, "customer", values)["record"]["id"])


def _opportunity(api: Any, title: str, customer: int, amount: int, stage: str) -> int:
    record = api.create(APP, "opportunity", {"title": title, "customer": customer, "contact_channel": "微信", "amount": amount})["record"]
    if stage == "need_confirmation":
        api.call("POST", f"/apps/{APP}/entities/opportunity/records/{record['id']}/stage",
                 {"stage": "need_confirmation", "version": record["version"]})
    return int(record["id"])


@pytest.fixture(scope="module")
def seeded(live: LiveServer) -> dict[str, Any]:
    """The template published, customers of two reps, opportunities in two stages, visits."""
    live.api("admin").publish(json.loads(TEMPLATE.read_text(encoding="utf-8")))
    rep, rep2 = live.api("rep"), live.api("rep2")
    mine = {
        "华联超市": ("华东", 92, False), "联华便利": ("华东", 81, True), "物美大卖场": ("华北", 77, False),
        "永辉生鲜": ("华南", 45, True), "天虹百货": ("华南", 30, False),
    }
    ids = {name: _customer(rep, name, *spec, phone=f"1380000000{i}") for i, (name, spec) in enumerate(mine.items())}
    ids["别人的客户"] = _customer(rep2, "别人的客户", "华东", 99, True, "13900000000")
    opportunities = [
        ("华联 年度框架", "华联超市", "need_confirmation"), ("华联 冷链改造", "华联超市", "need_confirmation"),
        ("联华 门店陈列", "联华便利", "contact"), ("联华 新品进场", "联华便利", "need_confirmation"),
        ("物美 端架", "物美大卖场", "need_confirmation"), ("物美 促销", "物美大卖场", "contact"),
        ("永辉 试点", "永辉生鲜", "contact"),
    ]
    for i, (title, customer, stage) in enumerate(opportunities):
        _opportunity(rep, title, ids[customer], 10_000 * (i + 1), stage)
    _opportunity(rep2, "别人的 华东 商机", ids["别人的客户"], 50_000, "need_confirmation")
    for customer in ("华联超市", "联华便利", "物美大卖场"):
        rep.create(APP, "visit", {"customer": ids[customer]})
    rep2.create(APP, "visit", {"customer": ids["别人的客户"]})
    return {"customers": ids}


def _records_behind(live: LiveServer, region: str, stage: str) -> list[int]:
    """The opportunities of customers in ``region`` at ``stage``, straight from the database."""
    platform = platform_of(live.app)
    with platform.session() as session:
        app = load_published(session, live.tenant.workspace.id, APP)
        opp, customer = app.table("opportunity"), app.table("customer")
        query = (
            sa.select(opp.c.id)
            .join(customer, customer.c.id == opp.c.customer)
            .where(customer.c.region == region, opp.c.stage == stage)
        )
        return sorted(session.scalars(query))


@pytest.mark.console_allows("422")
def test_manager_drills_from_a_heatmap_cell_into_exactly_its_records(desk: Any, live: LiveServer, seeded: dict[str, Any]) -> None:
    SignInPage(desk).open().sign_in(live.username("manager"), PASSWORD)
    board = DashboardPage(desk).open_home(APP)
    # The manager's home is the workbench (home_for), on top of the app's home.
    widgets = ("visits_week", "pipeline_sentence", "region_stage", "stage_funnel", "customer_map", "visits_by_region", "visits_weekly")
    board.wait_rendered(*widgets)
    assert board.grid("workbench").is_visible()
    assert [board.state(w) for w in widgets] == ["ready"] * len(widgets)
    assert board.figure("visits_week").first.inner_text() == "4"
    # Widgets sit side by side on a wide screen, as their layout says.
    heat, funnel = board.widget_boxes("region_stage", "stage_funnel")
    assert heat["x"] < funnel["x"] and abs(heat["y"] - funnel["y"]) < 2
    board.open(APP, "workbench").wait_rendered(*widgets)
    shot(desk, "dashboard-workbench")

    expected = _records_behind(live, "华东", "need_confirmation")
    assert len(expected) == 4  # three of the rep's, one of the second rep's: the manager reads all
    board.click_chart_item("region_stage", cell={"region": "华东", "stage": "need_confirmation"})

    listing = DrillListPage(desk)
    assert "/a/store_sales/opportunity/" in desk.url and "drill=workbench.region_stage" in desk.url
    assert listing.record_ids() == expected
    chip = listing.chip.inner_text()
    assert "经理工作台" in chip and "区域 × 阶段" in chip and "华东" in chip and "需求确认" in chip
    shot(desk, "dashboard-drill")

    # The address is shareable: opened again, it lists the same records.
    desk.goto(desk.url)
    assert listing.record_ids() == expected
    # A wrong drill address says so instead of failing.
    desk.goto("/a/store_sales/opportunity/?drill=workbench.nothing&cell.region=华东")
    assert "nothing" in listing.error.inner_text()
    assert listing.rows.count() == 0


def test_rep_home_shows_the_top_3_and_the_risk_list_on_a_phone(phone: Any, live: LiveServer, seeded: dict[str, Any]) -> None:
    SignInPage(phone).open().sign_in(live.username("rep"), PASSWORD)
    board = DashboardPage(phone).open_home(APP)
    board.wait_rendered("my_visits", "top_customers", "risk_today", "my_stages")
    assert board.grid("rep_home").is_visible()
    # Only the rep's own customers, by health score.
    assert board.record_links("top_customers").all_inner_texts() == ["华联超市", "联华便利", "物美大卖场"]
    assert board.record_links("risk_today").all_inner_texts() == ["永辉生鲜", "联华便利"]
    assert board.figure("my_visits").first.inner_text() == "3"
    # One column on a 390 px phone, nothing to scroll sideways.
    top, risk = board.widget_boxes("top_customers", "risk_today")
    assert top["x"] == risk["x"] and top["y"] < risk["y"] and top["width"] > 300
    assert board.horizontal_overflow() <= 0
    shot(phone, "dashboard-rep-home")

    # A record row opens the record.
    with phone.expect_navigation():
        board.record_links("top_customers").first.click()
    assert phone.url.endswith(f"/a/store_sales/customer/{seeded['customers']['华联超市']}")
    # The workbench is not open to a rep.
    assert phone.context.request.get(live.url + "/apps/store_sales/dashboards/workbench").status == 403
