"""Dashboard pages, their JSON, the drill-down list and the dashboards API, on the
store-sales template (its rep home and manager workbench), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from runtime.apps import load_published
from runtime.platform import Platform
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install

TEMPLATE = Path(__file__).resolve().parents[2] / "app_templates" / "store_sales" / "app.json"
APP = "store_sales"
RECORDS = f"/apps/{APP}/entities"
ROW_LINK = re.compile(r'href="/a/store_sales/(\w+)/(\d+)" data-testid="record-row"')


def _template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _create(api: Api, entity: str, values: dict[str, Any]) -> dict[str, Any]:
    answer = api.post(f"{RECORDS}/{entity}/records", json=values)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["record"]  # type: ignore[no-any-return]


@pytest.fixture
def seeded(admin_api: Api, rep_api: Api, tenant: Tenant, client: FlaskClient) -> dict[str, int]:
    """The template with customers of the rep and of the admin, and opportunities in two stages."""
    install(admin_api, _template())
    ids = {}
    for name, region, score, risk in (("华联超市", "华东", 92, False), ("联华便利", "华东", 81, True),
                                      ("物美大卖场", "华北", 77, False), ("永辉生鲜", "华南", 45, True)):
        ids[name] = _create(rep_api, "customer", {"name": name, "region": region, "health_score": score, "at_risk": risk,
                                                  "location": {"lat": 31.2, "lng": 121.4}})["id"]
    ids["总部客户"] = _create(admin_api, "customer", {"name": "总部客户", "region": "华东", "health_score": 99, "at_risk": True})["id"]
    for title, customer, stage in (("华联 框架", "华联超市", "need_confirmation"), ("联华 陈列", "联华便利", "contact"),
                                   ("联华 进场", "联华便利", "need_confirmation"), ("物美 端架", "物美大卖场", "need_confirmation"),
                                   ("总部 商机", "总部客户", "need_confirmation")):
        api = admin_api if customer == "总部客户" else rep_api
        record = _create(api, "opportunity", {"title": title, "customer": ids[customer], "contact_channel": "微信", "amount": 1000})
        if stage == "need_confirmation":
            moved = api.post(f"{RECORDS}/opportunity/records/{record['id']}/stage", json={"stage": stage, "version": record["version"]})
            assert moved.status_code == 200, moved.get_json()
    _create(rep_api, "visit", {"customer": ids["华联超市"]})
    return ids


def _signed_in(app: Flask, user: Any) -> FlaskClient:
    browser = app.test_client()
    sign_in_as(browser, user)
    return browser


def _behind(platform: Platform, tenant: Tenant, region: str, stage: str) -> list[int]:
    with platform.session() as session:
        published = load_published(session, tenant.workspace.id, APP)
        opp, customer = published.table("opportunity"), published.table("customer")
        query = sa.select(opp.c.id).join(customer, customer.c.id == opp.c.customer).where(customer.c.region == region, opp.c.stage == stage)
        return sorted(session.scalars(query))


def _listed(html: str, entity: str = "opportunity") -> list[int]:
    return sorted(int(i) for e, i in ROW_LINK.findall(html) if e == entity)


def test_the_store_template_with_its_dashboards_validates(admin_api: Api) -> None:
    answer = admin_api.post("/apps/validate", json=_template())
    assert answer.status_code == 200, answer.get_json()
    keys = {d["key"]: [w["key"] for w in d["widgets"]] for d in _template()["dashboards"]}
    assert "top_customers" in keys["rep_home"] and "risk_today" in keys["rep_home"]
    assert {"region_stage", "stage_funnel", "customer_map", "pipeline_sentence"} <= set(keys["workbench"])


def test_the_app_home_shows_the_roles_home_dashboard(app: Flask, tenant: Tenant, seeded: dict[str, int]) -> None:
    manager = _signed_in(app, tenant.manager).get(f"/apps/{APP}").get_data(as_text=True)
    assert 'data-testid="dashboard-workbench"' in manager and 'data-testid="widget-region_stage"' in manager
    assert 'data-testid="dashboard-link-rep_home"' not in manager
    rep_client = _signed_in(app, tenant.rep)
    rep = rep_client.get(f"/apps/{APP}").get_data(as_text=True)
    assert 'data-testid="dashboard-rep_home"' in rep and 'data-testid="widget-top_customers"' in rep
    assert "workbench" not in rep
    # Widgets come in reading order (row, then column): the phone's one-column order.
    order = re.findall(r'data-testid="widget-(\w+)"', rep)
    assert order[:4] == ["my_visits", "open_commitments", "my_pipeline", "top_customers"]
    # The script and stylesheet are the bundle's, under the site's CSP (no inline style).
    page = rep_client.get(f"/apps/{APP}/dashboards/rep_home")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/dashboards/dashboards.js?v=" in html and ' style="' not in html
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert rep_client.get(f"/apps/{APP}/dashboards/workbench").status_code == 403
    assert rep_client.get(f"/apps/{APP}/dashboards/nothing").status_code == 404
    listing = rep_client.get(f"/apps/{APP}/dashboards").get_data(as_text=True)
    assert 'data-testid="dashboard-link-rep_home"' in listing and "workbench" not in listing


def test_widget_json_is_computed_under_the_viewers_row_conditions(app: Flask, tenant: Tenant, seeded: dict[str, int]) -> None:
    rep = _signed_in(app, tenant.rep)
    top = rep.get(f"/apps/{APP}/dashboards/rep_home/widgets/top_customers", headers={"Accept": "application/json"}).get_json()
    # The rep's own customers only (not the admin's 99), best first, three of them.
    assert [r["title"] for r in top["records"]] == ["华联超市", "联华便利", "物美大卖场"]
    risk = rep.get(f"/apps/{APP}/dashboards/rep_home/widgets/risk_today").get_json()
    assert [r["title"] for r in risk["records"]] == ["永辉生鲜", "联华便利"]
    manager = _signed_in(app, tenant.manager)
    heat = manager.get(f"/apps/{APP}/dashboards/workbench/widgets/region_stage").get_json()
    cells = {(r["cell"]["region"], r["cell"]["stage"]): r["values"]["n"] for r in heat["rows"]}
    assert cells[("华东", "need_confirmation")] == 2 + 0 + 1  # 华联, 联华 进场, 总部
    assert cells[("华北", "need_confirmation")] == 1
    refused = rep.get(f"/apps/{APP}/dashboards/workbench/widgets/region_stage", headers={"Accept": "application/json"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "dashboard_forbidden"


def test_each_widget_offers_its_data_as_csv_and_xlsx(app: Flask, tenant: Tenant, seeded: dict[str, int]) -> None:
    rep = _signed_in(app, tenant.rep)
    html = rep.get(f"/apps/{APP}/dashboards/rep_home").get_data(as_text=True)
    links = re.findall(r'href="([^"]*/widgets/top_customers/export\.(?:csv|xlsx))"', html)
    assert [link.rsplit(".", 1)[1] for link in links] == ["csv", "xlsx"]
    answer = rep.get(links[0])
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data().decode("utf-8-sig")
    # The rep's own customers, as on the page (not the admin's).
    assert "华联超市" in text and "联华便利" in text and "物美大卖场" in text
    assert rep.get(links[1]).mimetype.endswith("spreadsheetml.sheet")


def test_a_heatmap_cell_drills_into_exactly_its_records(app: Flask, platform: Platform, tenant: Tenant, seeded: dict[str, int]) -> None:
    manager = _signed_in(app, tenant.manager)
    address = f"/a/{APP}/opportunity/?drill=workbench.region_stage&cell.region=华东&cell.stage=need_confirmation"
    page = manager.get(address)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    expected = _behind(platform, tenant, "华东", "need_confirmation")
    assert len(expected) == 3 and _listed(html) == expected
    chip = re.search(r'data-testid="drill-chip">(.*?)</p>', html, re.S)
    assert chip and "经理工作台" in chip.group(1) and "区域 × 阶段" in chip.group(1) and "华东" in chip.group(1)
    # The filter form keeps the drill-down; the contract's /apps/<app>/<entity> address redirects here.
    assert '<input type="hidden" name="drill" value="workbench.region_stage">' in html
    moved = manager.get(f"/apps/{APP}/opportunity?drill=workbench.region_stage&cell.region=华东&cell.stage=need_confirmation")
    assert moved.status_code == 302 and "/a/store_sales/opportunity/?" in moved.headers["Location"]
    # A funnel stage (the records that entered it) drills too.
    funnel = manager.get(f"/a/{APP}/opportunity/?drill=workbench.stage_funnel&cell.stage=need_confirmation").get_data(as_text=True)
    assert _listed(funnel) == sorted(expected + _behind(platform, tenant, "华北", "need_confirmation"))


def test_a_wrong_drill_address_says_so_instead_of_failing(app: Flask, tenant: Tenant, seeded: dict[str, int]) -> None:
    manager = _signed_in(app, tenant.manager)
    for query in (
        "drill=workbench",  # no widget
        "drill=nothing.region_stage",  # no such dashboard
        "drill=workbench.nothing",  # no such widget
        "drill=workbench.region_stage&cell.nothing=1",  # not a dimension of the widget
        "drill=workbench.customer_map",  # a widget over customers, on the opportunity list
    ):
        page = manager.get(f"/a/{APP}/opportunity/?{query}")
        assert page.status_code == 422, query
        html = page.get_data(as_text=True)
        assert 'data-testid="list-error"' in html and _listed(html) == [], query
    # A rep may not drill into a dashboard that is not open to reps.
    page = _signed_in(app, tenant.rep).get(f"/a/{APP}/opportunity/?drill=workbench.region_stage&cell.region=华东&cell.stage=contact")
    assert page.status_code == 422 and "仪表盘" in page.get_data(as_text=True)


def test_the_dashboards_api(client: FlaskClient, tenant: Tenant, rep_api: Api, seeded: dict[str, int]) -> None:
    manager = Api(client, tenant.manager_token)
    mine = rep_api.get(f"/apps/{APP}/dashboards").get_json()["items"]
    assert [(d["key"], d["home"]) for d in mine] == [("rep_home", True)]
    assert {w["key"]: w["layout"] for w in mine[0]["widgets"]}["top_customers"] == {"x": 0, "y": 2, "w": 6, "h": 4}
    board = manager.get(f"/apps/{APP}/dashboards/workbench").get_json()
    assert board["home"] is True and {w["key"] for w in board["widgets"]} >= {"region_stage", "stage_funnel"}
    assert all("result" in w for w in board["widgets"])
    widget = manager.get(f"/apps/{APP}/dashboards/workbench/widgets/stage_funnel?fresh=1").get_json()
    assert [s["stage"] for s in widget["stages"]][:2] == ["contact", "need_confirmation"]
    refused = rep_api.get(f"/apps/{APP}/dashboards/workbench")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "dashboard_forbidden"
    assert rep_api.get(f"/apps/{APP}/dashboards/nothing").get_json()["code"] == "dashboard_not_found"
