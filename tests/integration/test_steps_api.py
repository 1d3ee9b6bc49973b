"""S1/S2 through the REST API: a locked step refuses writes until its dependency is done."""

from __future__ import annotations

from datetime import datetime

from runtime.models import FileRow
from runtime.platform import Platform
from tests.integration.conftest import Api, Tenant, install
from tests.unit.builder.fixtures import LOCKED_MESSAGE, visit_app_definition

VISITS = "/apps/store_visits/entities/visit/records"


def _photo(platform: Platform, tenant: Tenant) -> int:
    with platform.session() as session:
        row = FileRow(
            workspace_id=tenant.workspace.id,
            storage_key=f"test/{tenant.workspace.id}/shelf.jpg",
            filename="shelf.jpg",
            content_type="image/jpeg",
            size=10,
            sha256="0" * 64,
            created_by=tenant.rep.id,
            created_at=datetime(2026, 11, 23, 9, 0),
        )
        session.add(row)
        session.commit()
        return row.id


def test_step_four_locked_until_competitor_step_done(
    admin_api: Api, rep_api: Api, tenant: Tenant, platform: Platform
) -> None:
    install(admin_api, visit_app_definition())
    customer = rep_api.post("/apps/store_visits/entities/customer/records", json={"name": "华联超市"})
    assert customer.status_code == 201, customer.get_json()
    visit = rep_api.post(VISITS, json={"customer": customer.get_json()["record"]["id"]})
    assert visit.status_code == 201, visit.get_json()
    visit_id = visit.get_json()["record"]["id"]

    steps = {s["key"]: s for s in rep_api.get(f"{VISITS}/{visit_id}/steps").get_json()["steps"]}
    assert steps["pain_points"]["unlocked"] is False
    assert steps["pain_points"]["locked_message"] == LOCKED_MESSAGE

    early = rep_api.patch(f"{VISITS}/{visit_id}", json={"version": 1, "transcript": "客户说领导重视"})
    assert early.status_code == 422
    assert early.mimetype == "application/problem+json"
    problem = early.get_json()
    assert problem["code"] == "step_locked"
    assert problem["detail_zh"] == LOCKED_MESSAGE["zh"]
    assert problem["detail"] == LOCKED_MESSAGE["en"]
    assert "transcript" in problem["errors"]

    # Cards 1–3: location, photo, competitor note.
    checkin = rep_api.post(
        f"{VISITS}/{visit_id}/steps/checkin/complete",
        json={"version": 1, "values": {"checkin_location": {"lat": 31.23, "lng": 121.47, "accuracy": 12}}},
    )
    assert checkin.status_code == 200, checkin.get_json()
    assert checkin.get_json()["completed_steps"] == ["checkin"]
    photo = rep_api.post(
        f"{VISITS}/{visit_id}/steps/shelf_photo/complete",
        json={"version": 2, "values": {"shelf_photos": [_photo(platform, tenant)]}},
    )
    assert photo.status_code == 200, photo.get_json()
    incomplete = rep_api.post(f"{VISITS}/{visit_id}/steps/competitor/complete", json={"version": 3, "values": {}})
    assert incomplete.status_code == 422 and incomplete.get_json()["code"] == "step_incomplete"
    competitor = rep_api.patch(f"{VISITS}/{visit_id}", json={"version": 3, "competitor_note": "竞品A占据端架两组"})
    assert competitor.status_code == 200, competitor.get_json()
    assert competitor.get_json()["completed_steps"] == ["competitor"]

    steps = {s["key"]: s for s in rep_api.get(f"{VISITS}/{visit_id}/steps").get_json()["steps"]}
    assert steps["competitor"]["done"] is True and steps["pain_points"]["unlocked"] is True

    later = rep_api.patch(f"{VISITS}/{visit_id}", json={"version": 4, "transcript": "客户说领导重视"})
    assert later.status_code == 200, later.get_json()
    assert later.get_json()["record"]["transcript"] == "客户说领导重视"
    assert "pain_points" in later.get_json()["completed_steps"]

    history = rep_api.get(f"{VISITS}/{visit_id}/history").get_json()["items"]
    transcript_attempts = [e for e in history if "transcript" in e["changes"]]
    assert [(e["outcome"], e["error_code"]) for e in transcript_attempts] == [
        ("refused", "step_locked"),
        ("ok", None),
    ]
    assert transcript_attempts[0]["actor_id"] == tenant.rep.id
    assert transcript_attempts[1]["changes"]["transcript"] == [None, "客户说领导重视"]


