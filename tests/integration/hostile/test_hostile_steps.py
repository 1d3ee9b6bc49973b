"""Hostile: a step card's required / required_when fields decide whether the step is done.

Saving part of a card stays allowed (the step is just not done and later cards stay
locked); completing the step — ``…/steps/<key>/complete`` or the card's own submit button
in the HTML form — is refused naming each unmet field; a done step whose data stops
satisfying it reopens on the next write.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.integration.conftest import Api, install
from tests.integration.hostile.pages import browser, csrf

APP = "inspections"
RECORDS = f"/apps/{APP}/entities/inspection/records"


def inspection_app() -> dict[str, Any]:
    """An inspection: a check card (defect → description required), then a follow-up card."""
    return {
        "format": "cairn.app/1",
        "key": APP,
        "label": {"zh": "巡检", "en": "Inspections"},
        "entities": [
            {
                "key": "inspection",
                "label": {"zh": "巡检", "en": "Inspection"},
                "title_field": "site",
                "fields": [
                    {"key": "site", "type": "text", "label": {"zh": "门店", "en": "Site"}},
                    {"key": "has_defect", "type": "boolean", "required": True,
                     "label": {"zh": "发现问题", "en": "Defect found"}},
                    {"key": "defect_description", "type": "long_text", "required_when": "has_defect == true",
                     "label": {"zh": "问题描述", "en": "Defect description"}},
                    {"key": "followup_note", "type": "text", "label": {"zh": "跟进说明", "en": "Follow-up note"}},
                ],
                "steps": [
                    {"key": "check", "label": {"zh": "检查", "en": "Check"},
                     "fields": ["has_defect", "defect_description"], "done_when": "has_defect != null"},
                    {"key": "followup", "label": {"zh": "跟进", "en": "Follow-up"}, "fields": ["followup_note"],
                     "unlock_when": "steps.check.done",
                     "locked_message": {"zh": "请先完成检查", "en": "Finish the check first"}},
                ],
                "stages": [
                    {"key": "open", "label": {"zh": "进行中", "en": "Open"}, "exit_when": "steps.check.done  # 检查完成"},
                    {"key": "finished", "label": {"zh": "已完成", "en": "Finished"}},
                ],
            }
        ],
    }  # fmt: skip


def _steps(api: Api, record_id: int) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in api.get(f"{RECORDS}/{record_id}/steps").get_json()["steps"]}


def test_a_partial_card_saves_but_the_step_stays_open(admin_api: Api) -> None:
    install(admin_api, inspection_app())
    created = admin_api.post(RECORDS, json={"site": "华联", "has_defect": True})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["completed_steps"] == []
    record = created.get_json()["record"]
    patched = admin_api.patch(f"{RECORDS}/{record['id']}", json={"site": "华联一店", "version": 1})
    assert patched.status_code == 200, patched.get_json()
    assert (patched.get_json()["record"].get("steps_done_at") or {}).get("check") is None
    steps = _steps(admin_api, record["id"])
    assert steps["check"]["done"] is False and steps["followup"]["unlocked"] is False
    locked = admin_api.patch(f"{RECORDS}/{record['id']}", json={"followup_note": "已整改", "version": 2})
    assert locked.status_code == 422 and locked.get_json()["code"] == "step_locked"


def test_completing_a_step_names_each_unmet_field(admin_api: Api) -> None:
    install(admin_api, inspection_app())
    record = admin_api.post(RECORDS, json={"site": "如意"}).get_json()["record"]
    refused = admin_api.post(
        f"{RECORDS}/{record['id']}/steps/check/complete", json={"version": 1, "values": {"has_defect": True}}
    )
    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "step_incomplete"
    assert set(body["errors"]) == {"defect_description"}
    assert "问题描述" in body["detail_zh"] and "Defect description" in body["detail"]
    assert admin_api.get(f"{RECORDS}/{record['id']}").get_json()["record"]["has_defect"] is None

    done = admin_api.post(
        f"{RECORDS}/{record['id']}/steps/check/complete",
        json={"version": 1, "values": {"has_defect": True, "defect_description": "冷柜温度偏高"}},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["completed_steps"] == ["check"]


def test_the_html_card_submit_refuses_an_incomplete_step(app: Flask, admin_api: Api) -> None:
    install(admin_api, inspection_app())
    record = admin_api.post(RECORDS, json={"site": "表单门店"}).get_json()["record"]
    client = browser(app, "alpha-admin", "admin-password")
    edit = f"/a/{APP}/inspection/{record['id']}/edit"
    token = csrf(client, edit)
    posted = client.post(
        edit, data={"csrf_token": token, "_version": "1", "v-has_defect": "true", "_step": "check"}
    )
    assert posted.status_code == 422
    page = posted.get_data(as_text=True)
    assert "步骤「检查」尚未完成" in page and "问题描述" in page
    assert "才能完成「检查」" in page  # next to the field, labelled, in the reader's language
    assert _steps(admin_api, record["id"])["check"]["done"] is False
    assert admin_api.get(f"{RECORDS}/{record['id']}").get_json()["record"]["has_defect"] is None

    saved = client.post(
        edit,
        data={"csrf_token": token, "_version": "1", "v-has_defect": "true",
              "v-defect_description": "货架缺货", "_step": "check"},
    )  # fmt: skip
    assert saved.status_code == 302
    assert _steps(admin_api, record["id"])["check"]["done"] is True


def test_clearing_a_done_steps_data_reopens_it(admin_api: Api) -> None:
    install(admin_api, inspection_app())
    created = admin_api.post(RECORDS, json={"site": "华联", "has_defect": False})
    assert created.get_json()["completed_steps"] == ["check"]
    record_id = created.get_json()["record"]["id"]
    follow = admin_api.patch(f"{RECORDS}/{record_id}", json={"followup_note": "无需跟进", "version": 1})
    assert follow.status_code == 200, follow.get_json()

    reopened = admin_api.patch(f"{RECORDS}/{record_id}", json={"has_defect": True, "version": 2})
    assert reopened.status_code == 200, reopened.get_json()
    assert (reopened.get_json()["record"].get("steps_done_at") or {}).get("check") is None
    steps = _steps(admin_api, record_id)
    assert steps["check"]["done"] is False and steps["followup"]["unlocked"] is False
    history = admin_api.get(f"{RECORDS}/{record_id}/history").get_json()["items"]
    assert [e["changes"] for e in history if e["action"] == "step_reopened"] == [
        {"_done_check": [created.get_json()["record"]["steps_done_at"]["check"], None]}
    ]

    # The later card locks for new writes but keeps its data.
    locked = admin_api.patch(f"{RECORDS}/{record_id}", json={"followup_note": "改写", "version": 3})
    assert locked.status_code == 422 and locked.get_json()["code"] == "step_locked"
    assert admin_api.get(f"{RECORDS}/{record_id}").get_json()["record"]["followup_note"] == "无需跟进"
    # steps.check.done is false wherever it is read: exit criteria and SQL filters.
    move = admin_api.post(f"{RECORDS}/{record_id}/stage", json={"stage": "finished", "version": 3})
    assert move.status_code == 422 and move.get_json()["code"] == "stage_exit_refused"
    listed = admin_api.get(RECORDS, query_string={"where": "steps.check.done"}).get_json()["items"]
    assert listed == []
