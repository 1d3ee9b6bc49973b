"""One trigger of an app: on an event of an entity, when a condition holds, run actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validates_schema

from builder.model import LocalizedText
from builder.schemas import Coded, Identifier, Label, StrictBool, StrictSchema, _List
from builder.triggers.actions import ACTION_SCHEMAS, ActionConfig
from builder.triggers.events import ON_SCHEMAS, OnSchedule, TriggerOn
from builder.triggers.fields import Polymorphic, _opt_expr, _opt_label

#: At most this many users (and roles) in a trigger's rollout group.
MAX_ROLLOUT = 200


@dataclass(frozen=True, slots=True)
class Rollout:
    """A staged rollout: the trigger fires only for records whose owner — or the user whose
    write fired it — is one of ``users`` or has one of ``roles``."""

    users: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()


class _UserId(fields.Integer):
    default_error_messages = {"invalid": "invalid_type|a user id", "too_large": "invalid_type|a user id"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            raise ValidationError(Coded("invalid_value", reason="a user id is a positive whole number"))
        return int(value)


class RolloutSchema(StrictSchema):
    """``{"users": [ids]}`` and/or ``{"roles": [keys]}``."""

    users = _List(_UserId(), load_default=())
    roles = _List(Identifier(what="role"), load_default=())

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("users") and not data.get("roles"):
            raise ValidationError(Coded("invalid_value", reason="name at least one user or role "
                                        "(leave rollout out to fire for everyone)"))
        for key in ("users", "roles"):
            if len(data.get(key) or ()) > MAX_ROLLOUT:
                raise ValidationError({key: [Coded("too_large", what=key, size=len(data[key]), limit=MAX_ROLLOUT)]})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Rollout:
        return Rollout(users=tuple(dict.fromkeys(data.get("users") or ())),
                       roles=tuple(dict.fromkeys(data.get("roles") or ())))


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
    rollout: Rollout | None = None

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
    rollout = fields.Nested(RolloutSchema, load_default=None, allow_none=True)

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
