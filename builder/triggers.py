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

from builder.automation_rules import (  # noqa: F401  (re-exported: part of this module's API)
    ASSIGNMENT_RULE_SCHEMA,
    STRATEGIES,
    AssignmentRule,
    AssignmentRuleSchema,
    Candidates,
    HistoryMatch,
    Weight,
)
from builder.errors import ROOT, Problem, join_path, problem
from builder.model import App, LocalizedText
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


# Validation and the JSON form live in their own modules (which import this one); these
# entry points delegate to them.


def validate_triggers(
    app: App, triggers: Sequence[Trigger] | None = None, *, path: str = join_path(ROOT, "triggers")
) -> list[Problem]:
    """Every reference and expression problem of the (loaded) triggers of ``app``."""
    from builder.automation_validation import validate_triggers as validate

    return validate(app, triggers, path=path)


def validate_assignment_rules(
    app: App,
    rules: Sequence[AssignmentRule] | None = None,
    *,
    path: str = join_path(ROOT, "assignment_rules"),
) -> list[Problem]:
    """Every reference and expression problem of the (loaded) assignment rules of ``app``."""
    from builder.automation_validation import validate_assignment_rules as validate

    return validate(app, rules, path=path)


def dump_trigger(trigger: Trigger) -> dict[str, Any]:
    """The JSON form of ``trigger`` (see :mod:`builder.automation_dump`)."""
    from builder.automation_dump import dump_trigger as dump

    return dump(trigger)


def dump_assignment_rule(rule: AssignmentRule) -> dict[str, Any]:
    """The JSON form of ``rule`` (see :mod:`builder.automation_dump`)."""
    from builder.automation_dump import dump_assignment_rule as dump

    return dump(rule)


def dump_automation(app: App) -> dict[str, Any]:
    """The ``triggers`` / ``assignment_rules`` sections of ``app``'s document."""
    from builder.automation_dump import dump_automation as dump

    return dump(app)
