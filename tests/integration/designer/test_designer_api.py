"""The designer's JSON endpoints (/design/api): apps, the draft, expressions, publishing."""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask

from runtime.platform import Platform
from runtime.workspaces import IdentityService
from tests.fixtures_designer import EXPECTED, MISSPELT, all_errors_definition
from tests.integration.conftest import Api, Tenant
from tests.integration.designer.conftest import Designer
from tests.unit.builder.fixtures import visit_app_definition


def _import(designer: Designer, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    return designer.ok(designer.post("/apps/import", json=definition or visit_app_definition()), 201)  # type: ignore[no-any-return]


def _draft(designer: Designer, app_id: int) -> dict[str, Any]:
    return designer.ok(designer.get(f"/apps/{app_id}/draft"))  # type: ignore[no-any-return]


def _publish(designer: Designer, app_id: int, **body: Any) -> Any:
    version = _draft(designer, app_id)["revision"]["version"]
    return designer.post(f"/apps/{app_id}/publish", json={"version": version, **body})


def _save(designer: Designer, app_id: int, change: Any) -> dict[str, Any]:
    draft = _draft(designer, app_id)
    definition = copy.deepcopy(draft["definition"])
    change(definition)
    return designer.ok(designer.put(f"/apps/{app_id}/draft", json={"definition": definition, "version": draft["revision"]["version"]}))  # type: ignore[no-any-return]


def _entity(definition: dict[str, Any], key: str) -> dict[str, Any]:
    return next(e for e in definition["entities"] if e["key"] == key)


def test_only_admins_get_in(designer: Designer, rep_designer: Designer) -> None:
    app_id = _import(designer)["app"]["id"]
    for call in (
        lambda d: d.get("/apps"),
        lambda d: d.get(f"/apps/{app_id}/draft"),
        lambda d: d.put(f"/apps/{app_id}/draft", json={"definition": {}, "version": 1}),
        lambda d: d.post("/keys", json={"label": "客户"}),
        lambda d: d.post(f"/apps/{app_id}/expressions/check", json={"entity": "visit", "expression": "true"}),
    ):
        answer = call(rep_designer)
        assert answer.status_code == 403
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["code"] == "forbidden"


def test_unsafe_methods_need_the_csrf_header(designer: Designer) -> None:
    app_id = _import(designer)["app"]["id"]
    version = _draft(designer, app_id)["revision"]["version"]
    body = {"definition": visit_app_definition(), "version": version}
    refused = designer.client.put(f"/design/api/apps/{app_id}/draft", json=body, headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert _draft(designer, app_id)["revision"]["version"] == version
    assert designer.put(f"/apps/{app_id}/draft", json=body).status_code == 200


def test_apps_of_another_workspace_are_not_found(designer: Designer, other_designer: Designer) -> None:
    theirs = _import(other_designer)["app"]["id"]
    for answer in (
        designer.get(f"/apps/{theirs}/draft"),
        designer.put(f"/apps/{theirs}/draft", json={"definition": visit_app_definition(), "version": 1}),
        designer.post(f"/apps/{theirs}/expressions/check", json={"entity": "visit", "expression": "true"}),
        designer.post(f"/apps/{theirs}/publish", json={"version": 1}),
        designer.delete(f"/apps/{theirs}"),
        designer.get(f"/apps/{theirs}/export"),
    ):
        assert answer.status_code == 404, answer.get_data(as_text=True)
        assert answer.get_json()["code"] == "not_found"
    assert designer.ok(designer.get("/apps"))["items"] == []
    assert _draft(other_designer, theirs)["revision"]["version"] == 1


def test_create_an_app_from_its_label(designer: Designer) -> None:
    created = designer.ok(designer.post("/apps", json={"label": {"zh": "门店拜访", "en": ""}}), 201)
    app = created["app"]
    assert app["key"] == "men_dian_bai_fang" and app["published"] is None
    assert created["draft"]["version"] == 1 and created["draft"]["status"] == "draft"
    draft = _draft(designer, app["id"])
    assert draft["definition"] == {"format": "cairn.app/1", "key": "men_dian_bai_fang", "label": {"zh": "门店拜访", "en": ""}, "entities": []}
    # An empty draft is allowed; its diagnostics say what publishing needs.
    assert [(p["path"], p["code"]) for p in draft["diagnostics"]] == [("$.entities", "entities_required")]
    assert "entity" in draft["diagnostics"][0]["message"] and "实体" in draft["diagnostics"][0]["message_zh"]
    assert draft["published_keys"] == {"entities": [], "fields": {}, "steps": {}, "stages": {}}
    again = designer.ok(designer.post("/apps", json={"label": {"zh": "门店拜访"}}), 201)
    assert again["app"]["key"] == "men_dian_bai_fang_2"
    listed = designer.ok(designer.get("/apps"))["items"]
    assert [a["key"] for a in listed] == ["men_dian_bai_fang", "men_dian_bai_fang_2"]
    assert listed[0]["draft"] == {"id": created["draft"]["id"], "number": 1, "version": 1}
    nameless = designer.post("/apps", json={"label": {"zh": " "}})
    assert nameless.status_code == 422 and nameless.get_json()["code"] == "validation_failed"


def test_rename_changes_the_app_and_its_draft(designer: Designer) -> None:
    app_id = _import(designer)["app"]["id"]
    renamed = designer.ok(designer.patch(f"/apps/{app_id}", json={"label": {"zh": "门店巡访", "en": "Store rounds"}}))
    assert renamed["app"]["label"] == {"zh": "门店巡访", "en": "Store rounds"}
    assert renamed["draft"]["version"] == 2
    assert _draft(designer, app_id)["definition"]["label"] == {"zh": "门店巡访", "en": "Store rounds"}


def test_two_admins_never_overwrite_each_other(app: Flask, designer: Designer, tenant: Tenant) -> None:
    platform: Platform = app.extensions["cairn"]
    with platform.session() as session:
        second = IdentityService(session, platform.clock).create_user(tenant.workspace, "zhang", password="admin-password", role="admin", name="张三")
    other = Designer(app, second)
    app_id = _import(designer)["app"]["id"]
    read = _draft(designer, app_id)
    assert read["revision"]["version"] == 1
    theirs = copy.deepcopy(read["definition"])
    theirs["label"] = {"zh": "张三的修改", "en": "Zhang's edit"}
    saved = other.ok(other.put(f"/apps/{app_id}/draft", json={"definition": theirs, "version": 1}))
    assert saved["revision"]["version"] == 2 and saved["revision"]["updated_by"] == "张三"
    mine = copy.deepcopy(read["definition"])
    mine["label"] = {"zh": "我的修改", "en": "My edit"}
    refused = designer.put(f"/apps/{app_id}/draft", json={"definition": mine, "version": 1})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "draft_conflict"
    assert body["current"]["version"] == 2 and body["current"]["updated_by"] == "张三"
    assert "张三" in body["detail"] and "17:00" in body["detail"] and "reload" in body["detail"]
    assert "张三" in body["detail_zh"] and "重新加载" in body["detail_zh"]
    assert _draft(designer, app_id)["definition"]["label"] == {"zh": "张三的修改", "en": "Zhang's edit"}
    # Reloaded, the save goes through.
    assert designer.put(f"/apps/{app_id}/draft", json={"definition": mine, "version": 2}).status_code == 200


def test_an_invalid_draft_is_stored_with_every_problem(designer: Designer) -> None:
    created = designer.ok(designer.post("/apps", json={"label": {"en": "All errors"}}), 201)
    app_id = created["app"]["id"]
    document = all_errors_definition()
    saved = designer.ok(designer.put(f"/apps/{app_id}/draft", json={"definition": document, "version": 1}))
    found = {(p["path"], p["code"]) for p in saved["diagnostics"]}
    assert [e for e in EXPECTED if e not in found] == []
    assert saved["revision"]["version"] == 2
    draft = _draft(designer, app_id)
    assert draft["definition"] == document
    assert {(p["path"], p["code"]) for p in draft["diagnostics"]} == found
    misspelt = next(p for p in draft["diagnostics"] if p["code"] == "expression_unknown_name")
    assert misspelt["detail"]["suggestion"] == MISSPELT[1]
    assert misspelt["detail"]["column"] == 1 and misspelt["detail"]["end_column"] == 1 + len(MISSPELT[0])
    # Publishing it is refused with the same problems, and nothing is published.
    refused = designer.post(f"/apps/{app_id}/publish", json={"version": 2})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "draft_invalid"
    assert {(p["path"], p["code"]) for p in body["diagnostics"]} >= set(EXPECTED)
    assert designer.ok(designer.get("/apps"))["items"][0]["published"] is None
    plan = designer.ok(designer.post(f"/apps/{app_id}/plan", json={"version": 2}))
    assert plan["ok"] is False and plan["steps"] == [] and plan["diagnostics"]


def test_import_stores_even_an_invalid_definition(designer: Designer) -> None:
    imported = _import(designer, all_errors_definition())
    assert imported["app"]["key"] == "all_errors"
    assert {(p["path"], p["code"]) for p in imported["diagnostics"]} >= set(EXPECTED)
    again = _import(designer, all_errors_definition())
    assert again["app"]["key"] == "all_errors_2"
    assert _draft(designer, again["app"]["id"])["definition"]["key"] == "all_errors_2"
    not_json = designer.client.post("/design/api/apps/import", data="{", content_type="application/json", headers={"X-CSRFToken": designer.token})
    assert not_json.status_code == 422 and not_json.get_json()["code"] == "invalid_json"
    not_object = designer.post("/apps/import", json=[1, 2])
    assert not_object.status_code == 422 and not_object.get_json()["code"] == "invalid_json"


def test_keys_are_made_from_labels(designer: Designer) -> None:
    def key(**body: Any) -> str:
        return designer.ok(designer.post("/keys", json=body))["key"]  # type: ignore[no-any-return]

    assert key(label="客户名称") == "ke_hu_ming_cheng"
    assert key(label="客户名称", taken=["ke_hu_ming_cheng"]) == "ke_hu_ming_cheng_2"
    assert key(label="Order Amount (¥)") == "order_amount"
    assert key(label="ID") == "id_2"
    assert key(label="ID", kind="step") == "id"
    assert key(label="2024 目标") == "field_2024_mu_biao"
    assert designer.post("/keys", json={"label": "x", "kind": "nope"}).status_code == 422


def test_expression_check_names_the_misspelt_name_and_its_column(designer: Designer) -> None:
    app_id = _import(designer)["app"]["id"]
    answer = designer.ok(designer.post(f"/apps/{app_id}/expressions/check", json={"entity": "opportunity", "expression": "stage == \"x\" and amont > 0", "kind": "condition"}))
    assert answer["ok"] is False and answer["type"] is None
    [problem] = answer["diagnostics"]
    assert problem["code"] == "unknown_name" and problem["suggestion"] == "amount"
    assert (problem["line"], problem["column"], problem["end_line"], problem["end_column"]) == (1, 18, 1, 23)
    assert "amont" in problem["message"] and problem["message_zh"]
    names = {n["name"]: n for n in answer["names"]}
    assert names["amount"]["kind"] == "field" and names["amount"]["type"] == "decimal"
    assert names["amount"]["label"]["zh"]
    assert names["contacts"]["kind"] == "collection"
    assert names["count"]["kind"] == "function" and "count(" in names["count"]["signature"]
    assert names["me()"]["kind"] == "keyword"
    good = designer.ok(designer.post(f"/apps/{app_id}/expressions/check", json={
        "entity": "opportunity", "kind": "condition",
        "expression": "budget_range != null  # 预算范围已确认\nand amount > 0  # 金额为正"}))
    assert good["ok"] is True and good["type"] == "boolean" and good["diagnostics"] == []
    assert "预算范围已确认" in good["explanation"]["zh"] and "金额为正" in good["explanation"]["en"]
    formula = designer.ok(designer.post(f"/apps/{app_id}/expressions/check", json={"entity": "opportunity", "expression": "amount * 2", "kind": "formula"}))
    assert formula["ok"] is True and formula["type"] == "decimal"
    not_sql = designer.ok(designer.post(f"/apps/{app_id}/expressions/check", json={"entity": "opportunity", "expression": "distance_km(customer.location, customer.location) < 1", "kind": "row_condition"}))
    assert [d["code"] for d in not_sql["diagnostics"]] == ["not_sql"]
    # A posted definition is checked instead of the stored draft (a field not saved yet).
    posted = visit_app_definition()
    _entity(posted, "opportunity")["fields"].append({"key": "amont", "type": "money", "label": {"zh": "金额2", "en": "Amount 2"}})
    fixed = designer.ok(designer.post(f"/apps/{app_id}/expressions/check", json={"entity": "opportunity", "expression": "amont > 0", "definition": posted}))
    assert fixed["ok"] is True
    unknown = designer.post(f"/apps/{app_id}/expressions/check", json={"entity": "nope", "expression": "true"})
    assert unknown.status_code == 404
    assert designer.post(f"/apps/{app_id}/expressions/check", json={"entity": "visit", "expression": "true", "kind": "nope"}).status_code == 422


def test_expression_check_works_on_an_invalid_draft(designer: Designer) -> None:
    app_id = _import(designer, all_errors_definition())["app"]["id"]
    answer = designer.ok(designer.post(f"/apps/{app_id}/expressions/check", json={"entity": "visit", "expression": "budgett > 0"}))
    assert answer["diagnostics"][0]["suggestion"] == "budget"


def test_publish_plan_and_rollback_bring_a_removed_field_back_with_its_data(designer: Designer, admin_api: Api) -> None:
    app_id = _import(designer)["app"]["id"]
    plan = designer.ok(designer.post(f"/apps/{app_id}/plan", json={"version": 1}))
    assert plan["ok"] is True and plan["destructive"] is False
    assert plan["summary"]["created"] >= 5 and plan["summary"]["archived"] == 0
    assert {s["kind"] for s in plan["steps"]} >= {"create_entity"}
    published = designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": 1}))
    assert published["revision"]["status"] == "published" and published["revision"]["number"] == 1
    customer = admin_api.post("/apps/store_visits/entities/customer/records", json={"name": "华联", "industry": "零售"})
    assert customer.status_code == 201, customer.get_json()
    record = f"/apps/store_visits/entities/customer/records/{customer.get_json()['record']['id']}"

    # Relabel one field, add one, remove one.
    def change(definition: dict[str, Any]) -> None:
        fields = _entity(definition, "customer")["fields"]
        fields[0]["label"] = {"zh": "客户名称", "en": "Customer name"}
        fields.append({"key": "grade", "type": "choice", "label": {"zh": "等级", "en": "Grade"}, "options": ["A", "B"]})
        fields[:] = [f for f in fields if f["key"] != "industry"]

    saved = _save(designer, app_id, change)
    assert saved["diagnostics"] == []
    draft = _draft(designer, app_id)
    assert draft["revision"]["number"] == 2
    assert "industry" in draft["published_keys"]["fields"]["customer"]
    plan = designer.ok(designer.post(f"/apps/{app_id}/plan", json={"version": draft["revision"]["version"]}))
    steps = {(s["kind"], s.get("field")): s for s in plan["steps"]}
    assert steps[("archive_field", "industry")]["rows"] == 1 and not steps[("archive_field", "industry")]["destructive"]
    assert ("relabel_field", "name") in steps and ("add_field", "grade") in steps
    assert plan["summary"] == {"created": 1, "relabelled": 1, "converted": 0, "archived": 1, "dropped": 0}
    designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": draft["revision"]["version"]}))
    after = admin_api.get(record).get_json()["record"]
    assert after["name"] == "华联" and "industry" not in after

    diff = designer.ok(designer.get(f"/apps/{app_id}/diff?from=1&to=2"))["changes"]
    whats = [c["what"]["zh"] for c in diff]
    assert "字段「名称」的标签由「名称」改为「客户名称」" in whats
    assert "实体「客户」删除了字段「行业」" in whats and "实体「客户」新增字段「等级」" in whats
    relabel = next(c for c in diff if c["kind"] == "changed" and c["path"].endswith(".label"))
    assert relabel["before"] == {"zh": "名称", "en": "Name"} and relabel["after"] == {"zh": "客户名称", "en": "Customer name"}
    assert 'The label of field “Name” changed from “Name” to “Customer name”' in [c["what"]["en"] for c in diff]

    rolled = designer.ok(designer.post(f"/apps/{app_id}/revisions/1/rollback", json={}))
    assert rolled["revision"]["number"] == 3 and rolled["revision"]["status"] == "published"
    assert {(s["kind"], s["field"]) for s in rolled["plan"]["steps"]} >= {("add_field", "industry"), ("archive_field", "grade")}
    back = admin_api.get(record).get_json()["record"]
    assert back["industry"] == "零售" and back["name"] == "华联"
    statuses = [(r["number"], r["status"]) for r in designer.ok(designer.get(f"/apps/{app_id}/revisions"))["items"]]
    assert statuses == [(3, "published"), (2, "superseded"), (1, "superseded")]
    refused = designer.post(f"/apps/{app_id}/revisions/3/rollback", json={})
    assert refused.status_code == 422 and refused.get_json()["code"] == "already_published"
    assert designer.post(f"/apps/{app_id}/revisions/99/rollback", json={}).status_code == 404


def test_a_destructive_publish_needs_its_confirmation(designer: Designer, admin_api: Api) -> None:
    app_id = _import(designer)["app"]["id"]
    designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": 1}))
    created = admin_api.post("/apps/store_visits/entities/customer/records", json={"name": "华联", "phone": "13800138000"})
    assert created.status_code == 201, created.get_json()
    _save(designer, app_id, lambda d: _entity(d, "customer")["fields"].pop(3))
    version = _draft(designer, app_id)["revision"]["version"]
    plan = designer.ok(designer.post(f"/apps/{app_id}/plan", json={"version": version, "confirm_drops": ["customer.phone"]}))
    drop = next(s for s in plan["steps"] if s["kind"] == "drop_field")
    assert plan["destructive"] is True and drop["destructive"] is True and drop["rows"] == 1
    assert plan["summary"]["dropped"] == 1
    stale = designer.post(f"/apps/{app_id}/publish", json={"version": version, "confirm_drops": ["customer.name"]})
    assert stale.status_code == 409
    assert stale.get_json()["code"] == "confirmation_required" and stale.get_json()["unconfirmed"] == ["customer.name"]
    assert _draft(designer, app_id)["revision"]["status"] == "draft"
    conflict = designer.post(f"/apps/{app_id}/publish", json={"version": version - 1})
    assert conflict.status_code == 409 and conflict.get_json()["code"] == "draft_conflict"
    done = designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": version, "confirm_drops": ["customer.phone"]}))
    assert done["plan"]["destructive"] is True


def test_delete_only_a_never_published_app(designer: Designer) -> None:
    fresh = designer.ok(designer.post("/apps", json={"label": {"en": "Scratch"}}), 201)["app"]["id"]
    assert designer.delete(f"/apps/{fresh}").status_code == 204
    assert designer.get(f"/apps/{fresh}/draft").status_code == 404
    live = _import(designer)["app"]["id"]
    designer.ok(designer.post(f"/apps/{live}/publish", json={"version": 1}))
    refused = designer.delete(f"/apps/{live}")
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "app_published" and "published" in refused.get_json()["detail"]


def test_export_gives_the_draft_or_a_revision_as_a_file(designer: Designer) -> None:
    app_id = _import(designer)["app"]["id"]
    exported = designer.get(f"/apps/{app_id}/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"] == 'attachment; filename="store_visits-r1.json"'
    assert exported.get_json() == visit_app_definition()
    designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": 1}))
    _save(designer, app_id, lambda d: d.update(label={"zh": "新", "en": "New"}))
    assert designer.get(f"/apps/{app_id}/export").get_json()["label"] == {"zh": "新", "en": "New"}
    first = designer.get(f"/apps/{app_id}/export?revision=1")
    assert first.get_json()["label"] == visit_app_definition()["label"]
    assert designer.get(f"/apps/{app_id}/export?revision=9").status_code == 404
    assert designer.get(f"/apps/{app_id}/export?revision=x").status_code == 422


def test_a_field_added_back_with_another_type_starts_empty(designer: Designer, admin_api: Api) -> None:
    app_id = _import(designer)["app"]["id"]
    designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": 1}))
    created = admin_api.post("/apps/store_visits/entities/customer/records", json={"name": "华联", "industry": "零售"})
    record = f"/apps/store_visits/entities/customer/records/{created.get_json()['record']['id']}"
    _save(designer, app_id, lambda d: _entity(d, "customer")["fields"].pop(2))
    designer.ok(_publish(designer, app_id))

    def back_as_number(definition: dict[str, Any]) -> None:
        _entity(definition, "customer")["fields"].append({"key": "industry", "type": "integer", "label": {"zh": "行业", "en": "Industry"}})

    _save(designer, app_id, back_as_number)
    designer.ok(_publish(designer, app_id))
    assert admin_api.get(record).get_json()["record"]["industry"] is None
    assert admin_api.patch(record, json={"version": 1, "industry": 7}).status_code == 200


def test_history_diff_and_rollback_refusals(designer: Designer) -> None:
    app_id = designer.ok(designer.post("/apps", json={"label": {"en": "Rounds"}}), 201)["app"]["id"]
    never = designer.post(f"/apps/{app_id}/revisions/1/rollback", json={})
    assert never.status_code == 422 and never.get_json()["code"] == "not_published"
    assert "从未发布" in never.get_json()["detail_zh"]
    [only] = designer.ok(designer.get(f"/apps/{app_id}/revisions"))["items"]
    assert only["status"] == "draft" and only["created_by"] == only["updated_by"] and only["created_by"]
    assert only["published_at"] is None and only["published_by"] is None
    assert designer.get(f"/apps/{app_id}/diff?to=1").status_code == 422
    assert designer.get(f"/apps/{app_id}/diff?from=x").status_code == 422
    assert designer.get(f"/apps/{app_id}/diff?from=7").status_code == 404
    assert designer.ok(designer.get(f"/apps/{app_id}/diff?from=1&to=draft"))["changes"] == []
    conflict = designer.post(f"/apps/{app_id}/plan", json={"version": 5})
    assert conflict.status_code == 409 and conflict.get_json()["code"] == "draft_conflict"
    assert designer.post(f"/apps/{app_id}/plan", json={}).status_code == 422


def test_a_draft_no_database_can_store_is_refused(designer: Designer) -> None:
    app_id = _import(designer)["app"]["id"]
    for raw in ('{"definition": {"format": "cairn.app/1", "x": NaN}, "version": 1}',
                '{"definition": {"format": "cairn.app/1", "x": "a\\u0000b"}, "version": 1}'):
        refused = designer.client.put(f"/design/api/apps/{app_id}/draft", data=raw, content_type="application/json",
                                      headers={"X-CSRFToken": designer.token})
        assert refused.status_code == 422, refused.get_data(as_text=True)
        assert refused.get_json()["code"] in ("invalid_json", "invalid_text")
    assert _draft(designer, app_id)["revision"]["version"] == 1
    nan_import = designer.client.post("/design/api/apps/import", data='{"format": "cairn.app/1", "x": Infinity}',
                                      content_type="application/json", headers={"X-CSRFToken": designer.token})
    assert nan_import.status_code == 422
