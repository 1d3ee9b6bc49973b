"""Records API: lists with expressions, search and keyset pages; permissions; formulas."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api, Tenant, install
from tests.unit.builder.fixtures import visit_app_definition

BASE = "/apps/store_visits/entities"


def _pages(api: Api, path: str) -> list[list[dict[str, Any]]]:
    pages = []
    url = path
    while True:
        body = api.get(url).get_json()
        pages.append(body["items"])
        if not body["next_cursor"]:
            return pages
        url = path + ("&" if "?" in path else "?") + "after=" + body["next_cursor"]


def test_list_filters_with_expressions_and_pages_by_keyset(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    regions = ["华东", "华南", "华北"]
    for i in range(25):
        created = admin_api.post(f"{BASE}/customer/records", json={"name": f"门店{i:02d}", "region": regions[i % 3], "industry": None if i % 5 == 0 else "零售"})
        assert created.status_code == 201
    pages = _pages(admin_api, f"{BASE}/customer/records?limit=10")
    assert [len(p) for p in pages] == [10, 10, 5]
    ids = [r["id"] for p in pages for r in p]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 25

    east = admin_api.get(f'{BASE}/customer/records?where=region == "华东" and industry != null&limit=100').get_json()["items"]
    assert {r["region"] for r in east} == {"华东"} and all(r["industry"] == "零售" for r in east)
    assert len(east) == len([i for i in range(25) if i % 3 == 0 and i % 5 != 0])

    by_name = _pages(admin_api, f"{BASE}/customer/records?order_by=name&limit=7")
    names = [r["name"] for p in by_name for r in p]
    assert names == sorted(names) and len(names) == 25

    found = admin_api.get(f"{BASE}/customer/records?search=门店1").get_json()["items"]
    assert {r["name"] for r in found} == {f"门店{i}" for i in range(10, 20)}

    filtered = admin_api.get(f"{BASE}/customer/records?filter.region=华南&limit=100").get_json()["items"]
    assert len(filtered) == len([i for i in range(25) if i % 3 == 1])

    bad = admin_api.get(f"{BASE}/customer/records?where=regoin == 1")
    assert bad.status_code == 422
    bad_cursor = admin_api.get(f"{BASE}/customer/records?after=!!!")
    assert bad_cursor.status_code == 422 and "after" in bad_cursor.get_json()["errors"]


def test_rep_sees_only_own_visits_and_may_not_delete_customers(admin_api: Api, rep_api: Api, client: Any, tenant: Tenant) -> None:
    install(admin_api, visit_app_definition())
    customer = admin_api.post(f"{BASE}/customer/records", json={"name": "华联"}).get_json()["record"]
    mine = rep_api.post(f"{BASE}/visit/records", json={"customer": customer["id"]}).get_json()["record"]
    theirs = admin_api.post(f"{BASE}/visit/records", json={"customer": customer["id"]}).get_json()["record"]
    listed = rep_api.get(f"{BASE}/visit/records").get_json()["items"]
    assert [r["id"] for r in listed] == [mine["id"]]
    assert rep_api.get(f"{BASE}/visit/records/{theirs['id']}").status_code == 404
    assert rep_api.patch(f"{BASE}/visit/records/{theirs['id']}", json={"version": 1, "competitor_note": "x"}).status_code == 404
    denied = rep_api.delete(f"{BASE}/customer/records/{customer['id']}")
    assert denied.status_code == 403 and denied.get_json()["code"] == "forbidden"
    manager = Api(client, tenant.manager_token)
    assert {r["id"] for r in manager.get(f"{BASE}/visit/records").get_json()["items"]} == {mine["id"], theirs["id"]}


def test_values_are_typed_validated_and_formulas_computed(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    opp = f"{BASE}/opportunity/records"
    wrong = admin_api.post(opp, json={"title": "x" * 5, "amount": "abc", "signed_at": "yesterday", "nope": 1, "contact_channel": "扫码"})
    assert wrong.status_code == 422
    assert set(wrong.get_json()["errors"]) == {"amount", "signed_at", "nope"}
    missing = admin_api.post(opp, json={"title": "无接触方式"})
    assert missing.status_code == 422 and missing.get_json()["errors"] == {"contact_channel": ["required"]}
    rule = admin_api.post(opp, json={"title": "负数", "contact_channel": "电话", "amount": "-5"})
    assert rule.status_code == 422 and rule.get_json()["code"] in {"validation_failed", "rule_violated"}
    created = admin_api.post(opp, json={"title": "大单", "contact_channel": "电话", "amount": 150000.5, "signed_at": "2026-11-20"})
    assert created.status_code == 201, created.get_json()
    record = created.get_json()["record"]
    assert record["amount"] == "150000.5" and record["grade"] == "A" and record["signed_at"] == "2026-11-20"
    hidden = admin_api.patch(f"{opp}/{record['id']}", json={"version": 1, "budget_range": "<5万"})
    assert hidden.status_code == 422 and "budget_range" in hidden.get_json()["errors"]
    updated = admin_api.patch(f"{opp}/{record['id']}", json={"version": 1, "amount": "30000"})
    assert updated.get_json()["record"]["grade"] == "B"
    link = admin_api.post(f"{BASE}/visit/records", json={"customer": 999999})
    assert link.status_code == 422 and "customer" in link.get_json()["errors"]


def test_timeline_collects_related_records(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    customer = admin_api.post(f"{BASE}/customer/records", json={"name": "华联"}).get_json()["record"]
    visit = admin_api.post(f"{BASE}/visit/records", json={"customer": customer["id"]}).get_json()["record"]
    admin_api.patch(f"{BASE}/visit/records/{visit['id']}", json={"version": 1, "competitor_note": "竞品A"})
    events = admin_api.get(f"{BASE}/customer/records/{customer['id']}/timeline").get_json()["items"]
    assert [(e["entity"], e["action"]) for e in events] == [("customer", "create"), ("visit", "create"), ("visit", "update")]
    assert events[-1]["changes"]["competitor_note"] == [None, "竞品A"]


def test_keyset_pages_by_decimal_and_datetime_columns(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    opp = f"{BASE}/opportunity/records"
    amounts = ["100.5", "20", "20", "3000.25", None, "7"]
    for i, amount in enumerate(amounts):
        body = {"title": f"商机{i}", "contact_channel": "电话"} | ({"amount": amount} if amount else {})
        assert admin_api.post(opp, json=body).status_code == 201
    for order in ("-amount", "amount", "created_at", "-updated_at"):
        pages = _pages(admin_api, f"{opp}?order_by={order}&limit=2")
        titles = [r["title"] for p in pages for r in p]
        assert sorted(titles) == sorted(f"商机{i}" for i in range(6)), order
    by_amount = [r["amount"] for p in _pages(admin_api, f"{opp}?order_by=-amount&limit=2") for r in p]
    assert by_amount == ["3000.25", "100.5", "20", "20", "7", None]


def test_a_linked_record_cannot_be_deleted(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    customer = admin_api.post(f"{BASE}/customer/records", json={"name": "华联"}).get_json()["record"]
    visit = admin_api.post(f"{BASE}/visit/records", json={"customer": customer["id"]}).get_json()["record"]
    refused = admin_api.delete(f"{BASE}/customer/records/{customer['id']}")
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "record_in_use"
    assert refused.get_json()["detail_data"]["linked_from"] == ["visits"]
    assert admin_api.delete(f"{BASE}/visit/records/{visit['id']}").status_code == 204
    assert admin_api.delete(f"{BASE}/customer/records/{customer['id']}").status_code == 204
    assert admin_api.get(f"{BASE}/customer/records/{customer['id']}").status_code == 404
