"""What a trigger does (its ``actions``): the frozen action types and their schemas.

Every action is an object with a ``type`` and that type's options; :data:`ACTION_SCHEMAS`
maps each type to the schema that loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from builder.model import LocalizedText
from builder.schemas import (
    MAX_TEXT_LENGTH,
    Coded,
    Expression,
    Identifier,
    Label,
    StrictBool,
    StrictSchema,
    _List,
    _Str,
)
from builder.triggers.durations import parse_duration
from builder.triggers.fields import (
    Duration,
    ExpressionMap,
    HttpUrl,
    _BoundedInt,
    _Channel,
    _opt_expr,
    _opt_label,
)


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


@dataclass(frozen=True, slots=True)
class SendReport:
    """A dashboard (or one of its widgets) computed and sent through ``channel`` (issue 12).

    People channels (inbox, email) get one message per recipient, with the figures computed
    under that recipient's permissions. Group robots (wecom, dingtalk, feishu) post one
    message to a group: its figures are computed as ``as_role`` with no particular user
    (row conditions that name ``me()`` match nothing), the narrowest scope of that role.
    ``top`` is how many rows of each widget the message lists.
    """

    type: ClassVar[str] = "send_report"
    dashboard: str
    channel: str
    widget: str | None = None
    title: LocalizedText | None = None
    to: str | None = None
    to_role: str | None = None
    as_role: str | None = None
    webhook_url: str | None = None
    secret: str | None = None
    top: int = 5


ActionConfig = SetField | CreateRecord | Notify | Assign | PromptAction | HttpWebhook | Report | SendReport


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


class _SendReportSchema(StrictSchema):
    dashboard = Identifier(required=True)
    widget = Identifier(load_default=None, allow_none=True)
    channel = _Channel(NOTIFY_CHANNELS, required=True)
    title = _opt_label()
    to = _opt_expr()
    to_role = Identifier(load_default=None, allow_none=True)
    as_role = Identifier(load_default=None, allow_none=True)
    webhook_url = HttpUrl(load_default=None, allow_none=True)
    secret = _Str(load_default=None, allow_none=True)
    top = _BoundedInt(1, 20, load_default=5)

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_recipients(data)
        if data.get("channel") in ROBOT_CHANNELS and not data.get("as_role"):
            raise ValidationError(
                {"as_role": [Coded("invalid_value",
                                   reason="a robot posts one report to a group: say whose permissions "
                                          "compute it (as_role)")]}
            )

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> SendReport:
        return SendReport(**data)


ACTION_SCHEMAS: dict[str, type[Schema]] = {
    "set_field": _SetFieldSchema,
    "create_record": _CreateRecordSchema,
    "notify": _NotifySchema,
    "assign": _AssignSchema,
    "prompt": _PromptSchema,
    "http_webhook": _HttpWebhookSchema,
    "report": _ReportSchema,
    "send_report": _SendReportSchema,
}

#: Actions run inside the write that fired them (their effect is the write's response).
INLINE_ACTIONS = frozenset({"prompt"})
