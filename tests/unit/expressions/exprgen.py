"""Random well-typed expressions and records over the test scope (for differential tests).

``Gen(rng).expr(kind, depth)`` returns source text of the given kind; ``gen(draw, kind,
depth)`` does the same from a Hypothesis ``draw``. Besides ordinary values the generator
puts a literal ``null`` and the extremes of each type (empty and unusual text, ±2³¹±1,
±2⁶³, the largest and smallest decimals, the first and last dates, durations…) in the
argument positions of functions and operators. ``position_cases`` enumerates every
argument position of every function of the library with ``null`` and each extreme of the
parameter's type; ``world`` draws one record with its related records, with extremes too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from expressions.functions.library import LIBRARY

KINDS = ("int", "dec", "text", "bool", "date", "dt", "dur")


class Chooser(Protocol):
    def choice(self, seq: Sequence[Any]) -> Any: ...

    def randint(self, a: int, b: int) -> int: ...


class _DrawChooser:
    """A :class:`Chooser` over a Hypothesis ``draw``."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        import hypothesis.strategies as st

        self._draw = draw
        self._st = st

    def choice(self, seq: Sequence[Any]) -> Any:
        return self._draw(self._st.sampled_from(list(seq)))

    def randint(self, a: int, b: int) -> int:
        return int(self._draw(self._st.integers(a, b)))


# --- literal extremes -------------------------------------------------------------------

INT_EXTREMES = [
    "0",
    "-0",
    "1",
    "2147483647",
    "2147483648",
    "2147483649",
    "-2147483647",
    "-2147483648",
    "-2147483649",
    "4294967297",
    "9223372036854775807",
    "-9223372036854775807",
    "(-9223372036854775807 - 1)",
]
DEC_EXTREMES = [
    "0.0",
    "-0.0",
    "999999999999999999999999999.9",
    "-999999999999999999999999999.9",
    "0.0000000000000000000000000001",
    "-0.0000000000000000000000000001",
    "99999999999999.9",
    "0.000001",
    "2.5",
]
#: SQLite stores decimals as REAL: exact while every value, intermediate results included,
#: has at most 15 significant digits (docs/decisions/0002-exact-decimals.md)
DEC_EXTREMES_15 = ["0.0", "-0.0", "99999.99", "-99999.99", "0.0001", "-0.0001", "2.5"]
#: ... and integers flow into decimals (``avg``, ``/`` to 10 places, ``min(dec, int)``):
#: on SQLite the integer extremes stay small (its 64-bit overflow, and the int4 limits
#: that matter on PostgreSQL only, are covered by the fixed regression cases)
INT_EXTREMES_SQLITE = ["0", "-0", "1", "-1", "99999", "-99999"]
TEXT_EXTREMES = [
    '""',
    '" "',
    '"\\t \\n"',
    '"e\\u0301"',  # e + combining acute accent: two characters
    '"\\u0301"',
    '"项目启动"',
    '"𠮷"',  # outside the Basic Multilingual Plane
    '"ß"',
    '"Ａ"',
    '"%_"',
    "'\"'",
    '"' + "长" * 300 + '"',
]
DATE_EXTREMES = [
    "date(1, 1, 1)",
    "date(1, 1, 2)",
    "date(9999, 12, 31)",
    "date(9999, 12, 30)",
    "date(2024, 2, 29)",
    "date(2026, 2, 30)",  # no such day: null
    "date(0, 1, 1)",  # null
    "date(2026, 13, 1)",  # null
]
DUR_EXTREMES = ["0s", "1s", "-1s", "86399s", "1d", "-1d", "9999999d", "-9999999d"]
BOOL_EXTREMES = ["true", "false"]
EXTREMES: dict[str, list[str]] = {
    "int": INT_EXTREMES,
    "dec": DEC_EXTREMES,
    "text": TEXT_EXTREMES,
    "bool": BOOL_EXTREMES,
    "date": DATE_EXTREMES,
    "dt": ["now()", "created_at", "due_at"],
    "dur": DUR_EXTREMES,
}

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
    "created_at >= start_of_week(today())",
    "starts_with(outcome, null)",
]
_CONTACT_CONDS = [
    'role != "采购"',
    "score >= parent.quantity",
    "role == null or score > 1",
    "ends_with(role, parent.region)",
]
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
        'len(["a", "b", null])',
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
        "date(2026, 1, 1)",
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
#: A parameter pattern of the library → the generator kinds that fit it.
PATTERN_KINDS: dict[str, tuple[str, ...]] = {
    "any": KINDS,
    "integer": ("int",),
    "number": ("int", "dec"),
    "text": ("text",),
    "boolean": ("bool",),
    "date": ("date",),
    "datetime": ("dt",),
    "temporal": ("date", "dt"),
    "duration": ("dur",),
    "ordered": ("int", "dec", "text", "date", "dt", "dur"),
    "list<text>": ("textlist",),
    "list": ("textlist",),
}
_TEXT_LISTS = ['["目", "a", null]', '["项", ""]', "[]", "[null]", '["e\\u0301", "𠮷"]', "null"]
_DATE_ARGS = ["2026", "2024", "1", "2", "12", "13", "29", "31", "0", "-1", "9999", "10000", "null"]
_DATE_ARGS += INT_EXTREMES
#: Functions generated only through other constructs (or with no SQL form at all).
NOT_GENERATED = frozenset({"now", "today", "me", "distance_km"})


