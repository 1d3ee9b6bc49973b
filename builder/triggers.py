"""Triggers, their actions, and assignment rules: schemas, frozen models and validation.

The app schema keeps ``triggers`` and ``assignment_rules`` as raw keyed objects; this module
loads them into the frozen dataclasses below (:func:`load_triggers`,
:func:`load_assignment_rules`) and checks their references and expressions against the
loaded app (:func:`validate_triggers`). A trigger looks like::

    {"key": "need_timeout", "label": "需求确认超时", "entity": "customer",
     "on": {"type": "elapsed", "condition": "stage == \\"need\\"",
            "since": "stage_entered_at", "after": "48h"},
     "when": "region != null",
     "actions": [{"type": "notify", "channel": "wecom", "webhook_url": "https://...",
                  "message": "客户 {name} 的需求确认已超时"},
                 {"type": "set_field", "field": "status", "value": "\\"待激活\\""}]}

``on`` is an object with a ``type`` (or just the type name for ``created``, ``updated``
and ``deleted``); every action is an object with a ``type`` and that type's options.
See ``docs/automation.md`` for the reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from builder.automation_expressions import check_expression
from builder.errors import ROOT, Problem, join_path, problem
from builder.model import App, Entity, FieldType, LocalizedText
from builder.schemas import (
    MAX_TEXT_LENGTH,
    Coded,
    Expression,
    Identifier,
    Label,
    StrictBool,
    StrictInt,
    StrictSchema,
    _List,
    _Str,
)

# --------------------------------------------------------------------------- durations

_DURATION = re.compile(r"^(?:(\d{1,6})(w|d|h|m|s))+$")
_DURATION_PART = re.compile(r"(\d{1,6})(w|d|h|m|s)")
_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
MAX_DURATION = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """``"48h"``, ``"30d"``, ``"1d12h"`` … as a :class:`timedelta`; ValueError otherwise."""
    compact = text.replace(" ", "")
    if not _DURATION.fullmatch(compact):
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 48h, 30d or 2w")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION_PART.findall(compact))
    return timedelta(seconds=seconds)


def _fail(code: str, **params: Any) -> ValidationError:
    return ValidationError([Coded(code, **params)])


class Duration(_Str):
    """A positive duration written as ``48h``, ``30d``, ``1d12h`` (kept as its text)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            delta = parse_duration(text)
        except ValueError:
            raise _fail(
                "invalid_value", reason=f"{text[:40]!r} is not a duration like 90s, 15m, 48h, 30d or 2w"
            ) from None
        if delta <= timedelta(0) or delta > MAX_DURATION:
            raise _fail("invalid_value", reason="a duration must be positive and at most 10 years")
        return text


class Cron(_Str):
    """A five-field cron expression (``0 17 * * fri``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = " ".join(super()._deserialize(value, attr, data, **kwargs).split())
        from croniter import croniter

        if len(text.split()) != 5 or not croniter.is_valid(text):
            raise _fail("invalid_value", reason=f"{text[:60]!r} is not a five-field cron expression")
        return text


class TimeZoneName(_Str):
    """An IANA time zone name (``Asia/Shanghai``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise _fail("invalid_value", reason=f"unknown time zone {text[:60]!r}") from None
        return text


class HttpUrl(_Str):
    """An absolute http(s) URL (where it may point is checked when it is called)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not re.match(r"^https?://[^\s/]+", text) or len(text) > 2000:
            raise _fail("invalid_value", reason="use an absolute http:// or https:// URL")
        return text


class LiteralValue(fields.Field):
    """A JSON scalar, or a list of scalars meaning "any of these" (kept as a tuple)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is None or isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, list) and all(
            v is None or isinstance(v, str | int | float | bool) for v in value
        ):
            return tuple(value)
        raise _fail("invalid_type", expected="a JSON value")


