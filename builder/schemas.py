"""marshmallow schemas for the ``cairn.app/1`` definition format, and the reverse dump.

The schemas check the *shape* of a document (types, required keys, unknown keys,
identifiers, lengths) and build the frozen dataclasses of :mod:`builder.model`. Cross
references, cycles and expressions are checked afterwards by :mod:`builder.validation`
on the built model.

Error messages produced here are *codes*, not prose: built-in fields use strings of the
form ``"<code>"`` or ``"<code>|<expected>"`` and custom fields raise :class:`Coded`
messages carrying parameters; :mod:`builder.validation` turns them into
:class:`~builder.errors.Problem` objects with English and Chinese messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import MISSING
from dataclasses import fields as dataclass_fields
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load

from builder import naming
from builder.model import (
    App,
    ChoiceOption,
    Entity,
    Field,
    FieldType,
    LocalizedText,
    Permission,
    Rule,
    Stage,
    Step,
)

MAX_LABEL_LENGTH = 200
MAX_TEXT_LENGTH = 2_000
MAX_EXPRESSION_LENGTH = 4_000
MAX_OPTION_VALUE_LENGTH = 200
MAX_NUMBER = Decimal(10) ** 15


class Coded(str):
    """An error message that is a stable code plus parameters for its rendering."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, **params: Any) -> Coded:
        """A message ``code`` (the string value) carrying ``params``."""
        obj = super().__new__(cls, code)
        obj.code = code
        obj.params = params
        return obj


_Messages = dict[str, str | list[Any] | dict[Any, Any]]


def _fail(code: str, **params: Any) -> ValidationError:
    return ValidationError([Coded(code, **params)])


# --------------------------------------------------------------------------- fields


class _Str(fields.String):
    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|a string",
        "invalid": "invalid_type|a string",
        "invalid_utf8": "invalid_type|a string",
    }


class _List(fields.List):
    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|a list",
        "invalid": "invalid_type|a list",
    }


class _Nested(fields.Nested):
    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|an object",
        "type": "invalid_type|an object",
    }


class StrictBool(fields.Field):
    """Only JSON ``true`` / ``false`` (no ``"yes"`` or ``1``)."""

    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|a boolean",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise _fail("invalid_type", expected="a boolean")
        return value


class StrictInt(fields.Field):
    """A JSON integer (not a boolean, not a float) of reasonable size."""

    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|an integer",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail("invalid_type", expected="an integer")
        if abs(value) > MAX_NUMBER:
            raise _fail("invalid_value", reason="the number is too large")
        return value


