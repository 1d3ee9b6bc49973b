"""Hostile inputs are refused with bounded work and diagnostics, never with a crash.

"Quickly" is measured in work, not in seconds, so a busy machine can't fail these tests:
the checker's Python and C function calls are counted with a profile hook and must stay
under :data:`WORK_BUDGET`. A quadratic blow-up on these inputs (100,000 parentheses, a
megabyte of source) would take billions of calls; today's worst case takes about a
million. The elapsed time is printed for whoever wants it.
"""

from __future__ import annotations

import pytest

from expressions import ExpressionInvalid, check, compile_expression
from tests.unit.expressions.support import SCOPE, context
from tests.work import measure

WORK_BUDGET = 2_000_000


def _refused(source: str, code: str) -> None:
    checked = measure(check, source, SCOPE)
    print(f"{len(source)} characters refused after {checked}")
    result = checked.result
    assert checked.error is None and result is not None
    assert not result.ok
    assert result.diagnostics[0].code == code, result.diagnostics
    assert checked.calls < WORK_BUDGET, checked


def test_deep_parentheses() -> None:
    _refused("(" * 100_000 + "1" + ")" * 100_000, "too_complex")


def test_deep_lists() -> None:
    _refused("[" * 65 + "]" * 65, "too_complex")


def test_many_unary_minus() -> None:
    _refused("-" * 100_000 + "1", "too_complex")


def test_many_nots() -> None:
    _refused("not " * 20_000 + "true", "too_complex")


def test_megabyte_source() -> None:
    _refused("1 + " * 250_000 + "1", "too_complex")


def test_limits_are_inclusive() -> None:
    assert check("(" * 63 + "1" + ")" * 63, SCOPE).ok
    assert check("-" * 60 + "1", SCOPE).ok
    assert check(" + ".join(["1"] * 999), SCOPE).ok  # long flat chains are fine
    assert check(" and ".join(["true"] * 400), SCOPE).ok


def test_long_chain_compiles_and_runs() -> None:
    source = " + ".join(["1"] * 999)
    assert compile_expression(source, SCOPE).evaluate({}, context()) == 999
    mixed = " - ".join(["quantity"] * 300)
    assert compile_expression(mixed, SCOPE).evaluate({"quantity": 1}, context()) == -298
    assert compile_expression(mixed, SCOPE).evaluate({"quantity": None}, context()) is None
    ors = " or ".join(["approved"] * 300)
    assert compile_expression(ors, SCOPE).evaluate({"approved": None}, context()) is False
    nested = "(" * 60 + "quantity" + " + 1)" * 60
    assert compile_expression(nested, SCOPE).evaluate({"quantity": 1}, context()) == 61


def test_list_items() -> None:
    assert check("quantity in [" + ", ".join(["1"] * 1000) + "]", SCOPE).ok
    _refused("quantity in [" + ",".join(["1"] * 1001) + "]", "too_complex")


def test_text_times_integer_is_a_type_error() -> None:
    _refused('"a" * 1000000000', "type_mismatch")


@pytest.mark.parametrize(
    "literal", ["9" * 5000, "9" * 20, "9223372036854775808", "1" + "0" * 30 + "d"]
)
def test_huge_integers(literal: str) -> None:
    source = literal if len(literal) < 4000 else literal[:3999]
    _refused(source, "too_complex")


@pytest.mark.parametrize("source", ["NaN", "Infinity", "inf", "nan > 1", "1e309", "-Infinity"])
def test_no_nan_or_infinity(source: str) -> None:
    result = check(source, SCOPE)
    assert not result.ok
    assert result.diagnostics[0].code in ("unknown_name", "syntax")


def test_compile_raises_expression_invalid() -> None:
    with pytest.raises(ExpressionInvalid) as info:
        compile_expression("(" * 1000, SCOPE)
    assert info.value.code == "expression_invalid"
    assert isinstance(info.value, ValueError)
    assert info.value.diagnostics[0].code == "too_complex"


def test_non_string_source_does_not_raise() -> None:
    assert not check(None, SCOPE).ok  # type: ignore[arg-type]
    assert not check("\x00", SCOPE).ok
    assert not check("\ud800", SCOPE).ok


def test_long_member_chains() -> None:
    assert check("owner" + ".manager" * 60, SCOPE).ok
    _refused("owner" + ".manager" * 450, "too_complex")
    _refused("x" + ".y" * 1900, "too_complex")
    _refused("(" * 40 + "owner" + ".manager" * 30 + ")" * 40, "too_complex")