class ExpressionMap(fields.Field):
    """``{"field": "expression", …}`` kept as a tuple of (key, source) pairs in order."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, Mapping):
            raise _fail("invalid_type", expected="an object")
        errors: dict[str, Any] = {}
        out: list[tuple[str, str]] = []
        key_field = Identifier()
        expr_field = Expression()
        for key, source in value.items():
            try:
                out.append((str(key_field.deserialize(key)), str(expr_field.deserialize(source))))
            except ValidationError as exc:
                errors[str(key)] = exc.messages
        if errors:
            raise ValidationError(errors)
        return tuple(out)


class Polymorphic(fields.Field):
    """An object whose ``type`` picks its schema; a bare string is ``{"type": string}``."""

    def __init__(
        self, schemas: Mapping[str, type[Schema]], *, allow_bare: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.schemas = {name: cls() for name, cls in schemas.items()}
        self.allow_bare = allow_bare

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value in self.allow_bare:
            value = {"type": value}
        if not isinstance(value, Mapping):
            raise _fail("invalid_type", expected="an object")
        kind = value.get("type")
        if kind not in self.schemas:
            raise ValidationError(
                {"type": [Coded("invalid_value", reason=(
                    f"unknown type {str(kind)[:40]!r}; use one of " + ", ".join(sorted(self.schemas))
                ))]}
            )
        return self.schemas[kind].load({k: v for k, v in value.items() if k != "type"})


def _opt_expr() -> Expression:
    return Expression(load_default=None, allow_none=True)


def _opt_label(limit: int = MAX_TEXT_LENGTH) -> Label:
    return Label(limit=limit, load_default=None, allow_none=True)


# --------------------------------------------------------------------------- trigger "on"


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


class _FieldMap(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise _fail("invalid_type", expected="an object")
        return tuple((str(k), str(v)) for k, v in value.items())


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

# --------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class SetField:
    """Sets ``field`` of the trigger's record to the value of the expression ``value``."""

    type: ClassVar[str] = "set_field"
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class CreateRecord:
    """Creates a record of ``entity``; ``values`` are expressions over the trigger's record.

    ``due_in`` (a duration) sets ``due_field`` to now + due_in (S9's 30-day follow-up).
    """

    type: ClassVar[str] = "create_record"
    entity: str
    values: tuple[tuple[str, str], ...] = ()
    due_in: str | None = None
    due_field: str | None = None

    @property
    def due_delta(self) -> timedelta | None:
        """``due_in`` as a timedelta (None without one)."""
        return parse_duration(self.due_in) if self.due_in else None


NOTIFY_CHANNELS = ("inbox", "email", "wecom", "dingtalk", "feishu")
ROBOT_CHANNELS = frozenset({"wecom", "dingtalk", "feishu"})


@dataclass(frozen=True, slots=True)
class Notify:
    """Sends ``message`` (a template with ``{field}`` placeholders) through ``channel``.

    People are chosen by ``to`` (an expression giving a user or users, e.g. ``owner`` or
    ``owner.manager``), ``to_role`` (every active user of that role, optionally only of the
    record owner's region with ``same_region``) or both. Group robots (wecom, dingtalk,
    feishu) post to ``webhook_url`` (with ``secret`` for signed robots) instead.
    """

    type: ClassVar[str] = "notify"
    channel: str
    message: LocalizedText
    title: LocalizedText | None = None
    to: str | None = None
    to_role: str | None = None
    same_region: bool = False
    webhook_url: str | None = None
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class Assign:
    """Sets a user field by the assignment rule ``rule`` (with its fallback chain)."""

    type: ClassVar[str] = "assign"
    rule: str


@dataclass(frozen=True, slots=True)
class PromptAction:
    """A suggestion returned to the person whose write fired the trigger (S8)."""

    type: ClassVar[str] = "prompt"
    message: LocalizedText
    title: LocalizedText | None = None
    level: str = "info"