class Gen:
    """Random expressions; ``nn`` asks for an expression whose static type is not null."""

    def __init__(
        self, rng: Chooser, null_rate: int = 6, extreme_rate: int = 5, sqlite: bool = False
    ) -> None:
        self.rng = rng
        self.null_rate = null_rate
        self.extreme_rate = extreme_rate
        self.sqlite = sqlite
        self.extremes = (
            dict(EXTREMES, dec=DEC_EXTREMES_15, int=INT_EXTREMES_SQLITE) if sqlite else EXTREMES
        )

    def _factor(self, g: Callable[[str], str]) -> str:
        """The right operand of a decimal product (no decimal × decimal on SQLite: products
        of generated values could exceed its 15 exact digits)."""
        options = ["2", "0.5", "-1", "quantity"]
        if not self.sqlite:
            options.append(g("dec"))
        return str(self.rng.choice(options))

    def leaf(self, kind: str, nn: bool = False) -> str:
        r = self.rng
        if kind == "textlist":
            return str(r.choice(_TEXT_LISTS if not nn else _TEXT_LISTS[:-1]))
        if not nn and self.null_rate and r.randint(1, self.null_rate) == 1:
            return "null"
        if self.extreme_rate and r.randint(1, self.extreme_rate) == 1:
            return str(r.choice(self.extremes[kind]))
        return str(r.choice(_LEAVES[kind]))

    def expr(self, kind: str, depth: int, nn: bool = False) -> str:
        """A random expression of ``kind`` (never null-typed when ``nn``)."""
        r = self.rng
        if kind == "textlist" or depth <= 0 or r.randint(0, 2) == 0:
            return self.leaf(kind, nn)
        sub = depth - 1

        def g(k: str, must: bool = False) -> str:
            return self.expr(k, sub, must)

        def digits() -> str:
            return str(r.choice(["0", "1", "2", "-1", "-2", "18", "19", "-19", "null", g("int")]))

        common: list[Callable[[], str]] = [
            lambda: f"if({g('bool')}, {g(kind, nn)}, {g(kind, nn)})",
            lambda: f"coalesce({g(kind)}, {g(kind, nn)})",
            lambda: f"coalesce({g(kind)}, {g(kind)}, {g(kind, nn)})",
        ]
        options: list[Callable[[], str]]
        if kind == "int":
            options = [
                lambda: f"({g('int')} {r.choice(['+', '-', '*', '%'])} {g('int', nn)})",
                lambda: f"-{g('int', nn)}",
                lambda: f"abs({g('int', nn)})",
                lambda: f"min({g('int')}, {g('int', nn)})",
                lambda: f"max({g('int')}, {g('int')}, {g('int', nn)})",
                lambda: f"clamp({g('int', nn)}, {g('int')}, {g('int')})",
                lambda: f"floor({g('dec')})",
                lambda: f"ceil({g('dec')})",
                lambda: f"round({g('int', nn)}, {digits()})",
                lambda: f"round({g('int', nn)})",
                lambda: f"len({g('text')})",
                lambda: f"count_of({g('text')}, {g('text')})",
                lambda: (
                    f"days_between({g(r.choice(['date', 'dt']))}, {g(r.choice(['date', 'dt']))})"
                ),
                lambda: f"hours_between({g('dt')}, {g('dt')})",
                lambda: f"weekday({g(r.choice(['date', 'dt']))})",
                lambda: f"days_since({g(r.choice(['date', 'dt']))})",
                lambda: f"hours_since({g('dt')})",
            ]
        elif kind == "dec":
            options = [
                lambda: f"({g('dec')} {r.choice(['+', '-'])} {g('dec', True)})",
                lambda: f"({g('dec', True)} * {self._factor(g)})",
                lambda: f"({g('int')} / {g('int', True)})",
                lambda: (
                    f"({g('dec', True)} / {r.choice(['3', '0.5', 'budget', 'quantity', '0', g('dec')])})"
                ),
                lambda: f"({g('dec', True)} % {r.choice(['2', '0.3', 'amount', '0', g('dec')])})",
                lambda: f"round({g('dec', True)}, {digits()})",
                lambda: f"abs({g('dec', True)})",
                lambda: f"-{g('dec', True)}",
                lambda: f"min({g('dec', True)}, {g('int')})",
                lambda: f"max({g('dec')}, {g('dec', True)})",
                lambda: f"clamp({g('dec', True)}, {g('dec')}, {g('dec')})",
                lambda: f"(budget + {g('int')})",
                lambda: f"keyword_density({g('text')}, {g('textlist')})",
            ]
        elif kind == "text":
            options = [
                lambda: f"({g('text')} + {g('text', True)})",
                lambda: f"lower({g('text')})",
                lambda: f"upper({g('text')})",
                lambda: f"trim({g('text')})",
                lambda: (
                    f"left({g('text')}, {r.choice(['0', '1', '2', '-1', 'quantity', g('int')])})"
                ),
                lambda: (
                    f"right({g('text')}, {r.choice(['0', '1', '3', '-2', 'referrals', g('int')])})"
                ),
                lambda: f"min({g('text')}, {g('text', True)})",
                lambda: f"max({g('text', True)}, {g('text')})",
            ]
        elif kind == "bool":
            cmp_kind = r.choice(["int", "dec", "text", "date", "dt", "dur", "bool"])
            ops = ["==", "!="] if cmp_kind == "bool" else ["==", "!=", "<", "<=", ">", ">="]
            options = [
                lambda: f"({g(cmp_kind)} {r.choice(ops)} {g(cmp_kind)})",
                lambda: f"({g(cmp_kind)} {r.choice(['==', '!='])} null)",
                lambda: f"({g('dt')} {r.choice(ops)} {g('date')})",
                lambda: f"({g('date')} {r.choice(ops)} {g('dt')})",
                lambda: f"({g('bool')} and {g('bool')})",
                lambda: f"({g('bool')} or {g('bool')} or {g('bool')})",
                lambda: f"(not {g('bool')})",
                lambda: f"({g('int')} in [1, 2, 7, null])",
                lambda: f'({g("text")} not in ["项目", "a", ""])',
                lambda: f"({g('dec')} in [0.1, 2.5])",
                lambda: f"contains({g('text')}, {g('text')})",
                lambda: f"contains_any({g('text')}, {g('textlist')})",
                lambda: f'contains_all({g("text")}, ["项", {g("text")}])',
                lambda: f"contains_all({g('text')}, {g('textlist')})",
                lambda: f"starts_with({g('text')}, {g('text')})",
                lambda: f"ends_with({g('text')}, {g('text')})",
                lambda: f"is_blank({g(r.choice(['text', 'int', 'dt', 'textlist']))})",
                lambda: f"has_role({g('text')})",
                lambda: f"any(visits where {r.choice(_VISIT_CONDS)})",
                lambda: f"all(contacts where {r.choice(_CONTACT_CONDS)})",
                lambda: f"(count(visits where {r.choice(_VISIT_CONDS)}) >= 1)",
                lambda: f"if({g('bool')}, {g('bool')}, {g('bool')})",
            ]
        elif kind == "date":
            options = [
                lambda: f"({g('date', True)} {r.choice(['+', '-'])} {g('dur')})",
                lambda: f"start_of_week({g(r.choice(['date', 'dt']))})",
                lambda: f"start_of_month({g(r.choice(['date', 'dt']))})",
                lambda: f"min({g('date')}, {g('date', True)})",
                lambda: (
                    f"date({r.choice(_DATE_ARGS)}, {r.choice(_DATE_ARGS)}, {r.choice(_DATE_ARGS)})"
                ),
            ]
        elif kind == "dt":
            options = [
                lambda: f"({g('dt', True)} {r.choice(['+', '-'])} {g('dur')})",
                lambda: f"({g('dur')} + {g('dt', True)})",
                lambda: f"max({g('dt')}, {g('dt', True)})",
            ]
        else:
            options = [
                lambda: f"({g('dur')} {r.choice(['+', '-'])} {g('dur', True)})",
                lambda: f"({g('dt', True)} - {g('dt', True)})",
                lambda: f"({g('date', True)} - {g('date', True)})",
                lambda: f"({g('dur', True)} * {r.choice(['2', '-1', 'quantity', g('int', True)])})",
                lambda: f"-{g('dur', True)}",
                lambda: "sum(visits.wait)",
            ]
        options = options + common
        return options[r.randint(0, len(options) - 1)]()


