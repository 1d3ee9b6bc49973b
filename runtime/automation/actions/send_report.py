"""The ``send_report`` action: a dashboard, or one of its widgets, computed and delivered (issue 12).

Configuration (``builder.triggers.SendReport``): ``dashboard``, optional ``widget``,
``channel``, optional ``title`` (default: the dashboard's or widget's label), the
recipients as for ``notify`` (``to``, ``to_role``; a robot's ``webhook_url`` / ``secret``),
``as_role`` and ``top`` (rows listed per widget). Usually fired by a ``schedule`` trigger
("every Friday 17:00 Asia/Shanghai", S23).

Whose figures: the engine (:class:`runtime.dashboards.DashboardService`) computes them
under the permissions of the person reading them.

- People channels (``inbox``, ``email`` to workspace users): one message per recipient,
  computed as that user — a rep sees only the records the rep may read, and a recipient
  whose role may not open the dashboard gets nothing (noted in the run's detail).
- Group channels (robots, and e-mail addresses that are not workspace users): the same
  message reaches people we can't tell apart, so it is computed in the narrowest scope of
  the role ``as_role`` — that role's row conditions with no particular user, so a
  condition naming ``me()`` matches no record. A robot report needs ``as_role``; an
  address without it is left out (noted).

Every delivery of a run shares the job's idempotency key, suffixed per user, so a
redelivered job writes no second inbox row and sends no e-mail with a new Message-ID.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from typing import Any, Protocol

import sqlalchemy as sa

from runtime.automation.actions.base import (
    ActionContext,
    ActionOutcome,
    PermanentActionError,
    register,
)
from runtime.automation.actions.notify import (
    ROBOT_CHANNELS,
    Audience,
    Localized,
    deliver,
    locale_of,
    resolve_audience,
)
from runtime.automation.channels.base import Message, Recipients, Sender
from runtime.automation.report_message import Links, label_of, report_text
from runtime.context import Actor, CallContext
from runtime.errors import CairnError
from runtime.models import User


class SendReportConfig(Protocol):
    """What the action reads (``builder.triggers.SendReport``)."""

    dashboard: str
    widget: str | None
    channel: str
    title: Localized | None
    to: str | None
    to_role: str | None
    as_role: str | None
    webhook_url: str | None
    secret: str | None
    top: int


def _key_of(item: Any) -> Any:
    return item.get("key") if isinstance(item, Mapping) else getattr(item, "key", None)


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def dashboard_definition(ctx: ActionContext, key: str) -> Any:
    """The dashboard ``key`` of the published app (raw or loaded), or a permanent error."""
    for dashboard in ctx.app.definition.dashboards:
        if _key_of(dashboard) == key:
            return dashboard
    raise PermanentActionError(f"the app has no dashboard {key!r}")


def widget_entities(dashboard: Any) -> dict[str, str | None]:
    """Each widget key of ``dashboard`` → its source entity."""
    widgets = _get(dashboard, "widgets") or ()
    return {str(_key_of(w)): _get(w, "entity") for w in widgets}


def scope_actor(workspace_id: int, role: str) -> Actor:
    """A member of ``role`` who is nobody in particular: the narrowest scope of the role."""
    return Actor(id=None, workspace_id=workspace_id, role=role, name=role)


def compute(
    ctx: ActionContext, cfg: SendReportConfig, actor: Actor, lang: str,
) -> tuple[str, str, dict[str, Any]]:
    """(title, text, figures) of the report as ``actor`` reads it.

    Raises :class:`CairnError` when ``actor`` may not open the dashboard or read its data.
    """
    from runtime.dashboards import DashboardService

    call = CallContext(
        session=ctx.call.session, workspace=ctx.call.workspace, actor=actor, clock=ctx.call.clock,
        depth=ctx.call.depth, extras=dict(ctx.call.extras),
    )
    service = DashboardService(ctx.call.session, call, ctx.app)
    definition = dashboard_definition(ctx, cfg.dashboard)
    entities = widget_entities(definition)
    if cfg.widget:
        if cfg.widget not in entities:
            raise PermanentActionError(f"dashboard {cfg.dashboard!r} has no widget {cfg.widget!r}")
        results = [service.widget(cfg.dashboard, cfg.widget)]
        heading = label_of(results[0], lang)
    else:
        page = service.dashboard(cfg.dashboard)
        # A widget the reader may not read carries ``error`` instead of ``result``.
        results = [w.get("result") or w for w in page.get("widgets") or ()]
        heading = label_of(page, lang)
    links = Links(ctx.settings.base_url, ctx.app.key)
    text = report_text(
        [(r, r.get("entity") or entities.get(str(r.get("key")))) for r in results],
        dashboard=cfg.dashboard, lang=lang, top=cfg.top, links=links,
    )
    title = cfg.title.get(lang) if cfg.title is not None else heading
    figures = {str(r.get("key")): _headline(r) for r in results}
    return title or heading, text, figures


def _headline(result: Mapping[str, Any]) -> Any:
    """The figure kept in the run's detail for a widget (what the rule-health page shows)."""
    if result.get("total"):
        return (result.get("total") or {}).get("values")
    if result.get("sentence") is not None:
        return result.get("sentence")
    for name in ("rows", "records", "points", "stages"):
        if result.get(name) is not None:
            return {name: len(result.get(name) or ())}
    return None


