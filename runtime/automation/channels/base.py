"""The contract every notification channel implements, and the channel registry.

A channel gets a rendered :class:`Message` (title, text, optional link), the resolved
:class:`Recipients` and a :class:`DeliveryContext`, and delivers once. It raises
:class:`DeliveryError` with ``retryable`` set when trying again later may help (timeouts,
5xx, a robot's rate limit) and unset when it can't (a refused target, a bad signature).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from runtime.net.client import OutboundRequest, OutboundResponse
from runtime.net.guard import OutboundPolicy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from runtime.settings import Settings

BUILTIN_CHANNEL_MODULES = (
    "runtime.automation.channels.inbox",
    "runtime.automation.channels.email",
    "runtime.automation.channels.wecom",
    "runtime.automation.channels.dingtalk",
    "runtime.automation.channels.feishu",
)

Sender = Callable[[OutboundRequest, OutboundPolicy], OutboundResponse]


@dataclass(frozen=True)
class Message:
    """What to say: a title, a body (light Markdown: ``**bold**``, lines) and a link."""

    title: str
    text: str
    link: str | None = None


@dataclass(frozen=True)
class Recipients:
    """Who receives it.

    ``user_ids`` are workspace users (inbox; e-mail uses their e-mail-shaped usernames),
    ``addresses`` are e-mail addresses, ``mobiles`` are phone numbers a robot @-mentions
    and ``mention_all`` @-mentions the whole group.
    """

    user_ids: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()
    mobiles: tuple[str, ...] = ()
    mention_all: bool = False


@dataclass(frozen=True)
class DeliveryContext:
    """Everything a delivery may use; the session belongs to the action's transaction."""

    settings: Settings
    policy: OutboundPolicy
    idempotency_key: str
    now: datetime
    workspace_id: int
    session: Session | None = None
    app_id: int | None = None
    entity: str | None = None
    record_id: int | None = None
    trigger_key: str | None = None
    webhook_url: str | None = None
    secret: str | None = None
    timeout_s: float = 10.0
    send: Sender | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """What a channel did, JSON-able for the action run's detail."""

    channel: str
    sent_to: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON form stored with the action run."""
        return {"channel": self.channel, "sent_to": list(self.sent_to), **dict(self.detail)}


class DeliveryError(Exception):
    """A delivery failed; ``retryable`` says whether a later attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool, code: str = "delivery_failed") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class Channel(Protocol):
    """One way of reaching people (``inbox``, ``email``, ``wecom`` ...)."""

    key: str

    def deliver(
        self, ctx: DeliveryContext, message: Message, recipients: Recipients
    ) -> Delivery:
        """Delivers ``message`` once."""
        ...


_CHANNELS: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    """Adds ``channel`` to the registry under its ``key``."""
    _CHANNELS[channel.key] = channel
    return channel


def channel_for(key: str) -> Channel:
    """The channel ``key`` (importing the built-in ones on first use); KeyError if unknown."""
    if key not in _CHANNELS:
        load_builtin_channels()
    return _CHANNELS[key]


def registered_channels() -> tuple[str, ...]:
    """Every registered channel key."""
    return tuple(sorted(_CHANNELS))


def load_builtin_channels() -> None:
    """Imports (and so registers) every built-in channel."""
    for module in BUILTIN_CHANNEL_MODULES:
        importlib.import_module(module)


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary, with "…"."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data[: max(0, limit - 3)].decode("utf-8", errors="ignore")
    return cut + "…"


def sender(ctx: DeliveryContext) -> Sender:
    """The function that sends ``ctx``'s requests (tests may inject one)."""
    if ctx.send is not None:
        return ctx.send
    from runtime.net.client import send

    return send


def robot_post(
    ctx: DeliveryContext,
    url: str,
    payload: Mapping[str, Any],
    channel: str,
    check: Callable[[OutboundResponse], None],
) -> OutboundResponse:
    """POSTs ``payload`` as JSON to a group robot and checks its answer with ``check``."""
    import json

    from runtime.net.errors import OutboundError

    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    request = OutboundRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=body,
        timeout_s=ctx.timeout_s,
        max_response_bytes=64 * 1024,
    )
    try:
        response = sender(ctx)(request, ctx.policy)
    except OutboundError as exc:
        raise DeliveryError(f"{channel}: {exc}", retryable=exc.retryable, code=exc.code) from exc
    if response.status == 429 or response.status >= 500:
        raise DeliveryError(
            f"{channel} answered HTTP {response.status}", retryable=True, code="robot_unavailable"
        )
    if not response.ok:
        raise DeliveryError(
            f"{channel} answered HTTP {response.status}: {response.text(200)}",
            retryable=False,
            code="robot_rejected",
        )
    check(response)
    return response


def errcode_check(
    channel: str, transient_codes: Sequence[int], code_key: str = "errcode", msg_key: str = "errmsg"
) -> Callable[[OutboundResponse], None]:
    """A check of a robot's JSON answer ``{errcode: 0, errmsg: "ok"}``."""

    def check(response: OutboundResponse) -> None:
        data = response.json()
        if not isinstance(data, Mapping):
            raise DeliveryError(
                f"{channel} answered something that is not JSON: {response.text(200)}",
                retryable=False,
                code="robot_rejected",
            )
        code = data.get(code_key, data.get("StatusCode", 0))
        if code in (0, None):
            return
        message = data.get(msg_key) or data.get("StatusMessage") or ""
        raise DeliveryError(
            f"{channel} refused the message: {code} {message}",
            retryable=code in transient_codes,
            code="robot_rate_limited" if code in transient_codes else "robot_rejected",
        )

    return check