def gen(draw: Callable[[Any], Any], kind: str, depth: int) -> str:
    """A random expression of ``kind`` from a Hypothesis ``draw``."""
    return Gen(_DrawChooser(draw)).expr(kind, depth)


def position_cases(rng: Chooser, sqlite: bool = False) -> list[tuple[str, int, str]]:
    """``(function, position, source)`` for every argument position of every function of
    the library: once with ``null`` there and once with each extreme of the parameter's
    type; the other arguments are random small expressions."""
    g = Gen(rng, null_rate=4, extreme_rate=3, sqlite=sqlite)
    cases: list[tuple[str, int, str]] = []
    for function in LIBRARY.functions.values():
        if function.kind in ("aggregate",) or function.name in NOT_GENERATED:
            continue
        for overload in function.overloads:
            params = list(overload.params)
            if overload.variadic:
                params = params + params[-1:] * 2
            for i, pattern in enumerate(params):
                kinds = PATTERN_KINDS[pattern]
                if function.name in ("if", "coalesce") and pattern == "any":
                    kinds = tuple(k for k in KINDS if k != "bool") + ("bool",)
                for kind in kinds:
                    fills = ["null"] if kind == "textlist" else ["null", *g.extremes[kind]]
                    if kind == "textlist":
                        fills += _TEXT_LISTS[:-1]
                    for fill in fills:
                        args = []
                        for j, other in enumerate(params):
                            if j == i:
                                args.append(fill)
                                continue
                            if function.name == "date":  # an SQL form only when constant
                                args.append(str(rng.choice(_DATE_ARGS)))
                                continue
                            other_kinds = PATTERN_KINDS[other]
                            if function.name in ("if", "coalesce", "min", "max", "clamp"):
                                other_kinds = (kind,) if other != "boolean" else ("bool",)
                                if kind == "dec" and other == "number":
                                    other_kinds = ("dec", "int")
                            args.append(g.expr(rng.choice(other_kinds), 1))
                        cases.append((function.name, i, f"{function.name}({', '.join(args)})"))
    return cases


