"""The ``send_report`` trigger action: its shape, its references, and its JSON form."""

from __future__ import annotations

from typing import Any

from builder.drafts import check_draft
from builder.triggers import SendReport, dump_trigger
from tests.fixtures_reports import report_app

FRIDAY = {"type": "schedule", "cron": "0 17 * * fri", "timezone": "Asia/Shanghai"}


def _trigger(**action: Any) -> dict[str, Any]:
    return {"key": "weekly", "label": "周报", "on": FRIDAY,
            "actions": [{"type": "send_report", "dashboard": "weekly_review", "channel": "inbox",
                         "to_role": "manager", **action}]}


def _problems(**action: Any) -> set[tuple[str, str]]:
    check = check_draft(report_app(triggers=[_trigger(**action)]))
    return {(p.path, p.code) for p in check.problems if p.path.startswith("$.triggers")}


def test_a_valid_report_loads_and_dumps_back() -> None:
    check = check_draft(report_app(triggers=[_trigger(widget="topics", top=3)]))
    assert [p for p in check.problems] == []
    assert check.app is not None
    (trigger,) = check.app.triggers
    (action,) = trigger.actions
    assert isinstance(action, SendReport)
    assert (action.dashboard, action.widget, action.top, action.to_role) == ("weekly_review", "topics", 3, "manager")
    dumped = dump_trigger(trigger)["actions"][0]
    assert dumped == {"type": "send_report", "dashboard": "weekly_review", "widget": "topics",
                      "channel": "inbox", "to_role": "manager", "top": 3}


def test_unknown_dashboard_widget_and_roles_are_errors_at_their_paths() -> None:
    assert _problems(dashboard="nope") == {("$.triggers[0].actions[0].dashboard", "unknown_reference")}
    assert _problems(widget="nope") == {("$.triggers[0].actions[0].widget", "unknown_reference")}
    assert _problems(to_role="ghost", as_role="ghost2") == {
        ("$.triggers[0].actions[0].to_role", "unknown_reference"),
        ("$.triggers[0].actions[0].as_role", "unknown_reference"),
    }


def test_shape_errors() -> None:
    # A robot posts one message to a group: whose permissions compute it must be said.
    assert _problems(channel="wecom", webhook_url="https://qyapi.weixin.qq.com/x", to_role=None) == {
        ("$.triggers[0].actions[0].as_role", "invalid_value")}
    assert ("$.triggers[0].actions[0].to", "invalid_value") in _problems(to_role=None)
    assert ("$.triggers[0].actions[0].top", "invalid_value") in _problems(top=0)
    assert ("$.triggers[0].actions[0].colour", "unknown_key") in _problems(colour="red")


def test_the_problem_says_which_dashboard_in_both_languages() -> None:
    check = check_draft(report_app(triggers=[_trigger(widget="nope")]))
    (problem,) = [p for p in check.problems if p.path.startswith("$.triggers")]
    assert "nope" in problem.message and "nope" in problem.message_zh and "仪表盘" in problem.message_zh
