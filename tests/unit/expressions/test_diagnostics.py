"""Diagnostics: codes, positions (1-based, end exclusive), suggestions, both languages."""

from __future__ import annotations

import pytest

from expressions import BOOLEAN, CODES, DECIMAL, check
from tests.unit.expressions.support import SCOPE


def _only(source: str, **kwargs: object):  # type: ignore[no-untyped-def]
    result = check(source, SCOPE, **kwargs)  # type: ignore[arg-type]
    assert not result.ok
    assert result.ast is None and result.type is None or result.diagnostics
    return result.diagnostics


def test_unknown_field_with_suggestion_and_position() -> None:
    (d,) = _only("budjet > 1")
    assert d.code == "unknown_name"
    assert (d.line, d.column, d.end_line, d.end_column) == (1, 1, 1, 7)
    assert d.suggestion == "did you mean `budget`?"
    assert "budjet" in d.message and "budget" in d.message
    assert "budjet" in d.message_zh and "您是否想输入" in d.message_zh


def test_positions_on_later_lines() -> None:
    (d,) = _only('budget > 1\n  and regoin == "华东"')
    assert (d.line, d.column, d.end_line, d.end_column) == (2, 7, 2, 13)
    assert d.suggestion == "did you mean `region`?"


def test_every_problem_is_reported() -> None:
    ds = _only('budjet > 1 and foo(2) and len(1) and "a" + 1 == "b"')
    assert [d.code for d in ds] == [
        "unknown_name",
        "unknown_function",
        "type_mismatch",
        "type_mismatch",
    ]


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("budget >", "syntax"),
        ("a < b < c", "syntax"),
        ("budget = 1", "syntax"),
        ("(budget", "syntax"),
        ('"unterminated', "syntax"),
        ('"bad \\q escape"', "syntax"),
        ("", "syntax"),
        ("# only a comment", "syntax"),
        ("1.5h", "syntax"),
        ("1e5", "syntax"),
        ("budget$", "syntax"),
        ("frobnicate(1)", "unknown_function"),
        ("len()", "arity"),
        ("len(name, name)", "arity"),
        ("if(true, 1)", "arity"),
        ("now(1)", "arity"),
        ("count(visits, contacts)", "arity"),
        ("contains(name, 1)", "type_mismatch"),
        ("budget + name", "type_mismatch"),
        ("name < 1", "type_mismatch"),
        ("tags < tags", "type_mismatch"),
        ("-name", "type_mismatch"),
        ('if(true, 1, "a")', "type_mismatch"),
        ('[1, "a"]', "type_mismatch"),
        ("quantity in name", "type_mismatch"),
        ("now() + now()", "type_mismatch"),
        ("visits", "type_mismatch"),
        ("visits.score", "type_mismatch"),
        ("sum(visits)", "type_mismatch"),
        ("any(visits)", "type_mismatch"),
        ("sum(visits.outcome)", "type_mismatch"),
        ("count(budget)", "type_mismatch"),
        ("not budget", "not_boolean"),
        ("budget and true", "not_boolean"),
        ("count(visits where score)", "not_boolean"),
        ("steps.nope.done", "unknown_name"),
        ("steps.competitor.finished", "unknown_name"),
        ("steps", "unknown_name"),
        ("steps.competitor", "unknown_name"),
        ("parent.budget", "unknown_name"),
        ("customer.nope", "unknown_name"),
        ("me().salary", "unknown_name"),
        ("budget.x", "unknown_name"),
        ("count(visits where nope > 1)", "unknown_name"),
        ("count(vists)", "unknown_name"),
        ("sum(visits.nope)", "unknown_name"),
        ("len(visits where score > 1)", "misplaced_where"),
        ("99999999999999999999", "too_complex"),
        ("1.00000000000000000000000000001", "too_complex"),
    ],
)
def test_codes(source: str, code: str) -> None:
    ds = _only(source)
    assert ds[0].code == code, ds
    assert all(d.code in CODES for d in ds)
    for d in ds:
        assert d.line >= 1 and d.column >= 1 and d.message and d.message_zh
        assert (d.end_line, d.end_column) >= (d.line, d.column)


def test_not_boolean_for_conditions() -> None:
    (d,) = _only("budget + 1", expect=BOOLEAN)
    assert d.code == "not_boolean"
    assert check("null", SCOPE, expect=BOOLEAN).ok
    assert check("approved", SCOPE, expect=BOOLEAN).ok


def test_expected_value_type() -> None:
    assert check("quantity + 1", SCOPE, expect=DECIMAL).ok
    assert _only('"a"', expect=DECIMAL)[0].code == "type_mismatch"


def test_not_sql() -> None:
    result = check("steps.competitor.unlocked or budget > 1", SCOPE, require_sql=True)
    assert not result.ok
    (d,) = result.diagnostics
    assert d.code == "not_sql" and (d.line, d.column) == (1, 1)
    assert "steps.competitor.unlocked" in d.message
    plain = check("steps.competitor.unlocked or budget > 1", SCOPE)
    assert plain.ok and not plain.sql_capable
    for source in (
        '"a" in tags',
        "distance_km(check_in, check_in) < 1",
        "date(quantity, 1, 1)",
        'len(["a", name])',
        'contains_any(name, if(approved, ["a"], ["b"]))',
    ):
        assert not check(source, SCOPE).sql_capable, source
    # a call that reads nothing of the record is computed once and bound as a parameter
    for source in ("signed_at >= date(2026, 1, 1)", 'len(["a", "b"]) == 2', "date(2026, 2, 30)"):
        assert check(source, SCOPE).sql_capable, source


def test_fullwidth_names_suggest_ascii() -> None:
    (d,) = _only("ｂｕｄｇｅｔ > 1")
    assert d.code == "syntax"
    assert d.suggestion == "did you mean `budget`?"


@pytest.mark.parametrize("name", ["__class__", "__globals__", "__import__", "__builtins__"])
def test_dunder_names_are_unknown(name: str) -> None:
    ds = _only(f"{name}.x == 1 or {name} == 1")
    assert {d.code for d in ds} == {"unknown_name"}


def test_diagnostic_as_dict() -> None:
    (d,) = _only("budjet > 1")
    assert d.as_dict()["code"] == "unknown_name"
    assert set(d.as_dict()) == {
        "code",
        "message",
        "message_zh",
        "line",
        "column",
        "end_line",
        "end_column",
        "suggestion",
    }
