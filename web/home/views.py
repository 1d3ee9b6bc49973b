"""Home: what the signed-in person has on today, across the workspace's published apps.

For every entity that works like a task (it has step cards, stages, or a date/time field)
the page lists the unread inbox messages first ("needs you", with links to their records),
then the person's own records, newest activity first, split into "today"
(created, updated or due today in the workspace's time zone) and "still open" (steps not
all done). Each entity costs one bounded, indexed query (``owner == me()``, by
``updated_at``); there is no count.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from builder.model import Entity, FieldType
from builder.repository import DefinitionRepository
from runtime.apps import PublishedApp
from runtime.automation.inbox import InboxService
from runtime.errors import CairnError
from runtime.tables import step_column
from web import db
from web.apps.present import display, local_time, resolve, title_of
from web.apps.services import published, reads, records
from web.home import bp
from web.inbox.views import record_link
from web.login import call_context, signed_in

PER_ENTITY = 20
#: Unread inbox messages shown at the top ("needs you"); the inbox has the rest.
NEEDS_YOU = 5


def _task_like(entity: Entity) -> bool:
    return bool(entity.steps or entity.stages) or any(
        f.type in (FieldType.DATE, FieldType.DATETIME) for f in entity.fields
    )


def _is_today(value: Any, today: date, tz: Any) -> bool:
    if isinstance(value, datetime):
        return value.astimezone(tz).date() == today
    if isinstance(value, date):
        return value == today
    return False


def _agenda() -> list[dict[str, Any]]:
    who = signed_in()
    ctx = call_context()
    today = ctx.now().astimezone(ctx.tz).date()
    sections = []
    for row in DefinitionRepository(db.session(), who.workspace.id).apps():
        if row.published_revision_id is None:
            continue
        try:
            app: PublishedApp = published(row.key)
        except CairnError:
            continue
        for entity in app.definition.entities:
            if entity.key in app.archived_entities or not _task_like(entity):
                continue
            try:
                page = records(app).list(
                    entity.key, filters={"owner": who.user.id}, order_by="-updated_at", limit=PER_ENTITY
                )
            except CairnError:  # the role may not read this entity
                continue
            today_items, open_items = [], []
            for record in page.items:
                dates = [record.get("created_at"), record.get("updated_at")] + [
                    record.get(f.key) for f in entity.fields if f.type in (FieldType.DATE, FieldType.DATETIME)
                ]
                steps_open = any(record.get(step_column(s.key)) is None for s in entity.steps)
                if any(_is_today(v, today, ctx.tz) for v in dates):
                    today_items.append(record)
                elif steps_open:
                    open_items.append(record)
            if today_items or open_items:
                refs = resolve(reads(app), app, entity, today_items + open_items)
                sections.append(
                    {"app": app, "entity": entity, "today": today_items, "open": open_items, "refs": refs}
                )
    return sections


@bp.get("/")
def index() -> str | Response:
    """The rep's "today" page; the sign-in page for visitors."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    ctx = call_context()
    return render_template(
        "home/today.html",
        needs_you=InboxService(ctx).notifications(unread_only=True, limit=NEEDS_YOU),
        record_link=record_link,
        sections=_agenda(),
        tz=ctx.tz,
        title_of=title_of,
        display=display,
        local_time=local_time,
        step_column=step_column,
    )


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness probe for load balancers."""
    return jsonify(status="ok")
