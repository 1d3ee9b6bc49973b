"""Hostile: what a parent derives from its children stays true after every child write.

A stored ``count(commitments)`` formula and a step whose ``done_when`` counts children are
recomputed in the child's transaction — on create, re-link (old and new parent) and
delete — as the system (not limited by the writer's row permissions); a step completed
that way fires its ``step_completed`` trigger.
"""

from __future__ import annotations

from typing import Any

from runtime.automation.embedded import EmbeddedWorker
from runtime.platform import Platform
from tests.integration.conftest import Api, install

APP = "visits"
VISITS = f"/apps/{APP}/entities/visit/records"
COMMITMENTS = f"/apps/{APP}/entities/commitment/records"


def visits_app() -> dict[str, Any]:
    """Visits with commitments; the visit counts them and its last card waits for one."""
    return {
        "format": "cairn.app/1",
        "key": APP,
        "label": {"zh": "拜访", "en": "Visits"},
        "entities": [
            {
                "key": "visit",
                "label": {"zh": "拜访", "en": "Visit"},
                "title_field": "place",
                "fields": [
                    {"key": "place", "type": "text", "label": {"zh": "地点", "en": "Place"}},
                    {"key": "commitment_count", "type": "formula", "formula": "count(commitments)",
                     "label": {"zh": "承诺数", "en": "Commitments"}},
                ],
                "steps": [
                    {"key": "commitments", "label": {"zh": "客户承诺", "en": "Commitments"},
                     "done_when": "count(commitments) >= 1"},
                ],
                "permissions": [
                    {"role": "rep", "read_when": "owner == me()", "write_when": "owner == me()"},
                ],
            },
            {
                "key": "commitment",
                "label": {"zh": "承诺", "en": "Commitment"},
                "title_field": "content",
                "fields": [
                    {"key": "visit", "type": "link", "target": "visit", "related_name": "commitments",
                     "label": {"zh": "拜访", "en": "Visit"}},
                    {"key": "content", "type": "text", "label": {"zh": "内容", "en": "Content"}},
                ],
                "permissions": [
                    {"role": "rep", "read_when": "owner == me()", "write_when": "owner == me()"},
                ],
            },
        ],
        "triggers": [
            {"key": "commitments_done", "label": {"zh": "已有承诺", "en": "Commitment made"},
             "entity": "visit", "on": {"type": "step_completed", "step": "commitments"},
             "actions": [{"type": "notify", "channel": "inbox", "to": "owner", "message": "拜访 {place} 已获得承诺"}]},
        ],
    }  # fmt: skip


def _visit(api: Api, visit_id: int) -> dict[str, Any]:
    return api.get(f"{VISITS}/{visit_id}").get_json()["record"]  # type: ignore[no-any-return]


def _runs(api: Api, platform: Platform, visit_id: int) -> list[dict[str, Any]]:
    """The runs of the visit's step_completed trigger, after the worker ran what is due."""
    EmbeddedWorker(platform).drain()
    items = api.get(f"/apps/{APP}/automation/runs", query_string={"trigger": "commitments_done"}).get_json()["items"]
    return [i for i in items if i["record_id"] == visit_id]


def test_adding_and_removing_a_child_keeps_the_parent_true(admin_api: Api, platform: Platform) -> None:
    install(admin_api, visits_app())
    visit = admin_api.post(VISITS, json={"place": "华联"}).get_json()["record"]
    assert visit["commitment_count"] == 0 and visit["steps_done_at"]["commitments"] is None

    child = admin_api.post(COMMITMENTS, json={"visit": visit["id"], "content": "下周试点"})
    assert child.status_code == 201, child.get_json()
    stored = _visit(admin_api, visit["id"])
    assert stored["commitment_count"] == 1
    assert stored["steps_done_at"]["commitments"] is not None
    assert stored["version"] == 2  # the parent's write is real: optimistic locking stays honest
    assert len(_runs(admin_api, platform, visit["id"])) == 1  # its step_completed trigger fired
    listed = admin_api.get(VISITS, query_string={"where": "commitment_count == 1 and steps.commitments.done"})
    assert [r["id"] for r in listed.get_json()["items"]] == [visit["id"]]
    history = admin_api.get(f"{VISITS}/{visit['id']}/history").get_json()["items"]
    assert history[-1]["actor_id"] is None and history[-1]["changes"]["commitment_count"] == [0, 1]

    deleted = admin_api.delete(f"{COMMITMENTS}/{child.get_json()['record']['id']}")
    assert deleted.status_code in (200, 204), deleted.get_data(as_text=True)
    stored = _visit(admin_api, visit["id"])
    assert stored["commitment_count"] == 0
    assert stored["steps_done_at"]["commitments"] is None
    history = admin_api.get(f"{VISITS}/{visit['id']}/history").get_json()["items"]
    assert "step_reopened" in [e["action"] for e in history]


