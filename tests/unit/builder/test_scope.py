"""The expression scope built from a definition."""

from __future__ import annotations

import pytest

from builder import load_definition, scope_for
from builder.model import FieldType
from builder.scope import FIELD_TYPES, app_scopes, find_cycles
from expressions import types as t
from expressions.scope import CollectionSpec
from tests.unit.builder.fixtures import visit_app_definition


@pytest.fixture(scope="module")
def app():
    return load_definition(visit_app_definition())


def test_every_plain_field_type_has_an_expression_type() -> None:
    assert set(FIELD_TYPES) == set(FieldType) - {FieldType.FORMULA, FieldType.LINK}
    assert FIELD_TYPES[FieldType.MONEY] == t.DECIMAL
    assert FIELD_TYPES[FieldType.RATING] == t.INTEGER
    assert FIELD_TYPES[FieldType.CHOICE] == t.TEXT
    assert FIELD_TYPES[FieldType.MULTI_CHOICE] == t.list_of(t.TEXT)
    assert FIELD_TYPES[FieldType.PHOTO] == t.list_of(t.FILE)


def test_fields_system_names_links_and_steps(app) -> None:
    scope = scope_for(app, "visit")
    assert scope.entity == "visit"
    spec = scope.entity_spec()
    assert spec is not None
    names = [f.name for f in spec.fields]
    assert names[:5] == ["id", "created_at", "updated_at", "created_by", "owner"]
    assert "stage" not in names
    assert spec.field("customer").type == t.record_of("customer")  # type: ignore[union-attr]
    assert spec.field("shelf_photos").type == t.list_of(t.FILE)  # type: ignore[union-attr]
    assert spec.field("checkin_location").type == t.LOCATION  # type: ignore[union-attr]
    assert spec.field("owner").type == t.USER  # type: ignore[union-attr]
    assert spec.steps == (
        "checkin", "shelf_photo", "competitor", "pain_points", "commitments", "next_follow_up"
    )  # fmt: skip
    assert spec.collection("commitments") == CollectionSpec("commitments", "commitment", "visit")


def test_stage_names_and_collections(app) -> None:
    spec = scope_for(app, "opportunity").entity_spec()
    assert spec is not None
    assert spec.field("stage").type == t.TEXT  # type: ignore[union-attr]
    assert spec.field("stage_entered_at").type == t.DATETIME  # type: ignore[union-attr]
    assert spec.collection("contacts") == CollectionSpec("contacts", "contact", "opportunity")
    customer = scope_for(app, "opportunity").entity_spec("customer")
    assert customer is not None
    assert {c.name for c in customer.collections} == {"visits", "opportunities"}


def test_scopes_are_cached_per_app_and_hashable(app) -> None:
    assert scope_for(app, "visit") is scope_for(app, "visit")
    assert app_scopes(app) is app_scopes(app)
    hash(scope_for(app, "visit"))
    other = load_definition(visit_app_definition())
    assert scope_for(other, "visit") == scope_for(app, "visit")


def test_unknown_entity_is_a_key_error(app) -> None:
    with pytest.raises(KeyError):
        scope_for(app, "nope")


def test_find_cycles() -> None:
    assert find_cycles({"a": ["b"], "b": ["c"], "c": []}) == []
    assert find_cycles({"a": ["b"], "b": ["a"]}) == [("a", "b", "a")]
    assert find_cycles({"a": ["a"]}) == [("a", "a")]
    assert find_cycles({"x": [], "a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"]}) == [
        ("a", "b", "c", "a"),
        ("d", "d"),
    ]
    # edges to unknown nodes are ignored
    assert find_cycles({"a": ["zzz"]}) == []
    # a long chain does not exhaust the stack
    chain = {f"n{i}": [f"n{i + 1}"] for i in range(5000)}
    chain["n5000"] = ["n0"]
    (cycle,) = find_cycles(chain)
    assert len(cycle) == 5002