class DecimalNumber(fields.Field):
    """A finite JSON number (or numeric string) loaded as an exact :class:`Decimal`."""

    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|a number",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _fail("invalid_type", expected="a number")
        if isinstance(value, int):
            if abs(value) > MAX_NUMBER:
                raise _fail("invalid_value", reason="the number is too large")
            return Decimal(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail("invalid_value", reason="the number must be finite")
        if isinstance(value, str) and len(value) > 40:
            raise _fail("invalid_type", expected="a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise _fail("invalid_type", expected="a number") from None
        if not number.is_finite() or abs(number) > MAX_NUMBER:
            raise _fail("invalid_value", reason="the number must be finite and not too large")
        return number

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return _dump_decimal(value) if isinstance(value, Decimal) else value


class Identifier(_Str):
    """A key (see :mod:`builder.naming`); ``reserved`` names are refused too."""

    def __init__(self, *, what: str = "", reserved: frozenset[str] = frozenset(), **kwargs: Any):
        super().__init__(**kwargs)
        self.what = what
        self.reserved = reserved

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not naming.is_identifier(text):
            raise _fail("invalid_identifier", value=_clip(text))
        if text in self.reserved:
            raise _fail("reserved_name", value=text, what=self.what)
        return text


class Expression(_Str):
    """The source of an expression: non-blank text of bounded length."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            raise _fail("invalid_value", reason="the expression is empty")
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise _fail(
                "too_large", what="the expression", size=len(text), limit=MAX_EXPRESSION_LENGTH
            )
        return text


class Label(fields.Field):
    """A human text: a string (the same in every locale) or ``{"zh": ..., "en": ...}``."""

    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|a text or an object with zh/en texts",
    }

    def __init__(self, *, limit: int = MAX_LABEL_LENGTH, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit

    def _text(self, value: Any) -> str:
        if not isinstance(value, str):
            raise _fail("invalid_type", expected="a string")
        if len(value) > self.limit:
            raise _fail("too_large", what="the text", size=len(value), limit=self.limit)
        return value

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> LocalizedText:
        if isinstance(value, str):
            text = self._text(value)
            if not text.strip():
                raise _fail("required")
            return LocalizedText(zh=text, en=text)
        if not isinstance(value, Mapping):
            raise _fail("invalid_type", expected="a text or an object with zh/en texts")
        errors: dict[str, Any] = {}
        texts: dict[str, str | None] = {"zh": None, "en": None}
        for key, item in value.items():
            if key not in texts:
                errors[str(key)] = [Coded("unknown_key", name=_clip(str(key)))]
                continue
            if item is None:
                continue
            try:
                texts[key] = self._text(item)
            except ValidationError as exc:
                errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        if not any((t or "").strip() for t in texts.values()):
            raise _fail("required")
        return LocalizedText(zh=texts["zh"], en=texts["en"])

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return dump_label(value) if isinstance(value, LocalizedText) else value


class FieldTypeName(_Str):
    """One of the :class:`~builder.model.FieldType` names."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FieldType:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return FieldType(text)
        except ValueError:
            raise _fail(
                "invalid_value",
                reason=f"unknown field type {_clip(text)!r}; use one of "
                + ", ".join(t.value for t in FieldType),
            ) from None


class ChoiceOptionItem(fields.Field):
    """A choice option: ``"value"`` or ``{"value": ..., "label": ...}``."""

    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|a string",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> ChoiceOption:
        if isinstance(value, str):
            return ChoiceOption(_option_value(value))
        if isinstance(value, Mapping):
            loaded: ChoiceOption = CHOICE_OPTION_SCHEMA.load(value)
            return loaded
        raise _fail("invalid_type", expected="a string")


class OptionValue(_Str):
    """The stored value of a choice option: non-blank text of bounded length."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return _option_value(super()._deserialize(value, attr, data, **kwargs))


class OptionColor(_Str):
    """The colour of a choice option in forms and lists: ``#rrggbb``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", text):
            raise _fail("invalid_value", reason="a colour is written #rrggbb")
        return text.lower()


class KeyedObject(fields.Field):
    """A JSON object with a valid ``key``, kept as it is (later work validates the rest)."""

    default_error_messages: _Messages = {
        "required": "required",
        "null": "invalid_type|an object",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise _fail("invalid_type", expected="an object")
        if "key" not in value:
            raise ValidationError({"key": [Coded("required")]})
        key = value["key"]
        if not isinstance(key, str):
            raise ValidationError({"key": [Coded("invalid_type", expected="a string")]})
        if not naming.is_identifier(key):
            raise ValidationError({"key": [Coded("invalid_identifier", value=_clip(key))]})
        return dict(value)


class DefaultValue(fields.Field):
    """A field default: a JSON scalar or a flat list of scalars (stored as a tuple)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if _is_scalar(value):
            return value
        if isinstance(value, list | tuple) and all(_is_scalar(v) for v in value):
            return tuple(value)
        raise _fail("invalid_type", expected="a JSON value")

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    return isinstance(value, int) and abs(value) <= MAX_NUMBER


def _option_value(text: str) -> str:
    if not text.strip():
        raise _fail("required")
    if len(text) > MAX_OPTION_VALUE_LENGTH:
        raise _fail(
            "too_large", what="the option value", size=len(text), limit=MAX_OPTION_VALUE_LENGTH
        )
    return text


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- schemas


class StrictSchema(Schema):
    """Base: unknown keys are errors and all messages are codes."""

    error_messages: dict[str, str] = {
        "unknown": "unknown_key",
        "type": "invalid_type|an object",
    }

    class Meta:
        unknown = RAISE


def _opt_label(limit: int = MAX_LABEL_LENGTH) -> Label:
    return Label(limit=limit, load_default=None, allow_none=True)


def _opt_expr() -> Expression:
    return Expression(load_default=None, allow_none=True)


def _opt_bool(default: bool) -> StrictBool:
    return StrictBool(load_default=default)


class ChoiceOptionSchema(StrictSchema):
    """``{"value": "a", "label": {"zh": "甲", "en": "A"}}``."""

    value = OptionValue(required=True)
    label = _opt_label()
    color = OptionColor(load_default=None, allow_none=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ChoiceOption:
        """The :class:`ChoiceOption`."""
        return ChoiceOption(**data)


CHOICE_OPTION_SCHEMA = ChoiceOptionSchema()


class FieldSchema(StrictSchema):
    """One field of an entity (see ``docs/metadata.md`` for every option)."""

    key = Identifier(required=True, what="field", reserved=naming.RESERVED_FIELD_KEYS)
    type = FieldTypeName(required=True)
    label = Label(required=True)
    help = _opt_label(MAX_TEXT_LENGTH)
    required = _opt_bool(False)
    required_when = _opt_expr()
    visible_when = _opt_expr()
    read_only_when = _opt_expr()
    default = DefaultValue(load_default=None, allow_none=True)
    unique = _opt_bool(False)
    index = _opt_bool(False)
    min = DecimalNumber(load_default=None, allow_none=True)
    max = DecimalNumber(load_default=None, allow_none=True)
    max_length = StrictInt(load_default=None, allow_none=True)
    options = _List(ChoiceOptionItem(), load_default=(), allow_none=False)
    target = Identifier(load_default=None, allow_none=True)
    related_name = Identifier(
        load_default=None,
        allow_none=True,
        what="related collection",
        reserved=naming.RESERVED_FIELD_KEYS,
    )
    related_label = _opt_label()
    multiple = _opt_bool(False)
    max_size_mb = StrictInt(load_default=None, allow_none=True)
    accept = _List(_Str(), load_default=(), allow_none=False)
    formula = _opt_expr()

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Field:
        """The :class:`Field`."""
        data["options"] = tuple(data["options"])
        data["accept"] = tuple(data["accept"])
        return Field(**data)


class StepSchema(StrictSchema):
    """One ordered card of an entity's form."""

    key = Identifier(required=True, what="step", reserved=naming.RESERVED_STEP_KEYS)
    label = Label(required=True)
    owned_fields = _List(Identifier(), load_default=(), data_key="fields", attribute="fields")
    unlock_when = _opt_expr()
    done_when = _opt_expr()
    locked_message = _opt_label(MAX_TEXT_LENGTH)
    description = _opt_label(MAX_TEXT_LENGTH)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Step:
        """The :class:`Step`."""
        data["fields"] = tuple(data["fields"])
        return Step(**data)


class StageSchema(StrictSchema):
    """One stage of an entity's pipeline."""

    key = Identifier(required=True, what="stage", reserved=naming.RESERVED_STAGE_KEYS)
    label = Label(required=True)
    exit_when = _opt_expr()
    guidance = _opt_label(MAX_TEXT_LENGTH)
    allow_back = _opt_bool(False)
    allow_skip_to = _List(Identifier(), load_default=())

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Stage:
        """The :class:`Stage`."""
        data["allow_skip_to"] = tuple(data["allow_skip_to"])
        return Stage(**data)


class RuleSchema(StrictSchema):
    """A validation assertion with its message."""

    key = Identifier(required=True, what="rule")
    assert_ = Expression(required=True, data_key="assert")
    message = Label(required=True, limit=MAX_TEXT_LENGTH)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Rule:
        """The :class:`Rule`."""
        return Rule(**data)


class PermissionSchema(StrictSchema):
    """What one role may do with an entity."""

    role = Identifier(required=True)
    create = _opt_bool(True)
    read = _opt_bool(True)
    update = _opt_bool(True)
    delete = _opt_bool(True)
    read_when = _opt_expr()
    write_when = _opt_expr()

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Permission:
        """The :class:`Permission`."""
        return Permission(**data)


class EntitySchema(StrictSchema):
    """An entity with its fields, steps, stages, rules and permissions."""

    key = Identifier(required=True, what="entity", reserved=naming.RESERVED_ENTITY_KEYS)
    label = Label(required=True)
    description = _opt_label(MAX_TEXT_LENGTH)
    field_list = _List(_Nested(FieldSchema), required=True, data_key="fields", attribute="fields")
    steps = _List(_Nested(StepSchema), load_default=())
    stages = _List(_Nested(StageSchema), load_default=())
    rules = _List(_Nested(RuleSchema), load_default=())
    permissions = _List(_Nested(PermissionSchema), load_default=())
    title_field = Identifier(load_default=None, allow_none=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Entity:
        """The :class:`Entity`."""
        for name in ("fields", "steps", "stages", "rules", "permissions"):
            data[name] = tuple(data[name])
        return Entity(**data)


class AppSchema(StrictSchema):
    """A whole ``cairn.app/1`` document."""

    format = _Str(required=True)
    key = Identifier(required=True, what="app", reserved=naming.EXPRESSION_KEYWORDS)
    label = Label(required=True)
    description = _opt_label(MAX_TEXT_LENGTH)
    roles = _List(
        Identifier(what="role", reserved=naming.RESERVED_ROLE_KEYS),
        load_default=("admin", "manager", "rep"),
    )
    entities = _List(_Nested(EntitySchema), required=True)
    triggers = _List(KeyedObject(), load_default=())
    assignment_rules = _List(KeyedObject(), load_default=())
    dashboards = _List(KeyedObject(), load_default=())

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> App:
        """The :class:`App`."""
        for name in ("roles", "entities", "triggers", "assignment_rules", "dashboards"):
            data[name] = tuple(data[name])
        return App(**data)


APP_SCHEMA = AppSchema()


# --------------------------------------------------------------------------- dump


def dump_label(text: LocalizedText) -> str | dict[str, str]:
    """A label as JSON: a plain string when both locales agree, else ``{"zh", "en"}``."""
    if text.zh is not None and text.zh == text.en:
        return text.zh
    return {k: v for k, v in (("zh", text.zh), ("en", text.en)) if v is not None}


def _dump_decimal(value: Decimal) -> int | float | str:
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value)


_JSON_NAMES = {"assert_": "assert"}


def _dump_value(value: Any) -> Any:
    if isinstance(value, LocalizedText):
        return dump_label(value)
    if isinstance(value, Decimal):
        return _dump_decimal(value)
    if isinstance(value, FieldType):
        return value.value
    if isinstance(value, ChoiceOption):
        if value.label is None:
            return value.value
        return {"value": value.value, "label": dump_label(value.label)}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, tuple | list):
        return [_dump_value(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return _dump_dataclass(value)
    return value


def _dump_dataclass(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in dataclass_fields(obj):
        value = getattr(obj, spec.name)
        if spec.default is not MISSING and value == spec.default and spec.name != "format":
            continue
        out[_JSON_NAMES.get(spec.name, spec.name)] = _dump_value(value)
    return out


def dump_definition(app: App) -> dict[str, Any]:
    """The JSON document of ``app``; :func:`builder.load_definition` reads it back equal.

    Options left at their defaults are omitted, so the output is what a person would write.
    """
    from builder.triggers import dump_automation  # triggers imports this module

    doc = _dump_dataclass(app)
    doc.update(dump_automation(app))
    ordered = {"format": doc.pop("format"), "key": doc.pop("key"), "label": doc.pop("label")}
    ordered.update(doc)
    return ordered
