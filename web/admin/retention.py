"""The admin console's retention page: how long this workspace keeps each kind of history.

``GET /admin/retention`` shows the settings (the defaults until an admin saves them) and
what the next purge would delete; ``POST`` stores them (CSRF). The purge itself runs with
the sweeps (:mod:`runtime.retention`); ``cairn purge`` runs it by hand.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from runtime.errors import Invalid
from runtime.retention import DEFAULTS, MIN_RUN_DAYS, RetentionService, purge_workspace
from web.admin import bp
from web.i18n import language
from web.login import call_context

FIELDS = ("outbox_days", "runs_days", "events_days", "notifications_days", "audit_days")


def _page(entered: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
          error: str | None = None, status: int = 200) -> Any:
    ctx = call_context()
    current = RetentionService(ctx).get().as_json()
    pending = purge_workspace(ctx.session, ctx.workspace_id, ctx.now(), dry_run=True)
    values = {k: "" if v is None else str(v) for k, v in current.items()}
    values.update(entered or {})
    return render_template(
        "admin/retention.html", values=values, defaults=DEFAULTS.as_json(), errors=errors or {},
        error=error, pending=[(_kind_label(k), n) for k, n in sorted(pending.counts.items()) if n],
        min_run_days=MIN_RUN_DAYS,
    ), status


def _kind_label(kind: str) -> str:
    labels = {
        "outbox": _("Finished automation jobs"),
        "trigger_runs": _("Trigger runs"),
        "action_runs": _("Action runs"),
        "events": _("Automation events"),
        "notifications": _("Read notifications"),
        "audit_events": _("Audit events"),
    }
    return labels.get(kind, kind)


@bp.get("/retention")
def retention() -> Any:
    """The workspace's retention settings."""
    return _page()


@bp.post("/retention")
def save_retention() -> Any:
    """Stores the retention settings."""
    entered = {k: request.form.get(k, "").strip() for k in FIELDS}
    try:
        RetentionService(call_context()).update(dict(entered))
    except Invalid as exc:
        message = exc.message_zh if language() == "zh" else exc.message
        return _page(entered, exc.errors or {}, message, 422)
    flash(_("Retention settings saved."), "success")
    return redirect(url_for("admin.retention"), 303)
