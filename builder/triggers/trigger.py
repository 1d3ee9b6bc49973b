"""One trigger of an app: on an event of an entity, when a condition holds, run actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, post_load, validates_schema

from builder.model import LocalizedText
from builder.schemas import Coded, Identifier, Label, StrictBool, StrictSchema, _List
from builder.triggers.actions import ACTION_SCHEMAS, ActionConfig
from builder.triggers.events import ON_SCHEMAS, OnSchedule, TriggerOn
from builder.triggers.fields import Polymorphic, _opt_expr, _opt_label


@dataclass(frozen=True, slots=True)
class Trigger:
    """One automation rule: on an event of ``entity``, when ``when`` holds, run ``actions``."""

    key: str
    label: LocalizedText
    entity: str | None
    on: TriggerOn
    actions: tuple[ActionConfig, ...]
    when: str | None = None
    enabled: bool = True
    description: LocalizedText | None = None

    @property
    def kind(self) -> str:
        """The ``on`` type (created, elapsed, schedule …)."""
        return self.on.type


class TriggerSchema(StrictSchema):
    """One trigger of an app definition."""

    key = Identifier(required=True, what="trigger")
    label = Label(required=True)
    description = _opt_label()
    entity = Identifier(load_default=None, allow_none=True)
    on = Polymorphic(ON_SCHEMAS, allow_bare=frozenset({"created", "updated", "deleted"}), required=True)
    when = _opt_expr()
    enabled = StrictBool(load_default=True)
    actions = _List(Polymorphic(ACTION_SCHEMAS), required=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        on = data.get("on")
        if data.get("entity") is None and on is not None and not isinstance(on, OnSchedule):
            raise ValidationError({"entity": [Coded("required")]})
        if not data.get("actions"):
            raise ValidationError({"actions": [Coded("invalid_value", reason="give at least one action")]})
        if len(data.get("actions", ())) > 20:
            raise ValidationError({"actions": [Coded("too_large", what="actions", size=len(data["actions"]), limit=20)]})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Trigger:
        data["actions"] = tuple(data["actions"])
        return Trigger(**data)


TRIGGER_SCHEMA = TriggerSchema()
