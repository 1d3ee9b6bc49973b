"""Editing in the designer as people expect: drag and drop with a mouse, the keyboard
alternatives (Alt+↑/↓, Ctrl+Z / Ctrl+Shift+Z), the place kept in the URL across a reload,
and two admins on one draft never overwriting each other silently.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESK, LiveServer, shot
from tests.e2e.pages import DesignerPage, SignInPage
from tests.unit.web.support import PASSWORD

pytestmark = pytest.mark.browser


def canvas_keys(page: Any) -> list[str]:
    return page.locator(".canvas .field-card").evaluate_all("(cards) => cards.map((c) => c.dataset.key)")


def drag(page: Any, source: Any, target: Any) -> None:
    """Drags ``source`` onto ``target`` with the mouse, in small steps (SortableJS)."""
    box, goal = source.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(
            box["x"] + (goal["x"] + goal["width"] / 2 - box["x"]) * step / 10,
            box["y"] + (goal["y"] + goal["height"] * 0.75 - box["y"]) * step / 10,
        )
        page.wait_for_timeout(30)
    page.mouse.up()


def test_drag_keyboard_undo_redo_and_reload(desk: Any, live: LiveServer) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    designer.create_app("拖放测试", "Drag test")
    designer.add_entity("客户", "Customer")
    first = designer.add_field("单行文本", "名称", "Name")

    # A palette type dragged onto the canvas becomes a field where it was dropped.
    drag(page, page.get_by_test_id("palette-money"), page.get_by_test_id(f"field-{first}"))
    page.wait_for_function("() => document.querySelectorAll('.canvas .field-card').length === 2")
    designer.wait_saved()
    keys = canvas_keys(page)
    assert len(keys) == 2 and first in keys
    money = next(k for k in keys if k != first)
    expect(page.get_by_test_id(f"field-{money}")).to_contain_text("金额")

    # Reorder by dragging a card's handle, then back with Alt+↑ / Alt+↓ on the focused card.
    top, bottom = keys
    drag(page, page.get_by_test_id(f"field-{top}").locator(".drag-handle"), page.get_by_test_id(f"field-{bottom}"))
    page.wait_for_function("(k) => document.querySelector('.canvas .field-card').dataset.key === k", arg=bottom)
    designer.wait_saved()
    assert canvas_keys(page) == [bottom, top]
    page.get_by_test_id(f"field-{top}").focus()
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator(".canvas .field-card").first).to_have_attribute("data-key", top)
    if top != first:
        page.get_by_test_id(f"field-{money}").focus()
        page.keyboard.press("Alt+ArrowDown")
    expect(page.locator(".canvas .field-card").first).to_have_attribute("data-key", first)
    designer.wait_saved()
    shot(page, "designer-editing-00-dragged")

    # Undo and redo from the keyboard cover every edit: back to before the drop, and again.
    page.locator("body").click(position={"x": 5, "y": 300})
    undo, redo = page.get_by_role("button", name="撤销"), page.get_by_role("button", name="重做")
    for _ in range(10):
        if page.locator(".canvas .field-card").count() == 1:
            break
        page.keyboard.press("Control+z")
        page.wait_for_timeout(100)
    assert canvas_keys(page) == [first]
    page.keyboard.press("Control+Shift+z")
    expect(page.locator(".canvas .field-card")).to_have_count(2)
    while redo.is_enabled():
        redo.click()
    assert canvas_keys(page) == [first, money]
    expect(undo).to_be_enabled()
    designer.wait_saved()

    # The URL keeps the place: a reload opens the same entity, section and field.
    designer.select_field(money)
    designer.section("步骤卡")
    designer.section("字段与表单")
    designer.select_field(money)
    url = page.url
    page.reload()
    page.get_by_test_id(f"field-panel-{money}").wait_for()
    assert page.url == url
    assert canvas_keys(page) == [first, money]


@pytest.mark.console_allows("status of 409")
def test_two_admins_on_one_draft_never_overwrite_each_other(desk: Any, browser: Any, live: LiveServer) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    designer.create_app("冲突测试", "Conflict test")
    designer.add_entity("客户", "Customer")
    designer.wait_saved()
    place = page.url

    other_context = browser.new_context(base_url=live.url, viewport=DESK, locale="zh-CN")
    try:
        other = other_context.new_page()
        SignInPage(other).open().sign_in(live.username("admin"), PASSWORD)
        other.goto(place.replace(live.url, ""))
        theirs = DesignerPage(other)
        theirs.add_field("单行文本", "他们的字段", "Theirs")
    finally:
        other_context.close()

    # This page still has the old version: its next save is refused with who and when.
    page.get_by_label("实体名称(英文)").fill("Client")
    conflict = page.get_by_test_id("conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("保存")
    expect(page.get_by_test_id("save-state")).to_have_attribute("data-status", "conflict")
    shot(page, "designer-editing-01-conflict")
    page.get_by_role("button", name="载入最新草稿(放弃本页修改)").click()
    expect(conflict).to_have_count(0)
    expect(page.locator(".canvas .field-card")).to_have_count(1)
    expect(page.get_by_label("实体名称(英文)")).to_have_value("Customer")


def test_fields_are_dragged_into_cards_and_cards_reordered(desk: Any, live: LiveServer) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    designer.create_app("卡片测试", "Card test")
    designer.add_entity("拜访", "Visit")
    note = designer.add_field("多行文本", "备注", "Note")
    designer.section("步骤卡")
    designer.add_card("第一步")
    designer.add_card("第二步")
    cards = page.locator(".step-card")
    first_key = cards.nth(0).get_attribute("data-testid")

    # A field dragged from "fields in no card" into card 2.
    drag(page, page.get_by_test_id(f"card-field-{note}").locator(".drag-handle"), cards.nth(1).locator(".bucket"))
    expect(cards.nth(1).get_by_test_id(f"card-field-{note}")).to_be_visible()
    designer.wait_saved()

    # Card 2 dragged before card 1 by its handle, then back with its ← / → buttons.
    drag(page, cards.nth(1).locator(".card-handle"), cards.nth(0).locator(".card-head"))
    expect(cards.nth(1)).to_have_attribute("data-testid", first_key)
    expect(cards.nth(0).get_by_test_id(f"card-field-{note}")).to_be_visible()
    page.get_by_role("button", name="后移卡片 第二步").click()
    expect(cards.nth(0)).to_have_attribute("data-testid", first_key)
    designer.wait_saved()
    shot(page, "designer-editing-02-cards")


@pytest.mark.console_allows("ERR_INTERNET_DISCONNECTED")
def test_edits_made_offline_are_kept_and_saved_when_the_network_is_back(desk: Any, live: LiveServer) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    designer.create_app("离线测试", "Offline test")
    designer.add_entity("客户", "Customer")
    place = page.url

    page.context.set_offline(True)
    page.get_by_label("实体名称(英文)").fill("Client")
    offline = page.get_by_test_id("offline")
    expect(offline).to_contain_text("修改仍在本页")
    expect(page.get_by_label("实体名称(英文)")).to_have_value("Client")
    shot(page, "designer-editing-03-offline")
    page.context.set_offline(False)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=save-state]')?.dataset.status === 'saved'", timeout=40_000
    )
    expect(offline).to_have_count(0)
    page.goto("/")
    page.goto(place.replace(live.url, ""))
    expect(page.get_by_label("实体名称(英文)")).to_have_value("Client")


def touch_drag(page: Any, source: Any, target: Any) -> None:
    """Drags ``source`` onto ``target`` with one finger (touch events through CDP)."""
    cdp = page.context.new_cdp_session(page)
    box, goal = source.bounding_box(), target.bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    x1, y1 = goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] * 0.75

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", x0, y0)
    page.wait_for_timeout(300)  # a long press starts a drag on a touch screen
    for step in range(1, 13):
        touch("touchMove", x0 + (x1 - x0) * step / 12, y0 + (y1 - y0) * step / 12)
        page.wait_for_timeout(30)
    touch("touchEnd", x1, y1)
    cdp.detach()


def test_a_field_type_is_dragged_onto_the_form_with_a_finger_on_a_tablet(browser: Any, live: LiveServer) -> None:
    context = browser.new_context(
        base_url=live.url, viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
        designer = DesignerPage(page).open()
        designer.create_app("平板测试", "Tablet test")
        designer.add_entity("客户", "Customer")
        first = designer.add_field("单行文本", "名称", "Name")
        palette = page.get_by_test_id("palette-date")
        palette.scroll_into_view_if_needed()
        touch_drag(page, palette, page.get_by_test_id(f"field-{first}"))
        expect(page.locator(".canvas .field-card")).to_have_count(2)
        expect(page.locator(".canvas .field-card").filter(has_text="日期")).to_have_count(1)
        designer.wait_saved()
        shot(page, "designer-editing-04-tablet-touch")
        assert errors == []
    finally:
        context.close()
