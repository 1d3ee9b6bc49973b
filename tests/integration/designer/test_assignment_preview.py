"""The designer's assignment preview (S12) and "why this rep" on the record (SQLite and PostgreSQL).

The preview runs a draft rule through the real assignment service without writing; after
publishing, the real assignment of a new lead picks the previewed rep, and the record's
page and API show why — to the assignee and admins, not to a rep who can't read it.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import Flask

from runtime.automation.embedded import EmbeddedWorker
from runtime.platform import Platform
from runtime.workspaces import IdentityService
from tests.fixtures_designer import smart_app
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install
from tests.integration.designer.conftest import Designer


class World:
    """The installed app, two reps (east with two leads, south with none) and the designer."""

    def __init__(self, app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, designer: Designer) -> None:
        install(admin_api, smart_app())
        self.app, self.platform, self.tenant, self.api, self.designer = app, platform, tenant, admin_api, designer
        with platform.session() as session:
            identity = IdentityService(session, platform.clock)
            south = identity.create_user(tenant.workspace, "south-rep", name="南方", password="rep-password", region="华南")
            session.commit()
            self.south_id = south.id
        self.east_id = tenant.rep.id
        self.app_id = next(a["id"] for a in designer.ok(designer.get("/apps"))["items"] if a["key"] == "crm")
        for i in range(2):
            self.create({"name": f"east-{i}", "region": "华东", "owner": self.east_id})
        self.worker = EmbeddedWorker(platform)
        self.worker.drain()
        # The trigger assigned those two as well; give both back to east for a known load.
        for lead in self.leads():
            if lead["owner"] != self.east_id:
                self.set_owner(lead, self.east_id)

    def south_client(self) -> Any:
        """A browser client signed in as the south rep."""
        client = self.app.test_client()
        sign_in_as(client, SimpleNamespace(username="south-rep", role="rep"))
        return client

    def create(self, values: dict[str, Any]) -> dict[str, Any]:
        answer = self.api.post("/apps/crm/entities/lead/records", json=values)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["record"]  # type: ignore[no-any-return]

    def leads(self) -> list[dict[str, Any]]:
        return self.api.get("/apps/crm/entities/lead/records").get_json()["items"]  # type: ignore[no-any-return]

    def lead(self, record_id: int) -> dict[str, Any]:
        return self.api.get(f"/apps/crm/entities/lead/records/{record_id}").get_json()["record"]  # type: ignore[no-any-return]

    def set_owner(self, lead: dict[str, Any], owner: int) -> None:
        answer = self.api.patch(f"/apps/crm/entities/lead/records/{lead['id']}", json={"owner": owner, "version": lead["version"]})
        assert answer.status_code == 200, answer.get_json()

    def draft(self, region_weight: float) -> dict[str, Any]:
        definition = copy.deepcopy(self.designer.ok(self.designer.get(f"/apps/{self.app_id}/draft"))["definition"])
        definition["assignment_rules"][0]["weights"][0]["weight"] = region_weight
        return definition

    def preview(self, definition: dict[str, Any] | None, **body: Any) -> dict[str, Any]:
        return self.designer.ok(self.designer.post(
            f"/apps/{self.app_id}/assignment/smart/preview", json={"definition": definition, **body}
        ))

    def counts(self) -> dict[str, int]:
        tables = ["assignment_log", "assignment_cursors", "automation_outbox", "audit_events"]
        with self.platform.session() as session:
            out = {t: int(session.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) or 0) for t in tables}
            versions = session.execute(sa.text("select count(*) from automation_trigger_runs")).scalar_one()
        out["trigger_runs"] = int(versions)
        out["lead_versions"] = sum(lead["version"] for lead in self.leads())
        return out


def make_world(app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, designer: Designer) -> World:
    return World(app, platform, tenant, admin_api, designer)


def test_preview_follows_the_weights_and_writes_nothing(
    app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, designer: Designer
) -> None:
    world = make_world(app, platform, tenant, admin_api, designer)
    new = world.create({"name": "华东新客户", "region": "华东"})  # its assignment job waits in the outbox
    before = world.counts()
    strong = world.preview(world.draft(40), records=[new["id"]])
    (item,) = strong["items"]
    # east: region 40 + load 2 × -10 = 20; south: 0 → east, and the explanation says so.
    assert item["user_id"] == world.east_id and item["decided_by"] == "smart"
    scores = {s["user_id"]: s for s in item["steps"][0]["scores"]}
    assert scores[world.east_id]["total"] == 20 and scores[world.south_id]["total"] == 0
    assert {p["key"]: p["points"] for p in scores[world.east_id]["parts"]} == {"region": 40, "load": -20}
    assert item["explanation"]["zh"] == "「智能分配」(加权评分):区域匹配 +40,当前负载 -20 → 总分 20,最高"
    assert item["explanation"]["en"].endswith("Region match +40, Current load -20 → total 20, the highest")
    pool = {u["user_id"] for u in item["pool"]}
    assert pool == {world.east_id, world.south_id}
    assert {u["role"] for u in item["filtered_out"]} == {"admin", "manager"}
    assert all(u["why"]["zh"].startswith("角色是") for u in item["filtered_out"])

    weak = world.preview(world.draft(10), records=[new["id"]])
    assert weak["items"][0]["user_id"] == world.south_id  # east 10 - 20 = -10 < south 0
    recent = world.preview(world.draft(10), limit=2)
    assert [i["record_id"] for i in recent["items"]][0] == new["id"] and len(recent["items"]) == 2
    # A lead east already owns is judged like a new one: it is not its own load.
    owned = next(lead for lead in world.leads() if lead["owner"] == world.east_id)
    again = world.preview(world.draft(40), records=[owned["id"]])["items"][0]
    east_parts = next(s for s in again["steps"][0]["scores"] if s["user_id"] == world.east_id)["parts"]
    assert {p["key"]: p["points"] for p in east_parts} == {"region": 40, "load": -10}
    assert world.counts() == before  # no log row, no cursor, no outbox, no audit, no write


def test_preview_matches_the_assignment_after_publish_and_the_record_says_why(
    app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, designer: Designer
) -> None:
    world = make_world(app, platform, tenant, admin_api, designer)
    draft = designer.ok(designer.get(f"/apps/{world.app_id}/draft"))
    definition = world.draft(10)
    saved = designer.ok(designer.put(f"/apps/{world.app_id}/draft", json={"definition": definition, "version": draft["revision"]["version"]}))
    designer.ok(designer.post(f"/apps/{world.app_id}/publish", json={"version": saved["revision"]["version"]}))

    new = world.create({"name": "华东新客户", "region": "华东"})
    previewed = world.preview(None, records=[new["id"]])["items"][0]  # the stored (now published) draft
    assert previewed["user_id"] == world.south_id
    world.worker.drain()
    assert world.lead(new["id"])["owner"] == previewed["user_id"]

    # The assignee's record page shows why, in their language.
    south = world.south_client()
    page = south.get(f"/a/crm/lead/{new['id']}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'data-testid="why-assigned"' in page, page[page.find("<main"):][:3000]
    assert previewed["explanation"]["zh"] in page or previewed["explanation"]["en"] in page
    assert "区域匹配 +0" in page or "Region match +0" in page

    # The admin sees it too (page and API); the east rep can't read the record at all.
    admin_page = designer.client.get(f"/a/crm/lead/{new['id']}")
    assert admin_page.status_code == 200, admin_page.get_data(as_text=True)[-3000:]
    assert 'data-testid="why-assigned"' in admin_page.get_data(as_text=True)
    api_why = admin_api.get(f"/apps/crm/entities/lead/records/{new['id']}/assignment").get_json()["assignment"]
    assert api_why["assignee_id"] == world.south_id and api_why["explanation"] == previewed["explanation"]
    east = Designer(app, tenant.rep)
    assert east.client.get(f"/a/crm/lead/{new['id']}").status_code == 404
    east_api = Api(app.test_client(), tenant.rep_token)
    assert east_api.get(f"/apps/crm/entities/lead/records/{new['id']}/assignment").status_code == 404


def test_why_is_for_the_assignee_and_managers_only(
    app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, designer: Designer
) -> None:
    world = make_world(app, platform, tenant, admin_api, designer)
    new = world.create({"name": "东", "region": "华东"})
    world.worker.drain()
    assert world.lead(new["id"])["owner"] == world.east_id  # region 40 - 20 beats 0
    rep_api = Api(app.test_client(), tenant.rep_token)
    mine = rep_api.get(f"/apps/crm/entities/lead/records/{new['id']}/assignment").get_json()["assignment"]
    assert mine["assignee_id"] == world.east_id and "总分 20" in mine["explanation"]["zh"]
    manager_api = Api(app.test_client(), tenant.manager_token)
    assert manager_api.get(f"/apps/crm/entities/lead/records/{new['id']}/assignment").get_json()["assignment"] is not None
    # Given to south by hand, the record is readable by south, but the logged "why" is east's.
    world.set_owner(world.lead(new["id"]), world.south_id)
    south = world.south_client()
    page = south.get(f"/a/crm/lead/{new['id']}")
    assert page.status_code == 200 and 'data-testid="why-assigned"' not in page.get_data(as_text=True)


def test_preview_refusals(
    app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, designer: Designer,
    rep_designer: Designer, other_designer: Designer,
) -> None:
    world = make_world(app, platform, tenant, admin_api, designer)
    path = f"/apps/{world.app_id}/assignment/smart/preview"
    assert rep_designer.post(path, json={}).status_code == 403
    assert other_designer.post(path, json={}).status_code == 404
    assert designer.post(f"/apps/{world.app_id}/assignment/nope/preview", json={}).status_code == 404
    assert designer.post(path, json={"limit": 0}).status_code == 422
    broken = world.draft(40)
    broken["assignment_rules"][0]["strategy"] = "weighted"
    broken["assignment_rules"][0]["weights"] = []
    answer = designer.post(path, json={"definition": broken})
    assert answer.status_code == 422 and answer.get_json()["code"] == "rule_invalid"
    assert designer.post(path, json={"records": [999999]}).status_code == 404
    unpublished = world.draft(40)  # a factor on a field the draft adds but the published app lacks
    unpublished["entities"][0]["fields"].append({"key": "industry", "type": "text", "label": {"zh": "行业", "en": "Industry"}})
    unpublished["assignment_rules"][0]["weights"][0]["expression"] = 'industry == "retail"'
    refused = designer.post(path, json={"definition": unpublished})
    assert refused.status_code == 422 and refused.get_json()["code"] == "rule_invalid", refused.get_json()
    assert "can't run as configured" in refused.get_json()["detail"], refused.get_json()
    # The same under /api/v1, admins only.
    v1 = admin_api.post("/apps/crm/assignment/smart/preview", json={"limit": 3})
    assert v1.status_code == 200 and len(v1.get_json()["items"]) == 2
    assert Api(app.test_client(), tenant.rep_token).post("/apps/crm/assignment/smart/preview", json={}).status_code == 403


def test_candidate_expressions_are_checked_with_the_candidate_in_scope(
    app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, designer: Designer
) -> None:
    install(admin_api, smart_app())
    app_id = next(a["id"] for a in designer.ok(designer.get("/apps"))["items"] if a["key"] == "crm")
    check = f"/apps/{app_id}/expressions/check"
    as_value = designer.ok(designer.post(check, json={"entity": "lead", "expression": "me().load * 2", "kind": "candidate_value"}))
    assert as_value["ok"] is True and as_value["type"] == "integer"
    condition = designer.ok(designer.post(check, json={"entity": "lead", "expression": "me().history_matches > 0", "kind": "candidate_condition"}))
    assert condition["ok"] is True
    plain = designer.ok(designer.post(check, json={"entity": "lead", "expression": "me().load > 0", "kind": "condition"}))
    assert plain["ok"] is False  # outside assignment, me() has no load
