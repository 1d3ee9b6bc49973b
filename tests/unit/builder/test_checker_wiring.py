"""Expressions are checked through ``expressions.check``: here with a stand-in checker.

The stand-in records each call and answers with the diagnostics a test asks for, so these
tests pin the builder's side of the contract whatever the real checker's progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from builder import DefinitionInvalid, checker, load_definition, scope_for
from expressions import types as t
from expressions.scope import Scope
from tests.unit.builder.fixtures import visit_app_definition


@dataclass
class FakeDiagnostic:
    code: str
    message: str = "bad"
    message_zh: str = "错"
    line: int = 1
    column: int = 3
    end_line: int = 1
    end_column: int = 9
    suggestion: str | None = None


@dataclass
class FakeResult:
    type: t.ExprType | None
    diagnostics: tuple[FakeDiagnostic, ...] = ()


@dataclass
class FakeChecker:
    calls: list[tuple[str, str, Any, bool]] = field(default_factory=list)
    answers: dict[str, FakeResult] = field(default_factory=dict)

    def __call__(
        self, source: str, scope: Scope, *, expect: Any = None, require_sql: bool = False
    ) -> FakeResult:
        self.calls.append((source, scope.entity, expect, require_sql))
        if source in self.answers:
            return self.answers[source]
        return FakeResult(expect or t.TEXT)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeChecker:
    stand_in = FakeChecker()
    monkeypatch.setattr(checker, "_check", stand_in)
    return stand_in


def test_every_expression_is_checked_with_its_expected_type(fake: FakeChecker) -> None:
    load_definition(visit_app_definition())
    by_source = {source: (entity, expect, sql) for source, entity, expect, sql in fake.calls}
    assert by_source["steps.competitor.done"] == ("visit", t.BOOLEAN, False)
    assert by_source["owner == me()"] == ("visit", t.BOOLEAN, True)
    assert by_source['stage == "contact"'] == ("opportunity", t.BOOLEAN, False)
    assert by_source["amount == null or amount > 0"] == ("opportunity", t.BOOLEAN, False)
    assert by_source["count(commitments)"] == ("visit", None, False)


def test_diagnostics_become_problems_with_paths(fake: FakeChecker) -> None:
    fake.answers["steps.competitor.done"] = FakeResult(
        None, (FakeDiagnostic("unknown_name", suggestion="did you mean `competitor`?"),)
    )
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(visit_app_definition())
    (p,) = caught.value.problems
    assert p.code == "expression_unknown_name"
    assert p.path == "$.entities[1].steps[3].unlock_when"
    assert (p.message, p.message_zh) == ("bad", "错")
    assert p.detail["line"] == 1 and p.detail["column"] == 3 and p.detail["end_column"] == 9
    assert p.detail["suggestion"] == "competitor"


def test_formula_types_come_from_the_checker(fake: FakeChecker) -> None:
    fake.answers["count(commitments)"] = FakeResult(t.INTEGER)
    app = load_definition(visit_app_definition())
    spec = scope_for(app, "visit").entity_spec()
    assert spec is not None and spec.field("commitment_count").type == t.INTEGER  # type: ignore[union-attr]
    grade = scope_for(app, "opportunity").entity_spec().field("grade")  # type: ignore[union-attr]
    assert grade is not None and grade.type == t.TEXT


def test_formulas_using_formulas_are_typed_in_order(fake: FakeChecker) -> None:
    doc = visit_app_definition()
    doc["entities"][3]["fields"].insert(
        0, {"key": "grade_label", "type": "formula", "label": "L", "formula": 'grade + "!"'}
    )
    order: list[str] = []

    def answer(source: str, scope: Scope, *, expect: Any = None, require_sql: bool = False):
        order.append(source)
        spec = scope.entity_spec()
        if source == 'grade + "!"' and (spec is None or spec.field("grade") is None):
            return FakeResult(None, (FakeDiagnostic("unknown_name"),))
        return FakeResult(expect or t.TEXT)

    checker._check = answer  # type: ignore[assignment]  # monkeypatched by the fixture
    app = load_definition(doc)
    assert order.index('grade + "!"') > order.index(doc["entities"][3]["fields"][-1]["formula"])
    spec = scope_for(app, "opportunity").entity_spec()
    assert spec is not None and spec.field("grade_label") is not None


def test_a_formula_error_is_reported_at_the_formula(fake: FakeChecker) -> None:
    fake.answers["count(commitments)"] = FakeResult(None, (FakeDiagnostic("type_mismatch"),))
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(visit_app_definition())
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("$.entities[1].fields[6].formula", "expression_type_mismatch")
    ]


def test_a_crashing_checker_is_a_problem_not_a_crash(fake: FakeChecker) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    checker._check = boom  # type: ignore[assignment]
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(visit_app_definition())
    assert caught.value.codes == {"expression_internal"}


def test_step_references_are_found_in_the_syntax_tree() -> None:
    refs = checker.references(
        "steps.a.done and count(items where steps.b.done and parent.x > 1) > 0 # steps.c"
    )
    assert refs.steps == {"a"}
    assert "x" in refs.names and "items" in refs.names
    assert checker.step_references('"steps.z.done" == name') == set()


def test_unparsable_sources_fall_back_to_a_textual_scan() -> None:
    refs = checker.references("steps.a.done and (")
    assert refs.steps == {"a"}
    assert checker.references("count(visits where score > 2) + total +").names >= {"total"}


def test_without_a_checker_unknown_steps_are_still_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checker, "_check", None)
    doc = visit_app_definition()
    doc["entities"][1]["steps"][3]["unlock_when"] = "steps.nope.done"
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("$.entities[1].steps[3].unlock_when", "unknown_reference")
    ]
