"""The ``notify`` action: a templated message through the inbox, e-mail or a group robot.

Configuration (``builder.triggers.Notify``): ``channel`` (inbox, email, wecom, dingtalk,
feishu), ``message`` and optional ``title`` (localized templates with ``{field}``
placeholders, see :mod:`runtime.automation.templates`), and who receives it:

- ``to``: an expression over the record giving a user or a list of users (``owner``,
  ``owner.manager``), or text: an e-mail address, a phone number a robot @-mentions, or
  ``"@all"``;
- ``to_role``: every active user of the role, with ``same_region`` only those in the region
  of the record's owner;
- group robots post to ``webhook_url`` (``secret`` for signed DingTalk / Feishu robots).

Delivery failures that may pass (timeouts, 5xx, rate limits) raise
:class:`TransientActionError`; the rest :class:`PermanentActionError`. A message with
nobody to receive it (the owner has no manager) is ``skipped``, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from runtime.automation.actions.base import (
    ActionContext,
    ActionOutcome,
    PermanentActionError,
    TransientActionError,
    register,
)
from runtime.automation.causes import missing_recipient_cause
from runtime.automation.channels.base import (
    DeliveryContext,
    DeliveryError,
    Message,
    Recipients,
    Sender,
    channel_for,
)
from runtime.automation.templates import render
from runtime.models import User
from runtime.net.guard import OutboundPolicy

ROBOT_CHANNELS = frozenset({"wecom", "dingtalk", "feishu"})
PEOPLE_CHANNELS = frozenset({"inbox", "email"})
_MOBILE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
MAX_RECIPIENTS = 500


class Localized(Protocol):
    """A localized text (``builder.model.LocalizedText``)."""

    def get(self, locale: str = "zh") -> str:
        """The text in ``locale``."""
        ...


class NotifyConfig(Protocol):
    """What the notify action reads (``builder.triggers.Notify``)."""

    channel: str
    message: Localized
    title: Localized | None
    to: str | None
    to_role: str | None
    same_region: bool
    webhook_url: str | None
    secret: str | None


@dataclass(frozen=True)
class Audience:
    """Who was asked for, before delivery: the recipients and notes on anyone dropped."""

    recipients: Recipients
    notes: tuple[str, ...] = ()
    to: str | None = None


def locale_of(ctx: ActionContext) -> str:
    """The locale messages are rendered in (``extras["locale"]``, default zh)."""
    return str(ctx.call.extras.get("locale", "zh"))


def render_text(ctx: ActionContext, template: Localized | str | None) -> str:
    """``template`` in the action's locale with the record's ``{field}`` values."""
    if template is None:
        return ""
    text = template if isinstance(template, str) else template.get(locale_of(ctx))
    return render(text, ctx.record, ctx.call.tz)


#: Where a record's page is served (the ``apps`` blueprint of ``web``).
RECORD_PATH = "/a/{app}/{entity}/{id}"


def record_url(ctx: ActionContext, entity: str, record_id: int) -> str | None:
    """The absolute URL of a record's page, when ``Settings.base_url`` (``CAIRN_BASE_URL``) says where
    Cairn is served (group robots and e-mail need absolute links); None otherwise."""
    base = ctx.settings.base_url
    if not base:
        return None
    path = RECORD_PATH.format(app=ctx.app.key, entity=entity, id=record_id)
    return f"{str(base).rstrip('/')}{path}"


def record_link(ctx: ActionContext) -> str | None:
    """The page of the action's record (see :func:`record_url`)."""
    if ctx.record_id is None or not ctx.entity:
        return None
    return record_url(ctx, ctx.entity, ctx.record_id)


def evaluate_to(ctx: ActionContext, source: str) -> Any:
    """The value of the ``to`` expression on the action's record."""
    if not ctx.entity or ctx.record is None:
        return None
    from runtime.evaluation import RecordEvaluator

    entity = ctx.app.entity(ctx.entity)
    return RecordEvaluator(ctx.call, ctx.app).value(entity, source, ctx.record)


