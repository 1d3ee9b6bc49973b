"""A draft carrying one error of each kind the definition validator knows.

Shared by the designer's API tests (``tests/integration/designer/``) and its browser test:
:func:`all_errors_definition` gives the document, :data:`EXPECTED` the ``(path, code)`` of
each error in it — every path points at the element that is wrong, so a UI can be checked
to show each problem at its place.
"""

from __future__ import annotations

from typing import Any

from tests.unit.builder.fixtures import visit_app_definition

#: (JSON path, problem code) of every error :func:`all_errors_definition` carries.
EXPECTED: tuple[tuple[str, str], ...] = (
    ("$.format", "format_unsupported"),
    ("$.entities[0].fields[2].help", "too_large"),
    ("$.entities[0].fields[0].colour", "unknown_key"),
    ("$.entities[0].fields[1].required", "invalid_type"),
    ("$.entities[0].fields[3].type", "invalid_value"),
    ("$.entities[0].fields[4].key", "invalid_identifier"),
    ("$.entities[1].fields[0].label", "required"),
    ("$.entities[1].fields[1].key", "reserved_name"),
    ("$.entities[1].fields[3].key", "duplicate_key"),
    ("$.entities[1].fields[2].target", "unknown_reference"),
    ("$.entities[0].fields[5].max_length", "invalid_option"),
    ("$.entities[1].steps[0].unlock_when", "dependency_cycle"),
    ("$.entities[1].fields[4].visible_when", "expression_unknown_name"),
    ("$.entities[1].fields[5].required_when", "expression_syntax"),
    ("$.entities[1].fields[6].read_only_when", "expression_not_boolean"),
    ("$.entities[1].rules[0].assert", "expression_unknown_function"),
    ("$.entities[1].permissions[0].read_when", "expression_type_mismatch"),
    ("$.entities[1].stages[0].exit_when", "expression_arity"),
)

#: The misspelt name in ``$.entities[1].fields[4].visible_when`` and the name meant.
MISSPELT = ("budgett", "budget")


def all_errors_definition() -> dict[str, Any]:
    """A fresh copy of the document with one error of each kind (see :data:`EXPECTED`)."""
    return {
        "format": "cairn.app/0",
        "key": "all_errors",
        "label": {"zh": "全部错误", "en": "All errors"},
        "entities": [
            {
                "key": "customer",
                "label": {"zh": "客户", "en": "Customer"},
                "fields": [
                    {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}, "colour": "red"},
                    {"key": "region", "type": "text", "label": {"zh": "区域", "en": "Region"}, "required": "yes"},
                    {"key": "notes", "type": "long_text", "label": {"zh": "备注", "en": "Notes"}, "help": "x" * 10_001},
                    {"key": "tier", "type": "no_such_type", "label": {"zh": "等级", "en": "Tier"}},
                    {"key": "Bad Key", "type": "text", "label": {"zh": "坏标识", "en": "Bad key"}},
                    {"key": "code", "type": "text", "label": {"zh": "编码", "en": "Code"}, "max_length": -1},
                ],
            },
            {
                "key": "visit",
                "label": {"zh": "拜访", "en": "Visit"},
                "fields": [
                    {"key": "topic", "type": "text"},
                    {"key": "owner", "type": "user", "label": {"zh": "负责人", "en": "Owner"}},
                    {"key": "shop", "type": "link", "target": "no_such_entity", "label": {"zh": "门店", "en": "Shop"}},
                    {"key": "shop", "type": "text", "label": {"zh": "门店名", "en": "Shop name"}},
                    {"key": "note", "type": "text", "label": {"zh": "说明", "en": "Note"}, "visible_when": "budgett > 0"},
                    {"key": "budget", "type": "money", "label": {"zh": "预算", "en": "Budget"}, "required_when": "budget >"},
                    {"key": "status", "type": "text", "label": {"zh": "状态", "en": "Status"}, "read_only_when": "budget + 1"},
                ],
                "steps": [
                    {"key": "first", "label": {"zh": "一", "en": "One"}, "fields": ["note"], "unlock_when": "steps.second.done"},
                    {"key": "second", "label": {"zh": "二", "en": "Two"}, "fields": ["budget"], "unlock_when": "steps.first.done"},
                ],
                "stages": [
                    {"key": "open", "label": {"zh": "打开", "en": "Open"}, "exit_when": "contains(status) == true"},
                    {"key": "closed", "label": {"zh": "关闭", "en": "Closed"}},
                ],
                "rules": [
                    {"key": "positive", "assert": "no_such_function(budget) > 0", "message": {"zh": "预算须为正", "en": "Budget must be positive"}},
                ],
                "permissions": [{"role": "rep", "read_when": 'budget == "a lot"'}],
            },
        ],
    }


def valid_visit_definition() -> dict[str, Any]:
    """A valid definition the designer tests publish (the store-visit app)."""
    return visit_app_definition()


def smart_app() -> dict[str, Any]:
    """Leads with a region, assigned on creation by an S12 weighted rule with two factors."""
    return {
        "format": "cairn.app/1",
        "key": "crm",
        "label": _text("客户", "CRM"),
        "entities": [{
            "key": "lead",
            "label": _text("线索", "Lead"),
            "title_field": "name",
            "fields": [
                {"key": "name", "type": "text", "label": _text("名称", "Name")},
                {"key": "region", "type": "text", "label": _text("区域", "Region")},
            ],
            "permissions": [
                {"role": "admin"},
                {"role": "manager"},
                {"role": "rep", "read_when": "owner == me()", "write_when": "owner == me()"},
            ],
        }],
        "assignment_rules": [{
            "key": "smart", "label": _text("智能分配", "Smart"),
            "entity": "lead", "field": "owner", "strategy": "weighted",
            "weights": [
                {"key": "region", "label": _text("区域匹配", "Region match"),
                 "expression": "me().region == region", "weight": 40},
                {"key": "load", "label": _text("当前负载", "Current load"),
                 "expression": "me().load", "weight": -10},
            ],
        }],
        "triggers": [{"key": "assign_new", "label": _text("分配新线索", "Assign new leads"), "entity": "lead", "on": "created",
                      "actions": [{"type": "assign", "rule": "smart"}]}],
    }


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}