# --- records ----------------------------------------------------------------------------

NOW = datetime(2026, 3, 18, 2, 30, tzinfo=UTC)
LONG_TEXT = "项目启动" * 1500 + "e\u0301𠮷"
_TEXT_VALUES = [
    None,
    "",
    "项目启动",
    "目",
    "a",
    "B",
    " a ",
    "%_",
    "采购",
    "华东",
    "项目目项目",
    "Ab项目a",
    "e\u0301",
    "𠮷野家",
    "ß",
    "\t项 \n",
    LONG_TEXT,
]
_INT_VALUES = [
    None,
    0,
    1,
    -1,
    3,
    -5,
    100,
    -1000,
    999,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**63 - 1,
    -(2**63),
]
_DEC_VALUES = [
    None,
    Decimal("0"),
    Decimal("0.1"),
    Decimal("-0.05"),
    Decimal("2.5"),
    Decimal("999999999999999"),
    Decimal("-999999999999999"),
    Decimal("0.000000000000001"),
    Decimal("12345.678"),
]
_DATE_VALUES = [
    None,
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 3, 16),
    date(2026, 3, 18),
    date(2024, 2, 29),
    date(1, 1, 1),
    date(9999, 12, 31),
]
_DT_VALUES = [
    None,
    datetime(2026, 3, 17, 16, 0, tzinfo=UTC),  # midnight in Shanghai
    datetime(2026, 3, 17, 15, 59, 59, 999999, tzinfo=UTC),
    NOW,
    datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
    datetime(1, 1, 2, 0, 0, tzinfo=UTC),  # the first and last instants whose local date
    datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC),  # exists in every zone
]
_DUR_VALUES = [
    None,
    timedelta(0),
    timedelta(seconds=1),
    timedelta(seconds=-1),
    timedelta(hours=36),
    timedelta(days=-10),
    timedelta(days=999_999_999, seconds=86399),
    timedelta(days=-999_999_999),
]


