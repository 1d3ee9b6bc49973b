"""Crafted malformed definitions and the problem codes each must produce.

``MALFORMED_CASES`` is a list of ``(name, document, expected codes)``: loading the document
must raise :class:`builder.DefinitionInvalid` whose problems include every expected code
(they may include more). Reused by the REST API tests (each must answer 422).

``EXPRESSION_CASES`` (included in ``MALFORMED_CASES``) are the ones only the expression
checker detects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.unit.builder.fixtures import visit_app_definition

Doc = dict[str, Any]


def _app(*entities: Doc, **top: Any) -> Doc:
    doc: Doc = {"format": "cairn.app/1", "key": "demo", "label": "Demo", "entities": list(entities)}
    doc.update(top)
    return doc


def _entity(key: str = "thing", *fields: Doc, **more: Any) -> Doc:
    entity: Doc = {"key": key, "label": "Thing", "fields": list(fields) or [_text("name")]}
    entity.update(more)
    return entity


def _text(key: str, **more: Any) -> Doc:
    field: Doc = {"key": key, "type": "text", "label": key}
    field.update(more)
    return field


def _field(key: str, type_: str, **more: Any) -> Doc:
    return _text(key, type=type_, **more)


def _visit(change: Callable[[Doc], Any]) -> Doc:
    """The valid visit app with one change applied."""
    doc = visit_app_definition()
    change(doc)
    return doc


def _entity_of(doc: Doc, key: str) -> Doc:
    return next(e for e in doc["entities"] if e["key"] == key)


def _step(doc: Doc, key: str) -> Doc:
    return next(s for s in _entity_of(doc, "visit")["steps"] if s["key"] == key)


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": [value]}
    return value


def _deep_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _set(path: list[Any], value: Any) -> Callable[[Doc], None]:
    """A change setting the value at ``path`` (keys and list indices) to ``value``."""

    def change(doc: Doc) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _cycle3(doc: Doc) -> None:
    _step(doc, "checkin")["unlock_when"] = "steps.next_follow_up.done"
    _step(doc, "shelf_photo")["unlock_when"] = "steps.checkin.done"
    _step(doc, "next_follow_up")["unlock_when"] = "steps.shelf_photo.done"


def _cycle2(doc: Doc) -> None:
    _step(doc, "competitor")["unlock_when"] = "steps.pain_points.done"


def _self_cycle(doc: Doc) -> None:
    _step(doc, "checkin")["done_when"] = "steps.checkin.done"


def _two_owners(doc: Doc) -> None:
    _step(doc, "checkin")["fields"].append("competitor_note")


def _unknown_step_field(doc: Doc) -> None:
    _step(doc, "checkin")["fields"].append("no_such_field")


def _dup_step(doc: Doc) -> None:
    steps = _entity_of(doc, "visit")["steps"]
    steps.append(dict(steps[0], fields=[]))


def _dup_stage(doc: Doc) -> None:
    stages = _entity_of(doc, "opportunity")["stages"]
    stages.append(dict(stages[0]))


def _dup_rule(doc: Doc) -> None:
    rules = _entity_of(doc, "visit")["rules"]
    rules.append(dict(rules[0]))


def _dup_entity(doc: Doc) -> None:
    doc["entities"].append(_entity("customer"))


def _unknown_target(doc: Doc) -> None:
    _entity_of(doc, "visit")["fields"][0]["target"] = "client"


def _clashing_related(doc: Doc) -> None:
    _entity_of(doc, "visit")["fields"][0]["related_name"] = "industry"


def _shared_related(doc: Doc) -> None:
    _entity_of(doc, "opportunity")["fields"][1]["related_name"] = "visits"


def _bad_title(doc: Doc) -> None:
    _entity_of(doc, "customer")["title_field"] = "nickname"


def _bad_role(doc: Doc) -> None:
    _entity_of(doc, "customer")["permissions"][0]["role"] = "intern"


def _many_fields(n: int) -> Doc:
    return _app(_entity("wide", *[_text(f"f{i}") for i in range(n)]))


_SQL = 'x"; DROP TABLE t;--'

MALFORMED_CASES: list[tuple[str, Any, set[str]]] = [
    # --- not a definition at all
    ("string document", "cairn.app/1", {"invalid_type"}),
    ("list document", [visit_app_definition()], {"invalid_type"}),
    ("null document", None, {"invalid_type"}),
    ("number document", 42, {"invalid_type"}),
    ("empty object", {}, {"required"}),
    ("wrong format tag", dict(visit_app_definition(), format="cairn.app/2"), {"format_unsupported"}),
    ("format tag not a string", dict(visit_app_definition(), format=1), {"format_unsupported"}),
    ("format tag only", {"format": "cairn.app/1"}, {"required"}),
    # --- wrong types everywhere
    ("entities not a list", _app(entities={"customer": {}}), {"invalid_type"}),
    ("entity not an object", _app("customer"), {"invalid_type"}),  # type: ignore[arg-type]
    ("entity key a number", _app(_entity(key=7)), {"invalid_type"}),  # type: ignore[arg-type]
    ("label a number", _app(_entity(label=3)), {"invalid_type"}),
    ("label with unknown locale", _app(_entity(label={"fr": "Chose"})), {"unknown_key"}),
    ("label empty", _app(_entity(label="  ")), {"required"}),
    ("fields null", _app(_entity(fields=None)), {"invalid_type"}),
    ("field not an object", _app(_entity("thing", "name")), {"invalid_type"}),  # type: ignore[arg-type]
    ("required as string", _app(_entity("thing", _text("name", required="yes"))), {"invalid_type"}),
    ("required as 1", _app(_entity("thing", _text("name", required=1))), {"invalid_type"}),
    ("max_length as string", _app(_entity("thing", _text("name", max_length="10"))), {"invalid_type"}),
    ("min not a number", _app(_entity("thing", _field("n", "number", min="lots"))), {"invalid_type"}),
    ("min infinite", _app(_entity("thing", _field("n", "number", min=float("inf")))), {"invalid_value"}),
    ("min huge integer", _app(_entity("thing", _field("n", "number", min=10**5000))), {"too_large"}),
    ("min too big for a field", _app(_entity("thing", _field("n", "number", min=10**16))), {"invalid_value"}),
    ("huge integer in a trigger", _app(_entity(), triggers=[{"key": 10**5000}]), {"too_large"}),
    ("NUL in a label", _app(_entity(label="a\x00b")), {"invalid_value"}),
    ("lone surrogate in a help text", _app(_entity("thing", _text("name", help="\ud800"))), {"invalid_value"}),
    ("NaN in a dashboard", _app(_entity(), dashboards=[{"key": "d", "x": float("nan")}]), {"invalid_value"}),
    ("unknown field type", _app(_entity("thing", _field("n", "blob"))), {"invalid_value"}),
    ("steps a string", _visit(_set(["entities", 1, "steps"], "checkin")), {"invalid_type"}),
    ("roles not a list", _app(_entity(), roles="admin"), {"invalid_type"}),
    ("trigger without key", _app(_entity(), triggers=[{"on": "created"}]), {"required"}),
    ("trigger not an object", _app(_entity(), triggers=["on created"]), {"invalid_type"}),
    ("default a nested object", _app(_entity("thing", _text("name", default={"a": 1}))), {"invalid_type"}),
    ("option not a string", _app(_entity("thing", _field("c", "choice", options=[1, 2]))), {"invalid_type"}),
    ("expression not a string", _visit(_set(["entities", 1, "steps", 3, "unlock_when"], ["steps"])), {"invalid_type"}),
    ("expression blank", _visit(_set(["entities", 1, "steps", 3, "unlock_when"], "   ")), {"invalid_value"}),
    ("non-string object key", _app(_entity()) | {1: "one"}, {"invalid_type"}),
    ("non-JSON value", _app(_entity("thing", _text("name", default={1, 2}))), {"invalid_type"}),
    # --- unknown and missing keys
    ("unknown top-level key", _app(_entity(), colour="red"), {"unknown_key"}),
    ("unknown field option", _app(_entity("thing", _text("name", mandatory=True))), {"unknown_key"}),
    ("unknown step key", _visit(_set(["entities", 1, "steps", 0, "unlock"], "true")), {"unknown_key"}),
    ("field without type", _app(_entity("thing", {"key": "name", "label": "Name"})), {"required"}),
    ("field without label", _app(_entity("thing", {"key": "name", "type": "text"})), {"required"}),
    ("entity without fields", _app({"key": "thing", "label": "Thing"}), {"required"}),
    ("rule without assert", _visit(_set(["entities", 1, "rules", 0], {"key": "r", "message": "m"})), {"required"}),
    # --- identifiers and reserved names
    ("sql injection entity key", _app(_entity(key=_SQL)), {"invalid_identifier"}),
    ("sql injection field key", _app(_entity("thing", _text(_SQL))), {"invalid_identifier"}),
    ("uppercase key", _app(_entity(key="Customer")), {"invalid_identifier"}),
    ("key starting with digit", _app(_entity("thing", _text("1st"))), {"invalid_identifier"}),
    ("key with double underscore", _app(_entity("thing", _text("a__b"))), {"invalid_identifier"}),
    ("key with trailing underscore", _app(_entity("thing", _text("name_"))), {"invalid_identifier"}),
    ("key too long", _app(_entity("thing", _text("a" * 64))), {"invalid_identifier"}),
    ("chinese key", _app(_entity(key="客户")), {"invalid_identifier"}),
    ("key with newline", _app(_entity("thing", _text("name\n"))), {"invalid_identifier"}),
    ("empty key", _app(_entity("thing", _text(""))), {"invalid_identifier"}),
    ("reserved field id", _app(_entity("thing", _text("id"))), {"reserved_name"}),
    ("reserved field version", _app(_entity("thing", _text("version"))), {"reserved_name"}),
    ("reserved field keyword", _app(_entity("thing", _text("where"))), {"reserved_name"}),
    ("reserved entity users", _app(_entity(key="users")), {"reserved_name"}),
    ("reserved related name", _visit(_set(["entities", 1, "fields", 0, "related_name"], "owner")), {"reserved_name"}),
    ("bad step field reference", _visit(_set(["entities", 1, "steps", 0, "fields"], ["Bad Name"])), {"invalid_identifier"}),
    # --- duplicates
    ("duplicate entity", _visit(_dup_entity), {"duplicate_key"}),
    ("duplicate field", _app(_entity("thing", _text("name"), _text("name"))), {"duplicate_key"}),
    ("duplicate step", _visit(_dup_step), {"duplicate_key"}),
    ("duplicate stage", _visit(_dup_stage), {"duplicate_key"}),
    ("duplicate rule", _visit(_dup_rule), {"duplicate_key"}),
    ("duplicate option", _app(_entity("thing", _field("c", "choice", options=["a", "a"]))), {"duplicate_key"}),
    ("duplicate role", _app(_entity(), roles=["rep", "rep"]), {"duplicate_key"}),
    # --- references
    ("unknown link target", _visit(_unknown_target), {"unknown_reference"}),
    ("related name clashes with field", _visit(_clashing_related), {"unknown_reference"}),
    ("related name used twice", _visit(_shared_related), {"unknown_reference"}),
    ("step owns unknown field", _visit(_unknown_step_field), {"unknown_reference"}),
    ("field owned by two steps", _visit(_two_owners), {"unknown_reference"}),
    ("unknown title field", _visit(_bad_title), {"unknown_reference"}),
    ("permission for unknown role", _visit(_bad_role), {"unknown_reference"}),
    # --- field options
    ("choice without options", _app(_entity("thing", _field("c", "choice"))), {"invalid_option"}),
    ("options on text", _app(_entity("thing", _text("name", options=["a"]))), {"invalid_option"}),
    ("link without target", _app(_entity("thing", _field("l", "link"))), {"required"}),
    ("target on text", _app(_entity("thing", _text("name", target="thing"))), {"invalid_option"}),
    ("formula without source", _app(_entity("thing", _field("f", "formula"))), {"required"}),
    ("formula on text", _app(_entity("thing", _text("name", formula="1"))), {"invalid_option"}),
    ("min greater than max", _app(_entity("thing", _field("n", "integer", min=10, max=1))), {"invalid_option"}),
    ("max_length zero", _app(_entity("thing", _text("name", max_length=0))), {"invalid_option"}),
    ("max_length on number", _app(_entity("thing", _field("n", "number", max_length=3))), {"invalid_option"}),
    ("multiple on text", _app(_entity("thing", _text("name", multiple=True))), {"invalid_option"}),
    ("unique photo", _app(_entity("thing", _field("p", "photo", unique=True))), {"invalid_option"}),
    ("default of wrong type", _app(_entity("thing", _field("n", "integer", default="ten"))), {"invalid_option"}),
    ("default not an option", _app(_entity("thing", _field("c", "choice", options=["a"], default="b"))), {"invalid_option"}),
    # --- cycles
    ("step cycle of two", _visit(_cycle2), {"dependency_cycle"}),
    ("step cycle of three", _visit(_cycle3), {"dependency_cycle"}),
    ("step depends on itself", _visit(_self_cycle), {"dependency_cycle"}),
    ("formula cycle", _app(_entity("thing", _field("a", "formula", formula="b + 1"), _field("b", "formula", formula="a + 1"))), {"dependency_cycle"}),
    # --- limits
    ("10,000 fields", _many_fields(10_000), {"too_large"}),
    ("too many entities", _app(*[_entity(f"e{i}") for i in range(201)]), {"too_large"}),
    ("too many steps", _app(_entity(steps=[{"key": f"s{i}", "label": "S"} for i in range(51)])), {"too_large"}),
    ("too many stages", _app(_entity(stages=[{"key": f"s{i}", "label": "S"} for i in range(51)])), {"too_large"}),
    ("deeply nested trigger", _app(_entity(), triggers=[{"key": "t", "then": _deep(200)}]), {"too_large"}),
    ("deeply nested default", _app(_entity("thing", _text("name", default=_deep_list(10_000)))), {"too_large"}),
    ("huge string", _app(_entity("thing", _text("name", help="x" * 100_000))), {"too_large"}),
    ("long label", _app(_entity(label="名" * 201)), {"too_large"}),
    ("long expression", _visit(_set(["entities", 1, "steps", 3, "unlock_when"], "true or " * 600 + "true")), {"too_large"}),
    ("object with many keys", _app(_entity(), triggers=[{"key": "t", **{f"k{i}": i for i in range(1000)}}]), {"too_large"}),
]  # fmt: skip
"""Every case here fails whether or not the expression checker is installed."""

EXPRESSION_CASES: list[tuple[str, Any, set[str]]] = [
    ("unknown field in visible_when",
     _visit(_set(["entities", 0, "fields", 1, "visible_when"], "budjet > 3")),
     {"expression_unknown_name"}),
    ("syntax error in exit_when",
     _visit(_set(["entities", 3, "stages", 0, "exit_when"], "contact_channel !=")),
     {"expression_syntax"}),
    ("non-boolean rule",
     _visit(_set(["entities", 3, "rules", 0, "assert"], "amount + 1")),
     {"expression_not_boolean"}),
    ("unknown function",
     _visit(_set(["entities", 1, "steps", 3, "done_when"], "frobnicate(transcript)")),
     {"expression_unknown_function"}),
    ("unknown step in unlock_when",
     _visit(_set(["entities", 1, "steps", 3, "unlock_when"], "steps.nope.done")),
     {"expression_unknown_name"}),
    ("type mismatch in required_when",
     _visit(_set(["entities", 3, "fields", 2, "required_when"], 'amount > "lots"')),
     {"expression_type_mismatch"}),
    ("unknown field in permission",
     _visit(_set(["entities", 1, "permissions", 0, "read_when"], "owner == me() or secret")),
     {"expression_unknown_name"}),
    ("formula with unknown name",
     _visit(_set(["entities", 3, "fields", 8, "formula"], "amount * rate")),
     {"expression_unknown_name"}),
]  # fmt: skip
"""Cases only the expression checker detects (:func:`expressions.check`)."""

MALFORMED_CASES += EXPRESSION_CASES
