"""The automation REST API: events (S13), inbound webhooks (S10), runs and health (S11,
S34), the sandbox (S16) and the inbox — through Flask's test client, on both databases."""

from __future__ import annotations

from typing import Any

from flask import Flask

from runtime.automation.embedded import EmbeddedWorker
from runtime.platform import Platform
from tests.integration.automation.definitions import sales_app
from tests.integration.conftest import Api, Tenant, install

CUSTOMERS = "/apps/sales/entities/customer/records"

WEBHOOK = {
    "key": "website_form", "label": "官网表单", "entity": "lead",
    "on": {"type": "webhook", "dedup_key": "source_id", "fields": {"id": "source_id", "company": "name",
                                                                    "industry": "industry"}},
    "actions": [{"type": "notify", "channel": "inbox", "to_role": "manager", "message": "新线索:{name}"}],
}


def _definition() -> dict[str, Any]:
    definition = sales_app()
    definition["triggers"].append(WEBHOOK)
    return definition


def _drain(app: Flask) -> None:
    platform: Platform = app.extensions["cairn"]
    EmbeddedWorker(platform).drain()


def test_events_fire_a_sequence_trigger(app: Flask, admin_api: Api, rep_api: Api) -> None:
    install(admin_api, _definition())
    customer = rep_api.post(CUSTOMERS, json={"name": "快客户"}).get_json()["record"]
    path = f"{CUSTOMERS}/{customer['id']}/events"
    fired = []
    for name in ("product_page", "white_paper", "pricing_exit"):
        response = rep_api.post(path, json={"name": name, "data": {"seconds": 130}})
        assert response.status_code == 201, response.get_json()
        fired += response.get_json()["fired"]
    assert fired == ["buying_signals"]
    bad = rep_api.post(path, json={"name": "Not A Key"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    missing = rep_api.post(f"{CUSTOMERS}/999999/events", json={"name": "white_paper"})
    assert missing.status_code == 404
    _drain(app)
    tasks = rep_api.get("/apps/sales/entities/task/records").get_json()["items"]
    assert [t["title"] for t in tasks] == ["跟进高意向客户 快客户"]


def test_webhook_creates_then_dedups(app: Flask, admin_api: Api, tenant: Tenant) -> None:
    install(admin_api, _definition())
    first = admin_api.post("/hooks/sales/website_form", json={"id": "W-1", "company": "华联", "industry": "零售"})
    assert first.status_code == 201, first.get_json()
    again = admin_api.post("/hooks/sales/website_form", json={"id": "W-1", "company": "华联超市"})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["record"]["id"] == first.get_json()["record"]["id"]
    assert again.get_json()["record"]["name"] == "华联超市"
    other = admin_api.post("/hooks/sales/website_form", json={"id": "W-2", "company": "如意"})
    assert other.status_code == 201
    no_key = admin_api.post("/hooks/sales/website_form", json={"company": "无编号"})
    assert no_key.status_code == 422
    assert admin_api.post("/hooks/sales/nope", json={}).status_code == 404
    leads = admin_api.get("/apps/sales/entities/lead/records").get_json()["items"]
    assert sorted(lead["source_id"] for lead in leads) == ["W-1", "W-2"]
    _drain(app)
    manager = Api(admin_api.client, tenant.manager_token)
    inbox = manager.get("/inbox").get_json()["items"]
    # Jobs read the record as it is when they run: both deliveries of W-1 show its new name.
    assert sorted(i["message"] for i in inbox) == ["新线索:华联超市", "新线索:华联超市", "新线索:如意"]
    read = manager.post(f"/inbox/{inbox[0]['id']}/read")
    assert read.status_code == 200
    assert len(manager.get("/inbox?unread=1").get_json()["items"]) == 2


def test_runs_and_health(app: Flask, admin_api: Api, rep_api: Api) -> None:
    install(admin_api, _definition())
    customer = rep_api.post(CUSTOMERS, json={"name": "华联"}).get_json()["record"]
    order = rep_api.post("/apps/sales/entities/order/records", json={"customer": customer["id"]}).get_json()
    order_id = order["record"]["id"]
    updated = rep_api.patch(f"/apps/sales/entities/order/records/{order_id}", json={"version": 1, "status": "已验收"})
    assert updated.status_code == 200, updated.get_json()
    _drain(app)
    runs = admin_api.get("/apps/sales/automation/runs?trigger=order_accepted").get_json()["items"]
    (run,) = runs
    assert run["status"] == "succeeded" and run["record_id"] == order_id
    assert [(a["type"], a["status"]) for a in run["actions"]] == [("notify", "done"), ("create_record", "done")]
    assert run["actions"][1]["idempotency_key"].endswith(":1")
    health = admin_api.get("/apps/sales/automation/health").get_json()
    assert health["threshold"] == 0.995
    assert {h["trigger"]: h["success_rate"] for h in health["items"]} == {"order_accepted": 1.0}
    assert rep_api.get("/apps/sales/automation/runs").status_code == 403


def test_sandbox_dry_run_of_a_draft_changes_nothing(app: Flask, admin_api: Api, rep_api: Api) -> None:
    install(admin_api, _definition())
    ids = []
    for name, industry in (("甲", "制造"), ("乙", "零售"), ("丙", None)):
        lead = rep_api.post("/apps/sales/entities/lead/records", json={"name": name, "industry": industry})
        ids.append(lead.get_json()["record"]["id"])
    draft = _definition()
    draft["triggers"].append({
        "key": "manufacturing", "label": "制造业线索", "entity": "lead", "on": "created",
        "when": 'industry == "制造"',
        "actions": [{"type": "set_field", "field": "risk", "value": '"正常"'},
                    {"type": "notify", "channel": "inbox", "to": "owner", "message": "制造业线索 {name}"}],
    })
    created = admin_api.post("/apps", json=draft)
    assert created.status_code == 201, created.get_json()
    revision = created.get_json()["revision"]["id"]

    result = admin_api.post("/apps/sales/automation/dry-run",
                            json={"trigger": "manufacturing", "revision_id": revision}).get_json()
    assert result["records"] == 3 and result["would_fire"] == 1
    (fired,) = [r for r in result["results"] if r["would_fire"]]
    assert fired["record_id"] == ids[0]
    assert fired["actions"][0] == {"type": "set_field", "field": "risk", "before": None, "after": "正常"}
    assert fired["actions"][1]["message"] == "制造业线索 甲"

    condition = admin_api.post("/apps/sales/automation/dry-run",
                               json={"entity": "lead", "expression": "industry != null"}).get_json()
    assert condition["holds"] == 2 and condition["fails"] == 1
    broken = admin_api.post("/apps/sales/automation/dry-run", json={"entity": "lead", "expression": "industri"})
    assert broken.status_code == 422

    # Nothing changed: no runs, no jobs, the leads as they were.
    assert admin_api.get("/apps/sales/automation/runs").get_json()["items"] == []
    leads = admin_api.get("/apps/sales/entities/lead/records").get_json()["items"]
    assert all(lead["risk"] is None for lead in leads)