@dataclass(frozen=True, slots=True)
class HttpWebhook:
    """POSTs the record as JSON to ``url``, HMAC-SHA256 signed with ``secret`` when given."""

    type: ClassVar[str] = "http_webhook"
    url: str
    secret: str | None = None
    timeout_s: int = 10
    retries: int = 3


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Records of ``entity`` matching ``where``, counted per ``group_by`` fields."""

    entity: str
    where: str | None = None
    group_by: tuple[str, ...] = ()
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Report:
    """A summary built from ``query`` and sent through ``channel`` (S23)."""

    type: ClassVar[str] = "report"
    query: ReportQuery
    channel: str
    title: LocalizedText
    to: str | None = None
    to_role: str | None = None
    webhook_url: str | None = None
    secret: str | None = None


ActionConfig = SetField | CreateRecord | Notify | Assign | PromptAction | HttpWebhook | Report


class _SetFieldSchema(StrictSchema):
    field = Identifier(required=True)
    value = Expression(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> SetField:
        return SetField(**data)


class _CreateRecordSchema(StrictSchema):
    entity = Identifier(required=True)
    values = ExpressionMap(load_default=())
    due_in = Duration(load_default=None, allow_none=True)
    due_field = Identifier(load_default=None, allow_none=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("due_in") is None) != (data.get("due_field") is None):
            raise ValidationError(
                {"due_field": [Coded("invalid_value", reason="give due_in and due_field together")]}
            )

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> CreateRecord:
        return CreateRecord(**data)


class _Channel(_Str):
    def __init__(self, choices: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in self.choices:
            raise _fail("invalid_value", reason="use one of " + ", ".join(self.choices))
        return text


def _check_recipients(data: Mapping[str, Any]) -> None:
    channel = data.get("channel")
    if channel in ROBOT_CHANNELS:
        if not data.get("webhook_url"):
            raise ValidationError(
                {"webhook_url": [Coded("invalid_value", reason=f"a {channel} robot needs its webhook_url")]}
            )
    elif not data.get("to") and not data.get("to_role"):
        raise ValidationError(
            {"to": [Coded("invalid_value", reason="say who receives it: to and/or to_role")]}
        )


class _NotifySchema(StrictSchema):
    channel = _Channel(NOTIFY_CHANNELS, required=True)
    message = Label(required=True, limit=MAX_TEXT_LENGTH)
    title = _opt_label()
    to = _opt_expr()
    to_role = Identifier(load_default=None, allow_none=True)
    same_region = StrictBool(load_default=False)
    webhook_url = HttpUrl(load_default=None, allow_none=True)
    secret = _Str(load_default=None, allow_none=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_recipients(data)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Notify:
        return Notify(**data)


class _AssignSchema(StrictSchema):
    rule = Identifier(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Assign:
        return Assign(**data)


class _PromptSchema(StrictSchema):
    message = Label(required=True, limit=MAX_TEXT_LENGTH)
    title = _opt_label()
    level = _Channel(("info", "warning", "success"), load_default="info")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> PromptAction:
        return PromptAction(**data)


class _BoundedInt(StrictInt):
    def __init__(self, lo: int, hi: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lo, self.hi = lo, hi

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number = super()._deserialize(value, attr, data, **kwargs)
        if not self.lo <= number <= self.hi:
            raise _fail("invalid_value", reason=f"use a whole number from {self.lo} to {self.hi}")
        return number


class _HttpWebhookSchema(StrictSchema):
    url = HttpUrl(required=True)
    secret = _Str(load_default=None, allow_none=True)
    timeout_s = _BoundedInt(1, 60, load_default=10)
    retries = _BoundedInt(0, 10, load_default=3)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> HttpWebhook:
        return HttpWebhook(**data)


class _ReportQuerySchema(StrictSchema):
    entity = Identifier(required=True)
    where = _opt_expr()
    group_by = _List(Identifier(), load_default=())
    limit = _BoundedInt(1, 500, load_default=50)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ReportQuery:
        return ReportQuery(
            entity=data["entity"], where=data["where"], group_by=tuple(data["group_by"]),
            limit=data["limit"],
        )


class _ReportSchema(StrictSchema):
    query = fields.Nested(_ReportQuerySchema, required=True)
    channel = _Channel(NOTIFY_CHANNELS, required=True)
    title = Label(required=True)
    to = _opt_expr()
    to_role = Identifier(load_default=None, allow_none=True)
    webhook_url = HttpUrl(load_default=None, allow_none=True)
    secret = _Str(load_default=None, allow_none=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_recipients(data)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Report:
        return Report(**data)


ACTION_SCHEMAS: dict[str, type[Schema]] = {
    "set_field": _SetFieldSchema,
    "create_record": _CreateRecordSchema,
    "notify": _NotifySchema,
    "assign": _AssignSchema,
    "prompt": _PromptSchema,
    "http_webhook": _HttpWebhookSchema,
    "report": _ReportSchema,
}

#: Actions run inside the write that fired them (their effect is the write's response).
INLINE_ACTIONS = frozenset({"prompt"})

# --------------------------------------------------------------------------- trigger


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

# --------------------------------------------------------------------------- assignment rules

STRATEGIES = ("round_robin", "least_loaded", "rule", "weighted")


@dataclass(frozen=True, slots=True)
class Candidates:
    """Who may be assigned: active users of ``role``; with ``same_region``, only users whose
    region equals the value of the ``region`` expression on the record."""

    role: str | None = "rep"
    region: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryMatch:
    """A candidate matches when they own a record of ``entity`` that satisfies ``where``
    and whose ``same`` fields equal the assigned record's (S11: a won deal in the same
    industry in the last 30 days). ``user_field`` names the owner field (default owner)."""

    entity: str
    where: str | None = None
    same: tuple[tuple[str, str], ...] = ()
    user_field: str = "owner"


@dataclass(frozen=True, slots=True)
class Weight:
    """One weighted criterion (S12): ``expression`` scored per candidate (``me()``)."""

    key: str
    label: LocalizedText
    expression: str
    weight: float


@dataclass(frozen=True, slots=True)
class AssignmentRule:
    """How to choose a user for ``field`` of a record of ``entity``.

    ``rule`` strategies keep candidates for which ``expression`` holds (``me()`` is the
    candidate) and/or who match ``history``; ``least_loaded`` counts the candidate's
    records of ``entity`` satisfying ``load_where``; ``weighted`` sums ``weights``. When a
    strategy finds nobody, the ``fallback`` rules are tried in order.
    """

    key: str
    label: LocalizedText
    entity: str
    field: str
    strategy: str
    candidates: Candidates = Candidates()
    expression: str | None = None
    history: HistoryMatch | None = None
    load_where: str | None = None
    weights: tuple[Weight, ...] = ()
    fallback: tuple[str, ...] = ()


class _CandidatesSchema(StrictSchema):
    role = Identifier(load_default="rep", allow_none=True)
    region = _opt_expr()

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Candidates:
        return Candidates(**data)


class _PairList(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, Mapping):
            items = list(value.items())
        elif isinstance(value, list):
            items = [(v, v) if isinstance(v, str) else tuple(v) if isinstance(v, list) else (None, None) for v in value]
        else:
            raise _fail("invalid_type", expected="an object")
        out = []
        for a, b in items:
            if not isinstance(a, str) or not isinstance(b, str):
                raise _fail("invalid_type", expected="an object")
            out.append((a, b))
        return tuple(out)


class _HistorySchema(StrictSchema):
    entity = Identifier(required=True)
    where = _opt_expr()
    same = _PairList(load_default=())
    user_field = Identifier(load_default="owner")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> HistoryMatch:
        return HistoryMatch(**data)


class _Float(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1e6 <= value <= 1e6:
            raise _fail("invalid_type", expected="a number")
        return float(value)


class _WeightSchema(StrictSchema):
    key = Identifier(required=True)
    label = Label(required=True)
    expression = Expression(required=True)
    weight = _Float(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Weight:
        return Weight(**data)


class AssignmentRuleSchema(StrictSchema):
    """One assignment rule of an app definition."""

    key = Identifier(required=True, what="assignment rule")
    label = Label(required=True)
    entity = Identifier(required=True)
    field = Identifier(required=True)
    strategy = _Channel(STRATEGIES, required=True)
    candidates = fields.Nested(_CandidatesSchema, load_default=Candidates())
    expression = _opt_expr()
    rule = _opt_expr()
    history = fields.Nested(_HistorySchema, load_default=None, allow_none=True)
    load_where = _opt_expr()
    weights = _List(fields.Nested(_WeightSchema), load_default=())
    fallback = _List(Identifier(), load_default=())

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        strategy = data.get("strategy")
        if strategy == "rule" and not (data.get("expression") or data.get("rule") or data.get("history")):
            raise ValidationError(
                {"expression": [Coded("invalid_value", reason="a rule strategy needs an expression or history")]}
            )
        if strategy == "weighted" and not data.get("weights"):
            raise ValidationError({"weights": [Coded("invalid_value", reason="give at least one weight")]})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> AssignmentRule:
        rule = data.pop("rule", None)
        if data.get("expression") is None:
            data["expression"] = rule
        data["weights"] = tuple(data["weights"])
        data["fallback"] = tuple(data["fallback"])
        return AssignmentRule(**data)


ASSIGNMENT_RULE_SCHEMA = AssignmentRuleSchema()

# --------------------------------------------------------------------------- loading


def problems_from_messages(messages: Any, path: str) -> list[Problem]:
    """Turns marshmallow's nested error messages under ``path`` into problems."""
    out: list[Problem] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                out.extend(problems_from_messages(value, path))
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                out.extend(problems_from_messages(value, join_path(path, int(key))))
            else:
                out.extend(problems_from_messages(value, join_path(path, str(key))))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(problems_from_messages(item, path))
    elif isinstance(messages, Coded):
        out.append(problem(path, messages.code, **messages.params))
    else:
        text = str(messages)
        code, _, expected = text.partition("|")
        if code == "unknown_key":
            out.append(problem(path, "unknown_key", name=path.rsplit(".", 1)[-1]))
        elif expected:
            out.append(problem(path, code, expected=expected))
        elif code in {"required", "invalid_type", "unknown_key"}:
            out.append(problem(path, code, expected="a valid value"))
        else:
            out.append(problem(path, "invalid_value", reason=text))
    return out