def test_relinking_a_child_updates_the_old_and_the_new_parent(admin_api: Api, platform: Platform) -> None:
    install(admin_api, visits_app())
    first = admin_api.post(VISITS, json={"place": "一店"}).get_json()["record"]
    second = admin_api.post(VISITS, json={"place": "二店"}).get_json()["record"]
    child = admin_api.post(COMMITMENTS, json={"visit": first["id"], "content": "补货"}).get_json()["record"]
    moved = admin_api.patch(f"{COMMITMENTS}/{child['id']}", json={"visit": second["id"], "version": 1})
    assert moved.status_code == 200, moved.get_json()
    assert _visit(admin_api, first["id"])["commitment_count"] == 0
    assert _visit(admin_api, first["id"])["steps_done_at"]["commitments"] is None
    assert _visit(admin_api, second["id"])["commitment_count"] == 1
    assert len(_runs(admin_api, platform, second["id"])) == 1


def test_derived_state_does_not_depend_on_the_writers_row_permissions(
    admin_api: Api, rep_api: Api
) -> None:
    install(admin_api, visits_app())
    visit = admin_api.post(VISITS, json={"place": "共享"}).get_json()["record"]
    theirs = admin_api.post(COMMITMENTS, json={"visit": visit["id"], "content": "管理员的承诺"})
    assert theirs.status_code == 201
    # The admin changes the place: the count still includes every commitment, whoever
    # wrote and whoever could read them.
    admin_api.patch(f"{VISITS}/{visit['id']}", json={"place": "共享店", "version": 2})
    assert _visit(admin_api, visit["id"])["commitment_count"] == 1
    mine = rep_api.post(VISITS, json={"place": "我的"}).get_json()["record"]
    rep_api.patch(f"{VISITS}/{mine['id']}", json={"place": "我的店", "version": 1})
    admin_api.post(COMMITMENTS, json={"visit": mine["id"], "content": "别人写的"})
    # The rep can't read the admin's commitment, yet their own write keeps the stored count.
    again = rep_api.patch(f"{VISITS}/{mine['id']}", json={"place": "我的一店", "version": 3})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["record"]["commitment_count"] == 1
    assert again.get_json()["record"]["steps_done_at"]["commitments"] is not None


def test_a_grandparent_formula_follows_a_grandchild(admin_api: Api) -> None:
    definition = visits_app()
    definition["entities"].insert(0, {
        "key": "customer",
        "label": {"zh": "客户", "en": "Customer"},
        "title_field": "name",
        "fields": [
            {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
            {"key": "total_commitments", "type": "formula", "formula": "sum(visits.commitment_count)",
             "label": {"zh": "承诺总数", "en": "Total commitments"}},
        ],
    })  # fmt: skip
    definition["entities"][1]["fields"].append(
        {"key": "customer", "type": "link", "target": "customer", "related_name": "visits",
         "label": {"zh": "客户", "en": "Customer"}}
    )  # fmt: skip
    install(admin_api, definition)
    customers = f"/apps/{APP}/entities/customer/records"
    customer = admin_api.post(customers, json={"name": "华联"}).get_json()["record"]
    visit = admin_api.post(VISITS, json={"place": "一店", "customer": customer["id"]}).get_json()["record"]
    for content in ("试点", "补货"):
        created = admin_api.post(COMMITMENTS, json={"visit": visit["id"], "content": content})
        assert created.status_code == 201, created.get_json()
    stored = admin_api.get(f"{customers}/{customer['id']}").get_json()["record"]
    assert stored["total_commitments"] == 2
