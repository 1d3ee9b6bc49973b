"""Validation with the real expression checker (:func:`expressions.check`)."""

from __future__ import annotations

import pytest

from builder import DefinitionInvalid, checker, load_definition, scope_for
from expressions import types as t
from tests.unit.builder.fixtures import visit_app_definition

pytestmark = pytest.mark.skipif(not checker.available(), reason="expressions.check missing")


def _formula(key: str, source: str) -> dict[str, object]:
    return {"key": key, "type": "formula", "label": key, "formula": source}


def test_the_visit_app_checks_clean_and_formulas_are_typed() -> None:
    app = load_definition(visit_app_definition())
    visit = scope_for(app, "visit").entity_spec()
    opportunity = scope_for(app, "opportunity").entity_spec()
    assert visit is not None and opportunity is not None
    assert visit.field("commitment_count").type == t.INTEGER  # type: ignore[union-attr]
    assert opportunity.field("grade").type == t.TEXT  # type: ignore[union-attr]


def test_formulas_may_use_formulas_in_any_order_and_across_links() -> None:
    doc = visit_app_definition()
    # declared before the formula it uses, and reaching a formula of another entity
    doc["entities"][0]["fields"].insert(0, _formula("busy", "open_commitments > 3"))
    doc["entities"][0]["fields"].append(
        _formula("open_commitments", "sum(visits.commitment_count)")
    )
    app = load_definition(doc)
    customer = scope_for(app, "customer").entity_spec()
    assert customer is not None
    assert customer.field("busy").type == t.BOOLEAN  # type: ignore[union-attr]
    assert customer.field("open_commitments").type in (t.INTEGER, t.DECIMAL)  # type: ignore[union-attr]


def test_formula_cycles_are_reported_once() -> None:
    doc = visit_app_definition()
    doc["entities"][0]["fields"] += [_formula("a", "b + 1"), _formula("b", "c + 1"),
                                     _formula("c", "a + 1")]  # fmt: skip
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    (p,) = caught.value.problems
    assert p.code == "dependency_cycle" and p.path == "$.entities[0].fields[5].formula"
    assert p.detail["cycle"] == ["a", "b", "c", "a"]


def test_a_filter_field_named_like_a_formula_is_not_a_cycle() -> None:
    doc = visit_app_definition()
    doc["entities"][1]["fields"].append({"key": "score", "type": "integer", "label": "分"})
    doc["entities"][0]["fields"].append(_formula("score", "count(visits where score > 2)"))
    load_definition(doc)


def test_step_cycle_and_expression_problems_come_together() -> None:
    doc = visit_app_definition()
    steps = doc["entities"][1]["steps"]
    steps[2]["unlock_when"] = "steps.pain_points.done"
    doc["entities"][0]["fields"][1]["visible_when"] = "industy == null"
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    found = {(p.path, p.code) for p in caught.value.problems}
    assert ("$.entities[1].steps[2].unlock_when", "dependency_cycle") in found
    assert ("$.entities[0].fields[1].visible_when", "expression_unknown_name") in found
    (typo,) = [p for p in caught.value.problems if p.code == "expression_unknown_name"]
    assert "industry" in (typo.detail.get("suggestion") or typo.message)
