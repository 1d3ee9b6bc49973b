"""Dry run of a draft trigger (S16) and staged rollout, on both databases.

A dry run replays the audit log (or, where it can't tell, evaluates the current values),
resolves recipients like the real run (a missing manager is ``would_skip`` with its cause)
and changes nothing: every table's row count is the same afterwards, the outbox stays
empty, and no connection is attempted for a webhook action.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from runtime.automation.embedded import EmbeddedWorker
from runtime.automation.models import OutboxJob, TriggerRun
from runtime.clock import FrozenClock
from runtime.platform import Platform
from runtime.workspaces import IdentityService
from tests.integration.automation.definitions import TRIGGERS, sales_app
from tests.integration.conftest import Api, Tenant, install
from tests.integration.designer.conftest import Designer


@pytest.fixture
def designer(app: Flask, tenant: Tenant) -> Designer:
    """Workspace A's admin in the designer."""
    return Designer(app, tenant.admin)


@pytest.fixture
def rep_designer(app: Flask, tenant: Tenant) -> Designer:
    """Workspace A's rep trying the designer."""
    return Designer(app, tenant.rep)


@pytest.fixture
def other_designer(app: Flask, other_tenant: Tenant) -> Designer:
    """Workspace B's admin in the designer."""
    return Designer(app, other_tenant.admin)


CUSTOMERS = "/apps/sales/entities/customer/records"

S6 = next(t for t in TRIGGERS if t["key"] == "need_timeout")

RETAIL = {
    "key": "retail_flag", "label": {"zh": "零售客户", "en": "Retail customer"}, "entity": "customer",
    "on": {"type": "field_changed", "field": "industry", "to": "零售"},
    "actions": [
        {"type": "set_field", "field": "status", "value": '"待激活"'},
        {"type": "http_webhook", "url": "https://hooks.example.com/retail"},
    ],
}

CREATED = {
    "key": "welcome", "label": {"zh": "欢迎", "en": "Welcome"}, "entity": "customer", "on": "created",
    "actions": [{"type": "set_field", "field": "status", "value": '"待激活"'}],
}


@pytest.fixture
def second_rep(platform: Platform, tenant: Tenant) -> tuple[Any, str]:
    """A rep of workspace A **without** a manager, and their token."""
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        workspace = session.merge(tenant.workspace)
        user = identity.create_user(workspace, "alpha-rep2", password="rep2-password", role="rep", region="华东")
        return user, identity.issue_token(user).token


@pytest.fixture
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Records (and refuses) every attempt to open a network connection from Python."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network access refused in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


def _customer(api: Api, **values: Any) -> dict[str, Any]:
    answer = api.post(CUSTOMERS, json={"name": "客户", **values})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["record"]  # type: ignore[no-any-return]


def _patch(api: Api, record: dict[str, Any], **values: Any) -> dict[str, Any]:
    current = api.get(f"{CUSTOMERS}/{record['id']}").get_json()["record"]
    answer = api.patch(f"{CUSTOMERS}/{record['id']}", json={"version": current["version"], **values})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["record"]  # type: ignore[no-any-return]


def _into_need(api: Api, record: dict[str, Any]) -> None:
    current = api.get(f"{CUSTOMERS}/{record['id']}").get_json()["record"]
    moved = api.post(f"{CUSTOMERS}/{record['id']}/stage", json={"stage": "need", "version": current["version"]})
    assert moved.status_code == 200, moved.get_json()


def _row_counts(platform: Platform) -> dict[str, int]:
    counts: dict[str, int] = {}
    with platform.engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            counts[name] = conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
    return counts


def _draft_with(designer: Designer, app_id: int, *triggers: dict[str, Any]) -> dict[str, Any]:
    draft = designer.ok(designer.get(f"/apps/{app_id}/draft"))
    definition = draft["definition"]
    definition["triggers"] = [*definition.get("triggers", []), *triggers]
    saved = designer.ok(designer.put(f"/apps/{app_id}/draft",
                                     json={"definition": definition, "version": draft["revision"]["version"]}))
    assert saved["diagnostics"] == [], saved["diagnostics"]
    return definition


