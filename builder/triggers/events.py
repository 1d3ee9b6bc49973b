"""What a trigger fires on (its ``on``): the frozen types and their schemas.

``on`` is an object with a ``type`` (or just the type name for ``created``, ``updated`` and
``deleted``); :data:`ON_SCHEMAS` maps each type to the schema that loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, post_load, validates_schema

from builder.schemas import Coded, Expression, Identifier, StrictBool, StrictSchema, _List, _Str
from builder.triggers.durations import parse_duration
from builder.triggers.fields import Cron, Duration, LiteralValue, TimeZoneName, _FieldMap


@dataclass(frozen=True, slots=True)
class OnCreated:
    """A record of the trigger's entity was created."""

    type: ClassVar[str] = "created"


@dataclass(frozen=True, slots=True)
class OnUpdated:
    """A record was updated; with ``fields``, only when one of them changed."""

    type: ClassVar[str] = "updated"
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OnFieldChanged:
    """``field`` changed, optionally from / to given values (a list means any of them)."""

    type: ClassVar[str] = "field_changed"
    field: str
    from_: Any = None
    to: Any = None
    has_from: bool = False
    has_to: bool = False


@dataclass(frozen=True, slots=True)
class OnStepCompleted:
    """``step`` became done on a record."""

    type: ClassVar[str] = "step_completed"
    step: str


@dataclass(frozen=True, slots=True)
class OnStageChanged:
    """A record moved between stages (optionally only from / to given stages)."""

    type: ClassVar[str] = "stage_changed"
    from_: str | None = None
    to: str | None = None


@dataclass(frozen=True, slots=True)
class OnDeleted:
    """A record was deleted."""

    type: ClassVar[str] = "deleted"


@dataclass(frozen=True, slots=True)
class OnSchedule:
    """At the times of a cron expression in a time zone (S23 weekly review)."""

    type: ClassVar[str] = "schedule"
    cron: str
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class OnElapsed:
    """``condition`` still holds ``after`` past the timestamp ``since`` (S6, S7, S14).

    It fires once per record per episode: again only after the condition stopped holding
    (or the timestamp moved) and held long enough once more.
    """

    type: ClassVar[str] = "elapsed"
    condition: str
    since: str
    after: str

    @property
    def after_delta(self) -> timedelta:
        """``after`` as a timedelta."""
        return parse_duration(self.after)


@dataclass(frozen=True, slots=True)
class OnEvent:
    """Named events posted to a record: all of ``sequence`` within ``within`` (S13)."""

    type: ClassVar[str] = "event"
    sequence: tuple[str, ...]
    within: str
    ordered: bool = True

    @property
    def within_delta(self) -> timedelta:
        """``within`` as a timedelta."""
        return parse_duration(self.within)


@dataclass(frozen=True, slots=True)
class OnWebhook:
    """An inbound webhook creates a record, or updates the one with the same dedup key (S10).

    ``dedup_key`` names the field holding the caller's unique id; ``fields`` maps payload
    keys to field keys (default: payload keys are field keys).
    """

    type: ClassVar[str] = "webhook"
    dedup_key: str | None = None
    fields: tuple[tuple[str, str], ...] = ()


TriggerOn = (
    OnCreated | OnUpdated | OnFieldChanged | OnStepCompleted | OnStageChanged | OnDeleted
    | OnSchedule | OnElapsed | OnEvent | OnWebhook
)

#: Kinds fired by a record write (the engine matches these to RecordChange kinds).
WRITE_KINDS = frozenset({"created", "updated", "field_changed", "step_completed", "stage_changed", "deleted"})


class _OnCreatedSchema(StrictSchema):
    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnCreated:
        return OnCreated()


class _OnDeletedSchema(StrictSchema):
    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnDeleted:
        return OnDeleted()


class _OnUpdatedSchema(StrictSchema):
    field_keys = _List(Identifier(), load_default=(), data_key="fields")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnUpdated:
        return OnUpdated(fields=tuple(data["field_keys"]))


class _OnFieldChangedSchema(StrictSchema):
    field = Identifier(required=True)
    from_ = LiteralValue(data_key="from", allow_none=True)
    to = LiteralValue(allow_none=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnFieldChanged:
        return OnFieldChanged(
            field=data["field"],
            from_=data.get("from_"),
            to=data.get("to"),
            has_from="from_" in data,
            has_to="to" in data,
        )


class _OnStepCompletedSchema(StrictSchema):
    step = Identifier(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnStepCompleted:
        return OnStepCompleted(step=data["step"])


class _OnStageChangedSchema(StrictSchema):
    from_ = Identifier(data_key="from", load_default=None, allow_none=True)
    to = Identifier(load_default=None, allow_none=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnStageChanged:
        return OnStageChanged(from_=data["from_"], to=data["to"])


class _OnScheduleSchema(StrictSchema):
    cron = Cron(required=True)
    timezone = TimeZoneName(load_default=None, allow_none=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnSchedule:
        return OnSchedule(**data)


class _OnElapsedSchema(StrictSchema):
    condition = Expression(required=True)
    since = _Str(required=True)
    after = Duration(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnElapsed:
        return OnElapsed(**data)


class _OnEventSchema(StrictSchema):
    sequence = _List(Identifier(), required=True)
    within = Duration(required=True)
    ordered = StrictBool(load_default=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not 1 <= len(data.get("sequence", ())) <= 20:
            raise ValidationError({"sequence": [Coded("invalid_value", reason="name 1 to 20 events")]})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnEvent:
        return OnEvent(sequence=tuple(data["sequence"]), within=data["within"], ordered=data["ordered"])


class _OnWebhookSchema(StrictSchema):
    dedup_key = Identifier(load_default=None, allow_none=True)
    field_map = _FieldMap(load_default=(), data_key="fields")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OnWebhook:
        return OnWebhook(dedup_key=data["dedup_key"], fields=data["field_map"])


ON_SCHEMAS: dict[str, type[Schema]] = {
    "created": _OnCreatedSchema,
    "updated": _OnUpdatedSchema,
    "field_changed": _OnFieldChangedSchema,
    "step_completed": _OnStepCompletedSchema,
    "stage_changed": _OnStageChangedSchema,
    "deleted": _OnDeletedSchema,
    "schedule": _OnScheduleSchema,
    "elapsed": _OnElapsedSchema,
    "event": _OnEventSchema,
    "webhook": _OnWebhookSchema,
}
