"""Fuzzing: check() never raises, whatever the text."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from expressions import check
from tests.unit.expressions.support import SCOPE

_TOKENS = st.sampled_from(
    [
        "budget",
        "name",
        "(",
        ")",
        "[",
        "]",
        ",",
        ".",
        "+",
        "-",
        "*",
        "/",
        "%",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        " and ",
        " or ",
        "not ",
        " in ",
        " where ",
        "1",
        "2.5",
        "48h",
        '"项目"',
        "'a'",
        "null",
        "true",
        "count(",
        "visits",
        "steps",
        ".done",
        "parent",
        "me()",
        "if(",
        "contains(",
        "#",
        "\n",
        " ",
        "__class__",
        "ｂ",
        "\\",
        '"',
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_check_never_raises_on_any_text(source: str) -> None:
    result = check(source, SCOPE)
    assert result.ok == (not result.diagnostics)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_check_never_raises_on_token_soup(source: str) -> None:
    result = check(source, SCOPE)
    if result.ok:
        assert result.type is not None and result.ast is not None
    for d in result.diagnostics:
        assert d.line >= 1 and d.column >= 1
