"""The ``report`` action: a summary built from a query, delivered through a channel (S23).

Configuration (``builder.triggers.Report``): ``query`` (``entity``, optional ``where``
expression compiled to SQL, ``group_by`` field keys, ``limit`` of listed records),
``title``, ``channel`` and the recipients as for ``notify`` (``to``, ``to_role``, or a
robot's ``webhook_url`` / ``secret``). Usually fired by a ``schedule`` trigger ("every
Friday 17:00").

The message says how many records match, the counts per group (largest first), and lists
up to ``limit`` records, newest first, each with its title and a link when
``Settings.base_url`` (``CAIRN_BASE_URL``) is set. Three queries, all bounded: a count, a grouped
count (at most :data:`MAX_GROUPS` rows), and the listed records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from runtime.automation.actions.base import (
    ActionContext,
    ActionOutcome,
    PermanentActionError,
    register,
)
from runtime.automation.actions.notify import (
    Localized,
    deliver,
    record_url,
    render_text,
    resolve_audience,
)
from runtime.automation.channels.base import Message, Sender
from runtime.automation.templates import display

MAX_GROUPS = 20


class ReportQueryConfig(Protocol):
    """``builder.triggers.ReportQuery``."""

    entity: str
    where: str | None
    group_by: tuple[str, ...]
    limit: int


class ReportConfig(Protocol):
    """What the action reads (``builder.triggers.Report``)."""

    query: ReportQueryConfig
    channel: str
    title: Localized
    to: str | None
    to_role: str | None
    webhook_url: str | None
    secret: str | None


@dataclass(frozen=True)
class ReportData:
    """What the query found."""

    total: int
    group_by: tuple[str, ...]
    groups: tuple[tuple[tuple[Any, ...], int], ...]
    items: tuple[tuple[int, str], ...]


def build_message(
    title: str,
    data: ReportData,
    *,
    locale: str = "zh",
    link_for: Callable[[int], str | None] = lambda _id: None,
) -> Message:
    """The report as a message: total, counts per group, then one line per record."""
    zh = not locale.startswith("en")
    lines = [f"共 {data.total} 条" if zh else f"{data.total} records"]
    if data.group_by and data.groups:
        label = " / ".join(data.group_by)
        lines.append(("按 " + label + ":") if zh else f"By {label}:")
        for values, count in data.groups:
            name = " / ".join(display(v) or ("(空)" if zh else "(empty)") for v in values)
            lines.append(f"- {name}: {count}")
    if data.items:
        lines.append("")
        for record_id, text in data.items:
            link = link_for(record_id)
            lines.append(f"- {text}" + (f" {link}" if link else ""))
        if data.total > len(data.items):
            more = data.total - len(data.items)
            lines.append(f"… 另有 {more} 条" if zh else f"… and {more} more")
    return Message(title=title, text="\n".join(lines))


def run_query(ctx: ActionContext, query: ReportQueryConfig) -> ReportData:
    """Counts, groups and lists the records of ``query`` in the job's session."""
    from runtime.assignment import AppExpressions

    entity = ctx.app.entity(query.entity)
    table = ctx.app.table(query.entity)
    conditions: list[sa.ColumnElement[bool]] = []
    if query.where:
        conditions.append(AppExpressions(ctx.call, ctx.app).where(query.entity, query.where, table))
    session = ctx.call.session
    total = int(session.scalar(sa.select(sa.func.count()).select_from(table).where(*conditions)) or 0)
    groups: list[tuple[tuple[Any, ...], int]] = []
    if query.group_by:
        columns = [table.c[key] for key in query.group_by]
        count = sa.func.count().label("n")
        rows = session.execute(
            sa.select(*columns, count).where(*conditions).group_by(*columns)
            .order_by(count.desc(), *columns).limit(MAX_GROUPS)
        )
        groups = [(tuple(row[:-1]), int(row[-1])) for row in rows]
    title_key = entity.title_field if entity.title_field and entity.title_field in table.c else None
    columns_listed = [table.c.id] + ([table.c[title_key]] if title_key else [])
    rows = session.execute(
        sa.select(*columns_listed).where(*conditions).order_by(table.c.id.desc()).limit(query.limit)
    )
    items = [
        (int(row[0]), f"#{row[0]} {display(row[1])}".strip() if title_key else f"#{row[0]}")
        for row in rows
    ]
    return ReportData(total, tuple(query.group_by), tuple(groups), tuple(items))


def _link_for(ctx: ActionContext, entity: str) -> Callable[[int], str | None]:
    return lambda record_id: record_url(ctx, entity, record_id)


class ReportHandler:
    """Runs ``report`` actions."""

    type = "report"

    def __init__(self, send: Sender | None = None) -> None:
        self.send = send

    def run(self, ctx: ActionContext, config: Any) -> ActionOutcome:
        """Runs the query, builds the summary and delivers it once."""
        cfg: ReportConfig = config
        try:
            data = run_query(ctx, cfg.query)
        except KeyError as exc:
            raise PermanentActionError(f"report query refers to an unknown column {exc}") from exc
        locale = str(ctx.call.extras.get("locale", "zh"))
        message = build_message(
            render_text(ctx, cfg.title), data, locale=locale,
            link_for=_link_for(ctx, cfg.query.entity),
        )
        audience = resolve_audience(ctx, to=cfg.to, to_role=cfg.to_role)
        outcome = deliver(
            ctx, cfg.channel, message, audience,
            webhook_url=cfg.webhook_url, secret=cfg.secret, send=self.send,
        )
        detail: Mapping[str, Any] = {
            **outcome.detail, "total": data.total, "listed": len(data.items),
            "groups": _groups_json(data.groups),
        }
        return ActionOutcome(outcome.status, detail)


def _groups_json(groups: Sequence[tuple[tuple[Any, ...], int]]) -> list[dict[str, Any]]:
    return [{"values": [display(v) for v in values], "count": n} for values, n in groups]


register(ReportHandler())
