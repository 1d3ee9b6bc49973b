"""Generated record forms: a widget per field type, escaping, saving, steps, prompts."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.apps import load_published
from runtime.context import Actor, CallContext
from runtime.models import User, Workspace
from runtime.records import RecordService
from tests.unit.builder.fixtures import LOCKED_MESSAGE
from tests.unit.web.conftest import csrf_token
from tests.unit.web.support import (
    S8_MESSAGE,
    XSS,
    Tenant,
    every_type_app,
    platform_of,
    publish,
    visit_app,
    xss_app,
)

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
JSON = {"Accept": "application/json"}


def _service(app: Flask, tenant: Tenant, key: str, user: User) -> tuple[RecordService, Any]:
    platform = platform_of(app)
    session = platform.session()
    ws = session.get(Workspace, tenant.workspace.id)
    assert ws is not None
    ctx = CallContext(session=session, workspace=ws, actor=Actor.of(user), clock=platform.clock)
    app_ = load_published(session, tenant.workspace.id, key)
    return RecordService(ctx, app_, listeners=platform.listeners), session


def _create(app: Flask, tenant: Tenant, key: str, entity: str, values: dict[str, Any], user: User | None = None) -> dict[str, Any]:
    service, session = _service(app, tenant, key, user or tenant.rep)
    try:
        return service.create(entity, values).record
    finally:
        session.close()


def _get(app: Flask, tenant: Tenant, key: str, entity: str, record_id: int) -> dict[str, Any]:
    service, session = _service(app, tenant, key, tenant.admin)
    try:
        return service.get(entity, record_id)
    finally:
        session.close()


def test_labels_help_and_options_from_metadata_are_escaped(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, xss_app())
    record = _create(app, tenant, "xss", "thing", {"name": XSS, "kind": XSS})
    client = client_for("acme-rep")
    pages = [
        "/a/",
        "/a/xss/thing/",
        "/a/xss/thing/new",
        f"/a/xss/thing/{record['id']}/edit",
        f"/a/xss/thing/{record['id']}",
        "/",
    ]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        assert "<img src=x" not in html, path
        assert ESCAPED in html, path
    lookup = client.get("/a/xss/thing/lookup?q=img").get_json()
    assert lookup["items"][0]["title"] == XSS  # JSON is data; the page script writes it as text


def test_every_field_type_has_a_widget(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, every_type_app())
    html = client_for("acme-rep").get("/a/kitchen/item/new").get_data(as_text=True)
    expected = {
        "name": 'type="text"', "notes": "<textarea", "qty": 'inputmode="decimal"',
        "count": 'inputmode="numeric"', "price": "¥", "share": "%", "active": 'type="checkbox"',
        "day": 'type="date"', "at": 'type="datetime-local"', "took": "48h", "size": "<select",
        "tags": 'class="chip"', "upper": "data-link-picker", "assignee": "李销售",
        "place": "data-locate", "pics": 'type="file"', "doc": 'type="file"', "tel": 'type="tel"',
        "mail": 'type="email"', "site": 'type="url"', "stars": 'type="radio"', "total": "data-formula",
    }  # fmt: skip
    for key, marker in expected.items():
        match = re.search(rf'<div class="field[^"]*" data-field="{key}".*?data-error-for="{key}"', html, re.S)
        assert match, key
        assert marker in match.group(0), key


def test_a_plain_form_post_saves_every_type(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, every_type_app())
    upper = _create(app, tenant, "kitchen", "item", {"name": "上级"})
    client = client_for("acme-rep")
    token = csrf_token(client, "/a/kitchen/item/new")
    form = {
        "v-csrf_token": token, "v-name": "货架", "v-notes": "第一行\r\n第二行", "v-qty": "2.5",
        "v-count": "7", "v-price": "1999.90", "v-share": "12.5", "v-active": ["true", "false"],
        "v-day": "2026-11-23", "v-at": "2026-11-23T09:30", "v-took": "48h", "v-size": "M",
        "v-tags__present": "1", "v-tags": ["x", "y"], "v-upper": str(upper["id"]),
        "v-assignee": str(tenant.rep2.id), "v-place__lat": "31.2304", "v-place__lng": "121.4737",
        "v-place__accuracy": "15", "v-tel": "+86 138 0000 0000", "v-mail": "li@example.com",
        "v-site": "https://example.com/x", "v-stars": "4",
    }  # fmt: skip
    response = client.post("/a/kitchen/item/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    record_id = int(response.headers["Location"].split("/")[-2])
    record = _get(app, tenant, "kitchen", "item", record_id)
    assert record["name"] == "货架"
    assert record["notes"] == "第一行\n第二行"
    assert record["qty"] == Decimal("2.5") and record["price"] == Decimal("1999.90")
    assert record["count"] == 7 and record["stars"] == 4 and record["active"] is True
    assert record["day"].isoformat() == "2026-11-23"
    assert record["at"].isoformat().startswith("2026-11-23T01:30")  # 09:30 in Shanghai
    assert record["took"].total_seconds() == 48 * 3600
    assert record["size"] == "M" and record["tags"] == ["x", "y"]
    assert record["upper"] == upper["id"] and record["assignee"] == tenant.rep2.id
    assert (record["place"].lat, record["place"].lng, record["place"].accuracy) == (31.2304, 121.4737, 15.0)
    assert record["total"] == Decimal("5.0")
    # The stored values show again in the form.
    html = client.get(f"/a/kitchen/item/{record_id}/edit").get_data(as_text=True)
    assert 'value="2026-11-23T09:30"' in html and 'value="2d"' in html and "上级" in html


def test_invalid_values_come_back_with_messages_per_field(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, every_type_app())
    client = client_for("acme-rep")
    token = csrf_token(client, "/a/kitchen/item/new")
    data = {"v-csrf_token": token, "v-qty": "many", "v-mail": "not-an-address", "v-name": "ok"}
    page = client.post("/a/kitchen/item/new", data=data, headers={"Accept-Language": "en"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "expected a number" in html and "not an e-mail address" in html
    assert 'value="many"' in html  # what the rep typed is kept
    as_json = client.post("/a/kitchen/item/new", data=data, headers=JSON)
    assert as_json.status_code == 422
    assert as_json.mimetype == "application/problem+json"
    assert set(as_json.get_json()["errors"]) == {"qty", "mail"}


def test_a_locked_card_can_not_be_submitted(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    visit = _create(app, tenant, "store_visits", "visit", {"customer": customer["id"]})
    client = client_for("acme-rep")
    edit = f"/a/store_visits/visit/{visit['id']}/edit"
    html = client.get(edit).get_data(as_text=True)
    card = re.search(r'data-step="pain_points".*?</section>', html, re.S)
    assert card is not None
    assert LOCKED_MESSAGE["zh"] in card.group(0)
    assert "<fieldset disabled" in card.group(0)
    token = csrf_token(client, edit)
    forged = {"v-csrf_token": token, "_version": str(visit["version"]), "v-transcript": "领导重视"}
    refused = client.post(edit, data=forged, headers=JSON)
    assert refused.status_code == 422
    assert refused.get_json()["detail_zh"] == LOCKED_MESSAGE["zh"]
    assert "transcript" in refused.get_json()["errors"]
    page = client.post(edit, data=forged)
    assert page.status_code == 422 and LOCKED_MESSAGE["zh"] in page.get_data(as_text=True)


def test_form_state_unlocks_a_card_from_unsaved_values(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    visit = _create(app, tenant, "store_visits", "visit", {"customer": customer["id"]})
    client = client_for("acme-rep")
    token = csrf_token(client, "/a/")
    url = f"/a/store_visits/visit/state?record={visit['id']}"
    headers = {"X-CSRFToken": token, **JSON}

    def steps(data: dict[str, str]) -> dict[str, Any]:
        state = client.post(url, data=data, headers=headers).get_json()["state"]
        return {s["key"]: s for s in state["steps"]}

    before = steps({})
    assert before["pain_points"]["unlocked"] is False
    assert before["pain_points"]["locked_message"] == LOCKED_MESSAGE
    after = steps({"v-competitor_note": "竞品A两层货架"})
    assert after["competitor"]["done"] is True
    assert after["pain_points"]["unlocked"] is True
    # Nothing was saved by asking.
    assert _get(app, tenant, "store_visits", "visit", visit["id"])["competitor_note"] is None


def test_a_save_returns_the_prompts_of_triggers(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    visit = _create(app, tenant, "store_visits", "visit", {"customer": customer["id"], "competitor_note": "x"})
    client = client_for("acme-rep")
    edit = f"/a/store_visits/visit/{visit['id']}/edit"
    token = csrf_token(client, edit)
    data = {"v-csrf_token": token, "_version": str(visit["version"]), "v-transcript": "客户说领导重视,时间紧迫"}
    saved = client.post(edit, data=data, headers=JSON)
    assert saved.status_code == 200, saved.get_data(as_text=True)
    body = saved.get_json()
    assert [p["message"] for p in body["prompts"]] == [S8_MESSAGE]
    assert body["version"] == visit["version"] + 1
    assert body["urls"]["edit"] == edit
    assert {s["key"]: s["done"] for s in body["state"]["steps"]}["pain_points"] is True
    # Without the script: the prompt is shown on the page the save redirects to.
    data = {"v-csrf_token": token, "_version": str(body["version"]), "v-transcript": "项目启动在即"}
    redirect = client.post(edit, data=data)
    assert redirect.status_code == 302
    assert S8_MESSAGE["zh"] in client.get(edit).get_data(as_text=True)


def test_a_stale_version_is_a_conflict(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    client = client_for("acme-rep")
    edit = f"/a/store_visits/customer/{customer['id']}/edit"
    token = csrf_token(client, edit)
    first = client.post(edit, data={"v-csrf_token": token, "_version": "1", "v-industry": "零售"}, headers=JSON)
    assert first.status_code == 200
    second = client.post(edit, data={"v-csrf_token": token, "_version": "1", "v-industry": "快消"}, headers=JSON)
    assert second.status_code == 409


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_metadata_labels_follow_the_ui_language(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient], lang: str) -> None:
    publish(app, tenant, visit_app())
    client = client_for("acme-rep")
    html = client.get("/a/store_visits/visit/new", headers={"Accept-Language": lang}).get_data(as_text=True)
    if lang == "en":
        assert "Shelf panorama photos" in html and "货架全景照片" not in html
    else:
        assert "货架全景照片" in html and "Shelf panorama photos" not in html


def test_an_entry_link_prefills_the_new_form(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    """S4: a store's QR code opens a new visit with the customer filled in."""
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联超市"})
    html = client_for("acme-rep").get(f"/a/store_visits/visit/new?customer={customer['id']}").get_data(as_text=True)
    customer_id = customer["id"]
    assert f'name="v-customer" value="{customer_id}"' in html
    assert 'value="华联超市"' in html
