"""The admin console's people pages in a phone browser (zh-CN): the admin sets a rep's manager
and gives a role an app declares, in the UI only; the rep's API token then reads and writes
what that role allows, and the manager's bell counts an inbox alert."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.automation.models import InboxNotification
from runtime.clock import to_naive_utc
from tests.e2e.conftest import ApiError, LiveServer, shot
from tests.e2e.pages import SignInPage
from tests.integration.admin_people.support import books_app
from tests.unit.web.support import PASSWORD, platform_of

pytestmark = pytest.mark.browser

INVOICES = "/apps/books/entities/invoice/records"


def _overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_admin_sets_manager_and_declared_role_in_the_ui(live: LiveServer, phone: Any) -> None:
    admin = live.api("admin")
    admin.publish(books_app())
    admin.call("POST", INVOICES, {"name": "华东发票", "region": "华东"})
    admin.call("POST", INVOICES, {"name": "华南发票", "region": "华南"})
    rep2 = live.tenant.rep2
    admin.call("PATCH", f"/users/{rep2.id}", {"manager": None})

    SignInPage(phone).open().sign_in(live.username("admin"), PASSWORD)
    phone.goto("/admin/people")
    assert _overflow(phone) <= 0
    shot(phone, "people-01-list")
    phone.get_by_test_id(f"person-{live.username('rep2')}").click()
    phone.wait_for_url(f"**/admin/people/{rep2.id}")
    phone.select_option("#manager", str(live.tenant.manager.id))
    phone.select_option("#role", "auditor")
    shot(phone, "people-02-manager-and-role")
    with phone.expect_navigation():
        phone.get_by_test_id("save-person").click()
    assert "已保存" in phone.locator(".flash").inner_text()
    assert phone.locator("#manager").input_value() == str(live.tenant.manager.id)
    assert phone.locator("#role").input_value() == "auditor"
    assert _overflow(phone) <= 0
    shot(phone, "people-03-saved")

    # The role governs the rep's API token: reads 华东 only, writes nothing.
    user = admin.call("GET", f"/users/{rep2.id}")
    assert user["manager"] == live.tenant.manager.id and user["role"] == "auditor"
    rep_api = live.api("rep2")
    names = [r["name"] for r in rep_api.call("GET", INVOICES)["items"]]
    assert names == ["华东发票"]
    with pytest.raises(ApiError, match="403"):
        rep_api.call("POST", INVOICES, {"name": "x", "region": "华东"})

    # The manager's bell counts an inbox alert; the inbox page fits the phone.
    platform = platform_of(live.app)
    with platform.session() as session:
        session.add(InboxNotification(
            workspace_id=live.tenant.workspace.id, user_id=live.tenant.manager.id, title="需求确认超时",
            message="赵销售的商机 48 小时未确认需求", level="warning",
            created_at=to_naive_utc(platform.clock.now()),
        ))
        session.commit()
    with phone.expect_navigation():
        phone.get_by_test_id("sign-out").click()
    SignInPage(phone).open().sign_in(live.username("manager"), PASSWORD)
    assert phone.get_by_test_id("bell-count").inner_text() == "1"
    phone.get_by_test_id("bell").click()
    phone.wait_for_url("**/inbox")
    assert "需求确认超时" in phone.get_by_test_id("inbox").inner_text()
    assert _overflow(phone) <= 0
    shot(phone, "people-04-manager-inbox")
