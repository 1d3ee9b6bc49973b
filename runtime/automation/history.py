"""Run history (S34): one trigger run per outbox job, one action run per action of it.

:func:`trigger_run_for` and :func:`record_cut` write the history as jobs run;
:class:`RunHistory` reads it for the admin console and the REST API — filtered by rule,
outcome, record and time, newest first, a page at a time by keyset (``before`` = the
smallest id of the page, so page 1000 costs what page 1 costs) — and retries a failed
action by queueing a new outbox job that starts at that action.

Outcomes: ``succeeded``; ``failed`` (an action failed), ``skipped`` (an action had nobody
to notify or assign: **not a success**), ``cut`` (the loop cut) — the three failures of
rule health; ``running``, ``retrying`` (not finished); ``cancelled`` (the rule was no longer
published when its job ran: counted neither way).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.automation.causes import CAUSES, cause
from runtime.automation.models import ActionRun, OutboxJob, TriggerRun
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.errors import Conflict, Forbidden, Invalid, NotFound

#: The outbox job kind of a rule-health alert (and its recovery notice) to the admins.
HEALTH_ALERT_KIND = "health_alert"
SUCCESS_STATUSES = ("succeeded",)
FAILURE_STATUSES = ("failed", "skipped", "cut")
RUN_STATUSES = ("succeeded", "failed", "skipped", "cut", "running", "retrying", "cancelled")
#: What the ``outcome`` filter accepts: a status, or ``success`` / ``failure``.
OUTCOMES = ("success", "failure", *RUN_STATUSES)
PAGE_SIZE = 50
MAX_PAGE = 200


def _run_of(job: OutboxJob, status: str, started_at: datetime, **more: Any) -> TriggerRun:
    """A trigger run row describing ``job``."""
    return TriggerRun(
        workspace_id=job.workspace_id,
        app_id=job.app_id,
        outbox_id=job.id,
        trigger_key=job.trigger_key,
        kind=job.kind,
        entity=job.entity,
        record_id=job.record_id,
        status=status,
        attempts=0,
        started_at=started_at,
        **more,
    )


def trigger_run_for(session: Session, job: OutboxJob, now: datetime) -> TriggerRun:
    """The trigger run of ``job``, created on its first attempt."""
    run = session.scalars(sa.select(TriggerRun).where(TriggerRun.outbox_id == job.id)).one_or_none()
    if run is None:
        run = _run_of(job, "running", to_naive_utc(now))
        session.add(run)
    return run


def record_cut(session: Session, job: OutboxJob) -> None:
    """Records a firing the loop cut stopped (it counts as a failure of the rule)."""
    session.add(
        _run_of(job, "cut", job.created_at, finished_at=job.created_at, duration_ms=0,
                error=job.last_error, cause="loop_cut")
    )


def action_run(session: Session, key: str) -> ActionRun | None:
    """The action run with idempotency key ``key``, if any."""
    return session.scalars(sa.select(ActionRun).where(ActionRun.idempotency_key == key)).one_or_none()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


@dataclass(frozen=True)
class RunFilter:
    """The run-history filters: rule, outcome, record, and a time range on the run's start."""

    trigger_key: str | None = None
    outcome: str | None = None
    record_id: int | None = None
    since: datetime | None = None  # aware
    until: datetime | None = None  # aware, exclusive
    cause: str | None = None

    def as_query(self) -> dict[str, str]:
        """The non-empty filters as query parameters (for links that keep them)."""
        out: dict[str, str] = {}
        if self.trigger_key:
            out["rule"] = self.trigger_key
        if self.outcome:
            out["outcome"] = self.outcome
        if self.record_id is not None:
            out["record"] = str(self.record_id)
        if self.cause:
            out["cause"] = self.cause
        return out


MAX_ID = 2**63 - 1


def _when(value: str, name: str, tz: Any, *, end: bool) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            at = datetime.combine(day + timedelta(days=1) if end else day, time(), tz)
        else:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if at.tzinfo is None:
                at = at.replace(tzinfo=tz)
        at = at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(
            f"{name} must be a date (2026-11-30) or a date and time.",
            message_zh=f"{name} 必须是日期(如 2026-11-30)或日期时间。",
            errors={name: ["expected a date"]},
        ) from None
    return at


