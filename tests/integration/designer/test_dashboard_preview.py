"""The designer's preview of a dashboard widget: the widget as drafted, run by the dashboard
engine on the published app's data (``POST /design/api/apps/<id>/dashboards/preview``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.apps import load_published
from tests.integration.conftest import Api, Tenant
from tests.integration.designer.conftest import Designer
from tests.unit.builder.fixtures import visit_app_definition
from tests.unit.web.support import platform_of

PREVIEW = "/apps/{}/dashboards/preview"
BAR = {
    "key": "by_region", "type": "bar", "label": "按区域", "label_en": "By region", "entity": "customer",
    "dimensions": [{"key": "region", "field": "region"}], "measures": [{"key": "n", "agg": "count"}],
    "layout": {"x": 3, "y": 0, "w": 6, "h": 4},
}


def _import(designer: Designer) -> int:
    return int(designer.ok(designer.post("/apps/import", json=visit_app_definition()), 201)["app"]["id"])


def _published(designer: Designer, admin_api: Api) -> int:
    app_id = _import(designer)
    designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": 1}))
    for name, region in (("华联", "华东"), ("如意", "华东"), ("南方", "华南")):
        created = admin_api.post("/apps/store_visits/entities/customer/records", json={"name": name, "region": region})
        assert created.status_code == 201, created.get_json()
    return app_id


def test_a_drafted_bar_widget_counts_what_the_database_holds(designer: Designer, admin_api: Api, app: Any, tenant: Tenant) -> None:
    app_id = _published(designer, admin_api)
    answer = designer.ok(designer.post(PREVIEW.format(app_id), json={"widget": BAR}))
    with platform_of(app).session() as session:
        table = load_published(session, tenant.workspace.id, "store_visits").table("customer")
        expected = dict(session.execute(sa.select(table.c.region, sa.func.count()).group_by(table.c.region)).all())
    assert expected == {"华东": 2, "华南": 1}
    shown = {row["cell"]["region"]: row["values"]["n"] for row in answer["rows"]}
    assert shown == expected
    assert answer["key"] == "by_region" and answer["type"] == "bar"


def test_a_widget_the_engine_refuses_says_where(designer: Designer, admin_api: Api) -> None:
    app_id = _published(designer, admin_api)
    wrong = {**BAR, "measures": [{"key": "n", "agg": "sum", "of": "nmae"}]}
    refused = designer.post(PREVIEW.format(app_id), json={"widget": wrong})
    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "widget_invalid"
    assert any(p["path"].startswith("$.measures[0]") for p in body["detail_data"]["problems"])


def test_an_app_never_published_has_nothing_to_preview(designer: Designer, rep_designer: Designer) -> None:
    app_id = _import(designer)
    refused = designer.post(PREVIEW.format(app_id), json={"widget": BAR})
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "not_published"
    assert designer.post(PREVIEW.format(app_id), json={}).status_code == 422
    assert rep_designer.post(PREVIEW.format(app_id), json={"widget": BAR}).status_code == 403
