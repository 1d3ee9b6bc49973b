"""Record forms generated from an entity's metadata (WTForms, with Flask-WTF's CSRF).

:func:`record_form` builds a form for any entity of a published app: one WTForms field per
entity field (formula fields are shown, never posted). Inputs are named ``v-<field key>``
so that no field key can collide with the CSRF token or with WTForms' own attributes.

:func:`posted_values` turns a submitted form into the JSON values the record service takes,
for the fields that were actually posted: the inputs of a locked step card are disabled in
the page, a disabled input is not posted, and so a save never touches a locked field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field as WtfField

from builder.model import Entity, Field, FieldType
from runtime.field_messages import FieldProblem, field_message
from runtime.values import ValueProblem, coerce, to_json
from web.apps.fields import (
    BooleanValueField,
    ChoiceValueField,
    DurationValueField,
    FileIdsField,
    IdValueField,
    IntegerValueField,
    JsonValueField,
    LocationValueField,
    MultiValueField,
    TextValueField,
)

PREFIX = "v-"

_FIELD_CLASSES: dict[FieldType, type[WtfField]] = {
    FieldType.TEXT: TextValueField,
    FieldType.LONG_TEXT: TextValueField,
    FieldType.PHONE: TextValueField,
    FieldType.EMAIL: TextValueField,
    FieldType.URL: TextValueField,
    FieldType.NUMBER: JsonValueField,
    FieldType.MONEY: JsonValueField,
    FieldType.PERCENT: JsonValueField,
    FieldType.INTEGER: IntegerValueField,
    FieldType.RATING: IntegerValueField,
    FieldType.BOOLEAN: BooleanValueField,
    FieldType.DATE: JsonValueField,
    FieldType.DATETIME: JsonValueField,
    FieldType.DURATION: DurationValueField,
    FieldType.CHOICE: ChoiceValueField,
    FieldType.MULTI_CHOICE: MultiValueField,
    FieldType.LINK: IdValueField,
    FieldType.USER: IdValueField,
    FieldType.LOCATION: LocationValueField,
    FieldType.PHOTO: FileIdsField,
    FieldType.FILE: FileIdsField,
}


def attr(key: str) -> str:
    """The WTForms attribute of field ``key`` (never a method name of the form)."""
    return f"f_{key}"


class RecordForm(FlaskForm):  # type: ignore[misc]
    """Base of the generated forms: carries the record's ``version`` for optimistic locking."""

    entity: Entity

    def field_for(self, key: str) -> WtfField | None:
        """The bound WTForms field of entity field ``key`` (None for formulas)."""
        return self._fields.get(attr(key))  # type: ignore[no-any-return]


_FORM_CLASSES: dict[tuple[int, str], type[RecordForm]] = {}


def form_class(entity: Entity) -> type[RecordForm]:
    """The form class of ``entity`` (cached per definition object and entity)."""
    cache_key = (id(entity), entity.key)
    cls = _FORM_CLASSES.get(cache_key)
    if cls is not None and cls.entity is entity:
        return cls
    attrs: dict[str, Any] = {"entity": entity}
    for f in entity.fields:
        field_cls = _FIELD_CLASSES.get(f.type)
        if field_cls is not None:
            attrs[attr(f.key)] = field_cls(name=f.key)
    cls = type(f"RecordForm_{entity.key}", (RecordForm,), attrs)
    if len(_FORM_CLASSES) > 512:
        _FORM_CLASSES.clear()
    _FORM_CLASSES[cache_key] = cls
    return cls


def record_form(
    entity: Entity,
    *,
    record: Mapping[str, Any] | None = None,
    tz: tzinfo = UTC,
    formdata: Any = None,
    use_request: bool = True,
) -> RecordForm:
    """A form of ``entity``, filled from ``record`` (values as the record service gives them).

    With ``use_request`` (the default) the current request's form data is processed too;
    pass ``formdata`` to process other data (the form-state endpoint's draft).
    """
    cls = form_class(entity)
    data = initial_data(entity, record or {}, tz)
    if use_request:
        return cls(prefix=PREFIX, data=data)
    return cls(formdata=formdata, prefix=PREFIX, data=data, meta={"csrf": False})


def initial_data(entity: Entity, record: Mapping[str, Any], tz: tzinfo) -> dict[str, Any]:
    """Form data (by attribute) from a record's values, times shown in the workspace zone."""
    data: dict[str, Any] = {}
    for f in entity.fields:
        if f.type is FieldType.FORMULA or f.key not in record:
            continue
        data[attr(f.key)] = display_value(f, record[f.key], tz)
    return data


def display_value(field: Field, value: Any, tz: tzinfo) -> Any:
    """The JSON value of a field as its input shows it (datetimes local, without seconds)."""
    if value is None:
        return None
    if field.type is FieldType.DATETIME:
        moment = value if isinstance(value, datetime) else _parse_datetime(value)
        if moment is None:
            return to_json(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    if field.type is FieldType.DATE and isinstance(value, date):
        return value.isoformat()
    if field.type in (FieldType.LINK, FieldType.USER) and isinstance(value, Mapping):
        return value.get("id")
    return to_json(value)


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class Posted:
    """What a submitted form says: JSON values per posted field, and per-field problems.

    ``errors`` holds the labelled message in the page's language per field; ``problems``
    the structured problems they were made from.
    """

    values: dict[str, Any]
    errors: dict[str, list[str]]
    problems: dict[str, FieldProblem]


def posted_values(
    form: RecordForm,
    formdata: Any,
    *,
    tz: tzinfo,
    lang: str,
    skip: frozenset[str] = frozenset(),
) -> Posted:
    """The values of the fields present in ``formdata``, checked by :func:`runtime.values.coerce`.

    A field is present when any of its inputs was posted (see :mod:`web.apps.fields`).
    Formula fields and ``skip`` (e.g. read-only fields) are left out.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    problems: dict[str, FieldProblem] = {}
    for f in form.entity.fields:
        if f.type is FieldType.FORMULA or f.key in skip:
            continue
        wtf = form.field_for(f.key)
        if wtf is None or not _present(wtf.name, formdata):
            continue
        value = wtf.data
        try:
            coerce(f, value, tz)
        except ValueProblem as problem:
            problems[f.key] = FieldProblem.invalid(problem)
            message = field_message(form.entity, f.key, problems[f.key])
            errors[f.key] = [message["message"] if lang == "en" else message["message_zh"]]
            continue
        values[f.key] = value
    return Posted(values=values, errors=errors, problems=problems)


def _present(name: str, formdata: Any) -> bool:
    if formdata is None:
        return False
    if name in formdata:
        return True
    prefix = name + "__"
    return any(key.startswith(prefix) for key in formdata)
