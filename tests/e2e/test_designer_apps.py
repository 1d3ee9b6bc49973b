"""The designer's apps page: create, rename, export, delete a never-published draft; a
published app can't be deleted; the page speaks English when the user chose it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import DesignerPage, SignInPage
from tests.unit.web.support import PASSWORD, visit_app

pytestmark = pytest.mark.browser


def test_apps_are_created_renamed_exported_and_deleted(desk: Any, live: LiveServer) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()

    # A name is needed.
    page.get_by_role("button", name="创建应用").click()
    expect(page.get_by_test_id("apps-error")).to_have_text("请先填写应用名称。")

    designer.create_app("巡店", "Store checks")
    designer.add_entity("门店", "Store")
    designer.open()
    row = page.locator(".app-row").filter(has_text="巡店")
    key = row.locator("code.key").inner_text()
    expect(row).to_contain_text("草稿,未发布")

    row.get_by_role("button", name="重命名 巡店").click()
    page.get_by_label("新名称(中文)").fill("门店巡检")
    page.get_by_role("button", name="保存名称").click()
    row = page.get_by_test_id(f"app-{key}")
    expect(row.locator(".app-name")).to_have_text("门店巡检")

    with page.expect_download() as download:
        row.get_by_role("link", name="导出 门店巡检").click()
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert exported["label"]["zh"] == "门店巡检"
    assert [e["label"]["zh"] for e in exported["entities"]] == ["门店"]
    shot(page, "designer-apps-00-list")

    row.get_by_role("button", name="删除 门店巡检").click()
    row.get_by_role("button", name="确认删除").click()
    expect(page.get_by_test_id(f"app-{key}")).to_have_count(0)
    expect(page.get_by_text("还没有应用")).to_be_visible()


def test_a_published_app_offers_no_delete_and_the_page_speaks_english(desk: Any, live: LiveServer) -> None:
    page = desk
    live.api("admin").publish(visit_app())
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    page.goto("/")
    page.get_by_role("button", name="English").click()
    DesignerPage(page).open()
    row = page.get_by_test_id("app-store_visits")
    expect(row).to_contain_text("published r1")
    expect(row.get_by_role("button", name="Rename Store sales management")).to_be_visible()
    expect(row.get_by_role("button", name="Delete", exact=False)).to_have_count(0)
    row.locator(".app-name").click()
    expect(page.get_by_role("tab", name="Fields & form")).to_be_visible()
    expect(page.get_by_test_id("save-state")).to_have_text("Draft saved")


def test_the_designer_fits_a_phone(phone: Any, live: LiveServer) -> None:
    """On a 390 px screen the designer scrolls only vertically; the preview is a toggle."""
    SignInPage(phone).open().sign_in(live.username("admin"), PASSWORD)
    DesignerPage(phone).open()
    phone.get_by_test_id("app-store_visits").locator(".app-name").click()
    phone.get_by_test_id("entity-visit").click()
    for tab in ("字段与表单", "步骤卡", "校验规则", "阶段", "角色与权限"):
        phone.get_by_role("tab", name=tab).click()
        phone.wait_for_timeout(200)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390, tab
    phone.get_by_role("tab", name="字段与表单").click()
    expect(phone.get_by_test_id("phone-preview")).to_have_count(0)
    phone.get_by_role("button", name="预览", exact=True).click()
    expect(phone.get_by_test_id("phone-preview")).to_be_visible()
    shot(phone, "designer-apps-01-phone")
