"""Loading definitions: the valid visit app, round trips, and every malformed case."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from builder import DefinitionInvalid, dump_definition, load_definition
from builder.model import App, ChoiceOption, FieldType, LocalizedText
from tests.unit.builder.fixtures import (
    LOCKED_MESSAGE,
    NEED_CONFIRMATION_EXIT,
    visit_app_definition,
)
from tests.unit.builder.malformed_cases import MALFORMED_CASES
from tests.work import measure


@pytest.fixture
def app() -> App:
    return load_definition(visit_app_definition())


def test_visit_app_loads_into_the_model(app: App) -> None:
    assert [e.key for e in app.entities] == [
        "customer", "visit", "commitment", "opportunity", "contact"
    ]  # fmt: skip
    visit = app.entity("visit")
    assert visit is not None
    assert [s.key for s in visit.steps] == [
        "checkin", "shelf_photo", "competitor", "pain_points", "commitments", "next_follow_up"
    ]  # fmt: skip
    pain = visit.step("pain_points")
    assert pain is not None
    assert pain.unlock_when == "steps.competitor.done"
    assert pain.locked_message == LocalizedText(**LOCKED_MESSAGE)
    photos = visit.field("shelf_photos")
    assert photos is not None and photos.type is FieldType.PHOTO and photos.multiple
    assert photos.accept == ("image/jpeg", "image/png")
    link = visit.field("customer")
    assert link is not None and link.target == "customer" and link.related_name == "visits"
    opportunity = app.entity("opportunity")
    assert opportunity is not None
    assert [s.key for s in opportunity.stages] == [
        "contact", "need_confirmation", "proposal", "objection", "closing"
    ]  # fmt: skip
    need = opportunity.stage("need_confirmation")
    assert need is not None and need.exit_when == NEED_CONFIRMATION_EXIT
    assert opportunity.rules[0].assert_ == "amount == null or amount > 0"
    amount = opportunity.field("amount")
    assert amount is not None and amount.min == Decimal(0)


def test_labels_accept_a_string_or_locales() -> None:
    doc = visit_app_definition()
    doc["label"] = "门店"
    app = load_definition(doc)
    assert app.label == LocalizedText(zh="门店", en="门店")
    assert app.label.get("en") == "门店"
    doc["label"] = {"en": "Stores"}
    assert load_definition(doc).label == LocalizedText(en="Stores")


def test_choice_options_accept_strings_and_objects(app: App) -> None:
    customer = app.entity("customer")
    assert customer is not None
    region = customer.field("region")
    assert region is not None
    assert region.options[0] == ChoiceOption("华东")
    assert region.options[3] == ChoiceOption("西部", LocalizedText(zh="西部", en="West"))


def test_defaults_and_optional_nulls() -> None:
    doc = visit_app_definition()
    field = doc["entities"][0]["fields"][0]
    field.update(help=None, default="无名", min=None)
    app = load_definition(doc)
    name = app.entities[0].fields[0]
    assert name.help is None and name.default == "无名"
    assert app.roles == ("admin", "manager", "rep")


def test_multi_choice_default_is_a_hashable_tuple() -> None:
    doc = visit_app_definition()
    doc["entities"][0]["fields"].append(
        {"key": "tags", "type": "multi_choice", "label": "标签", "options": ["a", "b"],
         "default": ["a"]}
    )  # fmt: skip
    app = load_definition(doc)
    tags = app.entities[0].field("tags")
    assert tags is not None and tags.default == ("a",)
    hash(tags)


def test_dump_round_trips(app: App) -> None:
    dumped = dump_definition(app)
    assert json.loads(json.dumps(dumped)) == dumped
    assert load_definition(dumped) == app
    assert dumped["format"] == "cairn.app/1"
    # defaults are left out, so the dump reads like something a person wrote
    assert "unique" not in dumped["entities"][0]["fields"][0]
    assert dumped["entities"][3]["rules"][0]["assert"] == "amount == null or amount > 0"


def test_dump_keeps_exact_decimals() -> None:
    doc = visit_app_definition()
    amount = doc["entities"][3]["fields"][4]
    amount.update(min="0.1234567890123456789", max=1.5)
    app = load_definition(doc)
    assert load_definition(dump_definition(app)) == app


def test_dashboards_are_kept_as_objects() -> None:
    # (triggers and assignment rules are loaded further by builder.triggers)
    doc = visit_app_definition()
    doc["dashboards"] = [{"key": "main", "widgets": []}]
    app = load_definition(doc)
    assert app.dashboards == ({"key": "main", "widgets": []},)
    assert load_definition(dump_definition(app)) == app


def test_loading_does_not_mutate_the_document() -> None:
    doc = visit_app_definition()
    before = copy.deepcopy(doc)
    load_definition(doc)
    assert doc == before


def test_loading_the_visit_app_is_cheap() -> None:
    load_definition(visit_app_definition())  # warm up imports and parser tables
    loaded = measure(load_definition, visit_app_definition())
    print(f"visit app loaded with {loaded}")
    assert loaded.error is None
    assert loaded.calls < 250_000  # about 26,000 today


def test_there_are_at_least_fifty_malformed_cases() -> None:
    assert len(MALFORMED_CASES) >= 50
    assert len({name for name, _, _ in MALFORMED_CASES}) == len(MALFORMED_CASES)


@pytest.mark.parametrize(
    ("doc", "codes"),
    [pytest.param(doc, codes, id=name) for name, doc, codes in MALFORMED_CASES],
)
def test_malformed_definitions_are_refused(doc: Any, codes: set[str]) -> None:
    refused = measure(load_definition, doc)
    print(f"refused with {refused}")
    assert refused.calls < 2_000_000  # the worst case, a first parse of the grammar: ~270,000
    error = refused.error
    assert isinstance(error, DefinitionInvalid), error
    assert codes <= error.codes, [p.as_dict() for p in error.problems]
    assert error.code == "definition_invalid"
    for p in error.problems:
        assert p.path.startswith("$")
        assert p.message and p.message_zh
        json.dumps(p.as_dict(), ensure_ascii=False)


def test_a_huge_entity_gives_one_problem_per_limit() -> None:
    doc = visit_app_definition()
    doc["entities"][0]["fields"] = [
        {"key": f"f{i}", "type": "text", "label": "x"} for i in range(10_000)
    ]
    doc["entities"][1]["steps"] = [{"key": f"s{i}", "label": "s"} for i in range(60)]
    refused = measure(load_definition, doc)
    print(f"refused with {refused}")
    # Refused before any per-field work: far fewer calls than the 10,000 fields.
    assert refused.calls < 10_000, refused
    assert isinstance(refused.error, DefinitionInvalid), refused.error
    assert [(p.path, p.code) for p in refused.error.problems] == [
        ("$.entities[0].fields", "too_large"),
        ("$.entities[1].steps", "too_large"),
    ]


def test_all_problems_of_a_stage_are_reported_together() -> None:
    doc = visit_app_definition()
    doc["entities"][0]["fields"][0]["key"] = "Name"
    doc["entities"][1]["fields"][1]["type"] = "gps"
    doc["entities"][3]["stages"][0]["colour"] = "red"
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    assert {(p.path, p.code) for p in caught.value.problems} == {
        ("$.entities[0].fields[0].key", "invalid_identifier"),
        ("$.entities[1].fields[1].type", "invalid_value"),
        ("$.entities[3].stages[0].colour", "unknown_key"),
    }


def test_semantic_problems_are_reported_together() -> None:
    doc = visit_app_definition()
    doc["entities"][1]["fields"][0]["target"] = "client"
    doc["entities"][0]["title_field"] = "nickname"
    doc["entities"][4]["fields"].append(dict(doc["entities"][4]["fields"][1]))
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    assert {(p.path, p.code) for p in caught.value.problems} >= {
        ("$.entities[1].fields[0].target", "unknown_reference"),
        ("$.entities[0].title_field", "unknown_reference"),
        ("$.entities[4].fields[4].key", "duplicate_key"),
    }


def test_messages_are_bilingual_and_name_the_value() -> None:
    doc = visit_app_definition()
    doc["entities"][0]["fields"][0]["key"] = 'x"; DROP TABLE t;--'
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    (p,) = caught.value.problems
    assert p.path == "$.entities[0].fields[0].key"
    assert "DROP TABLE" in p.message and "DROP TABLE" in p.message_zh
    assert "标识" in p.message_zh
    assert p.detail["value"] == 'x"; DROP TABLE t;--'


def test_unknown_keys_with_odd_names_get_bracketed_paths() -> None:
    doc = visit_app_definition()
    doc["entities"][0]["a b"] = 1
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(doc)
    assert caught.value.problems[0].path == '$.entities[0]["a b"]'


def test_fields_measured_by_elapsed_triggers_get_an_index() -> None:
    from builder import load_definition
    from tests.unit.builder.fixtures import visit_app_definition

    doc = visit_app_definition()
    doc["triggers"] = [
        {
            "key": "follow_up_overdue",
            "label": {"zh": "跟进逾期", "en": "Follow-up overdue"},
            "entity": "visit",
            "on": {"type": "elapsed", "condition": "steps.next_follow_up.done == false", "since": "next_follow_up_at", "after": "12h"},
            "actions": [{"type": "set_field", "field": "competitor_note", "value": '"逾期"'}],
        }
    ]
    app = load_definition(doc)
    visit = app.entity("visit")
    assert visit is not None and visit.field("next_follow_up_at").index is True  # type: ignore[union-attr]
    assert load_definition(visit_app_definition()).entity("visit").field("next_follow_up_at").index is False  # type: ignore[union-attr]
