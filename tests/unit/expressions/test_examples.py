"""Every example of EXPRESSIONS.md parses, checks and evaluates to its documented value."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from expressions import BOOLEAN, DECIMAL, TEXT, StepState, check, compile_expression
from tests.unit.expressions.support import NOW, SCOPE, MemoryResolver, context

RECORD: dict[str, Any] = {
    "id": 1,
    "owner": 9,
    "region": "华东",
    "stage": "需求确认",
    "stage_entered_at": NOW - timedelta(hours=49),
    "transcript": "客户说这个项目启动很急，领导重视，需要定制升级，痛点明确",
    "budget_range": "50-100万",
    "amount": Decimal("50000"),
    "signed_at": date(2026, 3, 1),
    "referrals": None,
    "activity": Decimal("80"),
    "demand": Decimal("70"),
    "coverage": Decimal("60"),
    "progress": Decimal("50"),
    "ecosystem": Decimal("40"),
}


def _resolver() -> MemoryResolver:
    return MemoryResolver(
        records={
            "contact": {
                1: {"id": 1, "opportunity": 1, "role": "采购"},
                2: {"id": 2, "opportunity": 1, "role": "老板"},
                3: {"id": 3, "opportunity": 1, "role": "财务"},
            },
            "note": {1: {"id": 1, "opportunity": 1, "body": "首次拜访纪要"}},
            "visit": {
                1: {"id": 1, "opportunity": 1, "created_at": NOW - timedelta(days=1)},
                2: {"id": 2, "opportunity": 1, "created_at": NOW - timedelta(days=6)},
                3: {"id": 3, "opportunity": 1, "created_at": NOW - timedelta(days=8)},
            },
        },
        steps={("opportunity", 1, "competitor"): StepState(True, NOW, True)},
    )


EXAMPLES: list[tuple[str, Any]] = [
    ("steps.competitor.done", True),
    ("not steps.need_confirmation.done and stage_entered_at <= now() - 48h", True),
    ('contains_any(transcript, ["项目启动", "领导重视", "时间紧迫"])', True),
    (
        'count(contacts where role in ["采购", "技术", "老板"]) >= 2\n'
        "    and budget_range != null and count(meeting_notes) >= 1",
        True,
    ),
    ('keyword_density(transcript, ["定制", "升级", "痛点"]) >= 3', True),
    (
        "0.20 * activity + 0.25 * demand + 0.20 * coverage + 0.20 * progress + 0.15 * ecosystem",
        Decimal("61.5"),
    ),
    ("count(visits where created_at >= now() - 7d) >= 2", True),
    ('owner == me() or me().role == "manager" and region == me().region', True),
    ('if(amount >= 100000, "A", if(amount >= 20000, "B", "C"))', "B"),
    ("days_between(signed_at, today()) <= 30 and coalesce(referrals, 0) > 0", False),
]

RULES: list[tuple[str, Any]] = [
    ("-7 % 3 == -1", True),
    ("7 / 2 == 3.5", True),
    ("null == null", True),
    ("referrals == null", True),
    ("referrals != 1", True),
    ("not (referrals < 1)", True),
    ("referrals in [1, 2]", False),
    ("referrals not in [1, 2]", True),
    ("0.1 + 0.2 == 0.3", True),
    ("round(2.5, 0) == 3", True),
    ("round(-2.5, 0) == -3", True),
    ('len("项目启动") == 4', True),
    ('count(meeting_notes where body == "无")', 0),
    ("avg(visits.score)", None),
    ("any(visits where created_at > now())", False),
    ("all(visits where created_at > now())", False),
    ('all(meeting_notes where body == "无") or true', True),
    ("sum(contacts.score)", 0),
    ('count_of("啊啊啊啊", "啊啊")', 2),
    ('contains("Cairn", "cairn")', False),
    ("referrals + 1", None),
    ("1 / 0", None),
    ("5 % 0", None),
    ('keyword_density("", ["a"])', None),
]


@pytest.mark.parametrize(("source", "expected"), EXAMPLES + RULES)
def test_documented_value(source: str, expected: Any) -> None:
    result = check(source, SCOPE)
    assert result.ok, result.diagnostics
    compiled = compile_expression(source, SCOPE)
    value = compiled.evaluate(RECORD, context(_resolver()))
    assert value == expected
    assert type(value) is type(expected) or isinstance(expected, Decimal | int)


@pytest.mark.parametrize(("source", "_"), EXAMPLES)
def test_examples_are_sql_capable(source: str, _: Any) -> None:
    assert check(source, SCOPE, require_sql=True).ok


def test_example_types() -> None:
    assert check(EXAMPLES[5][0], SCOPE).type == DECIMAL
    assert check(EXAMPLES[8][0], SCOPE).type == TEXT
    for source, _ in EXAMPLES:
        if source not in (EXAMPLES[5][0], EXAMPLES[8][0]):
            assert check(source, SCOPE, expect=BOOLEAN).ok
