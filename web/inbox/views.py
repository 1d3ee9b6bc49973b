"""Inbox pages (see the package docstring)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from runtime.automation.inbox import InboxService
from runtime.errors import CairnError
from web.apps.present import local_time
from web.auth.views import safe_next
from web.inbox import bp
from web.login import call_context

PAGE = 30
#: The bell counts up to this and shows "99+" beyond.
BELL_CAP = 99


def record_link(item: dict[str, Any]) -> str | None:
    """The page of a notification's record, when it names one."""
    if item.get("app") and item.get("entity") and item.get("record_id"):
        return url_for("apps.record_detail", app_key=item["app"], entity_key=item["entity"], record_id=item["record_id"])
    return None


@bp.app_context_processor
def bell() -> dict[str, Any]:
    """``inbox_unread()`` for base.html: the signed-in user's unread count (None for visitors)."""

    def inbox_unread() -> int | None:
        if not current_user.is_authenticated:
            return None
        try:
            return InboxService(call_context()).unread_count(BELL_CAP)
        except (CairnError, SQLAlchemyError):
            # An error page after a failed transaction still renders, without the count.
            return None

    return {"inbox_unread": inbox_unread, "inbox_cap": BELL_CAP}


@bp.get("/inbox")
@login_required  # type: ignore[misc]
def index() -> str:
    """The signed-in user's notifications, newest first (``unread=1``: only unread)."""
    service = InboxService(call_context())
    unread_only = request.args.get("unread") == "1"
    before = request.args.get("before", "")
    items = service.notifications(unread_only=unread_only, limit=PAGE + 1,
                                  before=int(before) if before.isdigit() and int(before) < 2**63 else None)
    more = len(items) > PAGE
    items = items[:PAGE]
    tz = call_context().tz
    for item in items:
        item["created_local"] = local_time(datetime.fromisoformat(item["created_at"].rstrip("Z")), tz)
    return render_template("inbox/index.html", items=items, unread_only=unread_only, record_link=record_link,
                           next_before=items[-1]["id"] if more and items else None)


@bp.post("/inbox/<int:notification_id>/read")
@login_required  # type: ignore[misc]
def mark_read(notification_id: int) -> Response:
    """Marks one notification read; ``open=1`` then goes to its record."""
    item = InboxService(call_context()).mark_read(notification_id)
    if request.form.get("open") == "1":
        link = record_link(item)
        if link:
            return redirect(link)
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))


@bp.post("/inbox/read-all")
@login_required  # type: ignore[misc]
def mark_all_read() -> Response:
    """Marks every notification read."""
    count = InboxService(call_context()).mark_all_read()
    flash(_("%(count)d notification(s) marked read.", count=count), "success")
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))