def _users(ctx: ActionContext, ids: Sequence[int]) -> list[User]:
    if not ids:
        return []
    found = ctx.call.session.scalars(
        sa.select(User).where(User.workspace_id == ctx.call.workspace_id, User.id.in_(ids))
    )
    by_id = {u.id: u for u in found}
    return [by_id[i] for i in ids if i in by_id]


class SendReportHandler:
    """Runs ``send_report`` actions."""

    type = "send_report"

    def __init__(self, send: Sender | None = None) -> None:
        self.send = send

    def run(self, ctx: ActionContext, config: Any) -> ActionOutcome:
        """Computes the report for each recipient (or once for a group) and delivers it."""
        cfg: SendReportConfig = config
        links = Links(ctx.settings.base_url, ctx.app.key)
        link = links.dashboard(cfg.dashboard)
        if cfg.channel in ROBOT_CHANNELS:
            return self._to_group(ctx, cfg, link)
        audience = resolve_audience(ctx, to=cfg.to, to_role=cfg.to_role)
        notes = list(audience.notes)
        sent: list[str] = []
        reports: dict[str, Any] = {}
        for user in _users(ctx, audience.recipients.user_ids):
            if cfg.channel == "email" and "@" not in parseaddr(user.username)[1]:
                notes.append(f"user {user.id} has no e-mail address")
                continue
            lang = user.locale or locale_of(ctx)
            try:
                title, text, figures = compute(ctx, cfg, Actor.of(user), lang)
            except CairnError as exc:
                notes.append(f"user {user.id} ({user.role}) can't read the dashboard: {exc}")
                continue
            one = Audience(Recipients(user_ids=(user.id,)), (), audience.to)
            try:
                outcome = deliver(
                    dataclasses.replace(ctx, idempotency_key=f"{ctx.idempotency_key}:u{user.id}"),
                    cfg.channel, Message(title=title, text=text, link=link), one,
                    webhook_url=None, secret=None, send=self.send,
                )
            except PermanentActionError as exc:  # this person only (a refused address); retries are for all
                notes.append(f"user {user.id}: {exc}")
                continue
            sent.extend(outcome.detail.get("sent_to") or ())
            reports[str(user.id)] = figures
        if audience.recipients.addresses:
            if cfg.as_role:
                title, text, figures = compute(ctx, cfg, scope_actor(ctx.call.workspace_id, cfg.as_role),
                                               locale_of(ctx))
                group = Audience(Recipients(addresses=audience.recipients.addresses), (), audience.to)
                outcome = deliver(
                    dataclasses.replace(ctx, idempotency_key=f"{ctx.idempotency_key}:group"),
                    cfg.channel, Message(title=title, text=text, link=link), group,
                    webhook_url=None, secret=None, send=self.send,
                )
                sent.extend(outcome.detail.get("sent_to") or ())
                reports[f"as_role:{cfg.as_role}"] = figures
            else:
                notes.append("addresses that are not workspace users need as_role; left out")
        if not reports:
            # Nobody received it: the rule's health shows the cause (as notify does).
            empty = Audience(Recipients(), tuple(notes), audience.to)
            return deliver(ctx, cfg.channel, Message(title="", text=""), empty,
                           webhook_url=None, secret=None, send=self.send)
        detail: dict[str, Any] = {"channel": cfg.channel, "sent_to": sent, "reports": reports}
        if notes:
            detail["notes"] = notes
        return ActionOutcome("ok", detail)

    def _to_group(self, ctx: ActionContext, cfg: SendReportConfig, link: str | None) -> ActionOutcome:
        if not cfg.as_role:
            raise PermanentActionError("a robot report needs as_role (whose permissions compute it)")
        try:
            title, text, figures = compute(ctx, cfg, scope_actor(ctx.call.workspace_id, cfg.as_role),
                                           locale_of(ctx))
        except CairnError as exc:
            raise PermanentActionError(f"role {cfg.as_role} can't read the dashboard: {exc}") from exc
        audience = resolve_audience(ctx, to=cfg.to, to_role=None)
        outcome = deliver(
            ctx, cfg.channel, Message(title=title, text=text, link=link), audience,
            webhook_url=cfg.webhook_url, secret=cfg.secret, send=self.send,
        )
        return ActionOutcome(outcome.status, {**outcome.detail, "reports": {f"as_role:{cfg.as_role}": figures}})


register(SendReportHandler())
