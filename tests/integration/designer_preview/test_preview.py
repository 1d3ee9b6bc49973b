"""The designer's phone preview: the rep's form rendered from an app's draft, and its state.

S1's six-card visit (card 4 ``pain_points`` unlocks when card 3 ``competitor`` is done)
previewed before it is ever published, a conditional field appearing and disappearing by
the posted values, a draft changed since publish, an invalid draft, access rules, and that
nothing is ever written. Each runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from builder.repository import RevisionRow
from runtime.platform import Platform
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install
from tests.unit.builder.fixtures import LOCKED_MESSAGE, visit_app_definition

APP = "store_visits"
BRAND = {
    "key": "competitor_brand",
    "type": "text",
    "label": {"zh": "竞品品牌", "en": "Competitor brand"},
    "visible_when": "competitor_note != null",
}


def _import(api: Api, definition: dict[str, Any]) -> dict[str, Any]:
    """Imports ``definition`` as a new draft revision; returns the API's answer."""
    answer = api.post("/apps", json=definition)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


def _with_brand(definition: dict[str, Any]) -> dict[str, Any]:
    """The visit app with a competitor-brand field shown only once the note is written."""
    doc = copy.deepcopy(definition)
    visit = next(e for e in doc["entities"] if e["key"] == "visit")
    visit["fields"].append(dict(BRAND))
    next(s for s in visit["steps"] if s["key"] == "competitor")["fields"].append(BRAND["key"])
    return doc


def _card(html: str, step: str) -> str:
    """The opening tag of a step card's <section>."""
    match = re.search(r'<section class="([^"]*)"[^>]*data-testid="card-' + re.escape(step) + '"', html)
    assert match, f"no card {step}"
    return match.group(0)


def _field_row(html: str, key: str) -> str:
    match = re.search(r'<div class="field[^"]*" data-field="' + re.escape(key) + r'"[^>]*>', html)
    assert match, f"no field {key}"
    return match.group(0)