def load_triggers(
    raw: Sequence[Mapping[str, Any]], app: App | None = None, *, path: str = join_path(ROOT, "triggers")
) -> tuple[tuple[Trigger, ...], list[Problem]]:
    """Loads the raw trigger objects; with ``app``, also validates them against it.

    Returns the triggers that loaded (those with shape problems are left out) and every
    problem found.
    """
    triggers: list[Trigger] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        if isinstance(item, Trigger):
            triggers.append(item)
            continue
        item_path = join_path(path, index)
        try:
            trigger: Trigger = TRIGGER_SCHEMA.load(item)
        except ValidationError as exc:
            problems.extend(problems_from_messages(exc.messages, item_path))
            continue
        if trigger.key in seen:
            problems.append(problem(join_path(item_path, "key"), "duplicate_key", what="trigger",
                                    what_zh="触发器", value=trigger.key, first=seen[trigger.key]))
            continue
        seen[trigger.key] = item_path
        triggers.append(trigger)
    if app is not None:
        problems.extend(validate_triggers(app, tuple(triggers), path=path))
    return tuple(triggers), problems


def load_assignment_rules(
    raw: Sequence[Mapping[str, Any]], app: App | None = None,
    *, path: str = join_path(ROOT, "assignment_rules"),
) -> tuple[tuple[AssignmentRule, ...], list[Problem]]:
    """Loads the raw assignment rules; with ``app``, also validates them against it."""
    rules: list[AssignmentRule] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        if isinstance(item, AssignmentRule):
            rules.append(item)
            continue
        item_path = join_path(path, index)
        try:
            rule: AssignmentRule = ASSIGNMENT_RULE_SCHEMA.load(item)
        except ValidationError as exc:
            problems.extend(problems_from_messages(exc.messages, item_path))
            continue
        if rule.key in seen:
            problems.append(problem(join_path(item_path, "key"), "duplicate_key", what="assignment rule",
                                    what_zh="分配规则", value=rule.key, first=seen[rule.key]))
            continue
        seen[rule.key] = item_path
        rules.append(rule)
    if app is not None:
        problems.extend(validate_assignment_rules(app, tuple(rules), path=path))
    return tuple(rules), problems


