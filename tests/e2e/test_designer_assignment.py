"""S12 in the browser: an admin drags the weights of a weighted assignment rule, the live
preview's pick for a lead changes, and after publishing a new lead goes to the previewed
rep, whose record page says why."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from runtime.automation.embedded import EmbeddedWorker
from runtime.models import User
from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import DesignerPage, SignInPage
from tests.fixtures_designer import smart_app
from tests.unit.web.support import PASSWORD, platform_of

pytestmark = pytest.mark.browser


def test_dragging_a_weight_changes_the_preview_and_the_published_rule_follows_it(desk: Any, browser: Any, live: LiveServer) -> None:
    platform = platform_of(live.app)
    rep, rep2 = live.tenant.rep.id, live.tenant.rep2.id
    with platform.session() as session:  # 李销售 works in 华东, 赵销售 in 华南
        session.execute(sa.update(User).where(User.id == rep).values(region="华东"))
        session.execute(sa.update(User).where(User.id == rep2).values(region="华南"))
        session.commit()
    admin = live.api("admin")
    app_id = admin.publish(smart_app())
    worker = EmbeddedWorker(platform)
    leads = [admin.create("crm", "lead", {"name": f"华东客户{i}", "region": "华东"})["record"] for i in range(2)]
    worker.drain()  # both go to 李销售 (40 + 0, then 40 - 10): two open leads now
    lead = leads[-1]

    SignInPage(desk).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(desk).open(f"#/apps/{app_id}")
    panel = designer.assignment()
    expect(panel.get_by_test_id("assignment-editor-smart")).to_be_visible()
    row = designer.preview_row(lead["id"])
    # 李销售: 40 - 1 × 10 = 30 > 0 (the lead itself is not counted as load while it is judged)
    expect(row).to_have_attribute("data-user", str(rep))
    expect(row).to_contain_text("区域匹配 +40,当前负载 -10 → 总分 30,最高")
    shot(desk, "designer-assignment-01-preview")

    # The mouse drags the region weight down to about 4: 李销售 4 - 10 < 赵销售 0.
    slider = designer.weight_slider("region")
    designer.drag_slider(slider, 0.52)
    expect(row).to_have_attribute("data-user", str(rep2))
    expect(row).to_have_attribute("data-changed", "true")
    dragged = float(designer.weight_value("region").input_value())
    assert 0 < dragged < 10, dragged
    shot(desk, "designer-assignment-02-dragged")

    # The keyboard moves it too: End → 100 (李销售 again), arrows step by one, then back.
    slider.focus()
    slider.press("End")
    expect(designer.weight_value("region")).to_have_value("100")
    expect(row).to_have_attribute("data-user", str(rep))
    slider.press("ArrowLeft")
    slider.press("ArrowLeft")
    expect(designer.weight_value("region")).to_have_value("98")
    designer.drag_slider(slider, 0.52)
    expect(row).to_have_attribute("data-user", str(rep2))
    previewed = int(row.get_attribute("data-user") or 0)
    why_previewed = row.locator(".why").inner_text()
    assert "总分 0" in why_previewed

    dialog = designer.publish()
    dialog.get_by_test_id("publish").click()
    expect(dialog.get_by_test_id("publish-done")).to_be_visible()
    shot(desk, "designer-assignment-03-published")

    new = admin.create("crm", "lead", {"name": "华东新客户", "region": "华东"})["record"]
    worker.drain()
    assert admin.call("GET", f"/apps/crm/entities/lead/records/{new['id']}")["record"]["owner"] == previewed

    # 赵销售 opens the record and reads why it is theirs.
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page = context.new_page()
        SignInPage(page).open().sign_in(live.username("rep2"), PASSWORD)
        page.goto(f"/a/crm/lead/{new['id']}")
        why = page.get_by_test_id("why-assigned")
        expect(why).to_be_visible()
        expect(why).to_contain_text("为什么分配给 赵销售")
        expect(why).to_contain_text("「智能分配」(加权评分):区域匹配 +0,当前负载 +0 → 总分 0,最高")
        shot(page, "designer-assignment-04-record-why")
        # 李销售 can't read the new lead at all.
        other = browser.new_context(base_url=live.url, locale="zh-CN")
        try:
            rep_page = other.new_page()
            SignInPage(rep_page).open().sign_in(live.username("rep"), PASSWORD)
            assert rep_page.goto(f"/a/crm/lead/{new['id']}").status == 404
        finally:
            other.close()
    finally:
        context.close()
