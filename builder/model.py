"""The app definition as frozen dataclasses.

A definition document (``"format": "cairn.app/1"``) is loaded by the marshmallow schemas in
:mod:`builder.schemas` into these classes; everything downstream (validation, migration
planning, the runtime) reads these and never the raw JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

FORMAT = "cairn.app/1"


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """A human text given per locale; ``zh`` and/or ``en``."""

    zh: str | None = None
    en: str | None = None

    def get(self, locale: str = "zh") -> str:
        """The text in ``locale`` ("zh" or "en"), falling back to the other one."""
        if locale.startswith("en"):
            return self.en or self.zh or ""
        return self.zh or self.en or ""


class FieldType(StrEnum):
    """Every field type a definition may use."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    INTEGER = "integer"
    MONEY = "money"
    PERCENT = "percent"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    DURATION = "duration"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    LINK = "link"
    USER = "user"
    LOCATION = "location"
    PHOTO = "photo"
    FILE = "file"
    PHONE = "phone"
    EMAIL = "email"
    URL = "url"
    RATING = "rating"
    FORMULA = "formula"


@dataclass(frozen=True, slots=True)
class ChoiceOption:
    """One option of a choice / multi-choice field; ``value`` is what is stored."""

    value: str
    label: LocalizedText | None = None
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Field:
    """A typed field of an entity, with its options.

    ``*_when`` options and ``formula`` are expression sources. ``target`` and
    ``related_name`` apply to link fields (``related_name`` names the reverse collection
    on the target entity, e.g. a visit's ``customer`` link gives the customer ``visits``).
    """

    key: str
    type: FieldType
    label: LocalizedText
    help: LocalizedText | None = None
    required: bool = False
    required_when: str | None = None
    visible_when: str | None = None
    read_only_when: str | None = None
    default: Any = None
    unique: bool = False
    index: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = None
    options: tuple[ChoiceOption, ...] = ()
    target: str | None = None
    related_name: str | None = None
    related_label: LocalizedText | None = None
    multiple: bool = False
    max_size_mb: int | None = None
    accept: tuple[str, ...] = ()
    formula: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """An ordered card of an entity's form owning some fields."""

    key: str
    label: LocalizedText
    fields: tuple[str, ...] = ()
    unlock_when: str | None = None
    done_when: str | None = None
    locked_message: LocalizedText | None = None
    description: LocalizedText | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of an entity's pipeline; leaving it forward needs ``exit_when`` to hold.

    ``allow_back`` lets a record move from this stage to an earlier one; ``allow_skip_to``
    names later stages a record may jump to from here checking only this stage's
    ``exit_when`` (not those of the stages in between).
    """

    key: str
    label: LocalizedText
    exit_when: str | None = None
    guidance: LocalizedText | None = None
    allow_back: bool = False
    allow_skip_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """A validation assertion: a write is refused unless ``assert_`` holds."""

    key: str
    assert_: str
    message: LocalizedText


@dataclass(frozen=True, slots=True)
class Permission:
    """What one role may do with an entity; ``*_when`` are row-level conditions."""

    role: str
    create: bool = True
    read: bool = True
    update: bool = True
    delete: bool = True
    read_when: str | None = None
    write_when: str | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity: a real table of records, with its form steps and pipeline stages."""

    key: str
    label: LocalizedText
    fields: tuple[Field, ...]
    steps: tuple[Step, ...] = ()
    stages: tuple[Stage, ...] = ()
    rules: tuple[Rule, ...] = ()
    permissions: tuple[Permission, ...] = ()
    title_field: str | None = None
    description: LocalizedText | None = None

    def field(self, key: str) -> Field | None:
        """The field ``key`` or None."""
        for f in self.fields:
            if f.key == key:
                return f
        return None

    def step(self, key: str) -> Step | None:
        """The step ``key`` or None."""
        for s in self.steps:
            if s.key == key:
                return s
        return None

    def stage(self, key: str) -> Stage | None:
        """The stage ``key`` or None."""
        for s in self.stages:
            if s.key == key:
                return s
        return None


@dataclass(frozen=True, slots=True)
class App:
    """A whole app definition.

    ``triggers``, ``assignment_rules`` and ``dashboards`` hold the validated models of
    those sections (see :mod:`builder.triggers` and later modules); they are tuples so
    that the definition stays hashable and immutable.
    """

    key: str
    label: LocalizedText
    entities: tuple[Entity, ...]
    format: str = FORMAT
    description: LocalizedText | None = None
    roles: tuple[str, ...] = ("admin", "manager", "rep")
    triggers: tuple[Any, ...] = ()
    assignment_rules: tuple[Any, ...] = ()
    dashboards: tuple[Any, ...] = ()

    def entity(self, key: str) -> Entity | None:
        """The entity ``key`` or None."""
        for e in self.entities:
            if e.key == key:
                return e
        return None
