"""The OpenAPI document tells the truth: every route is documented, and real responses of
every route — successes and the errors they give — validate against the documented status,
media type and JSON schema (closed schemas, so an undocumented member fails)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from runtime.automation.embedded import EmbeddedWorker
from runtime.automation.models import ActionRun
from runtime.platform import Platform
from runtime.settings import Settings
from tests.fixtures_reports import report_app
from tests.integration.actions.sales_app import sales_definition as leads_definition
from tests.integration.automation.test_api import _definition as sales_definition
from tests.integration.conftest import Api, Tenant, install
from tests.unit.builder.fixtures import visit_app_definition
from web import create_app
from web.api.openapi import build_spec

RECORDS = "/apps/{app}/entities/{entity}/records"
RECORD = RECORDS + "/{record}"
DROPPED = ("nullable", "readOnly", "writeOnly", "example", "discriminator", "xml", "externalDocs", "deprecated")


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema (draft 4): ``nullable`` becomes ``anyOf`` null."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema(value) for key, value in node.items() if key not in DROPPED}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Document:
    """The OpenAPI document and a record of which (path, method, status) were checked."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = json_schema(spec["components"])
        self.checked: set[tuple[str, str, int]] = set()

    def validator(self, schema: dict[str, Any]) -> Any:
        return jsonschema_rs.Draft4Validator({"allOf": [json_schema(schema)], "components": self.components})

    def check(self, response: Any, method: str, path: str, status: int | None = None) -> Any:
        """Asserts ``response`` is documented for ``method path``; returns its JSON body."""
        where = f"{method.upper()} {path} → {response.status_code}"
        if status is not None:
            assert response.status_code == status, f"{where}: expected {status}: {response.get_data(as_text=True)[:500]}"
        operation = self.spec["paths"][path][method]
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, f"{where} is not documented: {response.get_data(as_text=True)[:500]}"
        content = documented.get("content")
        self.checked.add((path, method, response.status_code))
        if not content:
            assert response.get_data() == b"", f"{where}: documented without a body"
            return None
        assert response.mimetype in content, f"{where}: {response.mimetype} is not one of {sorted(content)}"
        body = response.get_data(as_text=True) if response.mimetype == "text/csv" else response.get_json()
        errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in self.validator(content[response.mimetype]["schema"]).iter_errors(body)]
        assert errors == [], f"{where} does not match its schema: {errors[:5]}\n{str(body)[:800]}"
        return body


@pytest.fixture
def doc() -> Document:
    return Document(build_spec())


def _route_path(rule: str) -> str:
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule[len("/api/v1") :])
    for name, short in (("app_ref", "app"), ("record_id", "record"), ("revision_id", "revision"), ("trigger_key", "trigger"), ("notification_id", "notification")):
        path = path.replace("{" + name + "}", "{" + short + "}")
    return path


def _api_routes(app: Flask) -> Iterator[tuple[str, str]]:
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield _route_path(rule.rule), method.lower()


