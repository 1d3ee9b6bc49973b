"""The designer's phone preview in a phone-sized browser: an unpublished draft of the S1
visit, card 4 locked until card 3 is written, and nothing ever saved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import RecordFormPage, SignInPage
from tests.unit.builder.fixtures import LOCKED_MESSAGE
from tests.unit.web.support import PASSWORD, visit_app

pytestmark = pytest.mark.browser


def test_the_preview_of_a_draft_unlocks_card_4_when_card_3_is_filled(phone: Any, live: LiveServer) -> None:
    imported = live.api("admin").call("POST", "/apps", visit_app())  # a draft, never published
    assert imported["app"]["published_revision_id"] is None
    SignInPage(phone).open().sign_in(live.username("admin"), PASSWORD)
    posts: list[str] = []
    phone.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    phone.goto(f"/design/apps/{imported['app']['id']}/preview/visit")
    assert phone.viewport_size == {"width": 390, "height": 844}
    assert phone.get_by_test_id("preview-banner").inner_text().startswith(f"预览 · 草稿 r{imported['revision']['number']}")
    form = RecordFormPage(phone)
    assert "locked" in (form.card("pain_points").get_attribute("class") or "")
    assert form.locked_message("pain_points").inner_text().strip() == LOCKED_MESSAGE["zh"]
    assert form.field("transcript").locator("textarea").is_disabled()
    assert form.horizontal_overflow() <= 0
    shot(phone, "designer-preview-01-card4-locked")

    form.fill("competitor_note", "竞品A占据主货架两层,端架有促销堆头。")
    form.wait_for_state()
    assert "locked" not in (form.card("pain_points").get_attribute("class") or "")
    assert not form.locked_message("pain_points").is_visible()
    assert form.field("transcript").locator("textarea").is_enabled()
    assert "done" in (form.card("competitor").get_attribute("class") or "")
    # Nothing saves: every Save stays disabled (an unlocked card's too), and the only
    # requests the page posted were to the preview's state endpoint.
    saves = phone.locator("[data-save]")
    assert saves.count() >= 5
    assert all(saves.nth(i).is_disabled() for i in range(saves.count()))
    form.field("competitor_note").locator("textarea").press("Control+Enter")
    phone.wait_for_timeout(300)
    assert posts and all(url.endswith("/preview/visit/state") for url in posts), posts
    shot(phone, "designer-preview-02-card4-unlocked")