def _flatten(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _flatten(item)
    elif value is not None:
        yield value


def resolve_audience(
    ctx: ActionContext,
    *,
    to: str | None,
    to_role: str | None,
    same_region: bool = False,
) -> Audience:
    """The recipients of a notify or report action."""
    user_ids: list[int] = []
    addresses: list[str] = []
    mobiles: list[str] = []
    mention_all = False
    notes: list[str] = []
    if to:
        value = evaluate_to(ctx, to)
        if value is None:
            notes.append(f"`{to}` is empty on this record")
        for item in _flatten(value):
            if isinstance(item, bool):
                continue
            if isinstance(item, int):
                user_ids.append(item)
                continue
            text = str(item).strip()
            if text.lower() in {"@all", "all"}:
                mention_all = True
            elif "@" in text:
                addresses.append(text)
            elif _MOBILE.match(text):
                mobiles.append(re.sub(r"[ \-]", "", text))
            elif text:
                notes.append(f"`{to}` gave {text[:40]!r}, which is not a user, address or phone")
    if to_role:
        query = sa.select(User.id).where(
            User.workspace_id == ctx.call.workspace_id,
            User.role == to_role,
            User.is_active.is_(True),
        )
        if same_region:
            region = _owner_region(ctx)
            if region is None:
                notes.append("the record's owner has no region, so nobody of the same region")
                query = query.where(sa.false())
            else:
                query = query.where(User.region == region)
        user_ids.extend(ctx.call.session.scalars(query.order_by(User.id).limit(MAX_RECIPIENTS)))
    user_ids = _active_users(ctx, user_ids)
    return Audience(
        Recipients(
            user_ids=tuple(dict.fromkeys(user_ids)),
            addresses=tuple(dict.fromkeys(addresses)),
            mobiles=tuple(dict.fromkeys(mobiles)),
            mention_all=mention_all,
        ),
        tuple(notes),
        to,
    )


def _active_users(ctx: ActionContext, ids: list[int]) -> list[int]:
    """Only active users of this workspace (an id from a record may be stale)."""
    if not ids:
        return []
    found = set(
        ctx.call.session.scalars(
            sa.select(User.id).where(
                User.workspace_id == ctx.call.workspace_id,
                User.id.in_(set(ids)),
                User.is_active.is_(True),
            )
        )
    )
    return [i for i in ids if i in found]


def _owner_region(ctx: ActionContext) -> str | None:
    owner = (ctx.record or {}).get("owner")
    if not isinstance(owner, int):
        return None
    return ctx.call.session.scalar(
        sa.select(User.region).where(User.id == owner, User.workspace_id == ctx.call.workspace_id)
    )


def delivery_context(
    ctx: ActionContext,
    *,
    webhook_url: str | None = None,
    secret: str | None = None,
    send: Sender | None = None,
    timeout_s: float = 10.0,
) -> DeliveryContext:
    """The :class:`DeliveryContext` of an action run."""
    return DeliveryContext(
        settings=ctx.settings,
        policy=OutboundPolicy.from_settings(ctx.settings),
        idempotency_key=ctx.idempotency_key,
        now=ctx.call.now(),
        workspace_id=ctx.call.workspace_id,
        session=ctx.call.session,
        app_id=ctx.app.app_id,
        entity=ctx.entity,
        record_id=ctx.record_id,
        trigger_key=ctx.trigger_key,
        webhook_url=webhook_url,
        secret=secret,
        timeout_s=timeout_s,
        send=send,
    )


def deliver(
    ctx: ActionContext,
    channel_key: str,
    message: Message,
    audience: Audience,
    *,
    webhook_url: str | None,
    secret: str | None,
    send: Sender | None = None,
) -> ActionOutcome:
    """Sends ``message`` through ``channel_key``; maps failures to action errors."""
    recipients = audience.recipients
    if channel_key in PEOPLE_CHANNELS and not (recipients.user_ids or recipients.addresses):
        # Not a success: the rule's health counts it as a failure with this cause.
        cause = missing_recipient_cause(audience.to, audience.notes)
        return ActionOutcome(
            "skipped",
            {"channel": channel_key, "reason": "nobody to notify", "cause": cause,
             "notes": list(audience.notes)},
        )
    try:
        channel = channel_for(channel_key)
    except KeyError as exc:
        raise PermanentActionError(f"unknown channel {channel_key!r}") from exc
    dctx = delivery_context(ctx, webhook_url=webhook_url, secret=secret, send=send)
    try:
        delivery = channel.deliver(dctx, message, recipients)
    except DeliveryError as exc:
        error = TransientActionError if exc.retryable else PermanentActionError
        raise error(f"[{exc.code}] {exc}") from exc
    detail = delivery.as_json()
    if audience.notes:
        detail["notes"] = list(audience.notes)
    return ActionOutcome("ok", detail)


class NotifyHandler:
    """Runs ``notify`` actions."""

    type = "notify"

    def __init__(self, send: Sender | None = None) -> None:
        self.send = send

    def run(self, ctx: ActionContext, config: Any) -> ActionOutcome:
        """Renders the message, finds its recipients and delivers it once."""
        cfg: NotifyConfig = config
        message = Message(
            title=render_text(ctx, cfg.title),
            text=render_text(ctx, cfg.message),
            link=record_link(ctx),
        )
        audience = resolve_audience(
            ctx, to=cfg.to, to_role=cfg.to_role, same_region=bool(cfg.same_region)
        )
        return deliver(
            ctx, cfg.channel, message, audience,
            webhook_url=cfg.webhook_url, secret=cfg.secret, send=self.send,
        )


def message_of(title: str, text: str, link: str | None = None) -> Message:
    """A :class:`Message` (for callers that build one without an action, e.g. alerts)."""
    return Message(title=title, text=text, link=link)


register(NotifyHandler())
