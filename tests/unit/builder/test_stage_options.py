"""Stage move options (allow_back, allow_skip_to) and the analysis of what an entity derives."""

from __future__ import annotations

import copy

import pytest

from builder import DefinitionInvalid, dump_definition, load_definition
from builder.scope import derives_from
from tests.unit.builder.fixtures import visit_app_definition


def _opportunity_stages(doc: dict) -> list[dict]:  # type: ignore[type-arg]
    entity = next(e for e in doc["entities"] if e["key"] == "opportunity")
    return entity["stages"]  # type: ignore[no-any-return]


def test_stage_options_load_and_dump_back() -> None:
    doc = copy.deepcopy(visit_app_definition())
    stages = _opportunity_stages(doc)
    stages[0]["allow_skip_to"] = ["closing"]
    stages[3]["allow_back"] = True
    app = load_definition(doc)
    opportunity = app.entity("opportunity")
    assert opportunity is not None
    assert opportunity.stages[0].allow_skip_to == ("closing",)
    assert opportunity.stages[3].allow_back is True and opportunity.stages[1].allow_back is False
    dumped = dump_definition(app)
    assert load_definition(dumped) == app
    assert "allow_back" not in _opportunity_stages(dumped)[1]  # defaults are left out


@pytest.mark.parametrize(
    ("value", "code"),
    [(["nowhere"], "unknown_reference"), (["contact"], "invalid_option"), ("closing", "invalid_type")],
)
def test_allow_skip_to_must_name_later_stages(value: object, code: str) -> None:
    doc = copy.deepcopy(visit_app_definition())
    _opportunity_stages(doc)[1]["allow_skip_to"] = value
    with pytest.raises(DefinitionInvalid) as raised:
        load_definition(doc)
    problems = [(p.path, p.code) for p in raised.value.problems]
    index = next(i for i, e in enumerate(doc["entities"]) if e["key"] == "opportunity")
    base = f"$.entities[{index}].stages[1].allow_skip_to"
    assert problems in ([(base + "[0]", code)], [(base, code)])


def test_derives_from_finds_formulas_and_step_conditions_over_a_collection() -> None:
    app = load_definition(visit_app_definition())
    visit, opportunity, customer = (app.entity(k) for k in ("visit", "opportunity", "customer"))
    assert visit is not None and opportunity is not None and customer is not None
    assert derives_from(visit, "commitments")  # commitment_count and the commitments step
    # Exit criteria store nothing: a contact added to an opportunity recomputes nothing.
    assert not derives_from(opportunity, "contacts")
    assert not derives_from(customer, "visits")
