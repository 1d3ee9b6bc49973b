"""Loading and validating triggers and assignment rules (builder.triggers)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builder.model import App, Entity, Field, FieldType, LocalizedText, Stage, Step
from builder.triggers import (
    Assign,
    CreateRecord,
    Notify,
    OnElapsed,
    OnFieldChanged,
    OnStageChanged,
    PromptAction,
    SetField,
    dump_assignment_rule,
    dump_trigger,
    load_assignment_rules,
    load_triggers,
    parse_duration,
)


def _label(text: str) -> LocalizedText:
    return LocalizedText(zh=text, en=text)


def _app(triggers=(), rules=()) -> App:
    customer = Entity(
        key="customer",
        label=_label("Customer"),
        fields=(
            Field("name", FieldType.TEXT, _label("Name")),
            Field("status", FieldType.CHOICE, _label("Status")),
            Field("industry", FieldType.TEXT, _label("Industry")),
            Field("rep", FieldType.USER, _label("Rep")),
            Field("transcript", FieldType.LONG_TEXT, _label("Transcript")),
            Field("follow_up_at", FieldType.DATETIME, _label("Follow up")),
        ),
        steps=(Step("competitor", _label("Competitor")),),
        stages=(Stage("contact", _label("Contact")), Stage("need", _label("Need"))),
    )
    task = Entity(
        key="task",
        label=_label("Task"),
        fields=(
            Field("title", FieldType.TEXT, _label("Title")),
            Field("due_at", FieldType.DATETIME, _label("Due")),
            Field("customer", FieldType.LINK, _label("Customer"), target="customer"),
        ),
    )
    return App(key="sales", label=_label("Sales"), entities=(customer, task),
               triggers=tuple(triggers), assignment_rules=tuple(rules))


S6 = {
    "key": "need_timeout",
    "label": "需求确认超时",
    "entity": "customer",
    "on": {"type": "elapsed", "condition": 'stage == "need"', "since": "stage_entered_at",
           "after": "48h"},
    "actions": [
        {"type": "notify", "channel": "wecom", "webhook_url": "https://qyapi.weixin.qq.com/x",
         "message": "客户 {name} 的需求确认已超时"},
        {"type": "set_field", "field": "status", "value": '"待激活"'},
    ],
}


def test_durations() -> None:
    assert parse_duration("48h") == timedelta(hours=48)
    assert parse_duration("1d12h") == timedelta(hours=36)
    assert parse_duration("2w") == timedelta(days=14)
    with pytest.raises(ValueError):
        parse_duration("48 hours")


def test_loads_elapsed_trigger_and_actions() -> None:
    triggers, problems = load_triggers([S6], _app())
    assert problems == []
    (trigger,) = triggers
    assert isinstance(trigger.on, OnElapsed)
    assert trigger.on.after_delta == timedelta(hours=48)
    assert isinstance(trigger.actions[0], Notify) and trigger.actions[0].channel == "wecom"
    assert trigger.actions[1] == SetField(field="status", value='"待激活"')
    hash(trigger)


def test_round_trip_dump() -> None:
    raw = [
        S6,
        {"key": "s8", "label": "关键词", "entity": "customer",
         "on": {"type": "field_changed", "field": "transcript"},
         "when": 'contains_any(transcript, ["项目启动", "领导重视"])',
         "actions": [{"type": "prompt", "message": {"zh": "问预算", "en": "Ask budget"}}]},
        {"key": "s9", "label": "验收", "entity": "customer",
         "on": {"type": "field_changed", "field": "status", "from": None, "to": ["已验收", "done"]},
         "actions": [{"type": "create_record", "entity": "task", "values": {"title": '"回访"', "customer": "id"},
                      "due_in": "30d", "due_field": "due_at"}]},
        {"key": "s_stage", "label": "stage", "entity": "customer", "on": {"type": "stage_changed", "to": "need"},
         "actions": [{"type": "http_webhook", "url": "https://example.com/h", "secret": "k"}]},
        {"key": "weekly", "label": "周报", "on": {"type": "schedule", "cron": "0 17 * * fri", "timezone": "Asia/Shanghai"},
         "actions": [{"type": "report", "query": {"entity": "task", "group_by": ["title"]},
                      "channel": "inbox", "title": "复盘", "to_role": "manager"}]},
        {"key": "created", "label": "c", "entity": "customer", "on": "created",
         "actions": [{"type": "assign", "rule": "by_industry"}]},
    ]
    rules_raw = [{"key": "by_industry", "label": "行业", "entity": "customer", "field": "rep",
                  "strategy": "rule", "history": {"entity": "task", "same": {"title": "name"}},
                  "fallback": ["least"]},
                 {"key": "least", "label": "最少", "entity": "customer", "field": "rep",
                  "strategy": "least_loaded"}]
    rules, rproblems = load_assignment_rules(rules_raw)
    assert rproblems == []
    app = _app(rules=rules)
    triggers, problems = load_triggers(raw, app)
    assert problems == [], [p.as_dict() for p in problems]
    assert isinstance(triggers[2].on, OnFieldChanged) and triggers[2].on.to == ("已验收", "done")
    assert triggers[2].on.has_from and triggers[2].on.from_ is None
    assert isinstance(triggers[3].on, OnStageChanged) and triggers[3].on.to == "need"
    assert isinstance(triggers[1].actions[0], PromptAction)
    assert isinstance(triggers[2].actions[0], CreateRecord)
    assert isinstance(triggers[5].actions[0], Assign)
    again, problems = load_triggers([dump_trigger(t) for t in triggers], app)
    assert problems == [] and again == triggers
    rules_again, _ = load_assignment_rules([dump_assignment_rule(r) for r in rules])
    assert rules_again == rules


def test_shape_problems_have_paths() -> None:
    raw = [
        {"key": "a", "label": "A", "entity": "customer", "on": {"type": "elapsed", "since": "x", "after": "soon"},
         "actions": [{"type": "teleport"}]},
        {"key": "b", "label": "B", "entity": "customer", "on": "created",
         "actions": [{"type": "notify", "channel": "wecom", "message": "m"}]},
        {"key": "c", "label": "C", "entity": "customer", "on": {"type": "schedule", "cron": "every day"},
         "actions": [{"type": "set_field", "field": "status", "value": "1"}]},
    ]
    triggers, problems = load_triggers(raw, _app())
    assert triggers == ()
    paths = {p.path for p in problems}
    assert "$.triggers[0].on.condition" in paths
    assert "$.triggers[0].on.after" in paths
    assert "$.triggers[0].actions[0].type" in paths
    assert "$.triggers[1].actions[0].webhook_url" in paths
    assert "$.triggers[2].on.cron" in paths


def test_reference_problems() -> None:
    raw = [
        {"key": "a", "label": "A", "entity": "customer", "on": {"type": "step_completed", "step": "nope"},
         "actions": [{"type": "set_field", "field": "ghost", "value": "1"}]},
        {"key": "b", "label": "B", "entity": "customer",
         "on": {"type": "elapsed", "condition": "true", "since": "name", "after": "1h"},
         "actions": [{"type": "assign", "rule": "missing"},
                     {"type": "create_record", "entity": "nowhere"}]},
        {"key": "b", "label": "dup", "entity": "ghost", "on": "created",
         "actions": [{"type": "assign", "rule": "missing"}]},
    ]
    _, problems = load_triggers(raw, _app())
    got = {(p.path, p.code) for p in problems}
    assert ("$.triggers[0].on.step", "unknown_reference") in got
    assert ("$.triggers[0].actions[0].field", "unknown_reference") in got
    assert ("$.triggers[1].on.since", "invalid_option") in got
    assert ("$.triggers[1].actions[0].rule", "unknown_reference") in got
    assert ("$.triggers[1].actions[1].entity", "unknown_reference") in got
    assert ("$.triggers[2].key", "duplicate_key") in got


def test_assignment_rule_fallback_cycle() -> None:
    raw = [
        {"key": "a", "label": "A", "entity": "customer", "field": "rep", "strategy": "round_robin", "fallback": ["b"]},
        {"key": "b", "label": "B", "entity": "customer", "field": "name", "strategy": "round_robin", "fallback": ["a"]},
    ]
    _, problems = load_assignment_rules(raw, _app())
    codes = {(p.path, p.code) for p in problems}
    assert ("$.assignment_rules[0].fallback", "dependency_cycle") in codes
    assert ("$.assignment_rules[1].field", "invalid_option") in codes


def test_through_load_definition_expressions_are_checked() -> None:
    from builder import load_definition
    from builder.errors import DefinitionInvalid
    from tests.integration.automation.definitions import sales_app

    app = load_definition(sales_app())
    assert [t.key for t in app.triggers][:2] == ["need_timeout", "silent_lead"]
    assert isinstance(app.triggers[0].on, OnElapsed)

    doc = sales_app()
    doc["triggers"][0]["on"]["condition"] = "steps.need_confirmation.unlocked"  # no SQL form
    doc["triggers"][2]["when"] = 'contains_any(transcrpt, ["项目启动"])'  # typo
    doc["triggers"][3]["when"] = "status"  # not boolean
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    got = {(p.path, p.code) for p in caught.value.problems}
    assert ("$.triggers[0].on.condition", "expression_not_sql") in got
    assert ("$.triggers[2].when", "expression_unknown_name") in got
    assert ("$.triggers[3].when", "expression_not_boolean") in got


def test_dump_definition_round_trips_automation() -> None:
    from builder import dump_definition, load_definition
    from tests.integration.automation.definitions import sales_app

    doc = sales_app(assignment_rules=[
        {"key": "least", "label": "最少", "entity": "lead", "field": "assignee", "strategy": "least_loaded"}
    ])
    app = load_definition(doc)
    again = load_definition(dump_definition(app))
    assert again.triggers == app.triggers and again.assignment_rules == app.assignment_rules


def test_rollout_loads_dumps_and_is_checked() -> None:
    from builder.triggers import Rollout

    base = {"label": "R", "entity": "customer", "on": "created",
            "actions": [{"type": "set_field", "field": "status", "value": '"x"'}]}
    raw = [
        {**base, "key": "users", "rollout": {"users": [7, 7, 9]}},
        {**base, "key": "roles", "rollout": {"roles": ["rep"], "users": [3]}},
        {**base, "key": "everyone"},
    ]
    app = _app()
    triggers, problems = load_triggers(raw, app)
    assert problems == [], [p.as_dict() for p in problems]
    assert triggers[0].rollout == Rollout(users=(7, 9))
    assert triggers[1].rollout == Rollout(users=(3,), roles=("rep",))
    assert triggers[2].rollout is None
    assert dump_trigger(triggers[0])["rollout"] == {"users": [7, 9]}
    assert "rollout" not in dump_trigger(triggers[2])
    again, problems = load_triggers([dump_trigger(t) for t in triggers], app)
    assert problems == [] and again == triggers

    bad = [
        {**base, "key": "a", "rollout": {}},
        {**base, "key": "b", "rollout": {"users": ["someone", True, 0]}},
        {**base, "key": "c", "rollout": {"roles": ["ghost"]}},
        {**base, "key": "d", "rollout": {"teams": [1]}},
    ]
    _, problems = load_triggers(bad, app)
    got = {(p.path, p.code) for p in problems}
    paths = {p.path for p in problems}
    assert any(p.startswith("$.triggers[0].rollout") for p in paths)
    assert {"$.triggers[1].rollout.users[0]", "$.triggers[1].rollout.users[1]",
            "$.triggers[1].rollout.users[2]"} <= paths
    assert any(p.startswith("$.triggers[3].rollout.teams") for p in paths)
    assert all(code != "unknown_reference" or "roles" in path for path, code in got)
    _, problems = load_triggers([bad[2]], app)
    assert [(p.path, p.code) for p in problems] == [("$.triggers[0].rollout.roles[0]", "unknown_reference")]
