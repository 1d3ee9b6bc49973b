"""Refusals a person can act on: the field's label in their language, where they acted.

Before, a visit without its customer answered "部分字段无效:customer:required" — an
internal code and key — at the top of the page, and the record's history kept the refusal
in English only. These requests are what a rep (or a client) sends; each answer must name
the field by its label in the caller's language, next to the field and in the card (or
stage bar) where the save was asked, and the history must follow the reader's language.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from runtime.models import User
from runtime.platform import Platform
from tests.integration.conftest import Api, Tenant, install
from tests.integration.hostile.pages import browser as signed_in
from tests.unit.builder.fixtures import LOCKED_MESSAGE, visit_app_definition
from tests.unit.web.conftest import csrf_token

BASE = "/apps/store_visits/entities"
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
JSON = {"Accept": "application/json"}


def _post(api: Api, path: str, body: Any, headers: dict[str, str]) -> Any:
    return api.client.post("/api/v1" + path, json=body, headers={**api._headers(), **headers})


def _patch(api: Api, path: str, body: Any, headers: dict[str, str]) -> Any:
    return api.client.patch("/api/v1" + path, json=body, headers={**api._headers(), **headers})


def _customer(api: Api) -> dict[str, Any]:
    created = api.post(f"{BASE}/customer/records", json={"name": "华联"})
    assert created.status_code == 201, created.get_json()
    return created.get_json()["record"]  # type: ignore[no-any-return]


def _card(html: str, key: str) -> str:
    match = re.search(r'<section[^>]*data-testid="card-' + re.escape(key) + r'".*?</section>', html, re.S)
    assert match, f"no card {key}"
    return match.group(0)


def _card_message(card: str) -> str:
    match = re.search(r"<p [^>]*data-card-message[^>]*>(.*?)</p>", card, re.S)
    assert match
    return match.group(1)


def _field_error(html: str, key: str) -> str:
    match = re.search(r'<p class="field-error" data-error-for="' + re.escape(key) + r'"[^>]*>(.*?)</p>', html, re.S)
    assert match, f"no error slot for {key}"
    return match.group(1)


# --------------------------------------------------------------------------- API


def test_api_names_a_missing_link_by_its_label_in_the_callers_language(admin_api: Api, rep_api: Api) -> None:
    install(admin_api, visit_app_definition())
    zh = _post(rep_api, f"{BASE}/visit/records", {}, ZH)
    assert zh.status_code == 422
    body = zh.get_json()
    assert body["errors"] == {"customer": ["required"]}  # the machine-readable member keeps its shape
    assert body["lang"] == "zh" and body["message"] == "请选择客户。"
    assert body["detail_zh"] == "请选择客户。" and body["detail"] == "Choose a Customer."
    field = body["fields"]["customer"]
    assert field["code"] == "required" and field["text"] == "请选择客户" and field["message"] == "Choose a Customer"
    assert field["label"] == {"en": "Customer", "zh": "客户"}
    assert "customer:required" not in zh.get_data(as_text=True).replace('"customer": ["required"]', "")

    en = _post(rep_api, f"{BASE}/visit/records", {}, EN).get_json()
    assert en["lang"] == "en" and en["message"] == "Choose a Customer." and en["fields"]["customer"]["text"] == "Choose a Customer"


def test_api_follows_the_token_users_locale(admin_api: Api, rep_api: Api, platform: Platform, tenant: Tenant) -> None:
    install(admin_api, visit_app_definition())
    with platform.session() as session:
        rep = session.get(User, tenant.rep.id)
        assert rep is not None
        rep.locale = "en"
        session.commit()
    answer = rep_api.post(f"{BASE}/visit/records", json={}).get_json()  # no Accept-Language
    assert answer["lang"] == "en" and answer["fields"]["customer"]["text"] == "Choose a Customer"
    chinese = admin_api.post(f"{BASE}/visit/records", json={}).get_json()  # the admin has no setting
    assert chinese["lang"] == "zh" and chinese["fields"]["customer"]["text"] == "请选择客户"


def test_api_labels_every_kind_of_field_refusal(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    opp = f"{BASE}/opportunity/records"
    wrong = _post(admin_api, opp, {"title": "x", "amount": "abc", "signed_at": "yesterday", "nope": 1, "contact_channel": "短信"}, ZH)
    assert wrong.status_code == 422
    body = wrong.get_json()
    assert set(body["errors"]) == {"amount", "signed_at", "nope", "contact_channel"}
    fields = body["fields"]
    assert (fields["amount"]["code"], fields["amount"]["text"]) == ("not_a_number", "金额:应为数字")
    assert fields["signed_at"]["text"].startswith("签约日期:应为日期")
    assert (fields["nope"]["code"], fields["nope"]["text"]) == ("unknown_field", "没有字段“nope”")
    assert (fields["contact_channel"]["code"], fields["contact_channel"]["text"]) == ("not_an_option", "接触方式:不是可选项之一")
    assert body["message"].startswith("请检查 4 个字段:") and "部分字段无效" not in body["message"]

    missing_link = _post(admin_api, f"{BASE}/visit/records", {"customer": 999999}, EN).get_json()
    assert missing_link["fields"]["customer"]["code"] == "unknown_reference"
    assert missing_link["message"] == "The chosen Customer does not exist or you may not see it."

    created = admin_api.post(opp, json={"title": "大单", "contact_channel": "电话"}).get_json()["record"]
    hidden = _patch(admin_api, f"{opp}/{created['id']}", {"version": 1, "budget_range": "<5万"}, ZH).get_json()
    assert hidden["fields"]["budget_range"]["code"] == "hidden"
    assert hidden["message"] == "预算范围不适用于此记录,请留空。"

    visit = admin_api.post(f"{BASE}/visit/records", json={"customer": _customer(admin_api)["id"]}).get_json()["record"]
    locked = _patch(admin_api, f"{BASE}/visit/records/{visit['id']}", {"version": 1, "transcript": "领导重视"}, EN).get_json()
    assert locked["code"] == "step_locked" and locked["detail_zh"] == LOCKED_MESSAGE["zh"]
    assert locked["fields"]["transcript"]["text"] == "Pain points (transcript) can't be filled in yet: “Pain points” is locked"


def test_history_shows_refusals_in_the_readers_language(app: Flask, admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    opp = f"{BASE}/opportunity/records"
    created = admin_api.post(opp, json={"title": "大单", "contact_channel": "电话"}).get_json()["record"]
    refused = _patch(admin_api, f"{opp}/{created['id']}", {"version": 1, "budget_range": "<5万"}, EN)
    assert refused.status_code == 422

    def refusal(headers: dict[str, str]) -> dict[str, Any]:
        items = admin_api.client.get(f"/api/v1{opp}/{created['id']}/history", headers={**admin_api._headers(), **headers}).get_json()["items"]
        return next(e for e in items if e["outcome"] == "refused")

    zh, en = refusal(ZH), refusal(EN)
    assert zh["message"] == en["message"] == "Budget range does not apply to this record; leave it empty."
    assert zh["message_zh"] == "预算范围不适用于此记录,请留空。"
    assert zh["text"] == zh["message_zh"] and en["text"] == en["message"]

    browser = signed_in(app, "alpha-admin", "admin-password")
    detail = f"/a/store_visits/opportunity/{created['id']}"
    chinese = browser.get(detail, headers=ZH).get_data(as_text=True)
    english = browser.get(detail, headers=EN).get_data(as_text=True)
    assert "预算范围不适用于此记录,请留空。" in chinese and "leave it empty" not in chinese
    assert "Budget range does not apply to this record; leave it empty." in english and "请留空" not in english


# --------------------------------------------------------------------------- HTML forms


def test_form_shows_the_labelled_error_in_the_card_that_was_saved(app: Flask, admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    browser = signed_in(app, "alpha-rep", "rep-password")
    new = "/a/store_visits/visit/new"
    token = csrf_token(browser, new)
    page = browser.post(new, data={"v-csrf_token": token, "_step": ""}, headers=ZH)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    main = _card(html, "main")
    assert _card_message(main) == "请选择客户。"
    assert _field_error(main, "customer") == "请选择客户"
    assert "customer:required" not in html and "部分字段无效" not in html
    for step in ("checkin", "shelf_photo"):
        assert _card_message(_card(html, step)) == ""  # only where the save was pressed

    english = browser.post(new, data={"v-csrf_token": token, "_step": ""}, headers=EN).get_data(as_text=True)
    assert _card_message(_card(english, "main")) == "Choose a Customer."
    assert _field_error(english, "customer") == "Choose a Customer"


def test_form_refusal_in_a_step_card_is_shown_in_that_card(app: Flask, admin_api: Api, rep_api: Api) -> None:
    install(admin_api, visit_app_definition())
    customer = _customer(admin_api)
    visit = rep_api.post(f"{BASE}/visit/records", json={"customer": customer["id"]}).get_json()["record"]
    browser = signed_in(app, "alpha-rep", "rep-password")
    edit = f"/a/store_visits/visit/{visit['id']}/edit"
    token = csrf_token(browser, edit)
    data = {"v-csrf_token": token, "_version": "1", "_step": "shelf_photo", "v-shelf_photos": "999999", "v-shelf_photos__present": "1"}
    page = browser.post(edit, data=data, headers=ZH)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    card = _card(html, "shelf_photo")
    assert _card_message(card) == "货架全景照片中有文件已不存在,请重新上传。"
    assert _field_error(card, "shelf_photos") == "货架全景照片中有文件已不存在,请重新上传"
    assert _card_message(_card(html, "main")) == ""

    script = browser.post(edit, data=data, headers={**EN, **JSON})
    assert script.status_code == 422 and script.mimetype == "application/problem+json"
    body = script.get_json()
    assert body["card"] == "shelf_photo"
    assert body["message"] == "Some files of Shelf panorama photos no longer exist; upload them again."
    assert body["errors"]["shelf_photos"] == ["Some files of Shelf panorama photos no longer exist; upload them again"]
    assert body["fields"]["shelf_photos"]["code"] == "unknown_reference"


def test_form_value_problems_carry_the_label(app: Flask, admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    browser = signed_in(app, "alpha-rep", "rep-password")
    new = "/a/store_visits/opportunity/new"
    token = csrf_token(browser, new)
    page = browser.post(new, data={"v-csrf_token": token, "_step": "", "v-title": "t", "v-amount": "很多"}, headers=ZH)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert _field_error(html, "amount") == "金额:应为数字"
    assert _card_message(_card(html, "main")) == "金额:应为数字。"


def test_a_refused_stage_move_is_explained_in_the_stage_bar(app: Flask, admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    created = admin_api.post(f"{BASE}/opportunity/records", json={"title": "大单", "contact_channel": "电话"}).get_json()["record"]
    browser = signed_in(app, "alpha-rep", "rep-password")
    base = f"/a/store_visits/opportunity/{created['id']}"
    token = csrf_token(browser, base + "/edit")
    assert browser.post(base + "/stage", data={"csrf_token": token, "stage": "need_confirmation", "_version": "1"}).status_code == 302
    refused = browser.post(base + "/stage", data={"csrf_token": token, "stage": "proposal", "_version": "2"}, headers=ZH)
    assert refused.status_code == 302
    html = browser.get(base + "/edit", headers=ZH).get_data(as_text=True)
    bar = re.search(r"<section[^>]*data-stage-bar.*?</section>", html, re.S)
    assert bar is not None
    message = re.search(r"<p [^>]*data-stage-message[^>]*>(.*?)</p>", bar.group(0), re.S)
    assert message is not None and "需求确认" in message.group(1)
    again = browser.get(base + "/edit", headers=ZH).get_data(as_text=True)
    assert re.search(r"<p [^>]*data-stage-message hidden>\s*</p>", again)  # said once, where it was asked


def test_error_pages_speak_the_readers_language_without_codes(app: Flask, admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    browser = signed_in(app, "alpha-rep", "rep-password")
    english = browser.get("/a/store_visits/customer/999999", headers=EN)
    assert english.status_code == 404
    html = english.get_data(as_text=True)
    assert "404 Not found" in html and "No Customer record 999999." in html
    assert "not_found" not in html and "没有编号" not in html
    chinese = browser.get("/a/store_visits/customer/999999", headers=ZH).get_data(as_text=True)
    assert "404 未找到" in chinese and "没有编号为 999999 的客户记录。" in chinese and "No Customer record" not in chinese