def _pick(rng: random.Random, values: Sequence[Any], ordinary: Callable[[], Any]) -> Any:
    return rng.choice(values) if rng.randint(0, 2) else ordinary()


_DEC_VALUES_15 = [
    None,
    Decimal("0"),
    Decimal("0.1"),
    Decimal("-0.05"),
    Decimal("99999.99"),
    Decimal("0.0001"),
]


def world(rng: random.Random, sqlite: bool = False) -> dict[str, Any]:
    """One opportunity with its customer, contacts and visits (decimals within 15
    significant digits on SQLite)."""
    decimals = _DEC_VALUES_15 if sqlite else _DEC_VALUES
    # on SQLite avg() of record integers must stay within 15 digits with its 10 decimals
    ints = [i for i in _INT_VALUES if i is None or abs(i) < 10**5] if sqlite else _INT_VALUES

    def text() -> Any:
        return _pick(rng, _TEXT_VALUES, lambda: rng.choice(_TEXT_VALUES[:12]))

    def integer() -> Any:
        return _pick(rng, ints, lambda: rng.randint(-5, 5))

    def decimal() -> Any:
        return _pick(rng, decimals, lambda: Decimal(rng.randint(-99999, 99999)).scaleb(-2))

    def day() -> Any:
        return _pick(rng, _DATE_VALUES, lambda: date(2025, 12, 25) + timedelta(rng.randint(0, 100)))

    def stamp() -> Any:
        return _pick(
            rng,
            _DT_VALUES,
            lambda: (
                datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 30 * 86400))
            ),
        )

    def duration() -> Any:
        return _pick(rng, _DUR_VALUES, lambda: timedelta(seconds=rng.randint(-864000, 864000)))

    record = {
        "id": 1,
        "created_at": stamp(),
        "owner": rng.choice([7, 8, None]),
        "stage": text(),
        "stage_entered_at": stamp(),
        "name": text(),
        "budget": decimal(),
        "budget_range": text(),
        "amount": decimal(),
        "transcript": text(),
        "referrals": integer(),
        "quantity": rng.choice([None, -7, -1, 0, 1, 2, 3, 5]),
        "signed_at": day(),
        "region": text(),
        "customer": rng.choice([3, None, 99]),
        "approved": rng.choice([None, True, False]),
        "call_length": duration(),
        "due_at": stamp(),
    }
    steps = {"competitor": stamp(), "need_confirmation": stamp()}
    customer = {"id": 3, "region": text(), "level": integer(), "name": text()}
    contacts = [
        {"id": i + 1, "opportunity": 1, "role": text(), "score": integer()}
        for i in range(rng.randint(0, 3))
    ]
    visits = [
        {
            "id": i + 1,
            "opportunity": 1,
            "score": decimal(),
            "outcome": text(),
            "created_at": stamp(),
            "region": text(),
            "wait": duration(),
        }
        for i in range(rng.randint(0, 3))
    ]
    return {
        "record": record,
        "steps": steps,
        "customer": customer,
        "contacts": contacts,
        "visits": visits,
    }