def load_automation(app: App) -> tuple[App, list[Problem]]:
    """``app`` with its raw ``triggers`` / ``assignment_rules`` loaded, and their problems."""
    from dataclasses import replace

    rules, rule_problems = load_assignment_rules(app.assignment_rules)
    loaded = replace(app, assignment_rules=rules)
    triggers, trigger_problems = load_triggers(app.triggers)
    loaded = replace(loaded, triggers=triggers)
    problems = rule_problems + trigger_problems
    problems.extend(validate_assignment_rules(loaded, rules))
    problems.extend(validate_triggers(loaded, triggers))
    return loaded, problems


# --------------------------------------------------------------------------- validation

#: System timestamp columns an elapsed trigger may count from.
SYSTEM_TIMESTAMPS = ("created_at", "updated_at", "stage_entered_at")
_TIME_TYPES = frozenset({FieldType.DATETIME, FieldType.DATE})


def _unknown(path: str, reason: str, reason_zh: str) -> Problem:
    return problem(path, "unknown_reference", reason=reason, reason_zh=reason_zh)


def _invalid(path: str, reason: str, reason_zh: str) -> Problem:
    return problem(path, "invalid_option", reason=reason, reason_zh=reason_zh)


def _field_exists(entity: Entity, key: str) -> bool:
    return entity.field(key) is not None or key in {"owner", "created_by", "id", "created_at", "updated_at"}


def validate_triggers(
    app: App, triggers: Sequence[Trigger] | None = None, *, path: str = join_path(ROOT, "triggers")
) -> list[Problem]:
    """Every reference and expression problem of the (loaded) triggers of ``app``."""
    problems: list[Problem] = []
    rule_keys = {getattr(r, "key", None) for r in app.assignment_rules}
    for index, trigger in enumerate(app.triggers if triggers is None else triggers):
        if not isinstance(trigger, Trigger):
            continue
        tpath = join_path(path, index)
        entity = app.entity(trigger.entity) if trigger.entity else None
        if trigger.entity and entity is None:
            problems.append(_unknown(join_path(tpath, "entity"), f"There is no entity {trigger.entity!r}.",
                                     f"没有实体 {trigger.entity}。"))
            continue
        problems.extend(_check_on(app, trigger, entity, join_path(tpath, "on")))
        if trigger.when and entity is not None:
            problems.extend(check_expression(app, entity.key, trigger.when, join_path(tpath, "when"),
                                             boolean=True))
        for a_index, action in enumerate(trigger.actions):
            problems.extend(
                _check_action(app, trigger, entity, action, join_path(tpath, "actions", a_index), rule_keys)
            )
    return problems


def _check_on(app: App, trigger: Trigger, entity: Entity | None, path: str) -> list[Problem]:
    on = trigger.on
    out: list[Problem] = []
    if entity is None:
        return out
    if isinstance(on, OnUpdated):
        for i, key in enumerate(on.fields):
            if not _field_exists(entity, key):
                out.append(_unknown(join_path(path, "fields", i), f"{entity.key} has no field {key!r}.",
                                    f"{entity.key} 没有字段 {key}。"))
    elif isinstance(on, OnFieldChanged):
        if not _field_exists(entity, on.field):
            out.append(_unknown(join_path(path, "field"), f"{entity.key} has no field {on.field!r}.",
                                f"{entity.key} 没有字段 {on.field}。"))
    elif isinstance(on, OnStepCompleted):
        if entity.step(on.step) is None:
            out.append(_unknown(join_path(path, "step"), f"{entity.key} has no step {on.step!r}.",
                                f"{entity.key} 没有步骤 {on.step}。"))
    elif isinstance(on, OnStageChanged):
        if not entity.stages:
            out.append(_invalid(path, f"{entity.key} has no stages.", f"{entity.key} 没有阶段。"))
        for name, value in (("from", on.from_), ("to", on.to)):
            if value is not None and entity.stages and entity.stage(value) is None:
                out.append(_unknown(join_path(path, name), f"{entity.key} has no stage {value!r}.",
                                    f"{entity.key} 没有阶段 {value}。"))
    elif isinstance(on, OnElapsed):
        out.extend(_check_since(entity, on.since, join_path(path, "since")))
        out.extend(check_expression(app, entity.key, on.condition, join_path(path, "condition"),
                                    boolean=True, sql=True))
        if trigger.when:
            out.extend(check_expression(app, entity.key, trigger.when, join_path(path, "when"),
                                        boolean=True, sql=True, report_other=False))
    elif isinstance(on, OnWebhook):
        if on.dedup_key and entity.field(on.dedup_key) is None:
            out.append(_unknown(join_path(path, "dedup_key"), f"{entity.key} has no field {on.dedup_key!r}.",
                                f"{entity.key} 没有字段 {on.dedup_key}。"))
        for payload_key, field_key in on.fields:
            if entity.field(field_key) is None:
                out.append(_unknown(join_path(path, "fields", payload_key),
                                    f"{entity.key} has no field {field_key!r}.",
                                    f"{entity.key} 没有字段 {field_key}。"))
    return out


