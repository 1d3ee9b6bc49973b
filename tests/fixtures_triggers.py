"""A draft whose triggers carry one error of each kind builder/triggers reports.

Shared by the designer's API tests and its browser test (like ``tests/fixtures_designer.py``):
:func:`trigger_errors_definition` gives the document, :data:`EXPECTED` the ``(path, code)``
of each error — every path points at the option that is wrong, so the trigger editor can
be checked to show each problem at its place. Schema errors (``invalid_value``,
``required``, ``unknown_key``, ``invalid_type``) stop the reference checks of their trigger,
so they sit in a trigger of their own.
"""

from __future__ import annotations

from typing import Any

#: (JSON path, problem code) of every error :func:`trigger_errors_definition` carries.
EXPECTED: tuple[tuple[str, str], ...] = (
    ("$.triggers[0].on.cron", "invalid_value"),
    ("$.triggers[0].enabled", "invalid_type"),
    ("$.triggers[0].actions[0].value", "required"),
    ("$.triggers[0].actions[1].colour", "unknown_key"),
    ("$.triggers[0].actions[2].type", "invalid_value"),
    ("$.triggers[1].on.field", "unknown_reference"),
    ("$.triggers[1].when", "expression_unknown_name"),
    ("$.triggers[1].actions[0].field", "invalid_option"),
    ("$.triggers[2].on.since", "invalid_option"),
    ("$.triggers[2].on.condition", "expression_not_boolean"),
    ("$.triggers[2].actions[0].values.nope", "unknown_reference"),
    ("$.triggers[2].actions[0].due_field", "invalid_option"),
    ("$.triggers[3].on.step", "unknown_reference"),
    ("$.triggers[3].actions[0].rule", "unknown_reference"),
    ("$.triggers[3].actions[1].to_role", "unknown_reference"),
    ("$.triggers[3].actions[2].query.where", "expression_unknown_function"),
    ("$.triggers[3].actions[2].query.group_by[0]", "unknown_reference"),
    ("$.triggers[4].entity", "unknown_reference"),
    ("$.triggers[5].actions[0]", "invalid_option"),
    ("$.triggers[6].on", "invalid_option"),
)


def trigger_errors_definition() -> dict[str, Any]:
    """An app (customer with stages and a step, task) whose triggers hold the errors above."""
    notify = {"type": "notify", "channel": "inbox", "to": "owner", "message": "客户 {name}"}
    return {
        "format": "cairn.app/1", "key": "trigger_errors", "label": {"zh": "触发器错误", "en": "Trigger errors"},
        "entities": [
            {"key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
             "fields": [
                 {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
                 {"key": "need_note", "type": "text", "label": {"zh": "需求说明", "en": "Need"}},
                 {"key": "amount", "type": "number", "label": {"zh": "金额", "en": "Amount"}},
                 {"key": "doubled", "type": "formula", "label": {"zh": "两倍", "en": "Doubled"}, "formula": "amount * 2"},
             ],
             "steps": [{"key": "need_confirmation", "label": {"zh": "需求确认", "en": "Need confirmation"}, "fields": ["need_note"]}],
             "stages": [{"key": "contact", "label": "初次接触"}, {"key": "need_confirmation", "label": "需求确认"}]},
            {"key": "task", "label": {"zh": "待办", "en": "Task"}, "title_field": "title",
             "fields": [{"key": "title", "type": "text", "label": {"zh": "标题", "en": "Title"}}]},
        ],
        "triggers": [
            {"key": "schema_errors", "label": "格式错误", "entity": "customer", "enabled": "yes",
             "on": {"type": "schedule", "cron": "99 * * *"},
             "actions": [{"type": "set_field", "field": "name"}, {**notify, "colour": "red"}, {"type": "bogus"}]},
            {"key": "bad_field", "label": "字段错误", "entity": "customer", "when": "nmae != null",
             "on": {"type": "field_changed", "field": "nope"},
             "actions": [{"type": "set_field", "field": "doubled", "value": "1"}]},
            {"key": "bad_elapsed", "label": "持续条件错误", "entity": "customer",
             "on": {"type": "elapsed", "condition": "name", "since": "need_note", "after": "48h"},
             "actions": [{"type": "create_record", "entity": "task", "values": {"nope": "1"}, "due_in": "1d", "due_field": "title"}]},
            {"key": "bad_refs", "label": "引用错误", "entity": "customer",
             "on": {"type": "step_completed", "step": "nope"},
             "actions": [{"type": "assign", "rule": "none"}, {**notify, "to_role": "nobody"},
                         {"type": "report", "query": {"entity": "customer", "where": "bogus(1)", "group_by": ["nope"]},
                          "channel": "inbox", "title": "周报", "to": "owner"}]},
            {"key": "no_entity", "label": "没有实体", "entity": "ghost", "on": "created", "actions": [notify]},
            {"key": "late_prompt", "label": "提示用错", "entity": "customer",
             "on": {"type": "elapsed", "condition": "true", "since": "created_at", "after": "1h"},
             "actions": [{"type": "prompt", "message": "提示"}]},
            {"key": "no_stages", "label": "没有阶段", "entity": "task", "on": {"type": "stage_changed"}, "actions": [notify]},
        ],
    }