def _app_id(designer: Designer) -> int:
    apps = designer.ok(designer.get("/apps"))["items"]
    return int(next(a for a in apps if a["key"] == "sales")["id"])


def test_s6_dry_run_over_seeded_history_changes_nothing(
    app: Flask, platform: Platform, clock: FrozenClock, admin_api: Api, rep_api: Api, client: Any,
    tenant: Tenant, second_rep: tuple[Any, str], designer: Designer, network_guard: list[Any],
) -> None:
    install(admin_api, sales_app(triggers=[]))
    rep2_api = Api(client, second_rep[1])
    has_manager = _customer(rep_api, name="有上级")
    no_manager = _customer(rep2_api, name="无上级")
    stays = _customer(rep_api, name="未进入")
    confirmed = _customer(rep_api, name="已确认")
    for record in (has_manager, no_manager, confirmed):
        _into_need(rep_api if record is not no_manager else rep2_api, record)
    _patch(rep_api, confirmed, need_note="预算已确认")
    clock.advance(timedelta(hours=50))
    app_id = _app_id(designer)
    # Draft-only: the published app has no trigger at all.
    _draft_with(designer, app_id, S6)
    before = _row_counts(platform)

    report = designer.ok(designer.post(f"/apps/{app_id}/triggers/need_timeout/dry-run", json={"days": 7}))

    assert _row_counts(platform) == before
    assert before["automation_outbox"] == 0
    assert network_guard == []
    by_title = {r["title"]: r for r in report["records"]}
    assert set(by_title) == {"有上级", "无上级", "未进入", "已确认"}
    assert by_title["未进入"]["would_fire"] is False
    assert by_title["已确认"]["would_fire"] is False
    fired = by_title["有上级"]
    assert fired["would_fire"] is True and fired["basis"] == "current_values"
    assert "current values" in fired["why"]["en"] and fired["why"]["zh"]
    notify, set_status = fired["actions"]
    assert notify["kind"] == "notify" and notify["outcome"] == "would_run"
    assert notify["recipients"] == [{"id": tenant.manager.id, "name": tenant.manager.name}]
    assert "有上级" in notify["message"]["zh"]
    assert set_status["changes"] == [{"field": "status", "before": None, "after": "待激活"}]
    skipped = by_title["无上级"]["actions"][0]
    assert skipped["outcome"] == "would_skip" and skipped["cause"] == "missing_manager"
    assert "manager" in skipped["cause_text"]["en"]
    assert by_title["无上级"]["actions"][1]["outcome"] == "would_run"  # S6 still sets 待激活
    assert report["summary"] == {"checked": 4, "would_fire": 2, "would_skip": 1}
    assert report["truncated"] is False and report["window"]["days"] == 7
    assert fired["url"] == f"/a/sales/customer/{has_manager['id']}"

    # The same through the REST API, on chosen records.
    rest = admin_api.post("/apps/sales/triggers/need_timeout/dry-run",
                          json={"records": [no_manager["id"], stays["id"], 999_999]})
    assert rest.status_code == 200, rest.get_json()
    body = rest.get_json()
    assert [r["id"] for r in body["records"]] == [stays["id"], no_manager["id"]]
    assert body["window"]["missing"] == [999_999]
    assert _row_counts(platform) == before