def test_every_api_route_is_documented(tmp_path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", secret_key="k", instance_path=tmp_path, testing=True, embedded_worker=False))
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    routes = set(_api_routes(app))
    assert sorted(routes - documented) == [] and sorted(documented - routes) == []


def test_schemas_come_from_marshmallow() -> None:
    schemas = build_spec()["components"]["schemas"]
    assert {"Problem", "AppDefinition", "Record", "WriteResult", "RecordPage", "PublishRequest"} <= set(schemas)
    assert "entities" in schemas["AppDefinition"]["properties"]
    assert schemas["StageMove"]["required"] == ["stage", "version"]


def test_fixed_shapes_are_closed_and_server_fields_read_only() -> None:
    schemas = build_spec()["components"]["schemas"]
    for name in ("Problem", "Plan", "PlanStep", "Revision", "AppSummary", "WriteResult", "RecordPage", "StepState", "FormState", "AuditEvent", "TimelineEvent", "TriggerRun", "Notification"):
        assert schemas[name]["additionalProperties"] is False, name
    # A record's field values are its extra members; its system fields are the server's.
    record = schemas["Record"]
    assert record["additionalProperties"] is True
    read_only = {k for k, v in record["properties"].items() if v.get("readOnly")}
    assert read_only == {"id", "version", "created_at", "updated_at", "created_by", "stage_entered_at", "steps_done_at"}
    for name in ("AppSummary", "Revision"):
        assert schemas[name]["properties"]["id"]["readOnly"] is True
        assert schemas[name]["properties"]["created_at"]["readOnly"] is True
    # The write bodies are separate, and the update body takes the version you read.
    assert "version" in schemas["RecordUpdate"]["properties"]
    assert not any(v.get("readOnly") for v in schemas["RecordUpdate"]["properties"].values())
    problem = schemas["Problem"]["properties"]
    assert {"detail_data", "problems", "errors", "code"} <= set(problem)
    assert {"destructive", "is_empty"} <= set(schemas["Plan"]["properties"])


def test_every_operation_documents_its_errors() -> None:
    paths = build_spec()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "429"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status >= "400":
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    delete = paths[RECORD]["delete"]["responses"]
    assert "record_in_use" in delete["409"]["description"] and "403" in delete
    assert "step_incomplete" in paths[RECORD + "/steps/{step}/complete"]["post"]["responses"]["422"]["description"]
    assert "stage_exit_refused" in paths[RECORD + "/stage"]["post"]["responses"]["422"]["description"]
    assert "step_locked" in paths[RECORD]["patch"]["responses"]["422"]["description"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/api/v1/apps/x/entities/y/records/1", {"GET", "PATCH", "DELETE"}),
        ("delete", "/api/v1/apps", {"GET", "POST"}),
        ("get", "/api/v1/apps/x/entities/y/records/1/stage", {"POST"}),
        ("patch", "/api/v1/inbox", {"GET"}),
        ("put", "/login", {"GET", "POST"}),
    ],
)
def test_every_405_says_what_is_allowed(tmp_path, method: str, path: str, allowed: set[str]) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", secret_key="k", instance_path=tmp_path, testing=True, embedded_worker=False))
    response = getattr(app.test_client(), method)(path)
    assert response.status_code == 405
    methods = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert methods - {"HEAD", "OPTIONS"} == allowed
    if path.startswith("/api/"):
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "method_not_allowed"
        # It agrees with the document: the methods documented for the path are the ones allowed.
        documented = build_spec()["paths"].get(_route_path(path).replace("/x/", "/{app}/").replace("/y/", "/{entity}/").replace("/1", "/{record}"))
        if documented is not None:
            assert {m.upper() for m in documented} == allowed


def _drain(app: Flask) -> None:
    platform: Platform = app.extensions["cairn"]
    EmbeddedWorker(platform).drain()