def parse_filter(args: dict[str, str | None], tz: Any) -> RunFilter:
    """A :class:`RunFilter` from query parameters (``rule``/``trigger``, ``outcome``/``status``,
    ``record``/``record_id``, ``since``, ``until``, ``cause``); unknown values are refused clearly."""
    rule = (args.get("rule") or args.get("trigger") or "").strip() or None
    outcome_name = "status" if args.get("status") and not args.get("outcome") else "outcome"
    outcome = (args.get(outcome_name) or "").strip() or None
    if outcome is not None and outcome not in OUTCOMES:
        raise Invalid(
            f"{outcome_name} must be one of: {', '.join(OUTCOMES)}.",
            message_zh=f"结果必须是以下之一:{', '.join(OUTCOMES)}。",
            errors={outcome_name: ["unknown outcome"]},
        )
    record_name = "record_id" if args.get("record_id") else "record"
    raw_record = (args.get(record_name) or "").strip()
    record_id = None
    if raw_record:
        if not raw_record.isdigit() or int(raw_record) > MAX_ID:
            raise Invalid(f"{record_name} must be a record id (a whole number).",
                          message_zh="记录必须是记录编号(整数)。", errors={record_name: ["not an id"]})
        record_id = int(raw_record)
    raw_since, raw_until = args.get("since"), args.get("until")
    since = _when(raw_since, "since", tz, end=False) if raw_since else None
    until = _when(raw_until, "until", tz, end=True) if raw_until else None
    if since and until and since >= until:
        raise Invalid("since must be before until.", message_zh="开始时间必须早于结束时间。",
                      errors={"since": ["after until"]})
    cause_key = (args.get("cause") or "").strip() or None
    if cause_key is not None and cause_key not in CAUSES:
        raise Invalid(f"cause must be one of: {', '.join(CAUSES)}.", message_zh=f"原因必须是以下之一:{', '.join(CAUSES)}。",
                      errors={"cause": ["unknown cause"]})
    return RunFilter(rule, outcome, record_id, since, until, cause_key)


def _changes(action: ActionRun) -> list[dict[str, Any]]:
    """The fields an action changed, before → after (set_field, assign), or the values of
    the record it created (create_record, before = null)."""
    detail = action.detail or {}
    if action.status != "done":
        return []
    if "field" in detail and "after" in detail and detail.get("write") != "unchanged":
        return [{"entity": detail.get("entity"), "record_id": detail.get("record_id"),
                 "field": detail["field"], "before": detail.get("before"), "after": detail["after"]}]
    if action.action_type == "create_record" and isinstance(detail.get("values"), dict):
        return [{"entity": detail.get("entity"), "record_id": detail.get("record_id"),
                 "field": key, "before": None, "after": value}
                for key, value in detail["values"].items()]
    return []


def _action_json(a: ActionRun) -> dict[str, Any]:
    detail = a.detail or {}
    failing = a.status == "failed" or (a.status == "skipped" and bool(detail.get("cause")))
    out: dict[str, Any] = {
        "id": a.id,
        "index": a.action_index,
        "type": a.action_type,
        "idempotency_key": a.idempotency_key,
        "status": a.status,
        "attempts": a.attempts,
        "duration_ms": a.duration_ms,
        "error": a.error,
        "detail": detail,
        "changes": _changes(a),
        "retryable": failing and not detail.get("retried_by"),
        "retried_by": detail.get("retried_by"),
    }
    if a.status == "skipped" and detail.get("cause"):
        out.update(cause(str(detail["cause"])).as_json())
    return out


def run_json(run: TriggerRun, actions: list[ActionRun]) -> dict[str, Any]:
    """The JSON form of a trigger run with its action runs."""
    out: dict[str, Any] = {
        "id": run.id,
        "outbox_id": run.outbox_id,
        "trigger": run.trigger_key,
        "kind": run.kind,
        "entity": run.entity,
        "record_id": run.record_id,
        "status": run.status,
        "success": run.status in SUCCESS_STATUSES,
        "attempts": run.attempts,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_ms": run.duration_ms,
        "error": run.error,
        "cause": None,
        "reason": None,
        "reason_zh": None,
        "actions": [_action_json(a) for a in actions],
    }
    if run.status in FAILURE_STATUSES or run.status == "cancelled":
        out.update(cause(run.cause).as_json())
    return out


def _query(workspace_id: int, app_id: int, flt: RunFilter) -> sa.Select[Any]:
    query = sa.select(TriggerRun).where(TriggerRun.workspace_id == workspace_id, TriggerRun.app_id == app_id)
    if flt.trigger_key:
        # The rule's own runs; the deliveries of its health alerts show in the unfiltered list.
        query = query.where(TriggerRun.trigger_key == flt.trigger_key, TriggerRun.kind != HEALTH_ALERT_KIND)
    if flt.outcome == "success":
        query = query.where(TriggerRun.status.in_(SUCCESS_STATUSES))
    elif flt.outcome == "failure":
        query = query.where(TriggerRun.status.in_(FAILURE_STATUSES))
    elif flt.outcome:
        query = query.where(TriggerRun.status == flt.outcome)
    if flt.record_id is not None:
        query = query.where(TriggerRun.record_id == flt.record_id)
    if flt.cause == "error":  # runs recorded before causes were, too
        query = query.where(sa.or_(TriggerRun.cause == "error", TriggerRun.cause.is_(None)),
                            TriggerRun.status.in_(FAILURE_STATUSES))
    elif flt.cause:
        query = query.where(TriggerRun.cause == flt.cause)
    if flt.since is not None:
        query = query.where(TriggerRun.started_at >= to_naive_utc(flt.since))
    if flt.until is not None:
        query = query.where(TriggerRun.started_at < to_naive_utc(flt.until))
    return query


