"""The rule-health board and the run history in a phone-sized browser, in Chinese and English:
a rule skipped for a missing manager is flagged with its cause, the threshold is saved from
the board, the cause links to its runs, and a failed action is retried from the page."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.automation.embedded import EmbeddedWorker
from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import SignInPage
from tests.integration.admin_runs.conftest import crm_app
from tests.unit.web.support import PASSWORD, platform_of

pytestmark = pytest.mark.browser


def _definition() -> dict[str, Any]:
    definition = crm_app()
    definition["triggers"].append({
        "key": "greet_manager", "label": {"zh": "通知上级", "en": "Tell the manager"}, "entity": "customer",
        "on": "created",
        "actions": [{"type": "notify", "channel": "inbox", "to": "owner.manager", "message": "新客户 {name}"}],
    })
    return definition


def _fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"


def test_health_board_and_run_history_on_a_phone(live: LiveServer, phone: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = live.api("admin")
    admin.publish(_definition())
    # The admin has no manager: greet_manager is skipped every time (a failure); make_task
    # fails for the customer without a note.
    for name, note in (("华联超市", "首访"), ("如意商贸", None), ("东方百货", "报价")):
        admin.create("crm", "customer", {"name": name, **({"note": note} if note else {})})
    worker = EmbeddedWorker(platform_of(live.app))
    worker.drain()
    worker.sweep()
    worker.drain()

    SignInPage(phone).open().sign_in(live.username("admin"), PASSWORD)
    phone.goto("/admin/health?app=crm")
    greet = phone.locator('[data-testid="rule"][data-rule="greet_manager"]')
    assert greet.get_attribute("data-flagged") == "true"
    assert greet.get_by_test_id("rate").inner_text() == "0.0%"
    assert phone.get_by_test_id("health-chart").locator("svg polyline, svg circle").count() >= 2
    cause = phone.locator('[data-testid="cause"][data-cause="missing_manager"]')
    assert "记录负责人没有设置上级" in cause.inner_text()
    _fits_the_phone(phone)
    shot(phone, "rule-health-zh-phone")

    # (A value outside 0–100 is refused with a 422 page: tests/integration/admin_runs/test_health.py.)
    phone.get_by_test_id("threshold-input").fill("99")
    with phone.expect_navigation():
        phone.get_by_test_id("threshold-save").click()
    assert phone.get_by_test_id("threshold-input").input_value() == "99"

    # The cause links to the rule's failed runs, which say why.
    with phone.expect_navigation():
        cause.get_by_test_id("cause-runs").click()
    runs = phone.get_by_test_id("run")
    assert runs.count() == 3
    assert all(r.get_attribute("data-status") == "skipped" for r in runs.all())
    assert "记录负责人没有设置上级" in runs.first.get_by_test_id("run-cause").inner_text()
    _fits_the_phone(phone)
    shot(phone, "run-history-missing-manager-zh-phone")

    # A failed make_task action is retried from the page.
    phone.goto("/admin/runs?app=crm&rule=make_task&outcome=failed")
    (failed,) = phone.get_by_test_id("run").all()
    with phone.expect_navigation():
        failed.get_by_test_id("retry").click()
    assert "重新排队" in phone.locator(".flash-success").inner_text()
    worker.drain()
    phone.goto("/admin/runs?app=crm&rule=make_task")
    statuses = [r.get_attribute("data-status") for r in phone.get_by_test_id("run").all()]
    assert statuses.count("failed") == 2 and statuses.count("succeeded") == 2  # the retry failed too: no note yet
    changes = phone.get_by_test_id("changes").first
    assert "→" in changes.inner_text()
    shot(phone, "run-history-make-task-zh-phone")

    # The same pages in English.
    with phone.expect_navigation():
        phone.locator("button[name=locale][value=en]").click()
    phone.goto("/admin/health?app=crm")
    assert "The record's owner has no manager" in phone.get_by_test_id("causes").inner_text()
    assert phone.get_by_test_id("rail-health").inner_text() == "Rule health"
    _fits_the_phone(phone)
    shot(phone, "rule-health-en-phone")
    # Older runs come in below the list (htmx), without leaving the page.
    import web.admin.runs as runs_page

    monkeypatch.setattr(runs_page, "PAGE_SIZE", 3)
    phone.goto("/admin/runs?app=crm")
    first_url = phone.url
    assert phone.get_by_test_id("run").count() == 3
    phone.get_by_test_id("older").click()
    phone.get_by_test_id("run").nth(5).wait_for()
    assert phone.url == first_url
    ids = [int(r.get_attribute("data-run-id")) for r in phone.get_by_test_id("run").all()]
    assert ids == sorted(set(ids), reverse=True)
    _fits_the_phone(phone)
    shot(phone, "run-history-en-phone")
