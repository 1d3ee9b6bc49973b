"""The designer's trigger support: a notify template rendered by the engine's renderer on a
sample record, a cron read as its next times, and every trigger problem at its place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fixtures_triggers import EXPECTED, trigger_errors_definition
from tests.integration.conftest import Api
from tests.integration.designer.conftest import Designer
from tests.unit.builder.fixtures import visit_app_definition

PREVIEW = "/apps/{}/messages/preview"


def _import(designer: Designer) -> int:
    return int(designer.ok(designer.post("/apps/import", json=visit_app_definition()), 201)["app"]["id"])


def test_an_unpublished_entity_renders_on_an_empty_record(designer: Designer) -> None:
    app_id = _import(designer)
    answer = designer.ok(designer.post(PREVIEW.format(app_id), json={
        "entity": "customer", "template": "客户 {name} ({region}) {{备注}} {nmae}"}))
    assert answer["rendered"] == "客户  () {备注} {nmae}"
    assert answer["sample"] == "empty" and answer["record_id"] is None
    assert answer["placeholders"] == ["name", "region", "nmae"]
    assert answer["unknown"] == ["nmae"]


def test_a_published_entity_renders_on_its_newest_or_a_chosen_record(designer: Designer, admin_api: Api) -> None:
    app_id = _import(designer)
    designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": 1}))
    first = admin_api.post("/apps/store_visits/entities/customer/records", json={"name": "华联", "region": "华东"})
    assert first.status_code == 201, first.get_json()
    second = admin_api.post("/apps/store_visits/entities/customer/records", json={"name": "如意", "region": "华南"})
    assert second.status_code == 201, second.get_json()
    newest = designer.ok(designer.post(PREVIEW.format(app_id), json={"entity": "customer", "template": "客户 {name} 在 {region}"}))
    assert newest["rendered"] == "客户 如意 在 华南"
    assert newest["sample"] == "record" and newest["record_id"] == second.get_json()["record"]["id"]
    chosen = designer.ok(designer.post(PREVIEW.format(app_id), json={
        "entity": "customer", "template": "{name}", "record_id": first.get_json()["record"]["id"]}))
    assert chosen["rendered"] == "华联"


def test_the_posted_draft_decides_which_names_are_fields(designer: Designer) -> None:
    app_id = _import(designer)
    definition = visit_app_definition()
    customer = next(e for e in definition["entities"] if e["key"] == "customer")
    customer["fields"].append({"key": "grade", "type": "text", "label": {"zh": "等级", "en": "Grade"}})
    answer = designer.ok(designer.post(PREVIEW.format(app_id), json={
        "entity": "customer", "template": "{grade}", "definition": definition}))
    assert answer["unknown"] == [] and answer["rendered"] == ""


def test_bad_requests_are_refused_clearly(designer: Designer, rep_designer: Designer) -> None:
    app_id = _import(designer)
    missing = designer.post(PREVIEW.format(app_id), json={"entity": "nothing", "template": "x"})
    assert missing.status_code == 404
    assert "nothing" in str(missing.get_json())
    invalid = designer.post(PREVIEW.format(app_id), json={"entity": "customer"})
    assert invalid.status_code == 422
    unpublished = designer.post(PREVIEW.format(app_id), json={"entity": "customer", "template": "x", "record_id": 1})
    assert unpublished.status_code == 404
    assert rep_designer.post(PREVIEW.format(app_id), json={"entity": "customer", "template": "x"}).status_code == 403


def test_a_cron_reads_as_its_next_times(designer: Designer, clock: Any) -> None:
    clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # a Monday, 09:00 in Shanghai
    answer = designer.ok(designer.post("/schedules/next", json={"cron": "0 17 * * fri", "timezone": "Asia/Shanghai"}))
    assert answer["timezone"] == "Asia/Shanghai"
    assert answer["times"] == ["2026-03-06T17:00:00+08:00", "2026-03-13T17:00:00+08:00", "2026-03-20T17:00:00+08:00"]
    utc = designer.ok(designer.post("/schedules/next", json={"cron": "30 8 * * 1-5", "timezone": "UTC"}))
    assert utc["times"][0] == "2026-03-02T08:30:00+00:00"


def test_a_bad_cron_or_zone_is_refused_in_both_languages(designer: Designer) -> None:
    bad = designer.post("/schedules/next", json={"cron": "99 * * *"})
    assert bad.status_code == 422
    body = bad.get_json()
    assert "cron" in body["message"] and body.get("errors", {}).get("cron")
    zone = designer.post("/schedules/next", json={"cron": "0 9 * * *", "timezone": "Mars/Base"})
    assert zone.status_code == 422 and "Mars/Base" in str(zone.get_json())


def test_a_saved_draft_answers_each_trigger_error_at_its_place(designer: Designer) -> None:
    created = designer.ok(designer.post("/apps/import", json=trigger_errors_definition()), 201)
    draft = designer.ok(designer.get(f"/apps/{created['app']['id']}/draft"))
    found = sorted((p["path"], p["code"]) for p in draft["diagnostics"])
    assert found == sorted(EXPECTED)
    assert all(p["message"] and p["message_zh"] for p in draft["diagnostics"])
