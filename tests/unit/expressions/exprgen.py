"""Random well-typed expressions over the test scope (for differential tests).

``gen(draw, kind, depth)`` returns source text of the given kind. Numbers are kept small
so that every decimal stays within the 15 significant digits SQLite computes exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Draw = Callable[[Any], Any]

KINDS = ("int", "dec", "text", "bool", "date", "dt", "dur")

_TEXTS = [
    '""',
    '"项目"',
    '"目"',
    '"a"',
    '"B"',
    '" a "',
    '"%"',
    '"_"',
    '"采购"',
    '"华东"',
    "'项目启动'",
]
_VISIT_CONDS = [
    "score > 0.5",
    "score <= parent.budget",
    "outcome == parent.region",
    "created_at >= now() - 7d",
    'contains(outcome, "项") or wait > 1h',
    "not (score < 0)",
    "region != parent.name",
]
_CONTACT_CONDS = ['role != "采购"', "score >= parent.quantity", "role == null or score > 1"]
_LEAVES: dict[str, list[str]] = {
    "int": [
        "quantity",
        "referrals",
        "0",
        "1",
        "-3",
        "7",
        "1_000",
        "count(visits)",
        'count(contacts where role == "采购")',
        "len(name)",
        'count_of(transcript, "目")',
        "days_between(signed_at, today())",
        "hours_between(stage_entered_at, due_at)",
        "weekday(stage_entered_at)",
        "customer.level",
        "sum(contacts.score)",
        "distinct_count(visits.outcome)",
        "days_since(signed_at)",
        "hours_since(due_at)",
        "count(contacts.score)",
        "weekday(signed_at)",
        "max_of(contacts.score)",
    ],
    "dec": [
        "budget",
        "amount",
        "0.1",
        "2.5",
        "-1.25",
        "0.0",
        "sum(visits.score)",
        "avg(visits.score)",
        "min_of(visits.score)",
        "max_of(visits.score)",
        'keyword_density(transcript, ["项目", "a"])',
        "avg(contacts.score)",
    ],
    "text": [
        "name",
        "region",
        "transcript",
        "budget_range",
        *_TEXTS,
        "customer.region",
        "latest(visits.outcome)",
        "me().region",
        "owner.region",
        "min_of(visits.outcome)",
        "max_of(contacts.role)",
    ],
    "bool": [
        "approved",
        "true",
        "false",
        "steps.competitor.done",
        "steps.need_confirmation.done",
        "any(visits where score > 0)",
        "all(contacts where score >= 0)",
        'has_role("manager")',
        "(owner == me())",
        "any(visits where region == parent.region)",
    ],
    "date": [
        "signed_at",
        "today()",
        "start_of_week(signed_at)",
        "start_of_month(stage_entered_at)",
        "start_of_week(today())",
    ],
    "dt": [
        "stage_entered_at",
        "due_at",
        "created_at",
        "now()",
        "steps.competitor.done_at",
        "max_of(visits.created_at)",
        "latest(visits.created_at)",
    ],
    "dur": ["call_length", "90s", "15m", "48h", "30d", "2w", "(due_at - stage_entered_at)"],
}


def gen(draw: Draw, kind: str, depth: int) -> str:
    """A random expression of ``kind``."""
    import hypothesis.strategies as st

    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        return str(draw(st.sampled_from(_LEAVES[kind])))
    sub = depth - 1

    def g(k: str) -> str:
        return gen(draw, k, sub)

    def pick(options: list[Callable[[], str]]) -> str:
        return draw(st.sampled_from(range(len(options))).map(lambda i: options[i]))()

    common: list[Callable[[], str]] = [
        lambda: f"if({g('bool')}, {g(kind)}, {g(kind)})",
        lambda: f"coalesce({g(kind)}, {g(kind)})",
    ]
    if kind == "int":
        return pick(
            common
            + [
                lambda: f"({g('int')} {draw(st.sampled_from(['+', '-', '*', '%']))} {g('int')})",
                lambda: f"-{g('int')}",
                lambda: f"abs({g('int')})",
                lambda: f"min({g('int')}, {g('int')})",
                lambda: f"max({g('int')}, {g('int')}, {g('int')})",
                lambda: f"clamp({g('int')}, -2, 5)",
                lambda: f"floor({g('dec')})",
                lambda: f"ceil({g('dec')})",
                lambda: f"round({g('int')}, -1)",
                lambda: f"len({g('text')})",
                lambda: f"count_of({g('text')}, {g('text')})",
                lambda: f"days_between({g('date')}, {g('dt')})",
                lambda: f"hours_between({g('dt')}, {g('dt')})",
                lambda: f"weekday({g('dt')})",
            ]
        )
    if kind == "dec":
        return pick(
            common
            + [
                lambda: f"({g('dec')} {draw(st.sampled_from(['+', '-']))} {g('dec')})",
                lambda: f"({g('dec')} * {draw(st.sampled_from(['2', '0.5', '-1', 'quantity']))})",
                lambda: f"({g('int')} / {g('int')})",
                lambda: (
                    f"({g('dec')} / {draw(st.sampled_from(['3', '0.5', 'budget', 'quantity', '0']))})"
                ),
                lambda: f"({g('dec')} % {draw(st.sampled_from(['2', '0.3', 'amount', '0']))})",
                lambda: f"round({g('dec')}, {draw(st.sampled_from(['0', '1', '2', '-1']))})",
                lambda: f"abs({g('dec')})",
                lambda: f"-{g('dec')}",
                lambda: f"min({g('dec')}, {g('int')})",
                lambda: f"max({g('dec')}, {g('dec')})",
                lambda: f"clamp({g('dec')}, 0, 10.5)",
                lambda: f"(budget + {g('int')})",
            ]
        )
    if kind == "text":
        return pick(
            common
            + [
                lambda: f"({g('text')} + {g('text')})",
                lambda: f"lower({g('text')})",
                lambda: f"upper({g('text')})",
                lambda: f"trim({g('text')})",
                lambda: (
                    f"left({g('text')}, {draw(st.sampled_from(['0', '1', '2', '-1', 'quantity']))})"
                ),
                lambda: (
                    f"right({g('text')}, {draw(st.sampled_from(['0', '1', '3', '-2', 'referrals']))})"
                ),
                lambda: f"min({g('text')}, {g('text')})",
                lambda: f"max({g('text')}, {g('text')})",
            ]
        )
    if kind == "bool":
        cmp_kind = draw(st.sampled_from(["int", "dec", "text", "date", "dt", "dur", "bool"]))
        ops = ["==", "!="] if cmp_kind == "bool" else ["==", "!=", "<", "<=", ">", ">="]
        return pick(
            [
                lambda: f"({g(cmp_kind)} {draw(st.sampled_from(ops))} {g(cmp_kind)})",
                lambda: f"({g(cmp_kind)} {draw(st.sampled_from(['==', '!=']))} null)",
                lambda: f"({g('bool')} and {g('bool')})",
                lambda: f"({g('bool')} or {g('bool')} or {g('bool')})",
                lambda: f"(not {g('bool')})",
                lambda: f"({g('int')} in [1, 2, 7, null])",
                lambda: f'({g("text")} not in ["项目", "a", ""])',
                lambda: f"({g('dec')} in [0.1, 2.5])",
                lambda: f"contains({g('text')}, {g('text')})",
                lambda: f'contains_any({g("text")}, ["目", "a", null])',
                lambda: f'contains_all({g("text")}, ["项", {g("text")}])',
                lambda: f"starts_with({g('text')}, {g('text')})",
                lambda: f"ends_with({g('text')}, {g('text')})",
                lambda: f"is_blank({g(draw(st.sampled_from(['text', 'int', 'dt'])))})",
                lambda: f"any(visits where {draw(st.sampled_from(_VISIT_CONDS))})",
                lambda: f"all(contacts where {draw(st.sampled_from(_CONTACT_CONDS))})",
                lambda: f"(count(visits where {draw(st.sampled_from(_VISIT_CONDS))}) >= 1)",
                lambda: f"if({g('bool')}, {g('bool')}, {g('bool')})",
            ]
        )
    if kind == "date":
        return pick(
            common
            + [
                lambda: f"({g('date')} {draw(st.sampled_from(['+', '-']))} {g('dur')})",
                lambda: f"start_of_week({g('dt')})",
                lambda: f"start_of_month({g('date')})",
                lambda: f"min({g('date')}, {g('date')})",
            ]
        )
    if kind == "dt":
        return pick(
            common
            + [
                lambda: f"({g('dt')} {draw(st.sampled_from(['+', '-']))} {g('dur')})",
                lambda: f"({g('dur')} + {g('dt')})",
                lambda: f"max({g('dt')}, {g('dt')})",
            ]
        )
    return pick(
        common
        + [
            lambda: f"({g('dur')} {draw(st.sampled_from(['+', '-']))} {g('dur')})",
            lambda: f"({g('dt')} - {g('dt')})",
            lambda: f"({g('date')} - {g('date')})",
            lambda: f"({g('dur')} * {draw(st.sampled_from(['2', '-1', 'quantity']))})",
            lambda: f"-{g('dur')}",
            lambda: "sum(visits.wait)",
        ]
    )
