"""Hostile: stages can't be skipped on any route (API create / PATCH / …/stage, HTML form).

A record starts in the first stage; a forward move passes the exit criteria of every stage
it leaves on the way unless the stage left lists the target in ``allow_skip_to``; going
back needs ``allow_back`` on the stage left; every move is in the stage history.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from runtime.models import StageHistory
from runtime.platform import Platform
from tests.integration.conftest import Api, install
from tests.integration.hostile.pages import browser, csrf

APP = "pipeline"
DEALS = f"/apps/{APP}/entities/deal/records"
def pipeline_app(*, shortcuts: bool = False) -> dict[str, Any]:
    """Deals: planned → proposal → negotiation → closed, and lost.

    With ``shortcuts`` planned may skip to lost, and negotiation and lost may move back.
    """
    definition = {
        "format": "cairn.app/1",
        "key": APP,
        "label": {"zh": "商机", "en": "Deals"},
        "entities": [
            {
                "key": "deal",
                "label": {"zh": "商机", "en": "Deal"},
                "title_field": "name",
                "fields": [
                    {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
                    {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}},
                    {"key": "proposal_sent", "type": "boolean", "label": {"zh": "方案已发送", "en": "Proposal sent"}},
                    {"key": "signed", "type": "boolean", "label": {"zh": "已签约", "en": "Signed"}},
                ],
                "stages": [
                    {"key": "planned", "label": {"zh": "计划", "en": "Planned"},
                     "exit_when": "amount != null  # 金额已填写"},
                    {"key": "proposal", "label": {"zh": "方案", "en": "Proposal"},
                     "exit_when": "proposal_sent == true  # 方案已发送 | Proposal sent"},
                    {"key": "negotiation", "label": {"zh": "谈判", "en": "Negotiation"},
                     "exit_when": "signed == true  # 合同已签署"},
                    {"key": "closed", "label": {"zh": "成交", "en": "Closed"}},
                    {"key": "lost", "label": {"zh": "丢单", "en": "Lost"}},
                ],
            }
        ],
    }  # fmt: skip
    if shortcuts:
        stages = definition["entities"][0]["stages"]  # type: ignore[index]
        stages[0]["allow_skip_to"] = ["lost"]
        stages[2]["allow_back"] = True
        stages[4]["allow_back"] = True
    return definition


def _history(platform: Platform, record_id: int) -> list[tuple[str | None, str]]:
    with platform.session() as session:
        rows = session.scalars(
            sa.select(StageHistory)
            .where(StageHistory.entity_key == "deal", StageHistory.record_id == record_id)
            .order_by(StageHistory.id)
        )
        return [(r.from_stage, r.stage) for r in rows]


def _deals(api: Api) -> list[dict[str, Any]]:
    return list(api.get(DEALS).get_json()["items"])


def test_create_cannot_start_past_an_unmet_exit(admin_api: Api, platform: Platform) -> None:
    install(admin_api, pipeline_app())
    skipped = admin_api.post(DEALS, json={"name": "跳级", "stage": "closed"})
    assert skipped.status_code == 422, skipped.get_json()
    body = skipped.get_json()
    assert body["code"] == "stage_exit_refused"
    assert body["detail_data"]["stage"] == "planned"
    assert [p["label"] for p in body["detail_data"]["exit"]["parts"]] == ["金额已填写"]
    # The first stage's exit holds, the second's does not: the walk stops there.
    walked = admin_api.post(DEALS, json={"name": "跳级", "amount": "100", "stage": "closed"})
    assert walked.status_code == 422 and walked.get_json()["detail_data"]["stage"] == "proposal"
    assert _deals(admin_api) == []

    second = admin_api.post(DEALS, json={"name": "正常", "amount": "100", "stage": "proposal"})
    assert second.status_code == 201, second.get_json()
    record = second.get_json()["record"]
    assert record["stage"] == "proposal"
    assert _history(platform, record["id"]) == [(None, "planned"), ("planned", "proposal")]


def test_a_forward_walk_checks_every_stage_it_leaves(admin_api: Api, platform: Platform) -> None:
    install(admin_api, pipeline_app())
    deal = admin_api.post(DEALS, json={"name": "华联", "amount": "5000"}).get_json()["record"]
    refused = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "closed", "version": 1})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "stage_exit_refused"
    assert body["detail_data"]["stage"] == "proposal"
    assert [(p["label"], p["label_en"], p["held"]) for p in body["detail_data"]["exit"]["parts"]] == [
        ("方案已发送", "Proposal sent", False)
    ]
    assert "方案" in body["detail_zh"] and "方案已发送" in body["detail_zh"]
    assert "Proposal sent" in body["detail"] and "方案已发送" not in body["detail"]
    # The same skip as a PATCH of the stage field.
    patched = admin_api.patch(f"{DEALS}/{deal['id']}", json={"stage": "negotiation", "version": 1})
    assert patched.status_code == 422 and patched.get_json()["detail_data"]["stage"] == "proposal"
    assert admin_api.get(f"{DEALS}/{deal['id']}").get_json()["record"]["stage"] == "planned"

    # Once every stage on the way is satisfied the walk goes through, recorded as one move.
    admin_api.patch(f"{DEALS}/{deal['id']}", json={"proposal_sent": True, "signed": True, "version": 1})
    moved = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "closed", "version": 2})
    assert moved.status_code == 200, moved.get_json()
    assert _history(platform, deal["id"]) == [(None, "planned"), ("planned", "closed")]


def test_the_html_stage_form_cannot_skip(app: Flask, admin_api: Api) -> None:
    install(admin_api, pipeline_app())
    deal = admin_api.post(DEALS, json={"name": "表单", "amount": "10"}).get_json()["record"]
    client = browser(app, "alpha-admin", "admin-password")
    base = f"/a/{APP}/deal/{deal['id']}"
    token = csrf(client, base + "/edit")
    posted = client.post(base + "/stage", data={"csrf_token": token, "stage": "closed", "_version": "1"})
    assert posted.status_code == 302
    page = client.get(base + "/edit").get_data(as_text=True)
    assert "未满足阶段「方案」的退出条件" in page and "方案已发送" in page
    assert admin_api.get(f"{DEALS}/{deal['id']}").get_json()["record"]["stage"] == "planned"

def test_moving_back_needs_allow_back(admin_api: Api, platform: Platform) -> None:
    install(admin_api, pipeline_app())
    deal = admin_api.post(DEALS, json={"name": "回退", "amount": "10", "stage": "proposal"}).get_json()["record"]
    back = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "planned", "version": 1})
    assert back.status_code == 422
    body = back.get_json()
    assert body["code"] == "stage_move_refused"
    assert "方案" in body["detail_zh"] and "计划" in body["detail_zh"]
    assert "Proposal" in body["detail"] and "Planned" in body["detail"]
    patched = admin_api.patch(f"{DEALS}/{deal['id']}", json={"stage": "planned", "version": 1})
    assert patched.status_code == 422 and patched.get_json()["code"] == "stage_move_refused"
    assert admin_api.get(f"{DEALS}/{deal['id']}").get_json()["record"]["stage"] == "proposal"


def test_allow_back_lets_a_stage_be_left_backwards(admin_api: Api, platform: Platform) -> None:
    install(admin_api, pipeline_app(shortcuts=True))
    deal = admin_api.post(DEALS, json={"name": "回退", "amount": "10", "stage": "proposal"}).get_json()["record"]
    admin_api.patch(f"{DEALS}/{deal['id']}", json={"proposal_sent": True, "version": 1})
    forward = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "negotiation", "version": 2})
    assert forward.status_code == 200, forward.get_json()
    allowed = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "proposal", "version": 3})
    assert allowed.status_code == 200, allowed.get_json()
    assert allowed.get_json()["record"]["stage"] == "proposal"
    assert _history(platform, deal["id"]) == [
        (None, "planned"), ("planned", "proposal"), ("proposal", "negotiation"), ("negotiation", "proposal"),
    ]
    # proposal itself does not allow going back.
    again = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "planned", "version": 4})
    assert again.status_code == 422 and again.get_json()["code"] == "stage_move_refused"


def test_allow_skip_to_checks_only_the_stage_left(admin_api: Api, platform: Platform) -> None:
    install(admin_api, pipeline_app(shortcuts=True))
    deal = admin_api.post(DEALS, json={"name": "丢单"}).get_json()["record"]
    unmet = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "lost", "version": 1})
    assert unmet.status_code == 422 and unmet.get_json()["detail_data"]["stage"] == "planned"
    admin_api.patch(f"{DEALS}/{deal['id']}", json={"amount": "1", "version": 1})
    lost = admin_api.post(f"{DEALS}/{deal['id']}/stage", json={"stage": "lost", "version": 2})
    assert lost.status_code == 200, lost.get_json()  # proposal / negotiation exits not needed
    assert _history(platform, deal["id"]) == [(None, "planned"), ("planned", "lost")]


def test_stage_options_are_validated(admin_api: Api) -> None:
    definition = pipeline_app(shortcuts=True)
    definition["entities"][0]["stages"][0]["allow_skip_to"] = ["nowhere"]
    definition["entities"][0]["stages"][2]["allow_skip_to"] = ["planned"]
    refused = admin_api.post("/apps", json=definition)
    assert refused.status_code == 422, refused.get_json()
    paths = {p["path"]: p["code"] for p in refused.get_json()["problems"]}
    assert paths == {
        "$.entities[0].stages[0].allow_skip_to[0]": "unknown_reference",
        "$.entities[0].stages[2].allow_skip_to[0]": "invalid_option",
    }



def test_automation_and_hooks_cannot_name_the_stage(admin_api: Api) -> None:
    """Automation writes go through the record service, but none may even name ``stage``:
    a trigger's set_field, create_record values and webhook field map are refused when
    the definition is imported, so stage moves stay with the checked move routes."""
    definition = pipeline_app()
    definition["triggers"] = [
        {"key": "rush", "label": {"zh": "直接成交", "en": "Rush"}, "entity": "deal",
         "on": {"type": "field_changed", "field": "name", "to": "rush"},
         "actions": [{"type": "set_field", "field": "stage", "value": '"closed"'}]},
        {"key": "clone", "label": {"zh": "复制", "en": "Clone"}, "entity": "deal",
         "on": {"type": "field_changed", "field": "name", "to": "clone"},
         "actions": [{"type": "create_record", "entity": "deal",
                      "values": {"name": '"cloned"', "stage": '"closed"'}}]},
        {"key": "intake", "label": {"zh": "接入", "en": "Intake"}, "entity": "deal",
         "on": {"type": "webhook", "fields": {"name": "name", "stage": "stage"}},
         "actions": [{"type": "notify", "channel": "inbox", "to": "owner", "message": "新商机"}]},
    ]  # fmt: skip
    refused = admin_api.post("/apps", json=definition)
    assert refused.status_code == 422
    paths = {p["path"] for p in refused.get_json()["problems"]}
    assert paths == {
        "$.triggers[0].actions[0].field",
        "$.triggers[1].actions[0].values.stage",
        "$.triggers[2].on.fields.stage",
    }