def runs_page(
    session: Session,
    workspace_id: int,
    app_id: int,
    flt: RunFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of trigger runs, newest first, and the ``before`` cursor of the next page
    (None on the last page). Keyset: ``id < before ORDER BY id DESC LIMIT n`` walks an
    ``(app_id, …, id)`` index backwards, whatever the page number."""
    limit = max(1, min(limit, MAX_PAGE))
    query = _query(workspace_id, app_id, flt)
    if before is not None:
        query = query.where(TriggerRun.id < before)
    runs = list(session.scalars(query.order_by(TriggerRun.id.desc()).limit(limit + 1)))
    more = len(runs) > limit
    runs = runs[:limit]
    actions: dict[int, list[ActionRun]] = {}
    if runs:
        for row in session.scalars(
            sa.select(ActionRun)
            .where(ActionRun.outbox_id.in_([r.outbox_id for r in runs]))
            .order_by(ActionRun.action_index)
        ):
            actions.setdefault(row.outbox_id, []).append(row)
    items = [run_json(run, actions.get(run.outbox_id, [])) for run in runs]
    return items, (runs[-1].id if more and runs else None)


def _require(ctx: CallContext, roles: tuple[str, ...]) -> None:
    if ctx.actor.role not in roles:
        if roles == ("admin",):
            raise Forbidden("Only workspace admins may do this.", message_zh="只有工作区管理员可以执行此操作。")
        raise Forbidden("Only admins and managers may see automation runs.",
                        message_zh="只有管理员和经理可以查看自动化运行记录。")


class RunHistory:
    """The run history of one app for the acting user (admins and managers read; admins retry)."""

    def __init__(self, ctx: CallContext, app_id: int) -> None:
        _require(ctx, ("admin", "manager"))
        self.ctx = ctx
        self.app_id = app_id

    def page(self, flt: RunFilter, *, before: int | None = None,
             limit: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], int | None]:
        """See :func:`runs_page`."""
        return runs_page(self.ctx.session, self.ctx.workspace_id, self.app_id, flt, before=before, limit=limit)

    def get(self, run_id: int) -> dict[str, Any]:
        """One run of this app with its actions (NotFound for another app's or workspace's)."""
        run = self.ctx.session.scalars(
            sa.select(TriggerRun).where(TriggerRun.id == run_id, TriggerRun.app_id == self.app_id,
                                        TriggerRun.workspace_id == self.ctx.workspace_id)
        ).one_or_none()
        if run is None:
            raise NotFound("No such run.", message_zh="没有该运行记录。")
        actions = list(self.ctx.session.scalars(
            sa.select(ActionRun).where(ActionRun.outbox_id == run.outbox_id).order_by(ActionRun.action_index)
        ))
        return run_json(run, actions)

    def retry_action(self, action_run_id: int) -> dict[str, Any]:
        """Queues a failed action again: a new outbox job of the same rule and record that
        starts at that action (the ones before it already ran). Commits; returns
        ``{"outbox_id", "action_run_id"}``. A succeeded action, or one already retried, is
        refused (409)."""
        from runtime.automation.outbox import enqueue

        _require(self.ctx, ("admin",))
        session = self.ctx.session
        row = session.scalars(
            sa.select(ActionRun).where(ActionRun.id == action_run_id, ActionRun.app_id == self.app_id,
                                       ActionRun.workspace_id == self.ctx.workspace_id)
        ).one_or_none()
        if row is None:
            raise NotFound("No such action run.", message_zh="没有该动作运行记录。")
        detail = dict(row.detail or {})
        failing = row.status == "failed" or (row.status == "skipped" and detail.get("cause"))
        if not failing:
            raise Conflict(
                f"Only a failed action can be retried; this one is {row.status}.",
                message_zh=f"只有失败的动作可以重试;该动作的状态是 {row.status}。",
                code="not_retryable",
            )
        if detail.get("retried_by"):
            raise Conflict(
                "This action was already retried; retry the newer run if it failed too.",
                message_zh="该动作已经重试过;如果新的运行也失败了,请重试新的运行。",
                code="already_retried",
            )
        original = session.get(OutboxJob, row.outbox_id)
        if original is None:
            raise NotFound("The job of this action is gone.", message_zh="该动作所属的任务已不存在。")
        payload = dict(original.payload or {})
        payload.update({"from_action": row.action_index, "retry_of": row.id})
        if row.status == "skipped":  # the actions after it ran already
            payload["to_action"] = row.action_index
        job = enqueue(
            session,
            workspace_id=original.workspace_id, app_id=original.app_id, app_key=original.app_key,
            trigger_key=original.trigger_key, kind=original.kind, entity=original.entity,
            record_id=original.record_id, now=self.ctx.now(), depth=original.depth,
            payload=payload, dedup_key=f"retry:{row.id}",
        )
        detail["retried_by"] = job.id
        row.detail = detail
        session.commit()
        return {"outbox_id": job.id, "action_run_id": row.id}
