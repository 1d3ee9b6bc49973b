"""The S6 timeout rule written in the designer, in the browser only (issue: the admin console).

An admin sets a rep's manager on /admin/people, then in the designer's Triggers section
writes "需求确认 not done 48 h after the stage began → notify the owner's manager through the
in-app inbox and set status 待激活": the elapsed event with its condition and duration, a
notify action whose message gets a field placeholder from the menu and a server-rendered
preview, and a set_field action; the draft has no problem; a dry run over the last 7 days
lists the seeded record it would have hit (and not the one not yet due); it is published. With the
server's clock 49 hours later a sweep fires the rule: the manager's bell counts the alert
and the run history shows the status changed.

A draft whose triggers carry one error of each kind builder/triggers reports
(``tests/fixtures_triggers.py``) shows each problem at its trigger and option.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime.automation.embedded import EmbeddedWorker
from tests.e2e.conftest import PASSWORD, LiveServer, shot
from tests.e2e.pages import SignInPage
from tests.e2e.pages.designer import DesignerPage
from tests.fixtures_triggers import EXPECTED, trigger_errors_definition
from tests.unit.web.support import platform_of

pytestmark = pytest.mark.browser

CONDITION = 'stage == "need_confirmation" and not steps.need_confirmation.done'


def s6_app() -> dict[str, Any]:
    """A small app with a stage and a step both called 需求确认, and a status to set."""
    return {
        "format": "cairn.app/1", "key": "s6", "label": {"zh": "门店商机", "en": "Store deals"},
        "entities": [{
            "key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
            "fields": [
                {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}, "required": True},
                {"key": "need_note", "type": "text", "label": {"zh": "需求说明", "en": "Need"}},
                {"key": "status", "type": "choice", "label": {"zh": "状态", "en": "Status"}, "options": ["跟进中", "待激活"]},
            ],
            "steps": [{"key": "need_confirmation", "label": {"zh": "需求确认", "en": "Need confirmation"}, "fields": ["need_note"]}],
            "stages": [
                {"key": "contact", "label": {"zh": "初次接触", "en": "Contact"}},
                {"key": "need_confirmation", "label": {"zh": "需求确认", "en": "Need confirmation"}},
            ],
        }],
    }


def test_admin_writes_the_s6_rule_in_the_designer_and_it_fires(live: LiveServer, desk: Any) -> None:
    admin = live.api("admin")
    app_id = admin.publish(s6_app())
    rep2 = live.tenant.rep2
    admin.call("PATCH", f"/users/{rep2.id}", {"manager": None})
    # Seeded history: the rep's customer 华联超市 entered 需求确认 50 hours ago with the
    # step not done; 如意商贸 entered it just now.
    rep = live.api("rep2")

    def enter_need_confirmation(name: str) -> dict[str, Any]:
        record = rep.create("s6", "customer", {"name": name, "status": "跟进中"})["record"]
        moved = rep.call("POST", f"/apps/s6/entities/customer/records/{record['id']}/stage",
                         {"stage": "need_confirmation", "version": record["version"]})
        assert moved["record"]["stage"] == "need_confirmation"
        return record

    overdue = enter_need_confirmation("华联超市")
    live.clock.advance(timedelta(hours=50))
    recent = enter_need_confirmation("如意商贸")

    # The admin sets the rep's manager in the UI.
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    page.goto(f"/admin/people/{rep2.id}")
    page.select_option("#manager", str(live.tenant.manager.id))
    with page.expect_navigation():
        page.get_by_test_id("save-person").click()
    assert page.locator("#manager").input_value() == str(live.tenant.manager.id)

    # ... and writes the rule in the designer.
    designer = DesignerPage(page).open(f"#/apps/{app_id}")
    designer.triggers()
    editor = designer.add_trigger("需求确认超时", "Need confirmation overdue")
    editor.get_by_test_id("event-type").select_option("elapsed")
    designer.replace_expression("持续成立的条件", CONDITION)
    expect(page.get_by_label("起算时间")).to_have_value("stage_entered_at")
    page.get_by_label("持续时长(数值)").fill("48")
    page.get_by_label("持续时长(数值)").press("Tab")
    expect(page.get_by_label("持续时长(单位)")).to_have_value("h")

    notify = designer.add_action("notify")
    expect(notify.get_by_label("动作 1 的渠道")).to_have_value("inbox")
    notify.get_by_test_id("to-manager-1").click()
    message = notify.get_by_label("动作 1 的消息(中文)")
    message.fill("客户 ")
    notify.get_by_test_id("insert-placeholder").select_option("name")
    expect(message).to_have_value("客户 {name}")
    message.focus()
    message.press("End")
    message.type(" 进入需求确认已超过 48 小时,请跟进。")
    designer.wait_saved()
    notify.get_by_test_id("preview-message").click()
    # The preview is rendered by the server on the newest record.
    expect(notify.get_by_test_id("preview-text")).to_have_text("客户 如意商贸 进入需求确认已超过 48 小时,请跟进。")

    set_status = designer.add_action("set_field")
    set_status.get_by_label("动作 2 的字段").select_option("status")
    set_status.get_by_label("动作 2 的选项").select_option('"待激活"')
    designer.wait_saved()
    expect(designer.problems_count).to_have_text("问题 0")
    shot(page, "designer-triggers-01-s6-rule")

    # The dry run over the last 7 days lists the record the rule would have hit.
    dry_run = editor.get_by_test_id("dry-run")
    dry_run.get_by_test_id("dry-run-run").click()
    overdue_id, recent_id = overdue["id"], recent["id"]
    hit = dry_run.locator(f'[data-testid=dry-run-row][data-record="{overdue_id}"]')
    expect(hit).to_have_class("fires")
    expect(hit.locator(".verdict")).to_have_text("✓")
    expect(dry_run.locator(f'[data-testid=dry-run-row][data-record="{recent_id}"].fires')).to_have_count(0)
    expect(dry_run.locator("[data-testid=dry-run-row].fires")).to_have_count(1)
    hit.scroll_into_view_if_needed()
    shot(page, "designer-triggers-02-dry-run")
    unchanged = admin.call("GET", f"/apps/s6/entities/customer/records/{overdue_id}")
    assert unchanged["record"]["status"] == "跟进中"

    dialog = designer.publish()
    dialog.get_by_test_id("publish").click()
    expect(dialog.get_by_test_id("publish-done")).to_be_visible()
    dialog.get_by_test_id("publish-close").click()
    published = admin.call("GET", "/apps/s6")
    assert published["app"]["key"] == "s6"

    # 49 hours later the sweep finds the customer and the worker runs both actions.
    live.clock.advance(timedelta(hours=49))
    worker = EmbeddedWorker(platform_of(live.app))
    worker.sweep()
    worker.drain()
    for record in (overdue, recent):
        after = admin.call("GET", f"/apps/s6/entities/customer/records/{record['id']}")
        assert after["record"]["status"] == "待激活"

    # The manager's bell shows the alert.
    page.context.clear_cookies()
    SignInPage(page).open().sign_in(live.username("manager"), PASSWORD)
    expect(page.get_by_test_id("bell-count")).to_have_text("2")
    page.get_by_test_id("bell").click()
    page.wait_for_url("**/inbox")
    expect(page.get_by_test_id("inbox")).to_contain_text("客户 华联超市 进入需求确认已超过 48 小时")
    expect(page.get_by_test_id("inbox")).to_contain_text("客户 如意商贸 进入需求确认已超过 48 小时")
    shot(page, "designer-triggers-03-manager-inbox")

    # The run history shows the run and the field it changed.
    page.context.clear_cookies()
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    page.goto("/admin/runs?app=s6")
    runs = page.get_by_test_id("run")
    expect(runs).to_have_count(2)
    for run in runs.all():
        expect(run).to_have_attribute("data-status", "succeeded")
        changes = run.get_by_test_id("changes")
        expect(changes).to_contain_text("跟进中")
        expect(changes).to_contain_text("待激活")
    shot(page, "designer-triggers-04-run-history")


@pytest.mark.console_allows("422")  # the schedule with a bad cron asks the server for its next times
def test_every_trigger_problem_is_shown_at_its_place(desk: Any, live: LiveServer, tmp_path: Path) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    document = tmp_path / "trigger-errors.json"
    document.write_text(json.dumps(trigger_errors_definition(), ensure_ascii=False), encoding="utf-8")
    page.get_by_label("导入 JSON 文件").set_input_files(str(document))
    page.get_by_test_id("save-state").wait_for()
    expect(page.get_by_test_id("rail-triggers").locator(".badge")).to_have_text(str(len(EXPECTED)))

    counter = designer.problems_count
    counter.click()
    links = page.get_by_test_id("problem-link")
    expect(links.first).to_be_visible()
    listed = [links.nth(i).get_attribute("data-path") for i in range(links.count())]
    assert sorted(p for p in listed if p.startswith("$.triggers")) == sorted(path for path, _ in EXPECTED)

    for path, code in EXPECTED:
        if not page.get_by_test_id("problems-menu").is_visible():
            counter.click()
        page.locator(f'[data-testid=problem-link][data-path="{path}"]').click()
        index = int(path.split("[")[1].split("]")[0])
        key = trigger_errors_definition()["triggers"][index]["key"]
        place = page.get_by_test_id(f"trigger-editor-{key}").locator(f'[data-testid=problem][data-path="{path}"]')
        expect(place).to_have_count(1)
        expect(place.first).to_have_attribute("data-code", code)
        if place.first.evaluate("(el) => !!el.closest('.expr')"):
            # An expression's problem is shown by its editor (checked live, underlined).
            shown = place.first.locator("xpath=ancestor::div[contains(@class,'expr')][1]").get_by_test_id("expr-problems")
            expect(shown).to_be_visible()
        else:
            expect(place.first).to_be_visible()
        if ".actions[" in path:
            action = int(path.split(".actions[")[1].split("]")[0])
            assert place.first.evaluate(
                "(el, n) => !!el.closest(`[data-testid=action-${n}]`)", action + 1
            ), f"{path} is not shown in its action's card"
        elif ".on" in path:
            assert place.first.evaluate("(el) => !!el.closest('[data-testid=trigger-event]')"), path
    shot(page, "designer-triggers-05-problems")