def test_responses_of_every_route_match_the_document(app: Flask, client: FlaskClient, tenant: Tenant, doc: Document) -> None:
    admin = Api(client, tenant.admin_token)
    rep = Api(client, tenant.rep_token)
    manager = Api(client, tenant.manager_token)
    check = doc.check
    base = "/apps/store_visits/entities"

    # Definitions.
    check(admin.post("/apps/validate", json=visit_app_definition()), "post", "/apps/validate", 200)
    broken = check(admin.post("/apps/validate", json={"format": "cairn.app/1", "key": "x", "label": "x", "entities": [{"key": "a"}]}), "post", "/apps/validate", 422)
    assert broken["code"] == "definition_invalid" and broken["problems"]
    check(rep.post("/apps", json=visit_app_definition()), "post", "/apps", 403)
    not_json = client.post("/api/v1/apps", data="{", headers={"Authorization": f"Bearer {tenant.admin_token}", "Content-Type": "application/json"})
    assert check(not_json, "post", "/apps", 422)["code"] == "invalid_json"
    too_big = client.post("/api/v1/apps", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1), headers={"Authorization": f"Bearer {tenant.admin_token}", "Content-Type": "application/json"})
    assert check(too_big, "post", "/apps", 413)["code"] == "payload_too_large"
    imported = check(admin.post("/apps", json=visit_app_definition()), "post", "/apps", 201)
    revision = imported["revision"]["id"]
    rev_path = "/apps/{app}/revisions/{revision}"
    plan = check(admin.post(f"/apps/store_visits/revisions/{revision}/plan", json={}), "post", rev_path + "/plan", 200)
    assert plan["destructive"] is False and plan["is_empty"] is False
    check(admin.post(f"/apps/store_visits/revisions/{revision}/plan", json={"confirm_drops": "x"}), "post", rev_path + "/plan", 422)
    check(rep.post(f"/apps/store_visits/revisions/{revision}/plan", json={}), "post", rev_path + "/plan", 403)
    check(admin.post(f"/apps/store_visits/revisions/{revision}/publish", json={}), "post", rev_path + "/publish", 200)
    again = check(admin.post(f"/apps/store_visits/revisions/{revision}/publish", json={}), "post", rev_path + "/publish", 422)
    assert again["code"] == "already_published"
    check(admin.post(f"/apps/nope/revisions/{revision}/publish", json={}), "post", rev_path + "/publish", 404)
    install(admin, sales_definition())
    check(admin.get("/apps"), "get", "/apps", 200)
    check(client.get("/api/v1/apps"), "get", "/apps", 401)
    check(admin.get("/apps/store_visits"), "get", "/apps/{app}", 200)
    check(admin.get("/apps/nope"), "get", "/apps/{app}", 404)
    check(admin.get(f"/apps/store_visits/revisions/{revision}"), "get", rev_path, 200)
    check(admin.get("/apps/store_visits/revisions/999999"), "get", rev_path, 404)

    # Records: create, read, list, update, steps, stage, delete.
    customer = check(admin.post(f"{base}/customer/records", json={"name": "华联", "region": "华东"}), "post", RECORDS, 201)["record"]
    assert check(admin.post(f"{base}/customer/records", json={"region": "华东"}), "post", RECORDS, 422)["code"] == "validation_failed"
    check(admin.post(f"{base}/nope/records", json={"name": "x"}), "post", RECORDS, 404)
    visit = check(rep.post(f"{base}/visit/records", json={"customer": customer["id"]}), "post", RECORDS, 201)["record"]
    assert "steps_done_at" in visit
    check(admin.get(f"{base}/customer/records?limit=1"), "get", RECORDS, 200)
    assert check(admin.get(f"{base}/customer/records?where=nope == 1"), "get", RECORDS, 422)["detail_data"]["diagnostics"]
    visit_path = f"{base}/visit/records/{visit['id']}"
    check(rep.get(visit_path), "get", RECORD, 200)
    check(rep.get(f"{base}/visit/records/999999"), "get", RECORD, 404)
    locked = check(rep.patch(visit_path, json={"version": 1, "transcript": "贵"}), "patch", RECORD, 422)
    assert locked["code"] == "step_locked" and locked["detail_data"]["step"] == "pain_points"
    check(rep.patch(visit_path, json={"version": 1, "next_follow_up_at": "2026-12-01T10:00:00+08:00"}), "patch", RECORD, 200)
    assert check(rep.patch(visit_path, json={"version": 1, "competitor_note": "x"}), "patch", RECORD, 409)["code"] == "version_conflict"
    check(rep.get(visit_path + "/steps"), "get", RECORD + "/steps", 200)
    step_path = RECORD + "/steps/{step}/complete"
    check(rep.post(visit_path + "/steps/competitor/complete", json={"version": 2, "values": {"competitor_note": "竞品A"}}), "post", step_path, 200)
    incomplete = check(rep.post(visit_path + "/steps/pain_points/complete", json={"version": 3, "values": {}}), "post", step_path, 422)
    assert incomplete["code"] == "step_incomplete"
    check(rep.post(visit_path + "/steps/competitor/complete", json={"version": 1, "values": {}}), "post", step_path, 409)
    check(rep.get(visit_path + "/history"), "get", RECORD + "/history", 200)
    check(rep.get(f"{base}/customer/records/{customer['id']}/timeline"), "get", RECORD + "/timeline", 200)
    check(rep.post(visit_path + "/form-state", json={"values": {"transcript": "x"}}), "post", RECORD + "/form-state", 200)
    check(rep.post(f"{base}/visit/form-state", json={"values": {}}), "post", "/apps/{app}/entities/{entity}/form-state", 200)
    check(rep.post(f"{base}/visit/form-state", json={"values": []}), "post", "/apps/{app}/entities/{entity}/form-state", 422)

    opportunity = check(admin.post(f"{base}/opportunity/records", json={"title": "大单", "contact_channel": "电话"}), "post", RECORDS, 201)["record"]
    assert opportunity["stage"] == "contact" and "stage_entered_at" in opportunity
    opp_path = f"{base}/opportunity/records/{opportunity['id']}"
    state = check(admin.post(opp_path + "/form-state", json={"values": {}}), "post", RECORD + "/form-state", 200)
    assert state["stage"]["current"] == "contact"
    check(admin.post(opp_path + "/stage", json={"stage": "need_confirmation", "version": 1}), "post", RECORD + "/stage", 200)
    refused = check(admin.post(opp_path + "/stage", json={"stage": "proposal", "version": 2}), "post", RECORD + "/stage", 422)
    assert refused["code"] == "stage_exit_refused" and refused["detail_data"]["exit"]["parts"]
    check(admin.post(opp_path + "/stage", json={"stage": "proposal"}), "post", RECORD + "/stage", 422)

    customer_path = f"{base}/customer/records/{customer['id']}"
    assert check(rep.delete(customer_path), "delete", RECORD, 403)["code"] == "forbidden"
    in_use = check(admin.delete(customer_path), "delete", RECORD, 409)
    assert in_use["code"] == "record_in_use" and in_use["detail_data"]["linked_from"] == ["visits"]
    check(admin.delete(opp_path + "?version=1"), "delete", RECORD, 409)
    check(admin.delete(opp_path), "delete", RECORD, 204)
    check(admin.delete(opp_path), "delete", RECORD, 404)

    # Automation: events, inbound webhooks, runs, health, sandbox, inbox.
    sales = "/apps/sales/entities/customer/records"
    sales_customer = check(rep.post(sales, json={"name": "快客户"}), "post", RECORDS, 201)["record"]
    events = RECORD + "/events"
    check(rep.post(f"{sales}/{sales_customer['id']}/events", json={"name": "product_page", "data": {"seconds": 3}}), "post", events, 201)
    check(rep.post(f"{sales}/{sales_customer['id']}/events", json={"name": 1}), "post", events, 422)
    check(rep.post(f"{sales}/999999/events", json={"name": "product_page"}), "post", events, 404)
    hook = "/hooks/{app}/{trigger}"
    check(admin.post("/hooks/sales/website_form", json={"id": "W-1", "company": "华联"}), "post", hook, 201)
    check(admin.post("/hooks/sales/website_form", json={"id": "W-1", "company": "华联超市"}), "post", hook, 200)
    check(admin.post("/hooks/sales/website_form", json={"company": "无编号"}), "post", hook, 422)
    check(admin.post("/hooks/sales/nope", json={}), "post", hook, 404)
    # Assignment: the designer's preview of a rule, and "why this rep" on a record.
    leads = leads_definition()
    leads["key"] = "leads"
    install(admin, leads)
    lead = check(admin.post("/apps/leads/entities/lead/records", json={"name": "L", "status": "open"}), "post", RECORDS, 201)["record"]
    preview = "/apps/{app}/assignment/{rule}/preview"
    shown = check(admin.post("/apps/leads/assignment/smart/preview", json={"limit": 5}), "post", preview, 200)
    assert shown["items"][0]["record_id"] == lead["id"] and shown["items"][0]["explanation"]["zh"]
    check(rep.post("/apps/leads/assignment/smart/preview", json={}), "post", preview, 403)
    check(admin.post("/apps/leads/assignment/nope/preview", json={}), "post", preview, 404)
    check(admin.post("/apps/leads/assignment/smart/preview", json={"limit": 0}), "post", preview, 422)
    why = f"/apps/leads/entities/lead/records/{lead['id']}/assignment"
    assert check(admin.get(why), "get", RECORD + "/assignment", 200)["assignment"] is None
    check(admin.get("/apps/leads/entities/lead/records/999999/assignment"), "get", RECORD + "/assignment", 404)
    _drain(app)
    check(admin.get("/apps/sales/automation/runs"), "get", "/apps/{app}/automation/runs", 200)
    check(rep.get("/apps/sales/automation/runs"), "get", "/apps/{app}/automation/runs", 403)
    check(admin.get("/apps/sales/automation/runs?limit=x"), "get", "/apps/{app}/automation/runs", 422)
    check(admin.get("/apps/sales/automation/health"), "get", "/apps/{app}/automation/health", 200)
    check(admin.get("/apps/nope/automation/health"), "get", "/apps/{app}/automation/health", 404)
    check(admin.get("/apps/sales/automation/runs?status=maybe"), "get", "/apps/{app}/automation/runs", 422)
    runs = check(admin.get("/apps/sales/automation/runs?limit=1"), "get", "/apps/{app}/automation/runs", 200)
    run_path = "/apps/{app}/automation/runs/{run}"
    run = check(admin.get(f"/apps/sales/automation/runs/{runs['items'][0]['id']}"), "get", run_path, 200)
    check(admin.get("/apps/sales/automation/runs/999999"), "get", run_path, 404)
    check(rep.get(f"/apps/sales/automation/runs/{run['id']}"), "get", run_path, 403)
    retry = "/apps/{app}/automation/action-runs/{action_run}/retry"
    action_id = run["actions"][0]["id"]
    check(admin.post(f"/apps/sales/automation/action-runs/{action_id}/retry"), "post", retry, 409)
    with app.extensions["cairn"].session() as session:  # as if it had failed
        session.execute(sa.update(ActionRun).where(ActionRun.id == action_id).values(status="failed"))
        session.commit()
    check(manager.post(f"/apps/sales/automation/action-runs/{action_id}/retry"), "post", retry, 403)
    check(admin.post(f"/apps/sales/automation/action-runs/{action_id}/retry"), "post", retry, 202)
    check(admin.post("/apps/sales/automation/action-runs/999999/retry"), "post", retry, 404)
    threshold = "/apps/{app}/automation/health/threshold"
    check(admin.put("/apps/sales/automation/health/threshold", json={"threshold_percent": 99}), "put", threshold, 200)
    check(admin.put("/apps/sales/automation/health/threshold", json={"threshold_percent": 101}), "put", threshold, 422)
    check(manager.put("/apps/sales/automation/health/threshold", json={"threshold_percent": 99}), "put", threshold, 403)
    check(admin.put("/apps/nope/automation/health/threshold", json={"threshold_percent": 99}), "put", threshold, 404)
    dry = "/apps/{app}/automation/dry-run"
    check(admin.post("/apps/sales/automation/dry-run", json={"trigger": "website_form"}), "post", dry, 200)
    check(admin.post("/apps/sales/automation/dry-run", json={"entity": "lead", "expression": "industry != null"}), "post", dry, 200)
    check(admin.post("/apps/sales/automation/dry-run", json={}), "post", dry, 422)
    # An entity the revision does not have is unknown (it was a KeyError: 500).
    check(admin.post("/apps/sales/automation/dry-run", json={"entity": "", "expression": "true"}), "post", dry, 404)
    trigger_dry = "/apps/{app}/triggers/{trigger}/dry-run"
    tried = check(admin.post("/apps/sales/triggers/website_form/dry-run", json={"days": 7}), "post", trigger_dry, 200)
    assert tried["records"] and tried["records"][0]["actions"]
    check(admin.post("/apps/sales/triggers/website_form/dry-run", json={"days": 0}), "post", trigger_dry, 422)
    check(admin.post("/apps/sales/triggers/nope/dry-run", json={"days": 7}), "post", trigger_dry, 404)
    check(manager.post("/apps/sales/triggers/website_form/dry-run", json={"days": 7}), "post", trigger_dry, 403)
    inbox = check(manager.get("/inbox"), "get", "/inbox", 200)["items"]
    assert inbox
    check(manager.get("/inbox?limit=x"), "get", "/inbox", 422)
    check(manager.post(f"/inbox/{inbox[0]['id']}/read"), "post", "/inbox/{notification}/read", 200)
    check(rep.post(f"/inbox/{inbox[0]['id']}/read"), "post", "/inbox/{notification}/read", 404)
    check(manager.post("/inbox/read-all"), "post", "/inbox/read-all", 200)

    # People and access: users, roles, tokens, the audit log, the own password, workspaces.
    check(admin.get("/users"), "get", "/users", 200)
    check(rep.get("/users"), "get", "/users", 403)
    created = check(admin.post("/users", json={"username": "new-rep", "role": "rep", "manager": tenant.manager.id}), "post", "/users", 201)
    assert created["password"] and created["user"]["manager"] == tenant.manager.id
    check(admin.post("/users", json={"username": "new-rep"}), "post", "/users", 409)
    check(admin.post("/users", json={"username": "x", "role": "auditor"}), "post", "/users", 422)
    user_path = f"/users/{created['user']['id']}"
    check(admin.get(user_path), "get", "/users/{user}", 200)
    check(admin.get("/users/999999"), "get", "/users/{user}", 404)
    check(admin.patch(user_path, json={"region": "华南"}), "patch", "/users/{user}", 200)
    check(admin.patch(f"/users/{tenant.admin.id}", json={"active": False}), "patch", "/users/{user}", 422)
    check(admin.post(user_path + "/password", json={}), "post", "/users/{user}/password", 200)
    check(admin.post(user_path + "/password", json={"password": "short"}), "post", "/users/{user}/password", 422)
    check(admin.get("/roles"), "get", "/roles", 200)
    issued = check(admin.post("/tokens", json={"user_id": created["user"]["id"], "name": "erp"}), "post", "/tokens", 201)
    check(admin.post("/tokens", json={"user_id": created["user"]["id"], "name": ""}), "post", "/tokens", 422)
    check(admin.get("/tokens"), "get", "/tokens", 200)
    check(admin.get("/tokens?user_id=x"), "get", "/tokens", 422)
    check(admin.delete(f"/tokens/{issued['token']['id']}"), "delete", "/tokens/{token}", 204)
    check(admin.delete("/tokens/999999"), "delete", "/tokens/{token}", 404)
    check(admin.get("/audit?entity=user"), "get", "/audit", 200)
    check(admin.get("/audit?since=yesterday"), "get", "/audit", 422)
    check(rep.get("/audit"), "get", "/audit", 403)
    check(admin.get("/audit.csv?entity=user"), "get", "/audit.csv", 200)
    check(rep.post("/account/password", json={"current_password": "rep-password", "new_password": "rep-password-2"}), "post", "/account/password", 204)
    check(rep.post("/account/password", json={"current_password": "wrong", "new_password": "rep-password-3"}), "post", "/account/password", 422)
    operator = Api(client, "operator-token-" + "x" * 32)
    check(operator.get("/platform/workspaces"), "get", "/platform/workspaces", 401)
    app.extensions["cairn"].settings = app.extensions["cairn"].settings.with_overrides(platform_token=operator.token)
    check(operator.get("/platform/workspaces"), "get", "/platform/workspaces", 200)
    check(operator.post("/platform/workspaces", json={"key": "gamma", "admin_username": "gamma-boss"}), "post", "/platform/workspaces", 201)
    check(operator.post("/platform/workspaces", json={"key": "gamma"}), "post", "/platform/workspaces", 409)
    check(operator.post("/platform/workspaces", json={"key": "Bad Key"}), "post", "/platform/workspaces", 422)
    check(admin.get("/platform/workspaces"), "get", "/platform/workspaces", 401)

    # The designer's operations (docs/api.md "Designer API").
    created = check(admin.post("/apps/new", json={"label": {"zh": "巡店", "en": "Store rounds"}}), "post", "/apps/new", 201)
    check(rep.post("/apps/new", json={"label": "x"}), "post", "/apps/new", 403)
    check(admin.post("/apps/new", json={}), "post", "/apps/new", 422)
    fresh = created["app"]["key"]
    check(admin.patch(f"/apps/{fresh}", json={"label": {"zh": "巡店2", "en": "Rounds"}}), "patch", "/apps/{app}", 200)
    check(admin.patch(f"/apps/{fresh}", json={"label": 3}), "patch", "/apps/{app}", 422)
    draft = check(admin.get(f"/apps/{fresh}/draft"), "get", "/apps/{app}/draft", 200)
    check(admin.get("/apps/nope/draft"), "get", "/apps/{app}/draft", 404)
    version = draft["revision"]["version"]
    definition = visit_app_definition()
    definition["key"] = fresh
    saved = check(admin.put(f"/apps/{fresh}/draft", json={"definition": definition, "version": version}), "put", "/apps/{app}/draft", 200)
    assert saved["diagnostics"] == []
    conflict = check(admin.put(f"/apps/{fresh}/draft", json={"definition": definition, "version": version}), "put", "/apps/{app}/draft", 409)
    assert conflict["code"] == "draft_conflict" and conflict["current"]["version"] == version + 1
    check(admin.put(f"/apps/{fresh}/draft", json={"definition": [], "version": 1}), "put", "/apps/{app}/draft", 422)
    checked = check(admin.post(f"/apps/{fresh}/expressions/check", json={"entity": "opportunity", "expression": "amont > 0"}), "post", "/apps/{app}/expressions/check", 200)
    assert checked["diagnostics"][0]["suggestion"] == "amount"
    check(admin.post(f"/apps/{fresh}/expressions/check", json={"entity": "nope", "expression": "true"}), "post", "/apps/{app}/expressions/check", 404)
    check(admin.post(f"/apps/{fresh}/expressions/check", json={"entity": "visit"}), "post", "/apps/{app}/expressions/check", 422)
    check(admin.post(f"/apps/{fresh}/draft/plan", json={"version": version + 1}), "post", "/apps/{app}/draft/plan", 200)
    check(admin.post(f"/apps/{fresh}/draft/plan", json={"version": version}), "post", "/apps/{app}/draft/plan", 409)
    check(admin.post(f"/apps/{fresh}/draft/plan", json={}), "post", "/apps/{app}/draft/plan", 422)
    check(admin.get(f"/apps/{fresh}/export"), "get", "/apps/{app}/export", 200)
    check(admin.get(f"/apps/{fresh}/export?revision=x"), "get", "/apps/{app}/export", 422)
    check(admin.post(f"/apps/{fresh}/draft/publish", json={"version": version + 1}), "post", "/apps/{app}/draft/publish", 200)
    check(admin.post(f"/apps/{fresh}/draft/publish", json={"version": 1}), "post", "/apps/{app}/draft/publish", 409)
    assert check(admin.delete(f"/apps/{fresh}"), "delete", "/apps/{app}", 409)["code"] == "app_published"
    check(admin.get(f"/apps/{fresh}/history"), "get", "/apps/{app}/history", 200)
    bad = definition | {"label": 5}
    again = check(admin.get(f"/apps/{fresh}/draft"), "get", "/apps/{app}/draft", 200)
    check(admin.put(f"/apps/{fresh}/draft", json={"definition": bad, "version": again["revision"]["version"]}), "put", "/apps/{app}/draft", 200)
    invalid = check(admin.post(f"/apps/{fresh}/draft/publish", json={"version": again["revision"]["version"] + 1}), "post", "/apps/{app}/draft/publish", 422)
    assert invalid["code"] == "draft_invalid" and invalid["diagnostics"]
    changes = check(admin.get(f"/apps/{fresh}/diff?from=1&to=draft"), "get", "/apps/{app}/diff", 200)["changes"]
    assert changes and changes[0]["path"] == "$.label"
    check(admin.get(f"/apps/{fresh}/diff?to=1"), "get", "/apps/{app}/diff", 422)
    history = admin.get(f"/apps/{fresh}").get_json()["revisions"]
    first = next(r["id"] for r in history if r["number"] == 1)
    rollback = "/apps/{app}/revisions/{revision}/rollback"
    check(admin.post(f"/apps/{fresh}/revisions/{first}/rollback", json={}), "post", rollback, 422)
    check(admin.post(f"/apps/{fresh}/revisions/999999/rollback", json={}), "post", rollback, 404)
    second = check(admin.post(f"/apps/{fresh}/draft/plan", json={"version": again["revision"]["version"] + 1}), "post", "/apps/{app}/draft/plan", 200)
    assert second["ok"] is False
    check(admin.put(f"/apps/{fresh}/draft", json={"definition": definition | {"label": {"zh": "三", "en": "Three"}}, "version": again["revision"]["version"] + 1}), "put", "/apps/{app}/draft", 200)
    three = check(admin.get(f"/apps/{fresh}/draft"), "get", "/apps/{app}/draft", 200)["revision"]
    check(admin.post(f"/apps/{fresh}/draft/publish", json={"version": three["version"]}), "post", "/apps/{app}/draft/publish", 200)
    check(admin.post(f"/apps/{fresh}/revisions/{first}/rollback", json={}), "post", rollback, 200)
    imported = check(admin.post("/apps/import", json={"format": "cairn.app/1", "key": "half", "label": "x", "entities": [{"key": "a"}]}), "post", "/apps/import", 201)
    assert imported["diagnostics"]
    check(admin.post("/apps/import", json=[1]), "post", "/apps/import", 422)
    check(admin.delete(f"/apps/{imported['app']['key']}"), "delete", "/apps/{app}", 204)
    assert check(admin.post("/keys", json={"label": "客户名称"}), "post", "/keys", 200)["key"] == "ke_hu_ming_cheng"
    check(rep.post("/keys", json={"label": "客户名称"}), "post", "/keys", 403)
    check(admin.post("/keys", json={}), "post", "/keys", 422)

    # Dashboards: the store-sales template's rep home and manager workbench, with a few records.
    install(admin, json.loads((Path(__file__).resolve().parents[2] / "app_templates/store_sales/app.json").read_text(encoding="utf-8")))
    shop = rep.post("/apps/store_sales/entities/customer/records", json={"name": "华联", "region": "华东", "health_score": 80, "at_risk": True,
                                                                        "location": {"lat": 31.2, "lng": 121.4}}).get_json()["record"]
    rep.post("/apps/store_sales/entities/opportunity/records", json={"title": "框架", "customer": shop["id"], "amount": 100})
    rep.post("/apps/store_sales/entities/visit/records", json={"customer": shop["id"]})
    boards = "/apps/{app}/dashboards"
    check(rep.get("/apps/store_sales/dashboards"), "get", boards, 200)
    check(rep.get("/apps/nope/dashboards"), "get", boards, 404)
    board = check(manager.get("/apps/store_sales/dashboards/workbench"), "get", boards + "/{dashboard}", 200)
    check(rep.get("/apps/store_sales/dashboards/rep_home"), "get", boards + "/{dashboard}", 200)
    check(rep.get("/apps/store_sales/dashboards/workbench"), "get", boards + "/{dashboard}", 403)
    check(rep.get("/apps/store_sales/dashboards/nope"), "get", boards + "/{dashboard}", 404)
    widget = boards + "/{dashboard}/widgets/{widget}"
    for w in board["widgets"]:
        check(manager.get(f"/apps/store_sales/dashboards/workbench/widgets/{w['key']}?fresh=1"), "get", widget, 200)
    for key in ("top_customers", "risk_today", "my_visits"):
        check(rep.get(f"/apps/store_sales/dashboards/rep_home/widgets/{key}"), "get", widget, 200)
    check(manager.get("/apps/store_sales/dashboards/workbench/widgets/nope"), "get", widget, 404)
    check(rep.get("/apps/store_sales/dashboards/workbench/widgets/region_stage"), "get", widget, 403)
    # A dashboard widget's data as a file (text/csv; XLSX is binary and checked in its own tests).
    install(admin, report_app())
    export = "/apps/{app}/dashboards/{dashboard}/widgets/{widget}/export"
    assert "\ufeff" in check(admin.get("/apps/review/dashboards/weekly_review/widgets/topics/export?format=csv"), "get", export, 200)
    check(admin.get("/apps/review/dashboards/weekly_review/widgets/nope/export"), "get", export, 404)

    # Every operation was seen answering its success status.
    unseen = []
    for path, operations in doc.spec["paths"].items():
        for method, operation in operations.items():
            success = {int(s) for s in operation["responses"] if s.startswith("2")}
            if not {s for p, m, s in doc.checked if (p, m) == (path, method)} & success:
                unseen.append(f"{method.upper()} {path}")
    assert unseen == []