def _check_since(entity: Entity, since: str, path: str) -> list[Problem]:
    if since == "stage_entered_at":
        if not entity.stages:
            return [_invalid(path, f"{entity.key} has no stages, so no stage_entered_at.",
                             f"{entity.key} 没有阶段,因此没有 stage_entered_at。")]
        return []
    if since in SYSTEM_TIMESTAMPS:
        return []
    if since.startswith("steps.") and since.endswith(".done_at"):
        step = since[len("steps."):-len(".done_at")]
        if entity.step(step) is None:
            return [_unknown(path, f"{entity.key} has no step {step!r}.", f"{entity.key} 没有步骤 {step}。")]
        return []
    spec = entity.field(since)
    if spec is None:
        return [_unknown(path, f"{entity.key} has no field {since!r}.", f"{entity.key} 没有字段 {since}。")]
    if spec.type not in _TIME_TYPES:
        return [_invalid(path, f"{since!r} is not a date or datetime field.",
                         f"{since} 不是日期或日期时间字段。")]
    return []


def _check_action(
    app: App, trigger: Trigger, entity: Entity | None, action: Any, path: str, rule_keys: set[Any]
) -> list[Problem]:
    out: list[Problem] = []
    needs_record = not isinstance(action, Report | Notify | HttpWebhook)
    if entity is None and needs_record:
        return [_invalid(path, f"A {action.type} action needs a trigger on an entity's records.",
                         f"{action.type} 动作需要作用于实体记录的触发器。")]
    ekey = entity.key if entity is not None else None
    if isinstance(action, SetField) and entity is not None:
        spec = entity.field(action.field)
        if spec is None and action.field != "owner":
            out.append(_unknown(join_path(path, "field"), f"{entity.key} has no field {action.field!r}.",
                                f"{entity.key} 没有字段 {action.field}。"))
        elif spec is not None and spec.type == FieldType.FORMULA:
            out.append(_invalid(join_path(path, "field"), f"{action.field!r} is a formula and can't be set.",
                                f"{action.field} 是公式字段,不能赋值。"))
        out.extend(check_expression(app, entity.key, action.value, join_path(path, "value")))
    elif isinstance(action, CreateRecord):
        target = app.entity(action.entity)
        if target is None:
            out.append(_unknown(join_path(path, "entity"), f"There is no entity {action.entity!r}.",
                                f"没有实体 {action.entity}。"))
        else:
            for key, source in action.values:
                if not _field_exists(target, key):
                    out.append(_unknown(join_path(path, "values", key),
                                        f"{target.key} has no field {key!r}.", f"{target.key} 没有字段 {key}。"))
                elif ekey is not None:
                    out.extend(check_expression(app, ekey, source, join_path(path, "values", key)))
            if action.due_field:
                spec = target.field(action.due_field)
                if spec is None or spec.type not in _TIME_TYPES:
                    out.append(_invalid(join_path(path, "due_field"),
                                        f"{action.due_field!r} is not a date or datetime field of {target.key}.",
                                        f"{action.due_field} 不是 {target.key} 的日期或日期时间字段。"))
    elif isinstance(action, Notify | Report):
        if action.to and ekey is not None:
            out.extend(check_expression(app, ekey, action.to, join_path(path, "to")))
        if action.to_role and action.to_role not in app.roles:
            out.append(_unknown(join_path(path, "to_role"), f"There is no role {action.to_role!r}.",
                                f"没有角色 {action.to_role}。"))
        if isinstance(action, Report):
            target = app.entity(action.query.entity)
            qpath = join_path(path, "query")
            if target is None:
                out.append(_unknown(join_path(qpath, "entity"), f"There is no entity {action.query.entity!r}.",
                                    f"没有实体 {action.query.entity}。"))
            else:
                if action.query.where:
                    out.extend(check_expression(app, target.key, action.query.where, join_path(qpath, "where"),
                                                boolean=True, sql=True))
                for i, key in enumerate(action.query.group_by):
                    if not _field_exists(target, key) and key != "stage":
                        out.append(_unknown(join_path(qpath, "group_by", i),
                                            f"{target.key} has no field {key!r}.", f"{target.key} 没有字段 {key}。"))
    elif isinstance(action, Assign):
        if action.rule not in rule_keys:
            out.append(_unknown(join_path(path, "rule"), f"There is no assignment rule {action.rule!r}.",
                                f"没有分配规则 {action.rule}。"))
        else:
            rule = next(r for r in app.assignment_rules if getattr(r, "key", None) == action.rule)
            if isinstance(rule, AssignmentRule) and rule.entity != ekey:
                out.append(_invalid(join_path(path, "rule"),
                                    f"Assignment rule {rule.key!r} assigns {rule.entity}, not {ekey}.",
                                    f"分配规则 {rule.key} 作用于 {rule.entity},而不是 {ekey}。"))
    elif isinstance(action, PromptAction):
        if not isinstance(trigger.on, OnCreated | OnUpdated | OnFieldChanged | OnStepCompleted | OnStageChanged):
            out.append(_invalid(path, "A prompt can only answer a person's write (created, updated, "
                                "field_changed, step_completed or stage_changed).",
                                "提示只能用于由人的写入触发的触发器(创建、更新、字段变化、步骤完成或阶段变化)。"))
    return out


