"""Operators and functions evaluated in Python: values, null rules, Chinese text, time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from expressions import Location, compile_expression
from expressions.functions.library import LIBRARY
from tests.unit.expressions.support import ACTOR, NOW, SCOPE, MemoryResolver, context

R: dict[str, Any] = {
    "id": 1,
    "name": "上海星辰科技有限公司",
    "budget": Decimal("2.5"),
    "amount": Decimal("-7.5"),
    "quantity": 3,
    "referrals": None,
    "transcript": "预算充足，竞品是A公司；竞品报价低",
    "signed_at": date(2026, 3, 16),  # a Monday
    "stage_entered_at": datetime(2026, 3, 17, 16, 30, tzinfo=UTC),  # 00:30 on the 18th in Shanghai
    "due_at": datetime(2026, 3, 20, 1, 0, tzinfo=UTC),
    "call_length": timedelta(minutes=90),
    "tags": ["重点", "华东"],
    "photos": [11, 12, 13],
    "approved": None,
    "owner": 8,
    "customer": 3,
    "check_in": Location(31.2304, 121.4737),
}

CASES: list[tuple[str, Any]] = [
    # arithmetic
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 - 4 - 3", 3),
    ("1_000 + 1", 1001),
    ("7 / 2", Decimal("3.5")),
    ("1 / 3", Decimal("0.3333333333")),
    ("2 / 3", Decimal("0.6666666667")),
    ("-2 / 3", Decimal("-0.6666666667")),
    ("budget / 0", None),
    ("-7 % 3", -1),
    ("7 % -3", 1),
    ("amount % 2", Decimal("-1.5")),
    ("quantity * budget", Decimal("7.5")),
    ("-quantity", -3),
    ("- -quantity", 3),
    ("referrals * 2", None),
    ("-referrals", None),
    ('"项目" + "启动"', "项目启动"),
    ("name + null", None),
    # durations and time
    ("48h", timedelta(hours=48)),
    ("2w - 1d", timedelta(days=13)),
    ("call_length * 2", timedelta(hours=3)),
    ("-call_length", timedelta(minutes=-90)),
    ("due_at - stage_entered_at", timedelta(hours=56, minutes=30)),
    ("stage_entered_at + 90s", datetime(2026, 3, 17, 16, 31, 30, tzinfo=UTC)),
    ("30m + stage_entered_at", datetime(2026, 3, 17, 17, 0, tzinfo=UTC)),
    ("signed_at + 36h", date(2026, 3, 17)),
    ("signed_at - 36h", date(2026, 3, 15)),
    ("signed_at - signed_at", timedelta(0)),
    ("now() - 7d", NOW - timedelta(days=7)),
    ("today()", date(2026, 3, 18)),
    ("date(2026, 2, 29)", None),
    ("date(2028, 2, 29)", date(2028, 2, 29)),
    ("days_between(signed_at, today())", 2),
    ("days_between(stage_entered_at, today())", 0),
    ("days_between(today(), signed_at)", -2),
    ("hours_between(stage_entered_at, due_at)", 56),
    ("hours_between(due_at, stage_entered_at)", -56),
    ("days_since(signed_at)", 2),
    ("hours_since(stage_entered_at)", 10),
    ("weekday(signed_at)", 1),
    ("weekday(stage_entered_at)", 3),
    ("start_of_week(today())", date(2026, 3, 16)),
    ("start_of_month(stage_entered_at)", date(2026, 3, 1)),
    ("days_since(referrals_date)", "unknown"),
    # comparisons and null
    ("budget > 2", True),
    ("budget >= 2.5 and budget <= 2.5", True),
    ("referrals > 0", False),
    ("referrals <= 0", False),
    ("not (referrals > 0)", True),
    ("referrals == null", True),
    ("null != referrals", False),
    ("budget != null", True),
    ("budget == 2.50", True),
    ('"b" > "a"', True),
    ('"项目" > "A"', True),
    ("quantity in [1, 2, 3]", True),
    ("referrals in [null]", False),
    ("referrals not in [1]", True),
    ('"重点" in tags', True),
    ('"次要" not in tags', True),
    ("signed_at < today()", True),
    ("stage_entered_at < due_at", True),
    ("call_length > 1h", True),
    ("approved", None),
    ("approved or true", True),
    ("approved and true", False),
    ("not approved", True),
    ("true and (false or true)", True),
    ("if(approved, 1, 2)", 2),
    # logic
    ("coalesce(referrals, quantity, 0)", 3),
    ("coalesce(referrals, null)", None),
    ("is_blank(referrals)", True),
    ('is_blank("")', True),
    ("is_blank(tags)", False),
    ("is_blank([])", True),
    ("is_blank(0)", False),
    # text
    ("len(name)", 10),
    ("len(tags)", 2),
    ("len(referrals_text)", "unknown"),
    ('lower("ABC项目")', "abc项目"),
    ('upper("abc项目")', "ABC项目"),
    ('trim("  客户 \\n")', "客户"),
    ('contains(transcript, "竞品")', True),
    ('contains(transcript, "竞争")', False),
    ('contains(null, "a")', False),
    ('contains_any(transcript, ["价格", "报价"])', True),
    ("contains_any(transcript, [])", False),
    ('contains_all(transcript, ["预算", "竞品"])', True),
    ('contains_all(transcript, ["预算", "决策人"])', False),
    ("contains_all(transcript, [])", True),
    ('starts_with(name, "上海")', True),
    ('ends_with(name, "有限公司")', True),
    ('ends_with(null, "")', False),
    ('count_of(transcript, "竞品")', 2),
    ('count_of("aaaa", "aa")', 2),
    ('count_of(transcript, "")', 0),
    ('count_of(null, "a")', None),
    ('keyword_density("定制定制升级痛点", ["定制", "升级"])', Decimal("375")),
    ("left(name, 2)", "上海"),
    ("right(name, 4)", "有限公司"),
    ("left(name, 0)", ""),
    ("left(name, -1)", ""),
    ("right(name, 100)", "上海星辰科技有限公司"),
    ("left(name, referrals)", None),
    # numbers
    ("round(2.345, 2)", Decimal("2.35")),
    ("round(-2.345, 2)", Decimal("-2.35")),
    ("round(1234, -2)", 1200),
    ("round(1250, -2)", 1300),
    ("round(-1250, -2)", -1300),
    ("round(2.5)", Decimal("3")),
    ("round(2.5, 19)", None),
    ("floor(-2.5)", -3),
    ("ceil(-2.5)", -2),
    ("floor(7)", 7),
    ("abs(amount)", Decimal("7.5")),
    ("abs(-3)", 3),
    ("min(3, 1, 2)", 1),
    ("max(3, 1.5)", 3),
    ("min(referrals, 4)", 4),
    ("min(referrals, null)", None),
    ('max("华东", "华北")', "华北"),
    ("clamp(15, 0, 10)", 10),
    ("clamp(-1, 0, 10)", 0),
    ("clamp(5, null, 3)", 3),
    ("clamp(referrals, 0, 1)", None),
    # context
    ("me()", 7),
    ("me().role", "manager"),
    ("owner == me()", False),
    ('has_role("manager")', True),
    ('has_role("admin")', False),
    ("owner.role", "rep"),
    ("owner.manager", 7),
    ("owner.manager.role", "manager"),
    ("customer.region", "华南"),
    ('customer.name + "（重点）"', "星辰（重点）"),
    # location and lists
    ("distance_km(check_in, customer.location)", Decimal("2.688")),
    ("count(photos)", 3),
    ("count(tags)", 2),
    ("count(null)", 0),
]


def _resolver() -> MemoryResolver:
    return MemoryResolver(
        records={
            "customer": {
                3: {
                    "id": 3,
                    "region": "华南",
                    "name": "星辰",
                    "location": Location(31.2397, 121.4998),
                }
            }
        },
        users={7: ACTOR, 8: {"id": 8, "role": "rep", "manager": 7}},
    )


@pytest.mark.parametrize(("source", "expected"), [c for c in CASES if c[1] != "unknown"])
def test_value(source: str, expected: Any) -> None:
    value = compile_expression(source, SCOPE).evaluate(R, context(_resolver()))
    assert value == expected, (source, value)
    if isinstance(expected, bool) or expected is None:
        assert value is expected


def test_every_library_function_is_exercised() -> None:
    text = " ".join(source for source, _ in CASES)
    aggregate = {
        "count",
        "sum",
        "avg",
        "min_of",
        "max_of",
        "any",
        "all",
        "distinct_count",
        "latest",
    }
    missing = [n for n in LIBRARY.names() if f"{n}(" not in text and n not in aggregate]
    assert missing == []


def test_missing_resolver_and_actor_give_null() -> None:
    from expressions import EvalContext
    from tests.unit.expressions.support import SHANGHAI

    bare = EvalContext(NOW, SHANGHAI)
    assert compile_expression("customer.region", SCOPE).evaluate(R, bare) is None
    assert compile_expression("me().role", SCOPE).evaluate(R, bare) is None
    assert compile_expression('has_role("x")', SCOPE).evaluate(R, bare) is False
    assert compile_expression("steps.competitor.done", SCOPE).evaluate(R, bare) is False
    assert compile_expression("count(visits)", SCOPE).evaluate(R, bare) == 0
    assert compile_expression("all(visits where score > 1)", SCOPE).evaluate(R, bare) is True


def test_unknown_link_target_is_null() -> None:
    record = dict(R, customer=404)
    assert (
        compile_expression("customer.region", SCOPE).evaluate(record, context(_resolver())) is None
    )


def test_malformed_record_value_gives_null_not_an_exception() -> None:
    record = dict(R, budget="not a number")
    assert compile_expression("budget * 2 > 1", SCOPE).evaluate(record, context()) is None


def test_text_results_are_bounded() -> None:
    big = "项" * 600_000
    record = dict(R, name=big, transcript=big)
    assert compile_expression("name + transcript", SCOPE).evaluate(record, context()) is None
    assert compile_expression('len(name + "a")', SCOPE).evaluate(record, context()) == 600_001