def test_stage_exit_criteria_name_the_failing_parts(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    base = "/apps/store_visits/entities/opportunity/records"
    opp = admin_api.post(base, json={"title": "华联 2027 框架合同", "contact_channel": "扫码"}).get_json()["record"]
    assert opp["stage"] == "contact"
    moved = admin_api.post(f"{base}/{opp['id']}/stage", json={"stage": "need_confirmation", "version": 1})
    assert moved.status_code == 200, moved.get_json()
    refused = admin_api.post(f"{base}/{opp['id']}/stage", json={"stage": "proposal", "version": 2})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "stage_exit_refused"
    parts = body["detail_data"]["exit"]["parts"]
    assert [p["held"] for p in parts] == [False, False]
    assert parts[0]["source"] == "budget_range != null"
    for name, role in (("王总", "老板"), ("李工", "技术")):
        contact = admin_api.post(
            "/apps/store_visits/entities/contact/records",
            json={"opportunity": opp["id"], "name": name, "role": role},
        )
        assert contact.status_code == 201, contact.get_json()
    admin_api.patch(f"{base}/{opp['id']}", json={"version": 2, "budget_range": "20-100万"})
    moved = admin_api.post(f"{base}/{opp['id']}/stage", json={"stage": "proposal", "version": 3})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["record"]["stage"] == "proposal"


def test_exit_criteria_parts_carry_their_comment_labels(admin_api: Api) -> None:
    import json
    from pathlib import Path

    template = json.loads((Path(__file__).parents[2] / "app_templates/store_sales/app.json").read_text(encoding="utf-8"))
    install(admin_api, template)
    base = "/apps/store_sales/entities/opportunity/records"
    opp = admin_api.post(base, json={"title": "框架合同", "contact_channel": "扫码"}).get_json()["record"]
    admin_api.post(f"{base}/{opp['id']}/stage", json={"stage": "need_confirmation", "version": 1})
    refused = admin_api.post(f"{base}/{opp['id']}/stage", json={"stage": "proposal", "version": 2}).get_json()
    parts = refused["detail_data"]["exit"]["parts"]
    assert [(p["label"], p["held"]) for p in parts] == [("预算范围已确认", False), ("至少两位决策人参与", False)]
    assert "预算范围已确认" in refused["detail_zh"] and "至少两位决策人参与" in refused["detail_zh"]


def test_template_prompts_budget_question_on_keywords(admin_api: Api) -> None:
    import json
    from pathlib import Path

    template = json.loads((Path(__file__).parents[2] / "app_templates/store_sales/app.json").read_text(encoding="utf-8"))
    install(admin_api, template)
    base = "/apps/store_sales/entities"
    customer = admin_api.post(f"{base}/customer/records", json={"name": "华联超市"}).get_json()["record"]
    visit = admin_api.post(f"{base}/visit/records", json={"customer": customer["id"], "competitor_note": "竞品A"}).get_json()["record"]
    plain = admin_api.patch(f"{base}/visit/records/{visit['id']}", json={"version": 1, "transcript": "客户关心价格"})
    assert plain.status_code == 200 and plain.get_json()["prompts"] == []
    signal = admin_api.patch(f"{base}/visit/records/{visit['id']}", json={"version": 2, "transcript": "客户说领导重视这个项目"})
    prompts = signal.get_json()["prompts"]
    assert [p["trigger"] for p in prompts] == ["budget_prompt"]
    assert "预算" in prompts[0]["message"]["zh"]
