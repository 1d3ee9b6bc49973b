"""A small sales app for the action tests: leads assigned by rules, deals as history (S11, S12).

Everything is metadata: the rules below are validated by the builder like any definition.
"""

from __future__ import annotations

import copy
from typing import Any

OPEN_LEAD = 'status == "open"'
WON_RECENTLY = 'status == "won" and closed_at >= now() - 30d'


def _label(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _text(key: str, zh: str, en: str) -> dict[str, Any]:
    return {"key": key, "type": "text", "label": _label(zh, en)}


_DEFINITION: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "sales",
    "label": _label("销售管理", "Sales"),
    "entities": [
        {
            "key": "lead",
            "label": _label("线索", "Lead"),
            "title_field": "name",
            "fields": [
                _text("name", "名称", "Name"),
                _text("industry", "行业", "Industry"),
                _text("region", "区域", "Region"),
                _text("phone", "电话", "Phone"),
                {"key": "status", "type": "choice", "label": _label("状态", "Status"),
                 "options": ["open", "closed"], "default": "open"},
                {"key": "assignee", "type": "user", "label": _label("负责人", "Assignee")},
            ],
        },
        {
            "key": "deal",
            "label": _label("成交", "Deal"),
            "title_field": "name",
            "fields": [
                _text("name", "名称", "Name"),
                _text("industry", "行业", "Industry"),
                {"key": "status", "type": "choice", "label": _label("状态", "Status"),
                 "options": ["open", "won", "lost"]},
                {"key": "closed_at", "type": "datetime", "label": _label("成交时间", "Closed at")},
            ],
        },
    ],
    "assignment_rules": [
        {
            "key": "industry_expert", "label": _label("行业专家", "Industry expert"),
            "entity": "lead", "field": "owner", "strategy": "rule",
            "history": {"entity": "deal", "where": WON_RECENTLY, "same": {"industry": "industry"}},
            "load_where": OPEN_LEAD,
            "fallback": ["least_loaded"],
        },
        {
            "key": "least_loaded", "label": _label("负载最低", "Least loaded"),
            "entity": "lead", "field": "owner", "strategy": "least_loaded",
            "load_where": OPEN_LEAD,
        },
        {
            "key": "turns", "label": _label("轮流", "Round robin"),
            "entity": "lead", "field": "assignee", "strategy": "round_robin",
        },
        {
            "key": "east_only", "label": _label("华东", "East"),
            "entity": "lead", "field": "owner", "strategy": "rule",
            "candidates": {"role": "rep", "region": "region"},
            "expression": 'me().name != "nobody"',
            "fallback": ["turns"],
        },
        {
            "key": "smart", "label": _label("智能分配", "Smart"),
            "entity": "lead", "field": "owner", "strategy": "weighted",
            "history": {"entity": "deal", "where": WON_RECENTLY, "same": {"industry": "industry"}},
            "load_where": OPEN_LEAD,
            "weights": [
                {"key": "industry", "label": _label("行业匹配", "Industry match"),
                 "expression": "me().history_matches > 0", "weight": 0.6},
                {"key": "capacity", "label": _label("当前负载", "Current load"),
                 "expression": "1 - min(me().load, 10) / 10", "weight": 0.4},
            ],
        },
    ],
}


def sales_definition() -> dict[str, Any]:
    """A fresh copy of the sales app definition."""
    return copy.deepcopy(_DEFINITION)