def validate_assignment_rules(
    app: App, rules: Sequence[AssignmentRule] | None = None,
    *, path: str = join_path(ROOT, "assignment_rules"),
) -> list[Problem]:
    """Every reference and expression problem of the (loaded) assignment rules of ``app``."""
    problems: list[Problem] = []
    items = [r for r in (app.assignment_rules if rules is None else rules) if isinstance(r, AssignmentRule)]
    keys = {r.key for r in items}
    for index, rule in enumerate(items):
        rpath = join_path(path, index)
        entity = app.entity(rule.entity)
        if entity is None:
            problems.append(_unknown(join_path(rpath, "entity"), f"There is no entity {rule.entity!r}.",
                                     f"没有实体 {rule.entity}。"))
            continue
        spec = entity.field(rule.field)
        if rule.field != "owner" and (spec is None or spec.type != FieldType.USER):
            problems.append(_invalid(join_path(rpath, "field"), f"{rule.field!r} is not a user field of {entity.key}.",
                                     f"{rule.field} 不是 {entity.key} 的用户字段。"))
        if rule.candidates.role and rule.candidates.role not in app.roles:
            problems.append(_unknown(join_path(rpath, "candidates", "role"), f"There is no role {rule.candidates.role!r}.",
                                     f"没有角色 {rule.candidates.role}。"))
        if rule.candidates.region:
            problems.extend(check_expression(app, entity.key, rule.candidates.region,
                                             join_path(rpath, "candidates", "region")))
        if rule.expression:
            problems.extend(check_expression(app, entity.key, rule.expression, join_path(rpath, "expression"),
                                             boolean=True, candidate=True))
        if rule.load_where:
            problems.extend(check_expression(app, entity.key, rule.load_where, join_path(rpath, "load_where"),
                                             boolean=True, sql=True))
        for w_index, weight in enumerate(rule.weights):
            problems.extend(check_expression(app, entity.key, weight.expression,
                                             join_path(rpath, "weights", w_index, "expression"), candidate=True))
        if rule.history is not None:
            hpath = join_path(rpath, "history")
            hist = app.entity(rule.history.entity)
            if hist is None:
                problems.append(_unknown(join_path(hpath, "entity"), f"There is no entity {rule.history.entity!r}.",
                                         f"没有实体 {rule.history.entity}。"))
            else:
                if rule.history.where:
                    problems.extend(check_expression(app, hist.key, rule.history.where, join_path(hpath, "where"),
                                                     boolean=True, sql=True))
                for theirs, ours in rule.history.same:
                    if not _field_exists(hist, theirs):
                        problems.append(_unknown(join_path(hpath, "same", theirs),
                                                 f"{hist.key} has no field {theirs!r}.", f"{hist.key} 没有字段 {theirs}。"))
                    if not _field_exists(entity, ours):
                        problems.append(_unknown(join_path(hpath, "same", theirs),
                                                 f"{entity.key} has no field {ours!r}.", f"{entity.key} 没有字段 {ours}。"))
        for f_index, key in enumerate(rule.fallback):
            if key not in keys or key == rule.key:
                problems.append(_unknown(join_path(rpath, "fallback", f_index),
                                         f"There is no other assignment rule {key!r}.", f"没有其他分配规则 {key}。"))
    problems.extend(_fallback_cycles(items, path))
    return problems


def _fallback_cycles(rules: Sequence[AssignmentRule], path: str) -> list[Problem]:
    by_key = {r.key: r for r in rules}
    out: list[Problem] = []
    for index, rule in enumerate(rules):
        stack: list[tuple[str, tuple[str, ...]]] = [(rule.key, (rule.key,))]
        while stack:
            key, trail = stack.pop()
            for nxt in by_key[key].fallback if key in by_key else ():
                if nxt == rule.key and len(trail) > 1:
                    out.append(problem(join_path(path, index, "fallback"), "dependency_cycle",
                                       cycle=" → ".join((*trail, nxt))))
                    stack.clear()
                    break
                if nxt not in trail and nxt in by_key:
                    stack.append((nxt, (*trail, nxt)))
    return out


