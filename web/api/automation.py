"""API: automation — events posted to records, inbound webhooks, run history, rule health,
the rule sandbox, and the caller's inbox (see docs/automation.md)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from flask import jsonify, request

from runtime.apps import load_published
from runtime.automation.dryrun import dry_run_trigger
from runtime.automation.events import post_event, receive_webhook
from runtime.automation.health import RuleHealthBoard, rule_health
from runtime.automation.history import RunHistory, parse_filter
from runtime.automation.inbox import InboxService
from runtime.automation.sandbox import dry_run, dry_run_condition
from runtime.context import CallContext
from runtime.errors import Forbidden, Invalid
from web.api import bp
from web.api.auth import call_context, published_state
from web.api.body import json_body, load
from web.api.schemas import TriggerDryRunRequestSchema
from web.db import platform
from web.routing import MAX_ID


def _fits(value: int) -> bool:
    """Whether ``value`` fits a database id column (a larger one would overflow in SQL)."""
    return -MAX_ID <= value <= MAX_ID


def _require_manager(ctx: CallContext) -> None:
    if ctx.actor.role not in ("admin", "manager"):
        raise Forbidden("Only admins and managers may see automation runs.",
                        message_zh="只有管理员和经理可以查看自动化运行记录。")


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be a whole number.", message_zh=f"{name} 必须是整数。",
                      errors={name: ["expected an integer"]}) from None
    return max(lo, min(hi, value))


def _object() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("Send a JSON object.", message_zh="请发送 JSON 对象。", code="invalid_json")
    return body


@bp.post("/apps/<app_ref>/entities/<entity>/records/<int:record_id>/events")
def post_record_event(app_ref: str, entity: str, record_id: int) -> Any:
    """Posts a named event (``{"name": "pricing_exit", "data": {...}}``) to a record (S13)."""
    body = _object()
    name = body.get("name")
    if not isinstance(name, str):
        raise Invalid("Give the event's name.", message_zh="请提供事件名称。", errors={"name": ["required"]})
    result = post_event(call_context(), app_ref, entity, record_id, name, body.get("data"))
    return jsonify(result), 201


@bp.post("/hooks/<app_ref>/<trigger_key>")
def inbound_webhook(app_ref: str, trigger_key: str) -> Any:
    """Creates (or, by its dedup key, updates) a record from a JSON payload (S10)."""
    from runtime.records import record_json

    result = receive_webhook(call_context(), app_ref, trigger_key, _object(), listeners=platform().listeners)
    return jsonify(record=record_json(result["record"]), created=result["created"]), (
        201 if result["created"] else 200
    )


def _query_args() -> dict[str, str | None]:
    return {k: request.args.get(k) for k in
            ("rule", "trigger", "outcome", "status", "record", "record_id", "since", "until", "cause")}


@bp.get("/apps/<app_ref>/automation/runs")
def automation_runs(app_ref: str) -> Any:
    """Trigger runs with their action runs, newest first (S34), a page at a time.

    Query: ``trigger`` (or ``rule``), ``status`` (or ``outcome``: a status, ``success`` or
    ``failure``), ``record_id``, ``since``/``until`` (dates or ISO times), ``before`` (the
    ``next_before`` of the previous page), ``limit``."""
    ctx = call_context()
    _require_manager(ctx)
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    flt = parse_filter(_query_args(), ctx.tz)
    before = _int_arg("before", 0, 0, MAX_ID) or None
    items, next_before = RunHistory(ctx, app.app_id).page(flt, before=before, limit=_int_arg("limit", 100, 1, 200))
    return jsonify(items=items, next_before=next_before)


@bp.get("/apps/<app_ref>/automation/runs/<int:run>")
def automation_run(app_ref: str, run: int) -> Any:
    """One trigger run with its action runs, the fields they changed and why it failed."""
    ctx = call_context()
    _require_manager(ctx)
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    return jsonify(RunHistory(ctx, app.app_id).get(run))


@bp.post("/apps/<app_ref>/automation/action-runs/<int:action_run>/retry")
def automation_retry(app_ref: str, action_run: int) -> Any:
    """Queues a failed action again through the outbox (admins); 202 with the new job."""
    ctx = call_context()
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    result = RunHistory(ctx, app.app_id).retry_action(action_run)
    return jsonify(
        **result,
        message="The action was queued again; its run appears in the history when it has run.",
        message_zh="该动作已重新排队;运行后会出现在运行记录中。",
    ), 202


@bp.get("/apps/<app_ref>/automation/health")
def automation_health(app_ref: str) -> Any:
    """Success rate per trigger over ``days`` (default 7), flagged below its threshold (the
    stored one, or ``threshold`` as a fraction); failures by cause; daily rates."""
    ctx = call_context()
    _require_manager(ctx)
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    raw = request.args.get("threshold")
    threshold: float | None = None
    if raw is not None:
        try:
            threshold = float(raw)
        except ValueError:
            raise Invalid("threshold must be a number.", message_zh="threshold 必须是数字。") from None
        if not math.isfinite(threshold):
            # NaN and Infinity have no JSON form: echoing them back would be an invalid document.
            raise Invalid("threshold must be a finite number.", message_zh="threshold 必须是有限的数字。",
                          errors={"threshold": ["not a finite number"]})
    days = _int_arg("days", 7, 1, 90)
    window = timedelta(days=days)
    board = RuleHealthBoard(ctx, app.app_id).board(days=days, window=window)
    items = board["items"]
    if threshold is not None:
        items = [
            {**h.as_json(), "own_threshold": False}
            for h in rule_health(ctx.session, ctx.workspace_id, app.app_id, ctx.now(),
                                 window=window, threshold=threshold)
        ]
    return jsonify(
        window_days=days,
        threshold=threshold if threshold is not None else board["threshold"],
        items=items,
        causes=board["causes"],
        daily=board["daily"],
    )


@bp.put("/apps/<app_ref>/automation/health/threshold")
def automation_threshold(app_ref: str) -> Any:
    """Sets the alert threshold (admins): ``{"threshold_percent": 99.5}`` for the workspace,
    with ``"trigger"`` for one rule (``null`` percent removes the rule's own threshold)."""
    ctx = call_context()
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    body = _object()
    unknown = sorted(set(body) - {"threshold_percent", "trigger"})
    if unknown:
        raise Invalid(f"Unknown member(s): {', '.join(unknown)}.", message_zh=f"未知的字段:{', '.join(unknown)}。",
                      errors={k: ["unknown member"] for k in unknown})
    trigger = body.get("trigger")
    if trigger is not None and (not isinstance(trigger, str) or not trigger.strip() or len(trigger) > 63):
        raise Invalid("trigger must be a rule's key.", message_zh="trigger 必须是规则的键。",
                      errors={"trigger": ["not a rule key"]})
    if trigger is not None and trigger not in {getattr(t, "key", None) for t in app.definition.triggers}:
        raise Invalid(f"The app has no rule {trigger!r}.", message_zh=f"该应用没有规则 {trigger!r}。",
                      errors={"trigger": ["unknown rule"]})
    if "threshold_percent" not in body:
        raise Invalid("Give threshold_percent (0–100).", message_zh="请提供 threshold_percent(0–100)。",
                      errors={"threshold_percent": ["required"]})
    value = body["threshold_percent"]
    if value is None and trigger is None:
        raise Invalid("The workspace's threshold can't be removed; give a percentage from 0 to 100.",
                      message_zh="工作区的阈值不能删除;请提供 0 到 100 之间的百分比。",
                      errors={"threshold_percent": ["required"]})
    fraction = RuleHealthBoard(ctx, app.app_id).set_threshold(value, trigger_key=trigger, name="threshold_percent")
    return jsonify(trigger=trigger, threshold=fraction, threshold_percent=round(fraction * 100, 4),
                   own=trigger is not None and value is not None)


@bp.post("/apps/<app_ref>/automation/dry-run")
def automation_dry_run(app_ref: str) -> Any:
    """The sandbox (S16): ``{"trigger", "revision_id"?, "record_ids"?, "limit"?}`` or
    ``{"entity", "expression", "revision_id"?}``; nothing is changed."""
    ctx = call_context()
    _require_manager(ctx)
    body = _object()
    revision = body.get("revision_id")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or not _fits(revision)):
        raise Invalid("revision_id must be a number.", message_zh="revision_id 必须是数字。")
    limit = body.get("limit", 50)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise Invalid("limit must be a number.", message_zh="limit 必须是数字。")
    if "trigger" in body:
        ids = body.get("record_ids")
        if ids is not None and not (
            isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) and _fits(i) for i in ids)
        ):
            raise Invalid("record_ids must be a list of ids.", message_zh="record_ids 必须是编号列表。")
        return jsonify(dry_run(ctx, app_ref, str(body["trigger"]), revision_id=revision,
                               record_ids=ids, limit=limit))
    if isinstance(body.get("entity"), str) and isinstance(body.get("expression"), str):
        return jsonify(dry_run_condition(ctx, app_ref, body["entity"], body["expression"],
                                         revision_id=revision, limit=limit))
    raise Invalid("Give a trigger, or an entity and an expression.",
                  message_zh="请提供触发器,或实体与表达式。")


@bp.post("/apps/<app_ref>/triggers/<trigger_key>/dry-run")
def trigger_dry_run(app_ref: str, trigger_key: str) -> Any:
    """Dry run of the draft's trigger: ``{"days": 7}`` or ``{"records": [ids]}`` (+ an
    optional ``definition``); admins only; nothing is changed."""
    ctx = call_context()
    data = load(TriggerDryRunRequestSchema())
    return jsonify(dry_run_trigger(ctx, app_ref, trigger_key[:63], days=data.get("days"),
                                   record_ids=data.get("records"), definition=data.get("definition")))


@bp.get("/inbox")
def inbox() -> Any:
    """The caller's in-app notifications, newest first (``unread=1`` for unread only)."""
    service = InboxService(call_context())
    unread = request.args.get("unread") in ("1", "true")
    return jsonify(items=service.notifications(unread_only=unread, limit=_int_arg("limit", 50, 1, 200)))


@bp.post("/inbox/<int:notification_id>/read")
def mark_read(notification_id: int) -> Any:
    """Marks one of the caller's notifications as read."""
    row = InboxService(call_context()).mark_read(notification_id)
    return jsonify(id=row["id"], read=True)
