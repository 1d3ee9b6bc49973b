"""Pages of the admin console: run history (S34) and the rule-health board (S11).

``/admin/runs`` lists an app's trigger runs newest first with their actions, the fields
they changed (before → after) and why a run failed; a GET form filters by rule, outcome,
record and time (shareable URLs) and an "older runs" link walks the keyset. A failed action
is retried with a POST (CSRF) that queues it again through the outbox.

``/admin/health`` shows each rule's success rate over the window against its threshold,
a chart of the daily rates (an inline SVG, :mod:`web.admin.chart`), failures grouped by
cause with links to those runs, and the forms that change the workspace's threshold and a
rule's own. Everything the pages do is a runtime service (:mod:`runtime.automation.history`,
:mod:`runtime.automation.health`) also served by the REST API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from builder.repository import DefinitionRepository
from builder.triggers import Trigger
from runtime.apps import PublishedApp, load_published
from runtime.automation.causes import CAUSES
from runtime.automation.health import DEFAULT_WINDOW, RuleHealthBoard
from runtime.automation.history import OUTCOMES, RunFilter, RunHistory, parse_filter
from runtime.automation.rollout import describe as describe_rollout
from runtime.errors import CairnError, Invalid, NotFound
from web import db
from web.admin import bp
from web.admin.chart import success_chart
from web.i18n import language, text
from web.login import call_context, signed_in

CHART_DAYS = 14
PAGE_SIZE = 50
#: The outcome filter's choices, in the order the form shows them.
OUTCOME_CHOICES = ("failure", "success", "failed", "skipped", "cut", "retrying", "running", "cancelled")


def _apps() -> list[tuple[str, str]]:
    """(key, label) of the workspace's published apps."""
    who = signed_in()
    out = []
    for row in DefinitionRepository(db.session(), who.workspace.id).apps():
        if row.published_revision_id is None:
            continue
        try:
            app = load_published(db.session(), who.workspace.id, row.key)
        except NotFound:
            continue
        out.append((row.key, text(app.definition.label) or row.key))
    return out


def _app(key: str | None) -> tuple[PublishedApp | None, list[tuple[str, str]]]:
    """The chosen published app (default: the first; 404 for an unknown one) and the choices."""
    apps = _apps()
    chosen = key or (apps[0][0] if apps else None)
    if chosen is None:
        return None, apps
    try:
        return load_published(db.session(), signed_in().workspace.id, chosen), apps
    except NotFound:
        abort(404)


def _rules(app: PublishedApp) -> list[tuple[str, str]]:
    """(key, label) of the app's rules; a rule in staged rollout says to whom."""
    out = []
    for t in app.definition.triggers:
        if not isinstance(t, Trigger):
            continue
        name = text(t.label) or t.key
        if t.rollout is not None:
            group = describe_rollout(t.rollout)
            name += f"(灰度:{group['zh']})" if language() == "zh" else f" (rolled out to {group['en']})"
        out.append((t.key, name))
    return out


def cause_text(key: str | None) -> str:
    """A cause's readable reason in the page's language."""
    found = CAUSES.get(key or "error", CAUSES["error"])
    return found.zh if language() == "zh" else found.en


@bp.app_template_filter("cause_text")
def _cause_filter(key: str | None) -> str:
    return cause_text(key)


@bp.app_template_filter("admin_time")
def _admin_time(value: str | None) -> str:
    """An ISO time of the history (UTC) in the workspace's zone, to the second."""
    if not value:
        return ""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(call_context().tz).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/runs")
def runs() -> Any:
    """Run history of one app: filters, newest first, a page at a time."""
    ctx = call_context()
    app, apps = _app(request.args.get("app"))
    if app is None:
        return render_template("admin/runs.html", app=None, apps=apps, items=[], flt=RunFilter(),
                               rules=[], outcomes=OUTCOME_CHOICES, next_url=None, error=None, args={})
    args = {k: request.args.get(k, "") for k in ("rule", "outcome", "record", "since", "until", "cause")}
    error = None
    items: list[dict[str, Any]] = []
    next_url = None
    status = 200
    try:
        flt = parse_filter(dict(args), ctx.tz)
        raw_before = request.args.get("before", "")
        before = int(raw_before) if raw_before.isdigit() and len(raw_before) < 19 else None
        items, next_before = RunHistory(ctx, app.app_id).page(flt, before=before, limit=PAGE_SIZE)
        if next_before is not None:
            query: dict[str, Any] = {k: v for k, v in args.items() if v}
            next_url = url_for("admin.runs", app=app.key, before=next_before, **query)
    except Invalid as exc:
        flt = RunFilter()
        error = exc.message_zh if language() == "zh" else exc.message
        status = 422
    htmx_page = bool(request.headers.get("HX-Request")) and bool(request.args.get("before")) and not error
    return render_template(
        "admin/_runs.html" if htmx_page else "admin/runs.html", app=app, apps=apps, items=items, flt=flt, rules=_rules(app),
        rule_labels=dict(_rules(app)), entity_labels={e.key: text(e.label) or e.key for e in app.definition.entities},
        outcomes=OUTCOME_CHOICES, causes=list(CAUSES), next_url=next_url, error=error,
        args=args, tz=ctx.tz,
    ), status


