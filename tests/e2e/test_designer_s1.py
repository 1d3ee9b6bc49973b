"""Issue 10's acceptance test: an operations person builds the S1 visit app in the designer.

From an empty workspace and only through the designer's UI, an admin creates an app with a
customer entity and the six-card visit of S1 (location, photo, long text, link to the
customer, a child list of commitments, datetime), turns on the strong-dependency switch of
card 4 with its message, types a ``visible_when`` with one misspelt name, sees it
underlined with the suggestion, fixes it, watches the phone preview lock card 4 and
publishes. A rep then sees card 4 unlock when card 3 is done. The admin relabels a field,
adds one and removes one (the plan says it is archived) and publishes; the rep's data is
intact; rolling back brings the removed field back with its data (and the draft follows). Screenshots of every
stage go to ``test-artifacts/e2e/designer-s1-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import DesignerPage, RecordFormPage, SignInPage
from tests.unit.web.support import PASSWORD, tiny_png

pytestmark = pytest.mark.browser

LOCKED = "请先完成竞品分析,这是制定方案的基础"


def test_an_admin_builds_the_visit_app_and_a_rep_uses_it(
    desk: Any, phone: Any, live: LiveServer, tmp_path: Path
) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    expect(page.get_by_text("还没有应用")).to_be_visible()
    shot(page, "designer-s1-00-empty")

    # The app, its customer entity.
    designer.create_app("门店拜访", "Store visits")
    customer = designer.add_entity("客户", "Customer")
    name = designer.add_field("单行文本", "客户名称", "Name")
    page.get_by_label("必填").first.check()
    page.get_by_label("标题字段").select_option(name)
    designer.wait_saved()

    # The visit: link, location, photo, long texts, datetime, and a child list.
    visit = designer.add_entity("拜访", "Visit")
    link = designer.add_field("关联记录", "客户", "Customer")
    page.get_by_label("关联到").select_option(customer)
    page.get_by_label("反向列表标识").fill("visits")
    page.get_by_label("反向列表标识").press("Tab")
    location = designer.add_field("定位", "定位打卡", "Check-in")
    photo = designer.add_field("照片", "货架照片", "Shelf photo")
    note = designer.add_field("多行文本", "竞品陈列标注", "Competitor notes")
    transcript = designer.add_field("多行文本", "需求痛点", "Pain points")
    follow_up = designer.add_field("日期时间", "下次跟进时间", "Next follow-up")
    page.get_by_label("要添加的字段类型").select_option(label="子表")
    page.get_by_role("button", name="添加字段").click()
    page.get_by_label("子表名称(中文)").fill("承诺事项")
    page.get_by_label("子表名称(中文)").press("Tab")
    designer.wait_saved()
    collection = page.get_by_label("列表标识").input_value()
    expect(page.get_by_test_id(f"child-{collection}")).to_be_visible()
    assert [link, location, photo, note, transcript, follow_up] == [
        "ke_hu", "ding_wei_da_ka", "huo_jia_zhao_pian", "jing_pin_chen_lie_biao_zhu",
        "xu_qiu_tong_dian", "xia_ci_gen_jin_shi_jian",
    ]  # fmt: skip
    shot(page, "designer-s1-01-fields")

    # The child entity gets a field of its own.
    page.get_by_role("link", name="承诺事项").click()
    designer.add_field("单行文本", "内容", "Content")
    designer.entity(visit)

    # Six cards; fields moved into them with the keyboard-operable select.
    designer.section("步骤卡")
    for title in ("定位打卡", "货架拍照", "竞品分析", "需求痛点", "承诺事项", "下次跟进"):
        designer.add_card(title)
    for field, card in ((location, 1), (photo, 2), (note, 3), (transcript, 4), (follow_up, 6)):
        designer.move_to_card(field, card)
    cards = page.locator(".step-card")
    expect(cards).to_have_count(6)
    step_keys = [cards.nth(i).get_attribute("data-testid").removeprefix("step-") for i in range(6)]

    # The strong dependency of card 4 writes unlock_when: steps.<card 3>.done.
    switch = page.get_by_role("switch", name="第 4 张卡强依赖上一张卡")
    switch.check()
    page.get_by_label("第 4 张卡的锁定提示(中文)").fill(LOCKED)
    designer.wait_saved()
    expect(designer.expression("第 4 张卡的解锁条件")).to_have_text(f"steps.{step_keys[2]}.done")
    shot(page, "designer-s1-02-cards")

    # A visible_when with one misspelt name: underlined, with the suggestion; then fixed.
    designer.section("字段与表单")
    designer.select_field(follow_up)
    visible = designer.expression("何时显示")
    visible.click()
    page.keyboard.type(f"{transcript[:-3]}an != null")  # xu_qiu_tong_dan
    underline = page.locator(".field-panel .cm-lintRange-error")
    expect(underline).to_have_count(1)
    suggestion = page.get_by_test_id("expr-suggestion")
    expect(suggestion).to_contain_text(transcript)
    designer.wait_saved()
    expect(designer.problems_count).to_have_text("问题 1")
    problem = page.locator('.field-card [data-testid=problem][data-path$="fields[5].visible_when"]')
    expect(problem).to_be_visible()
    shot(page, "designer-s1-03-misspelt")
    suggestion.click()
    expect(visible).to_have_text(f"{transcript} != null")
    expect(underline).to_have_count(0)
    designer.wait_saved()
    expect(designer.problems_count).to_have_text("问题 0")

    # The phone preview, rendered from the draft, locks card 4 with its message.
    designer.section("步骤卡")
    preview = designer.preview()
    card4 = preview.locator(f'[data-step="{transcript}"]')
    expect(card4).to_have_class(re.compile(r"\blocked\b"))
    expect(card4.locator("[data-locked-message]")).to_have_text(LOCKED)
    shot(page, "designer-s1-04-preview-locked")

    # Publish.
    dialog = designer.publish()
    expect(dialog.locator("[data-kind=create_entity]")).to_have_count(3)
    dialog.get_by_test_id("publish").click()
    expect(dialog.get_by_test_id("publish-done")).to_be_visible()
    shot(page, "designer-s1-05-published")
    dialog.get_by_test_id("publish-close").click()
    designer.open()
    app_key = page.locator(".app-row code.key").first.inner_text()

    # The rep: card 4 unlocks when card 3 is done.
    rep = live.api("rep")
    visit_id = rep.create(app_key, visit, {})["record"]["id"]
    SignInPage(phone).open().sign_in(live.username("rep"), PASSWORD)
    form = RecordFormPage(phone).open(app_key, visit, visit_id)
    assert "locked" in (form.card(step_keys[3]).get_attribute("class") or "")
    expect(form.locked_message(step_keys[3])).to_have_text(LOCKED)
    form.check_in(location)
    form.save(step_keys[0])
    shelf = tmp_path / "shelf.png"
    shelf.write_bytes(tiny_png())
    form.upload(photo, shelf)
    form.save(step_keys[1])
    assert "locked" in (form.card(step_keys[3]).get_attribute("class") or "")
    form.fill(note, "竞品A占据主货架两层")
    form.wait_for_state()
    assert "locked" not in (form.card(step_keys[3]).get_attribute("class") or "")
    form.save(step_keys[2])
    shot(phone, "designer-s1-06-rep-card4-unlocked")
    before = rep.call("GET", f"/apps/{app_key}/entities/{visit}/records/{visit_id}")["record"]
    assert before[note] == "竞品A占据主货架两层"

    # The admin changes the published app: relabel, add, remove.
    designer.open()
    page.locator(".app-row .app-name").first.click()
    designer.entity(visit)
    designer.select_field(location)
    expect(page.get_by_test_id("key-note")).to_contain_text("此标识已发布")
    assert designer.name_field("到店定位") == location
    designer.add_field("单行文本", "备注", "Remarks")
    page.get_by_role("button", name="删除字段 竞品陈列标注").click()
    designer.wait_saved()
    expect(page.get_by_test_id(f"field-{note}")).to_have_count(0)
    dialog = designer.publish()
    archived = dialog.locator("[data-kind=archive_field]")
    expect(archived).to_have_count(1)
    expect(archived).to_contain_text(note)
    expect(dialog.locator("[data-kind=relabel_field]")).to_have_count(1)
    expect(dialog.locator("[data-kind=add_field]")).to_have_count(1)
    shot(page, "designer-s1-07-plan-archive")
    dialog.get_by_test_id("publish").click()
    expect(dialog.get_by_test_id("publish-done")).to_be_visible()
    dialog.get_by_test_id("publish-close").click()
    after = rep.call("GET", f"/apps/{app_key}/entities/{visit}/records/{visit_id}")["record"]
    assert note not in after
    assert after[location] == before[location]
    assert after[photo] == before[photo]

    # Roll back to revision 1: the removed field comes back with its data.
    page.get_by_test_id("open-history").click()
    history = page.get_by_test_id("history-panel")
    history.locator('[data-testid=revision][data-number="1"] [data-testid=rollback]').click()
    rollback = page.get_by_test_id("publish-dialog")
    rollback.get_by_test_id("publish").click()
    expect(rollback.get_by_test_id("publish-done")).to_be_visible()
    shot(page, "designer-s1-08-rolled-back")
    expect(page.get_by_test_id(f"field-{note}")).to_be_visible()
    expect(page.get_by_test_id("rollback-note")).to_have_text("草稿已随回滚更新。")
    restored = rep.call("GET", f"/apps/{app_key}/entities/{visit}/records/{visit_id}")["record"]
    assert restored[note] == "竞品A占据主货架两层"  # back with its archived data
    assert restored[location] == before[location]
    assert restored[photo] == before[photo]