def test_record_events_are_replayed_from_the_audit_log(
    app: Flask, platform: Platform, clock: FrozenClock, admin_api: Api, rep_api: Api,
    designer: Designer, network_guard: list[Any],
) -> None:
    install(admin_api, sales_app(triggers=[]))
    was_retail = _customer(rep_api, name="曾为零售")
    clock.advance(timedelta(hours=1))
    _patch(rep_api, was_retail, industry="零售")
    clock.advance(timedelta(hours=1))
    _patch(rep_api, was_retail, industry="制造")  # now it no longer says 零售
    never = _customer(rep_api, name="从未零售", industry="制造")
    clock.advance(timedelta(hours=1))
    _patch(rep_api, never, industry="能源")
    app_id = _app_id(designer)
    _draft_with(designer, app_id, RETAIL)
    before = _row_counts(platform)

    report = designer.ok(designer.post(f"/apps/{app_id}/triggers/retail_flag/dry-run", json={"days": 3}))

    assert _row_counts(platform) == before and before["automation_outbox"] == 0
    assert network_guard == []  # the webhook action is described, never called
    by_title = {r["title"]: r for r in report["records"]}
    hit = by_title["曾为零售"]
    assert hit["would_fire"] is True and hit["basis"] == "history"
    assert "industry" in hit["why"]["en"]
    set_status, webhook = hit["actions"]
    assert set_status["changes"] == [{"field": "status", "before": None, "after": "待激活"}]
    assert webhook["kind"] == "http_webhook" and "hooks.example.com/retail" in webhook["summary"]["en"]
    assert "not called" in webhook["summary"]["en"]
    miss = by_title["从未零售"]
    assert miss["would_fire"] is False and miss["basis"] == "history" and miss["actions"] == []

    # A 1-day window that ends before the retail write no longer sees it.
    clock.advance(timedelta(days=2))
    later = designer.ok(designer.post(f"/apps/{app_id}/triggers/retail_flag/dry-run", json={"days": 1}))
    assert later["records"] == []


def test_the_clients_definition_and_bad_requests(
    app: Flask, admin_api: Api, rep_api: Api, designer: Designer, rep_designer: Designer,
    other_designer: Designer, other_tenant: Tenant, client: Any, tenant: Tenant,
) -> None:
    install(admin_api, sales_app(triggers=[]))
    _customer(rep_api, name="甲")
    app_id = _app_id(designer)
    draft = designer.ok(designer.get(f"/apps/{app_id}/draft"))["definition"]
    unsaved = {**draft, "triggers": [CREATED]}
    report = designer.ok(designer.post(f"/apps/{app_id}/triggers/welcome/dry-run",
                                       json={"days": 1, "definition": unsaved}))
    assert report["summary"]["would_fire"] == 1
    assert designer.post(f"/apps/{app_id}/triggers/welcome/dry-run", json={"days": 1}).status_code == 404
    assert designer.post(f"/apps/{app_id}/triggers/welcome/dry-run",
                         json={"days": 91, "definition": unsaved}).status_code == 422
    both = designer.post(f"/apps/{app_id}/triggers/welcome/dry-run",
                         json={"days": 1, "records": [1], "definition": unsaved})
    assert both.status_code == 422 and both.get_json()["detail_zh"]
    broken = {**draft, "triggers": [{**CREATED, "when": "nonexistent_field == 1"}]}
    refused = designer.post(f"/apps/{app_id}/triggers/welcome/dry-run", json={"days": 1, "definition": broken})
    assert refused.status_code == 422 and refused.get_json()["code"] == "trigger_invalid"
    # Admins only; another workspace's app does not exist.
    assert rep_designer.post(f"/apps/{app_id}/triggers/welcome/dry-run", json={"days": 1}).status_code == 403
    assert rep_api.post("/apps/sales/triggers/welcome/dry-run", json={"days": 1}).status_code == 403
    manager = Api(client, tenant.manager_token)
    assert manager.post("/apps/sales/triggers/welcome/dry-run", json={"days": 1}).status_code == 403
    assert other_designer.post(f"/apps/{app_id}/triggers/welcome/dry-run", json={"days": 1}).status_code == 404
    other = Api(client, other_tenant.admin_token)
    assert other.post("/apps/sales/triggers/welcome/dry-run", json={"days": 1}).status_code == 404