def _state(client: FlaskClient, token: str, app_id: int, entity: str, data: dict[str, str]) -> dict[str, Any]:
    answer = client.post(
        f"/design/apps/{app_id}/preview/{entity}/state",
        data=data,
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()  # type: ignore[no-any-return]


def _steps(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in state["state"]["steps"]}


def row_counts(platform: Platform) -> dict[str, int]:
    """The number of rows of every table of the database."""
    with platform.engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
        return {name: connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one() for name in names}


# -- an unpublished draft ------------------------------------------------------------------


def test_an_unpublished_draft_shows_card_4_locked_and_unlocks_it_when_card_3_is_done(
    client: FlaskClient, tenant: Tenant, admin_api: Api, platform: Platform
) -> None:
    imported = _import(admin_api, visit_app_definition())
    app_id = imported["app"]["id"]
    assert imported["app"]["published_revision_id"] is None
    token = sign_in_as(client, tenant.admin)
    before = row_counts(platform)

    page = client.get(f"/design/apps/{app_id}/preview/visit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"预览 · 草稿 r{imported['revision']['number']}" in html
    assert re.findall(r'data-step="(\w+)"', html) == ["checkin", "shelf_photo", "competitor", "pain_points", "commitments", "next_follow_up"]
    assert " locked" in _card(html, "pain_points")
    assert "locked" not in _card(html, "competitor")
    assert LOCKED_MESSAGE["zh"] in html
    # Nothing can be saved: every Save is disabled, the form is marked for cairn.js, and
    # it points at no record endpoint.
    saves = re.findall(r"<button[^>]*data-save[^>]*>", html)
    assert len(saves) == 6 and all(" disabled" in b for b in saves)
    assert "data-preview" in html
    assert "/a/" not in html.split('id="record-form"', 1)[1].split(">", 1)[0]
    # Link pickers and uploads are shown, but inert.
    assert re.search(r'<div class="link-picker[^"]*"[^>]*\binert\b', html)
    assert re.search(r'<div class="uploads[^"]*"[^>]*\binert\b', html)

    empty = _state(client, token, app_id, "visit", {})
    assert empty["state"]["steps"][3]["key"] == "pain_points"
    assert _steps(empty)["pain_points"]["unlocked"] is False
    assert _steps(empty)["pain_points"]["locked_message"] == LOCKED_MESSAGE
    filled = _state(client, token, app_id, "visit", {"v-competitor_note": "竞品A占据主货架两层"})
    assert _steps(filled)["competitor"]["done"] is True
    assert _steps(filled)["pain_points"]["unlocked"] is True
    # An aggregate over children that don't exist is over an empty list.
    assert filled["state"]["formulas"]["commitment_count"] == 0

    assert row_counts(platform) == before, "the preview wrote to the database"


def test_a_visible_when_field_appears_and_disappears_by_the_posted_values(
    client: FlaskClient, tenant: Tenant, admin_api: Api
) -> None:
    app_id = _import(admin_api, _with_brand(visit_app_definition()))["app"]["id"]
    token = sign_in_as(client, tenant.admin)
    html = client.get(f"/design/apps/{app_id}/preview/visit").get_data(as_text=True)
    assert " hidden" in _field_row(html, "competitor_brand")
    shown = _state(client, token, app_id, "visit", {"v-competitor_note": "端架促销"})
    assert shown["state"]["fields"]["competitor_brand"]["visible"] is True
    hidden = _state(client, token, app_id, "visit", {"v-competitor_note": ""})
    assert hidden["state"]["fields"]["competitor_brand"]["visible"] is False


def test_stage_exit_criteria_come_with_their_labels(client: FlaskClient, tenant: Tenant, admin_api: Api) -> None:
    doc = visit_app_definition()
    opportunity = next(e for e in doc["entities"] if e["key"] == "opportunity")
    opportunity["stages"][0]["exit_when"] = "contact_channel != null   # 渠道已确认\nand amount > 0   # 金额已填"
    app_id = _import(admin_api, doc)["app"]["id"]
    token = sign_in_as(client, tenant.admin)
    html = client.get(f"/design/apps/{app_id}/preview/opportunity").get_data(as_text=True)
    assert "渠道已确认" in html and "✗" in html
    state = _state(client, token, app_id, "opportunity", {"v-contact_channel": "微信", "v-amount": ""})
    exit_ = state["state"]["stage"]["exit"]
    assert exit_["ok"] is False
    assert [(p["label"], p["held"]) for p in exit_["parts"]] == [("渠道已确认", True), ("金额已填", False)]
    # An unreadable value is reported next to its field, as on the real form.
    wrong = _state(client, token, app_id, "opportunity", {"v-amount": "很多"})
    assert "amount" in wrong["errors"]


def test_the_preview_state_is_the_published_forms_state(
    client: FlaskClient, tenant: Tenant, admin_api: Api
) -> None:
    """With no newer draft, the preview shows the published revision, and its state endpoint
    answers exactly what the real form's does."""
    published = install(admin_api, _with_brand(visit_app_definition()))
    app_id = published["revision"]["app_id"]
    token = sign_in_as(client, tenant.admin)
    page = client.get(f"/design/apps/{app_id}/preview/visit").get_data(as_text=True)
    assert f"预览 · 已发布 r{published['revision']['number']}" in page
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    for data in ({}, {"v-competitor_note": "有竞品"}, {"v-competitor_note": "有竞品", "v-transcript": "领导重视", "v-checkin_location__lat": "31.2", "v-checkin_location__lng": "121.4"}):
        real = client.post(f"/a/{APP}/visit/state", data=data, headers=headers)
        assert real.status_code == 200
        assert _state(client, token, app_id, "visit", data) == real.get_json()


# -- which revision ------------------------------------------------------------------------


def test_a_draft_changed_since_publish_is_previewed_not_the_published_form(
    client: FlaskClient, tenant: Tenant, admin_api: Api
) -> None:
    published = install(admin_api, visit_app_definition())
    app_id = published["revision"]["app_id"]
    draft = _import(admin_api, _with_brand(visit_app_definition()))["revision"]
    assert draft["number"] > published["revision"]["number"]
    token = sign_in_as(client, tenant.admin)
    html = client.get(f"/design/apps/{app_id}/preview/visit").get_data(as_text=True)
    assert f"预览 · 草稿 r{draft['number']}" in html
    assert 'data-field="competitor_brand"' in html
    assert "competitor_brand" in _state(client, token, app_id, "visit", {})["state"]["fields"]
    # The rep's real form still is the published one.
    sign_in_as(client, tenant.rep)
    assert 'data-field="competitor_brand"' not in client.get(f"/a/{APP}/visit/new").get_data(as_text=True)


def test_the_preview_shows_the_draft_the_designer_edits(
    client: FlaskClient, tenant: Tenant, admin_api: Api
) -> None:
    """Even a draft older than the published revision (left by a publish of another
    revision, e.g. a rollback): the preview and the designer's draft are the same revision."""
    stale = _import(admin_api, _with_brand(visit_app_definition()))
    published = install(admin_api, visit_app_definition())
    assert published["revision"]["number"] > stale["revision"]["number"]
    sign_in_as(client, tenant.admin)
    app_id = stale["app"]["id"]
    edited = client.get(f"/design/api/apps/{app_id}/draft").get_json()["revision"]["number"]
    html = client.get(f"/design/apps/{app_id}/preview/visit").get_data(as_text=True)
    assert f"预览 · 草稿 r{edited}" in html
    assert edited == stale["revision"]["number"]
    assert 'data-field="competitor_brand"' in html


def test_an_invalid_draft_lists_its_problems_instead_of_failing(
    client: FlaskClient, tenant: Tenant, admin_api: Api, platform: Platform
) -> None:
    app_id = install(admin_api, visit_app_definition())["revision"]["app_id"]
    broken = _with_brand(visit_app_definition())
    visit = next(e for e in broken["entities"] if e["key"] == "visit")
    next(f for f in visit["fields"] if f["key"] == "competitor_brand")["visible_when"] = "competitor_nte != null"
    with platform.session() as session:  # a draft in progress is stored with its problems
        number = session.scalar(sa.select(sa.func.max(RevisionRow.number)).where(RevisionRow.app_id == app_id)) + 1
        session.add(RevisionRow(workspace_id=tenant.workspace.id, app_id=app_id, number=number, status="draft",
                                definition=broken, created_at=platform.clock.now().replace(tzinfo=None)))
        session.commit()
    token = sign_in_as(client, tenant.admin)
    page = client.get(f"/design/apps/{app_id}/preview/visit")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'data-testid="preview-problems"' in html
    assert f"预览 · 草稿 r{number}" in html
    assert "competitor_nte" in html
    assert "$.entities[1].fields[7].visible_when" in html
    state = client.post(f"/design/apps/{app_id}/preview/visit/state", data={},
                        headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert state.status_code == 422
    body = state.get_json()
    assert body["code"] == "draft_invalid"
    assert [d["path"] for d in body["diagnostics"]] == ["$.entities[1].fields[7].visible_when"]
    assert body["diagnostics"][0]["code"].startswith("expression_")
    # in English too
    client.post("/locale", data={"locale": "en", "csrf_token": token, "next": "/"})
    english = client.get(f"/design/apps/{app_id}/preview/visit").get_data(as_text=True)
    assert f"Preview · draft r{number}" in english and "problem" in english


def test_an_entity_not_in_the_draft_is_404_with_a_clear_message(client: FlaskClient, tenant: Tenant, admin_api: Api) -> None:
    app_id = _import(admin_api, visit_app_definition())["app"]["id"]
    token = sign_in_as(client, tenant.admin)
    page = client.get(f"/design/apps/{app_id}/preview/invoice")
    assert page.status_code == 404
    assert "没有实体 invoice" in page.get_data(as_text=True)
    state = client.post(f"/design/apps/{app_id}/preview/invoice/state", headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert state.status_code == 404
    assert "invoice" in state.get_json()["detail"]


# -- who may look --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_non_admins_get_403(client: FlaskClient, tenant: Tenant, admin_api: Api, who: str) -> None:
    app_id = _import(admin_api, visit_app_definition())["app"]["id"]
    token = sign_in_as(client, getattr(tenant, who))
    assert client.get(f"/design/apps/{app_id}/preview/visit").status_code == 403
    state = client.post(f"/design/apps/{app_id}/preview/visit/state", headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert state.status_code == 403


def test_another_workspaces_app_is_404(
    client: FlaskClient, tenant: Tenant, other_tenant: Tenant, admin_api: Api
) -> None:
    theirs = _import(Api(client, other_tenant.admin_token), visit_app_definition())["app"]["id"]
    ours = _import(admin_api, visit_app_definition())["app"]["id"]
    token = sign_in_as(client, tenant.admin)
    assert client.get(f"/design/apps/{ours}/preview/visit").status_code == 200
    page = client.get(f"/design/apps/{theirs}/preview/visit")
    assert page.status_code == 404
    state = client.post(f"/design/apps/{theirs}/preview/visit/state", headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert state.status_code == 404


def test_the_state_endpoint_needs_the_csrf_token(client: FlaskClient, tenant: Tenant, admin_api: Api) -> None:
    app_id = _import(admin_api, visit_app_definition())["app"]["id"]
    sign_in_as(client, tenant.admin)
    assert client.post(f"/design/apps/{app_id}/preview/visit/state", data={}).status_code == 400


def test_a_posted_link_reaches_no_record_and_nothing_fails(client: FlaskClient, tenant: Tenant, admin_api: Api) -> None:
    """The link picker is inert, but a posted link id still evaluates: there are no records
    in a draft, so the linked record is null (never a query of a table the draft lacks)."""
    doc = visit_app_definition()
    visit = next(e for e in doc["entities"] if e["key"] == "visit")
    visit["fields"].append({"key": "customer_name", "type": "formula", "formula": "customer.name",
                            "label": {"zh": "客户名称", "en": "Customer name"}})
    visit["fields"].append({"key": "vip_note", "type": "text", "label": {"zh": "大客户备注", "en": "VIP note"},
                            "visible_when": "customer.region == \"华东\" or count(commitments) > 0"})
    app_id = _import(admin_api, doc)["app"]["id"]
    token = sign_in_as(client, tenant.admin)
    state = _state(client, token, app_id, "visit", {"v-customer": "5"})["state"]
    assert state["formulas"]["customer_name"] is None
    assert state["fields"]["vip_note"]["visible"] is False