def test_numbers_beyond_an_id_are_refused_not_500(admin_api: Api, doc: Document) -> None:
    install(admin_api, sales_definition())
    huge = 10**25
    records = "/apps/sales/entities/customer/records"
    # In the path: no route matches a number no id can be (before: the database overflowed).
    doc.check(admin_api.get(f"{records}/{huge}"), "get", RECORD, 404)
    doc.check(admin_api.delete(f"{records}/{huge}"), "delete", RECORD, 404)
    doc.check(admin_api.get(f"/apps/sales/revisions/{huge}"), "get", "/apps/{app}/revisions/{revision}", 404)
    doc.check(admin_api.post(f"/inbox/{huge}/read"), "post", "/inbox/{notification}/read", 404)
    # In the query or the body: a clear 422.
    runs = doc.check(admin_api.get(f"/apps/sales/automation/runs?record_id={huge}"), "get", "/apps/{app}/automation/runs", 422)
    assert "record_id" in runs["errors"]
    dry = "/apps/{app}/automation/dry-run"
    doc.check(admin_api.post("/apps/sales/automation/dry-run", json={"entity": "lead", "expression": "true", "revision_id": huge}), "post", dry, 422)
    doc.check(admin_api.post("/apps/sales/automation/dry-run", json={"trigger": "website_form", "record_ids": [huge]}), "post", dry, 422)
    # NaN has no JSON form; it used to be echoed back as an invalid document.
    for threshold in ("nan", "inf"):
        doc.check(admin_api.get(f"/apps/sales/automation/health?threshold={threshold}"), "get", "/apps/{app}/automation/health", 422)
