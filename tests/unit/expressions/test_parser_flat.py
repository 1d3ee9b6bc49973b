"""The fast parser (grammar_flat.lark) builds exactly what grammar.lark's parser builds."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from expressions import parser
from tests.unit.expressions import exprgen

_OPERATORS = st.sampled_from(
    [" or ", " and ", " == ", " != ", " < ", " >= ", " in ", " not in ", "+", " - ", "*", " / "]
    + [" % ", "-", "\n and ", ", ", " where "]
)
_PREFIXES = st.sampled_from(["", "", "", "-", "not ", "- ", "not not ", "not -", "-not "])
_OPERANDS = st.sampled_from(
    ["a", "b.c", "(d)", "((e))", "(f).g", "h(i, j)", "[k, l]", "[]", "1", "2.5", "3h", '"m"']
    + ["true", "null", "(n + o)", "(p or q)", "-(r)", "not (s)", "t(u where v > 1)", "w.x.y"]
)


@st.composite
def _operator_soup(draw: st.DrawFn) -> str:
    """A flat run of operands, prefix and binary operators, valid or not."""
    source = draw(_PREFIXES) + draw(_OPERANDS)
    for _ in range(draw(st.integers(0, 7))):
        source += draw(_OPERATORS) + draw(_PREFIXES) + draw(_OPERANDS)
    return source


@pytest.mark.parametrize(
    "source",
    [
        "a or b and c or d",
        "a and not b == c + d * -e.f or g not in [1, 2]",
        "not a == b",
        "not a + b < c * d",
        "not not a and not b or not (c)",
        "a + b * c - d / e % f",
        "a * b + c",
        "- - a * - b",
        "-(a).b + (c)",
        "(a) < (b)",
        "(a) and (b) or (c)",
        "a in b and c not in d",
        "a - -b < -c",
        "((a + b)) * (c)",
        "f(a where b > 1, c + d,)",
        "[a or b, not c, -d,]",
        "a\n  and # comment\n b",
    ],
)
def test_same_tree_as_layered_grammar(source: str) -> None:
    fast = parser.parse(source)
    assert fast[0] is not None
    assert fast == parser._parse_layered(source)


@pytest.mark.parametrize(
    "source",
    ["a < b < c", "a < b + c == d", "a + not b", "a == not b", "-not a", "a in not b"]
    + ["not a < b in c", "a and b < c < d", "a not not in b", "1 < 2 < 99999999999999999999"],
)
def test_texts_outside_the_grammar_get_its_diagnostic(source: str) -> None:
    fast = parser.parse(source)
    assert fast[0] is None and fast[1][0].code == "syntax"
    assert fast == parser._parse_layered(source)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_operator_soup())
def test_operator_soup_matches_layered_grammar(source: str) -> None:
    assert parser.parse(source) == parser._parse_layered(source)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_expressions_match_layered_grammar(data: st.DataObject) -> None:
    source = exprgen.gen(data.draw, data.draw(st.sampled_from(exprgen.KINDS)), 4)
    fast = parser.parse(source)
    assert fast[0] is not None
    assert fast == parser._parse_layered(source)
