"""Migration planning between two definitions."""

from __future__ import annotations

from typing import Any

import pytest

from builder import load_definition
from builder.model import App, FieldType
from builder.plan import (
    AddField,
    AddIndex,
    AddStages,
    AddStep,
    ArchiveEntity,
    ArchiveField,
    ChangeFieldType,
    CreateEntity,
    DropField,
    DropIndex,
    RelabelField,
    RemoveStages,
    RemoveStep,
    conversion,
    plan_migration,
)
from tests.unit.builder.fixtures import visit_app_definition


def _app(change: Any = None) -> App:
    doc = visit_app_definition()
    if change is not None:
        change(doc)
    return load_definition(doc)


def _fields(doc: dict[str, Any], entity: int) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = doc["entities"][entity]["fields"]
    return fields


@pytest.fixture(scope="module")
def base() -> App:
    return _app()


def test_first_publish_creates_every_entity(base: App) -> None:
    plan = plan_migration(None, base)
    assert plan.steps == tuple(CreateEntity(e.key) for e in base.entities)
    assert not plan.problems and not plan.is_empty
    assert plan.describe()["steps"][0]["kind"] == "create_entity"


def test_same_definition_plans_nothing(base: App) -> None:
    plan = plan_migration(base, _app())
    assert plan.steps == () and plan.is_empty
    assert plan.describe() == {"steps": [], "problems": [], "is_empty": True, "destructive": False}


def test_relabel_is_not_a_drop_and_add(base: App) -> None:
    def relabel(doc: dict[str, Any]) -> None:
        _fields(doc, 0)[2]["label"] = {"zh": "所属行业", "en": "Sector"}

    plan = plan_migration(base, _app(relabel))
    assert plan.steps == (RelabelField("customer", "industry"),)
    assert plan.is_empty  # no database change
    step = plan.describe()["steps"][0]
    assert step["kind"] == "relabel_field" and step["field"] == "industry"
    assert step["message"] and step["message_zh"] and step["destructive"] is False


def test_added_fields_and_indexes(base: App) -> None:
    def add(doc: dict[str, Any]) -> None:
        _fields(doc, 0).append({"key": "code", "type": "text", "label": "编码", "unique": True})
        _fields(doc, 0).append({"key": "rep", "type": "user", "label": "负责人"})
        _fields(doc, 0).append({"key": "note", "type": "long_text", "label": "备注"})

    plan = plan_migration(base, _app(add))
    assert plan.steps == (
        AddField("customer", "code"),
        AddField("customer", "rep"),
        AddField("customer", "note"),
        AddIndex("customer", "code", unique=True),
        AddIndex("customer", "rep", unique=False),
    )


def test_index_changes(base: App) -> None:
    def change(doc: dict[str, Any]) -> None:
        _fields(doc, 0)[1]["index"] = False  # region: was indexed
        _fields(doc, 0)[2]["unique"] = True  # industry: now unique

    plan = plan_migration(base, _app(change))
    assert plan.steps == (
        DropIndex("customer", "region", unique=False),
        AddIndex("customer", "industry", unique=True),
    )


def test_removed_field_is_archived_unless_drop_confirmed(base: App) -> None:
    def remove(doc: dict[str, Any]) -> None:
        del _fields(doc, 0)[3]  # phone

    new = _app(remove)
    assert plan_migration(base, new).steps == (ArchiveField("customer", "phone"),)
    plan = plan_migration(base, new, confirm_drops=frozenset({"customer.phone"}))
    assert plan.steps == (DropField("customer", "phone"),)
    assert plan.destructive and plan.describe()["steps"][0]["destructive"] is True
    # a confirmation for another field changes nothing
    other = plan_migration(base, new, confirm_drops=frozenset({"visit.phone"}))
    assert other.steps == (ArchiveField("customer", "phone"),)


def test_removed_indexed_field_drops_its_index_first(base: App) -> None:
    def remove(doc: dict[str, Any]) -> None:
        del _fields(doc, 0)[1]  # region, indexed

    plan = plan_migration(base, _app(remove))
    assert plan.steps == (DropIndex("customer", "region"), ArchiveField("customer", "region"))


def test_removed_entity_is_archived(base: App) -> None:
    def remove(doc: dict[str, Any]) -> None:
        del doc["entities"][4]  # contact
        doc["entities"][3]["stages"][1]["exit_when"] = "budget_range != null"

    plan = plan_migration(base, _app(remove))
    assert plan.steps == (ArchiveEntity("contact"),)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("integer", "number", "safe"),
        ("text", "long_text", "safe"),
        ("date", "datetime", "safe"),
        ("money", "number", "safe"),
        ("number", "text", "safe"),
        ("text", "number", "checked"),
        ("number", "integer", "checked"),
        ("text", "date", "checked"),
        ("long_text", "text", "checked"),
        ("photo", "number", "impossible"),
        ("text", "link", "impossible"),
        ("location", "text", "impossible"),
        ("text", "text", "same"),
    ],
)
def test_conversion_classes(old: str, new: str, kind: str) -> None:
    assert conversion(FieldType(old), FieldType(new)) == kind


def test_type_changes(base: App) -> None:
    def change(doc: dict[str, Any]) -> None:
        _fields(doc, 0)[2]["type"] = "long_text"  # industry: safe
        _fields(doc, 0)[3]["type"] = "integer"  # phone: checked

    plan = plan_migration(base, _app(change))
    assert plan.steps == (
        ChangeFieldType("customer", "industry", FieldType.TEXT, FieldType.LONG_TEXT, False),
        ChangeFieldType("customer", "phone", FieldType.PHONE, FieldType.INTEGER, True),
    )
    described = plan.describe()["steps"][1]
    assert described["old_type"] == "phone" and described["new_type"] == "integer"
    assert described["needs_conversion_check"] is True


def test_impossible_type_change_is_a_problem(base: App) -> None:
    def change(doc: dict[str, Any]) -> None:
        field = _fields(doc, 1)[2]  # shelf_photos
        for option in ("multiple", "max_size_mb", "accept"):
            del field[option]
        field["type"] = "number"

    plan = plan_migration(base, _app(change))
    assert [(p.path, p.code) for p in plan.problems] == [
        ("$.entities[1].fields[2].type", "conversion_impossible")
    ]
    assert plan.describe()["problems"][0]["code"] == "conversion_impossible"
    assert not plan.is_empty


def test_retargeted_link_is_a_problem(base: App) -> None:
    def change(doc: dict[str, Any]) -> None:
        _fields(doc, 3)[1]["target"] = "contact"
        _fields(doc, 3)[1]["related_name"] = "deals"

    plan = plan_migration(base, _app(change))
    assert [(p.path, p.code) for p in plan.problems] == [
        ("$.entities[3].fields[1].target", "conversion_impossible")
    ]


def test_steps_and_stages(base: App) -> None:
    def change(doc: dict[str, Any]) -> None:
        steps = doc["entities"][1]["steps"]
        steps[0]["key"] = "check_in"
        doc["entities"][3]["stages"] = []
        for field in _fields(doc, 3):
            for option in ("required_when", "visible_when", "read_only_when"):
                field.pop(option, None)
        doc["entities"][4]["stages"] = [{"key": "new", "label": "新"}]

    plan = plan_migration(base, _app(change))
    assert plan.steps == (
        RemoveStep("visit", "checkin"),
        AddStep("visit", "check_in"),
        RemoveStages("opportunity"),
        AddStages("contact"),
    )
    kinds = [s["kind"] for s in plan.describe()["steps"]]
    assert kinds == ["remove_step", "add_step", "remove_stages", "add_stages"]
