"""List indexes come from the read conditions' syntax trees, and the plan adds and drops them."""

from __future__ import annotations

from typing import Any

import pytest

from builder import load_definition
from builder.list_indexes import list_index_columns, me_columns
from builder.model import App
from builder.plan import AddListIndex, DropListIndex, plan_migration
from tests.unit.builder.fixtures import visit_app_definition


def _app(read_when: str | None) -> App:
    doc: dict[str, Any] = visit_app_definition()
    visit = next(e for e in doc["entities"] if e["key"] == "visit")
    visit["fields"].append({"key": "reviewer", "type": "user", "label": {"zh": "审核人", "en": "Reviewer"}})
    visit["permissions"][0]["read_when"] = read_when
    return load_definition(doc)


@pytest.mark.parametrize(
    ("read_when", "columns"),
    [
        ("owner == me()", ("owner",)),
        ("me() == owner", ("owner",)),
        ("owner == me() and next_follow_up_at != null", ("owner",)),
        ("reviewer == me() and (owner == me() or created_by == me())", ("reviewer",)),
        ("created_by == me() and owner == me()", ("created_by", "owner")),
        ("owner == me() or reviewer == me()", ()),  # no single index serves an "or"
        ("not (owner == me())", ()),
        ("owner != me()", ()),
        ('transcript == "owner == me()"', ()),  # text that looks like a condition is not one
        (None, ()),
    ],
)
def test_equality_columns_come_from_top_level_conjuncts(read_when: str | None, columns: tuple[str, ...]) -> None:
    app = _app(read_when)
    visit = app.entity("visit")
    assert visit is not None
    assert me_columns(visit, read_when) == columns
    always = (("created_at", "id"), ("updated_at", "id"), ("owner", "updated_at", "id"))
    expected = always + ((columns + ("created_at", "id"),) if columns else ())
    assert list_index_columns(visit) == expected


def test_every_entity_has_the_default_and_recently_updated_order_indexes() -> None:
    app = _app("owner == me()")
    for entity in app.entities:
        assert list_index_columns(entity)[:3] == (("created_at", "id"), ("updated_at", "id"), ("owner", "updated_at", "id"))


def test_changing_a_read_condition_plans_list_index_changes() -> None:
    old, new = _app("owner == me()"), _app("reviewer == me()")
    plan = plan_migration(old, new)
    assert DropListIndex("visit", ("owner", "created_at", "id")) in plan.steps
    assert AddListIndex("visit", ("reviewer", "created_at", "id")) in plan.steps
    described = [s for s in plan.describe()["steps"] if s["kind"] == "add_list_index"]
    assert described[0]["columns"] == ["reviewer", "created_at", "id"] and "列表索引" in described[0]["message_zh"]
    assert not plan_migration(old, _app("owner == me()")).steps