@bp.post("/runs/actions/<int:action_run_id>/retry")
def retry_action(action_run_id: int) -> Response:
    """Queues a failed action again through the outbox, and says so."""
    ctx = call_context()
    app_key = request.form.get("app", "")
    try:
        app = load_published(ctx.session, ctx.workspace_id, app_key)
        result = RunHistory(ctx, app.app_id).retry_action(action_run_id)
    except NotFound:
        abort(404)
    except CairnError as exc:
        flash(exc.message_zh if language() == "zh" else exc.message, "error")
    else:
        flash(_("The action was queued again (job %(job)s); its run appears here when it has run.",
                job=result["outbox_id"]), "success")
    back = request.form.get("next", "")
    if not back.startswith("/admin/runs"):
        back = url_for("admin.runs", app=app_key)
    return redirect(back, 303)


def _board_context(app: PublishedApp, *, days: int, error: str | None = None,
                   entered: dict[str, str] | None = None) -> dict[str, Any]:
    ctx = call_context()
    board = RuleHealthBoard(ctx, app.app_id).board(days=days, window=DEFAULT_WINDOW)
    today = ctx.now().astimezone(ctx.tz).date()
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    labels = dict(_rules(app))
    series = {
        key: [(date.fromisoformat(p["day"]), p["success_rate"], p["succeeded"], p["succeeded"] + p["failed"])
              for p in points]
        for key, points in board["daily"].items()
    }
    chart = success_chart(
        series, span, board["threshold"], title=_("Daily success rate per rule"),
        threshold_label=_("Alert threshold"), labels=labels,
    )
    return {
        "app": app, "board": board, "chart": chart, "labels": labels, "days": days,
        "error": error, "entered": entered or {},
        "threshold_percent": f"{board['threshold'] * 100:g}",
    }


@bp.get("/health")
def health() -> Any:
    """The rule-health board of one app."""
    app, apps = _app(request.args.get("app"))
    if app is None:
        return render_template("admin/health.html", app=None, apps=apps)
    raw = request.args.get("days", "")
    days = int(raw) if raw.isdigit() and 1 <= int(raw) <= 90 else CHART_DAYS
    return render_template("admin/health.html", apps=apps, **_board_context(app, days=days))


@bp.post("/health/threshold")
def set_threshold() -> Any:
    """Stores the workspace's threshold, or a rule's own (or removes a rule's own)."""
    ctx = call_context()
    app_key = request.form.get("app", "")
    try:
        app = load_published(ctx.session, ctx.workspace_id, app_key)
    except NotFound:
        abort(404)
    rule = request.form.get("rule") or None
    value: str | None = request.form.get("threshold", "")
    if rule is not None and request.form.get("clear"):
        value = None
    if rule is not None and rule not in dict(_rules(app)):
        abort(404)
    try:
        fraction = RuleHealthBoard(ctx, app.app_id).set_threshold(value, trigger_key=rule)
    except Invalid as exc:
        message = exc.message_zh if language() == "zh" else exc.message
        apps = _apps()
        entered = {"rule": rule or "", "value": request.form.get("threshold", "")}
        return render_template("admin/health.html", apps=apps,
                               **_board_context(app, days=CHART_DAYS, error=message, entered=entered)), 422
    if value is None:
        flash(_("The rule uses the workspace's threshold again."), "success")
    else:
        flash(_("Alert threshold saved: %(value)s%%.", value=f"{fraction * 100:g}"), "success")
    return redirect(url_for("admin.health", app=app.key), 303)


__all__ = ["OUTCOMES", "cause_text"]