def test_a_rollout_fires_for_the_group_only(
    app: Flask, platform: Platform, admin_api: Api, rep_api: Api, client: Any, tenant: Tenant,
    second_rep: tuple[Any, str], designer: Designer,
) -> None:
    install(admin_api, sales_app(triggers=[]))
    rep2_api = Api(client, second_rep[1])
    mine = _customer(rep_api, name="灰度内")
    theirs = _customer(rep2_api, name="灰度外")
    app_id = _app_id(designer)
    rolled = {**CREATED, "rollout": {"users": [tenant.rep.id]}}
    _draft_with(designer, app_id, rolled)

    report = designer.ok(designer.post(f"/apps/{app_id}/triggers/welcome/dry-run", json={"days": 1}))
    by_title = {r["title"]: r for r in report["records"]}
    assert by_title["灰度内"]["would_fire"] is True
    assert by_title["灰度外"]["would_fire"] is False and "rollout" in by_title["灰度外"]["why"]["en"]
    assert report["rollout"]["en"] == f"users {tenant.rep.id}"
    assert mine and theirs

    # Published, the engine applies the same group.
    draft = designer.ok(designer.get(f"/apps/{app_id}/draft"))
    designer.ok(designer.post(f"/apps/{app_id}/publish", json={"version": draft["revision"]["version"]}))
    inside = _customer(rep_api, name="灰度内新")
    outside = _customer(rep2_api, name="灰度外新")
    EmbeddedWorker(platform).drain()
    assert rep_api.get(f"{CUSTOMERS}/{inside['id']}").get_json()["record"]["status"] == "待激活"
    assert rep2_api.get(f"{CUSTOMERS}/{outside['id']}").get_json()["record"]["status"] is None
    with platform.session() as session:
        runs = {r.record_id: r for r in session.scalars(sa.select(TriggerRun))}
        assert runs[inside["id"]].status == "succeeded"
        assert runs[outside["id"]].status == "cancelled" and runs[outside["id"]].cause == "not_in_rollout"
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxJob)) == 2
    listed = admin_api.get(f"/apps/sales/automation/runs?record_id={outside['id']}").get_json()
    assert listed["items"][0]["cause"] == "not_in_rollout"
    page = designer.client.get("/admin/runs?app=sales&cause=not_in_rollout", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"(rolled out to users {tenant.rep.id})" in html
    assert "outside the rule&#39;s rollout group" in html or "outside the rule's rollout group" in html

    # A role group: the manager role does not include the rep.
    by_role = {**CREATED, "rollout": {"roles": ["manager"]}}
    definition = designer.ok(designer.get(f"/apps/{app_id}/draft"))["definition"]
    report = designer.ok(designer.post(f"/apps/{app_id}/triggers/welcome/dry-run",
                                       json={"records": [inside["id"]],
                                             "definition": {**definition, "triggers": [by_role]}}))
    assert report["records"][0]["would_fire"] is False


def test_rollout_is_validated(app: Flask, admin_api: Api, designer: Designer) -> None:
    install(admin_api, sales_app(triggers=[]))
    app_id = _app_id(designer)
    draft = designer.ok(designer.get(f"/apps/{app_id}/draft"))
    definition = draft["definition"]
    definition["triggers"] = [
        {**CREATED, "rollout": {"users": [987654]}},
        {**CREATED, "key": "welcome2", "rollout": {"roles": ["nobody"]}},
        {**CREATED, "key": "welcome3", "rollout": {}},
    ]
    saved = designer.ok(designer.put(f"/apps/{app_id}/draft",
                                     json={"definition": definition, "version": draft["revision"]["version"]}))
    paths = {d["path"]: d for d in saved["diagnostics"]}
    assert "$.triggers[0].rollout.users[0]" in paths
    assert "987654" in paths["$.triggers[0].rollout.users[0]"]["message"]
    assert "$.triggers[1].rollout.roles[0]" in paths
    assert any(p.startswith("$.triggers[2].rollout") for p in paths)
    refused = designer.post(f"/apps/{app_id}/publish", json={"version": saved["revision"]["version"]})
    assert refused.status_code == 422


def test_a_rollout_to_an_unknown_user_is_refused_by_every_publish(
    admin_api: Api, other_tenant: Tenant
) -> None:
    """Not only the designer: an import + publish through the REST API checks the users too
    (a user of another workspace is no user here)."""
    definition = sales_app(triggers=[{**CREATED, "rollout": {"users": [other_tenant.rep.id]}}])
    imported = admin_api.post("/apps", json=definition)
    assert imported.status_code == 201, imported.get_json()
    body = imported.get_json()
    refused = admin_api.post(f"/apps/{body['app']['key']}/revisions/{body['revision']['id']}/publish", json={})
    assert refused.status_code == 422, refused.get_json()
    answer = refused.get_json()
    assert answer["code"] == "publish_refused"
    assert str(other_tenant.rep.id) in answer["detail"] and str(other_tenant.rep.id) in answer["detail_zh"]
    assert admin_api.get("/apps/sales/entities/customer/records").status_code == 404  # nothing published


def test_the_people_a_trigger_can_be_rolled_out_to(
    app: Flask, admin_api: Api, designer: Designer, rep_designer: Designer, other_designer: Designer,
    tenant: Tenant,
) -> None:
    install(admin_api, sales_app(triggers=[]))
    app_id = _app_id(designer)
    people = designer.ok(designer.get(f"/apps/{app_id}/people"))
    assert {u["id"] for u in people["users"]} == {tenant.admin.id, tenant.manager.id, tenant.rep.id}
    assert {"admin", "manager", "rep"} <= set(people["roles"])
    assert rep_designer.get(f"/apps/{app_id}/people").status_code == 403
    assert other_designer.get(f"/apps/{app_id}/people").status_code == 404


def test_an_assignment_is_previewed_without_taking_the_cursor(
    app: Flask, platform: Platform, admin_api: Api, rep_api: Api, tenant: Tenant, designer: Designer,
) -> None:
    install(admin_api, sales_app(triggers=[]))
    lead = rep_api.post("/apps/sales/entities/lead/records", json={"name": "新线索"})
    assert lead.status_code == 201, lead.get_json()
    app_id = _app_id(designer)
    draft = designer.ok(designer.get(f"/apps/{app_id}/draft"))
    definition = draft["definition"]
    definition["assignment_rules"] = [
        {"key": "nobody", "label": "无人", "entity": "lead", "field": "assignee", "strategy": "round_robin",
         "candidates": {"role": "manager", "region": '"华南"'}, "fallback": ["rr"]},
        {"key": "rr", "label": "轮询", "entity": "lead", "field": "assignee", "strategy": "round_robin"},
    ]
    definition["triggers"] = [{"key": "route_lead", "label": "分配线索", "entity": "lead", "on": "created",
                               "actions": [{"type": "assign", "rule": "nobody"}]}]
    saved = designer.ok(designer.put(f"/apps/{app_id}/draft",
                                     json={"definition": definition, "version": draft["revision"]["version"]}))
    assert saved["diagnostics"] == [], saved["diagnostics"]
    before = _row_counts(platform)
    report = designer.ok(designer.post(f"/apps/{app_id}/triggers/route_lead/dry-run", json={"days": 1}))
    assert _row_counts(platform) == before
    (record,) = report["records"]
    (assign,) = record["actions"]
    assert assign["outcome"] == "would_run", assign["summary"]
    assert assign["changes"] == [{"field": "assignee", "before": None, "after": tenant.rep.id}]
    assert tenant.rep.name in assign["summary"]["en"] and "nobody" in assign["summary"]["en"]
