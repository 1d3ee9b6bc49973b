"""S1 / S2 / S8 / S24 in a phone browser: the six-step visit card of a store visit.

A rep signs in on a 390×844 screen, opens a visit, finds card 4 locked with its message
(S2), checks in with the browser's location, uploads a shelf photo, writes the competitor
note, sees card 4 unlock without a reload, writes a transcript with 领导重视 and gets the
budget-probe prompt (S8), and finds the whole visit in the customer's timeline (S24).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import DetailPage, RecordFormPage, SignInPage
from tests.unit.builder.fixtures import LOCKED_MESSAGE
from tests.unit.web.support import PASSWORD, S8_MESSAGE, tiny_png, visit_app

pytestmark = pytest.mark.browser

APP = "store_visits"


@pytest.fixture(scope="module")
def seeded(live: LiveServer) -> dict[str, Any]:
    """The visit app published, a customer and a visit of the rep (all through the API)."""
    live.api("admin").publish(visit_app())
    rep = live.api("rep")
    customer = rep.create(APP, "customer", {"name": "华联超市(静安店)", "region": "华东"})["record"]
    visit = rep.create(APP, "visit", {"customer": customer["id"]})["record"]
    return {"customer": customer["id"], "visit": visit["id"]}


def test_rep_completes_a_visit_on_a_phone(phone: Any, live: LiveServer, seeded: dict[str, Any], tmp_path: Path) -> None:
    """The S1 acceptance test of issue 5."""
    SignInPage(phone).open().sign_in(live.username("rep"), PASSWORD)
    # The rep's home lists today's visit, with its steps done so far.
    today = phone.get_by_test_id("today-visit")
    assert "华联超市(静安店)" in today.inner_text()
    shot(phone, "s1-00-today")
    form = RecordFormPage(phone).open(APP, "visit", seeded["visit"])

    # S2: card 4 is locked and says why.
    assert form.card("pain_points").get_attribute("class") is not None
    assert "locked" in (form.card("pain_points").get_attribute("class") or "")
    assert form.locked_message("pain_points").is_visible()
    assert form.locked_message("pain_points").inner_text().strip() == LOCKED_MESSAGE["zh"]
    assert form.field("transcript").locator("textarea").is_disabled()
    assert form.horizontal_overflow() <= 0
    assert form.small_controls() == []  # touch-sized: at least 44 px high
    shot(phone, "s1-01-card4-locked")
    form.mark_page()

    # Card 1: check in with the browser's location.
    form.check_in("checkin_location")
    form.save("checkin")
    assert "locked" not in (form.card("checkin").get_attribute("class") or "")
    assert "done" in (form.card("checkin").get_attribute("class") or "")

    # Card 2: a shelf photo.
    photo = tmp_path / "shelf.png"
    photo.write_bytes(tiny_png())
    form.upload("shelf_photos", photo)
    assert form.field("shelf_photos").locator("[data-thumbs] img").count() == 1
    form.save("shelf_photo")
    assert "done" in (form.card("shelf_photo").get_attribute("class") or "")
    shot(phone, "s1-02-photo-uploaded")

    # Card 3: the competitor note; card 4 unlocks as soon as card 3 is done, no reload.
    assert "locked" in (form.card("pain_points").get_attribute("class") or "")
    form.fill("competitor_note", "竞品A占据主货架两层,端架有促销堆头。")
    form.wait_for_state()
    assert "locked" not in (form.card("pain_points").get_attribute("class") or "")
    assert not form.locked_message("pain_points").is_visible()
    assert form.field("transcript").locator("textarea").is_enabled()
    form.save("competitor")
    assert form.page_marker() == "still-here", "the page reloaded"
    shot(phone, "s1-03-card4-unlocked")

    # Card 4: a transcript with a buying signal gives the S8 prompt.
    form.fill("transcript", "店长说这次总部领导重视陈列整改,希望月底前看到方案。")
    form.save("pain_points")
    assert form.prompts.count() >= 1, "no S8 prompt: is the trigger engine wired to platform.listeners?"
    assert S8_MESSAGE["zh"] in form.prompts.first.inner_text()
    assert form.page_marker() == "still-here", "the page reloaded"
    assert form.horizontal_overflow() <= 0
    shot(phone, "s1-04-s8-prompt")

    # Card 5: a commitment added from the visit's page (a new record, saved without reload).
    DetailPage(phone).open(APP, "visit", seeded["visit"])
    phone.get_by_role("link", name="承诺事项").click()
    commitment = RecordFormPage(phone)
    assert commitment.field("visit").locator("[data-link-search]").input_value() == f"拜访 #{seeded['visit']}"
    commitment.fill("content", "样机下周三前寄出")
    commitment.save("")
    phone.wait_for_url("**/commitment/*/edit")
    assert commitment.message.inner_text() == "已保存。"
    form.open(APP, "visit", seeded["visit"])
    assert "done" in (form.card("commitments").get_attribute("class") or "")
    shot(phone, "s1-05-commitment-done")

    # S24: the whole visit in the customer's timeline.
    detail = DetailPage(phone).open(APP, "customer", seeded["customer"])
    visit_events = detail.events_of("visit", seeded["visit"])
    assert visit_events.count() >= 5  # created + four saves
    text = detail.timeline.inner_text()
    assert "竞品A占据主货架两层" in text
    assert "领导重视" in text
    assert detail.timeline.locator("img").count() >= 1  # the shelf photo
    assert str(seeded["customer"]) in (detail.share_link.input_value() or "")
    shot(phone, "s1-06-customer-timeline")