# --------------------------------------------------------------------------- dump


def _dump_label(text: LocalizedText | None) -> Any:
    from builder.schemas import dump_label

    return None if text is None else dump_label(text)


def dump_on(on: TriggerOn) -> Any:
    """The JSON form of a trigger's ``on``."""
    if isinstance(on, OnCreated | OnDeleted):
        return on.type
    out: dict[str, Any] = {"type": on.type}
    if isinstance(on, OnUpdated):
        if on.fields:
            out["fields"] = list(on.fields)
    elif isinstance(on, OnFieldChanged):
        out["field"] = on.field
        if on.has_from:
            out["from"] = list(on.from_) if isinstance(on.from_, tuple) else on.from_
        if on.has_to:
            out["to"] = list(on.to) if isinstance(on.to, tuple) else on.to
    elif isinstance(on, OnStepCompleted):
        out["step"] = on.step
    elif isinstance(on, OnStageChanged):
        if on.from_ is not None:
            out["from"] = on.from_
        if on.to is not None:
            out["to"] = on.to
    elif isinstance(on, OnSchedule):
        out["cron"] = on.cron
        if on.timezone:
            out["timezone"] = on.timezone
    elif isinstance(on, OnElapsed):
        out.update(condition=on.condition, since=on.since, after=on.after)
    elif isinstance(on, OnEvent):
        out.update(sequence=list(on.sequence), within=on.within)
        if not on.ordered:
            out["ordered"] = False
    elif isinstance(on, OnWebhook):
        if on.dedup_key:
            out["dedup_key"] = on.dedup_key
        if on.fields:
            out["fields"] = dict(on.fields)
    return out


def dump_action(action: ActionConfig) -> dict[str, Any]:
    """The JSON form of one action."""
    out: dict[str, Any] = {"type": action.type}
    for name in action.__dataclass_fields__:
        value = getattr(action, name)
        default = action.__dataclass_fields__[name].default
        if value == default and name not in {"field", "entity", "url", "channel", "rule", "value"}:
            continue
        if isinstance(value, LocalizedText):
            value = _dump_label(value)
        elif isinstance(value, ReportQuery):
            value = {k: v for k, v in (("entity", value.entity), ("where", value.where),
                                       ("group_by", list(value.group_by)), ("limit", value.limit)) if v}
        elif name == "values":
            value = dict(value)
        out[name] = value
    return out


def dump_trigger(trigger: Trigger) -> dict[str, Any]:
    """The JSON form of ``trigger``; :func:`load_triggers` reads it back equal."""
    out: dict[str, Any] = {"key": trigger.key, "label": _dump_label(trigger.label)}
    if trigger.description is not None:
        out["description"] = _dump_label(trigger.description)
    if trigger.entity is not None:
        out["entity"] = trigger.entity
    out["on"] = dump_on(trigger.on)
    if trigger.when:
        out["when"] = trigger.when
    if not trigger.enabled:
        out["enabled"] = False
    out["actions"] = [dump_action(a) for a in trigger.actions]
    return out


def dump_assignment_rule(rule: AssignmentRule) -> dict[str, Any]:
    """The JSON form of ``rule``; :func:`load_assignment_rules` reads it back equal."""
    out: dict[str, Any] = {
        "key": rule.key, "label": _dump_label(rule.label), "entity": rule.entity,
        "field": rule.field, "strategy": rule.strategy,
    }
    if rule.candidates != Candidates():
        out["candidates"] = {"role": rule.candidates.role, **({"region": rule.candidates.region}
                                                             if rule.candidates.region else {})}
    if rule.expression:
        out["expression"] = rule.expression
    if rule.history is not None:
        out["history"] = {"entity": rule.history.entity, "user_field": rule.history.user_field,
                          **({"where": rule.history.where} if rule.history.where else {}),
                          **({"same": dict(rule.history.same)} if rule.history.same else {})}
    if rule.load_where:
        out["load_where"] = rule.load_where
    if rule.weights:
        out["weights"] = [{"key": w.key, "label": _dump_label(w.label), "expression": w.expression,
                           "weight": w.weight} for w in rule.weights]
    if rule.fallback:
        out["fallback"] = list(rule.fallback)
    return out


def dump_automation(app: App) -> dict[str, Any]:
    """The ``triggers`` / ``assignment_rules`` sections of ``app``'s document (non-empty ones)."""
    out: dict[str, Any] = {}
    if app.triggers:
        out["triggers"] = [dump_trigger(t) if isinstance(t, Trigger) else dict(t) for t in app.triggers]
    if app.assignment_rules:
        out["assignment_rules"] = [
            dump_assignment_rule(r) if isinstance(r, AssignmentRule) else dict(r)
            for r in app.assignment_rules
        ]
    return out
