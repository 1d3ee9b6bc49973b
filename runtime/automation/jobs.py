"""Running one outbox job: the single code path of both execution modes.

:func:`run_job` is called by the embedded worker (after it claimed due rows) and by the
Celery task (which claims the row itself). A job runs the trigger's actions in order:

* each action has the idempotency key ``"<outbox id>:<index>"``; an action whose run is
  ``done`` is skipped, so a redelivered or re-claimed job never repeats a finished action;
* an action's effect and its ``done`` action run commit in **one transaction** (the run row
  is added to the session before the handler writes), so "effect happened" and "marked
  done" can't diverge for database effects (records, inbox). External effects (HTTP,
  robots, e-mail) are at-least-once and carry the idempotency key;
* a claim is a lease: the worker holds ``claim_token`` until ``locked_until``; each action
  transaction first renews the lease with ``UPDATE … WHERE claim_token = :mine`` (a row
  lock on PostgreSQL; SQLite serialises writers), so a job whose lease expired and was
  re-claimed elsewhere stops instead of running twice;
* a :class:`TransientActionError` puts the job back to ``pending`` with exponential
  backoff in ``available_at`` (never a Celery countdown); a permanent error, or too many
  failures of the action, fails the job; both are recorded and feed rule health;
* **a claim is an attempt when it is made**: the claim commits ``attempts + 1`` on the job,
  and each action's attempt is counted in a transaction committed *before* its effect runs
  (the first action's with the run's start, each next one's with the previous action's
  effect), so a worker killed mid-action still counts. A claim that finds the previous
  holder's lease run out counts an *expired claim* (the worker died or hung); at
  :data:`MAX_EXPIRED_CLAIMS` the job is failed ("worker died N times", cause
  ``worker_died``) instead of claimed again, and an admin can retry it from run history.
  Only an action's own failures (``ActionRun.failures``) spend its retry budget.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from builder.triggers import INLINE_ACTIONS, HttpWebhook, Trigger
from runtime.automation.actions.base import (
    ActionContext,
    ActionOutcome,
    PermanentActionError,
    TransientActionError,
    handler_for,
)
from runtime.automation.causes import cause_of_error
from runtime.automation.history import (
    FAILURE_STATUSES,
    HEALTH_ALERT_KIND,
    action_run,
    trigger_run_for,
)
from runtime.automation.models import ActionRun, OutboxJob, TriggerRun
from runtime.automation.outbox import jsonable
from runtime.automation.registry import load_handlers
from runtime.automation.rollout import describe as describe_rollout
from runtime.automation.rollout import rollout_member
from runtime.clock import from_naive_utc, to_naive_utc
from runtime.context import Actor, CallContext
from runtime.errors import CairnError, Conflict, NotFound
from runtime.logs import bind as bind_log
from runtime.models import Workspace
from runtime.platform import Platform

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
#: Claims of one job whose lease ran out (the worker died or hung) before it is failed.
MAX_EXPIRED_CLAIMS = 3
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(hours=1)

def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Rows a worker or the relay may take: due pending rows, and rows whose lease ran out."""
    return sa.or_(
        sa.and_(OutboxJob.status == "pending", OutboxJob.available_at <= now),
        sa.and_(OutboxJob.status.in_(("running", "dispatched")), OutboxJob.locked_until < now),
    )


def _task_claimable(now: datetime) -> sa.ColumnElement[bool]:
    # A task may take the row the relay dispatched to it at once, without waiting for the
    # dispatch lease; a running row only once its holder's lease ran out.
    return sa.or_(
        OutboxJob.status == "dispatched",
        sa.and_(OutboxJob.status == "pending", OutboxJob.available_at <= now),
        sa.and_(OutboxJob.status == "running", OutboxJob.locked_until < now),
    )


def backoff(attempt: int) -> timedelta:
    """The wait before attempt ``attempt + 1``: 10 s, 20 s, 40 s … at most an hour."""
    delay = BACKOFF_BASE * (2 ** max(0, attempt - 1))
    return min(delay, BACKOFF_CAP)


def new_token() -> str:
    """A fresh claim token."""
    return uuid.uuid4().hex


#: Counts a claim of a row whose holder's lease ran out (a ``running`` row) as expired.
_EXPIRED = sa.case((OutboxJob.status == "running", 1), else_=0)


def _claim_values(token: str, until: datetime) -> dict[str, Any]:
    """What a claim sets: the claimer's token and lease, one more attempt (counted when the
    claim is made), and one more expired claim if the row's previous holder's lease ran out."""
    return {
        "status": "running",
        "claim_token": token,
        "locked_until": until,
        "attempts": OutboxJob.attempts + 1,
        "expired_claims": OutboxJob.expired_claims + _EXPIRED,
    }


def claim_due(
    session: Session, now: datetime, *, token: str, lease: timedelta = DEFAULT_LEASE, limit: int = 20
) -> list[int]:
    """Claims up to ``limit`` runnable rows for ``token`` and commits; returns their ids.

    On PostgreSQL, rows locked by another claimer are skipped (``FOR UPDATE SKIP LOCKED``);
    SQLite serialises writers, so the plain ``UPDATE`` is safe there. A row whose lease ran
    out for the :data:`MAX_EXPIRED_CLAIMS`-th time is failed instead (:func:`bury`).
    """
    at = to_naive_utc(now)
    pick = (
        sa.select(OutboxJob.id)
        .where(_claimable(at))
        .order_by(OutboxJob.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(session.scalars(pick))
    if not ids:
        session.rollback()
        return []
    claimed = session.execute(
        sa.update(OutboxJob)
        .where(OutboxJob.id.in_(ids), _claimable(at))
        .values(_claim_values(token, at + lease))
        .returning(OutboxJob.id, OutboxJob.expired_claims),
        execution_options={"synchronize_session": False},
    ).all()
    dead = [job_id for job_id, expired in claimed if expired >= MAX_EXPIRED_CLAIMS]
    buried = bury(session, dead, now) if dead else []
    session.commit()
    after_bury(session, buried, now)
    return sorted(job_id for job_id, expired in claimed if expired < MAX_EXPIRED_CLAIMS)


def claim_one(
    session: Session, outbox_id: int, now: datetime, *, token: str, lease: timedelta = DEFAULT_LEASE
) -> bool:
    """Claims the row ``outbox_id`` if it is runnable (the Celery task's claim); commits."""
    at = to_naive_utc(now)
    expired = session.scalar(
        sa.update(OutboxJob)
        .where(OutboxJob.id == outbox_id, _task_claimable(at))
        .values(_claim_values(token, at + lease))
        .returning(OutboxJob.expired_claims),
        execution_options={"synchronize_session": False},
    )
    if expired is not None and expired >= MAX_EXPIRED_CLAIMS:
        buried = bury(session, [outbox_id], now)
        session.commit()
        after_bury(session, buried, now)
        return False
    session.commit()
    return expired is not None


def worker_died_message(times: int) -> str:
    """The error of a job failed because its worker kept dying (en / zh)."""
    return (f"worker_died: the worker died {times} times while running this job (its lease ran out each "
            f"time); it is not claimed again / 执行此任务的工作进程已 {times} 次中途退出(租约过期),不再领取")


def bury(session: Session, job_ids: list[int], now: datetime) -> list[OutboxJob]:
    """Fails jobs whose worker died :data:`MAX_EXPIRED_CLAIMS` times (in the caller's
    transaction): the job, its trigger run (cause ``worker_died``) and the action that was
    running — or, when none had started, the first one not done — so that run history
    shows it and an admin can retry it. The refused claim is not counted as an attempt."""
    at = to_naive_utc(now)
    jobs = list(session.scalars(sa.select(OutboxJob).where(OutboxJob.id.in_(job_ids))))
    for job in jobs:
        message = worker_died_message(job.expired_claims)
        job.attempts = max(0, job.attempts - 1)
        job.status = "failed"
        job.finished_at = at
        job.locked_until = None
        job.claim_token = None
        job.last_error = message
        run = trigger_run_for(session, job, now)
        run.status, run.finished_at, run.error, run.cause = "failed", at, message, "worker_died"
        run.attempts = job.attempts
        if run.started_at is not None:
            run.duration_ms = max(0, int((at - run.started_at).total_seconds() * 1000))
        running = list(session.scalars(
            sa.select(ActionRun).where(ActionRun.outbox_id == job.id, ActionRun.status.in_(("running", "retrying")))
        ))
        if not running:
            first = _first_pending_action(session, job)
            if first is not None:
                index, action_type = first
                running = [ActionRun(
                    workspace_id=job.workspace_id, app_id=job.app_id, outbox_id=job.id,
                    trigger_key=job.trigger_key, action_index=index, action_type=action_type,
                    idempotency_key=f"{job.id}:{index}", attempts=0, started_at=at,
                )]
                session.add(running[0])
        for row in running:
            row.status, row.error, row.finished_at = "failed", message, at
            row.detail = {**(row.detail or {}), "cause": "worker_died"}
    log.warning("outbox jobs %s failed: their worker died %d times", [j.id for j in jobs], MAX_EXPIRED_CLAIMS)
    return jobs


def _first_pending_action(session: Session, job: OutboxJob) -> tuple[int, str] | None:
    """The first action of ``job`` in its range that has no finished run (None if the rule
    is gone)."""
    from runtime.apps import load_published

    if job.kind == HEALTH_ALERT_KIND:
        return 0, "notify"
    try:
        app = load_published(session, job.workspace_id, job.app_id)
    except NotFound:
        return None
    trigger = next((t for t in app.definition.triggers if isinstance(t, Trigger) and t.key == job.trigger_key), None)
    if trigger is None:
        return None
    first, last = _action_range(job)
    done = set(session.scalars(sa.select(ActionRun.action_index).where(ActionRun.outbox_id == job.id)))
    for index, action in enumerate(trigger.actions):
        if action.type in INLINE_ACTIONS or index < first or (last is not None and index > last) or index in done:
            continue
        return index, action.type
    return None


def after_bury(session: Session, jobs: list[OutboxJob], now: datetime) -> None:
    """Rule health after jobs were buried (committed): the "failures in a row" check."""
    from runtime.automation.health import check_rule

    for job in jobs:
        if job.kind == HEALTH_ALERT_KIND:
            continue
        try:
            check_rule(session, job.workspace_id, job.app_id, job.trigger_key, now)
            session.commit()
        except Exception:  # health bookkeeping must never stop the claimer
            session.rollback()
            log.exception("could not update the health of trigger %s", job.trigger_key)


def _renew(session: Session, outbox_id: int, token: str, until: datetime) -> bool:
    result = session.execute(
        sa.update(OutboxJob)
        .where(OutboxJob.id == outbox_id, OutboxJob.claim_token == token, OutboxJob.status == "running")
        .values(locked_until=to_naive_utc(until)),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@dataclass
class JobResult:
    """What :func:`run_job` did with one job."""

    outbox_id: int
    status: str
    actions_run: list[int] = field(default_factory=list)
    error: str | None = None


def _max_attempts(action: Any) -> int:
    if isinstance(action, HttpWebhook):
        return action.retries + 1
    return MAX_ATTEMPTS


def _load_record(session: Session, app: Any, job: OutboxJob) -> dict[str, Any] | None:
    from runtime.evaluation import record_from_row

    if job.entity is None or job.record_id is None:
        return None
    try:
        table = app.table(job.entity)
        entity = app.entity(job.entity)
    except NotFound:
        return None
    row = session.execute(sa.select(table).where(table.c.id == job.record_id)).mappings().first()
    if row is None:
        snapshot = job.payload.get("record") if isinstance(job.payload, dict) else None
        return dict(snapshot) if isinstance(snapshot, dict) else None
    return record_from_row(entity, row)


def run_job(
    platform: Platform,
    outbox_id: int,
    *,
    token: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> JobResult:
    """Runs the actions of outbox job ``outbox_id`` (claiming it first unless ``token`` says
    the caller already holds the claim). Safe to call any number of times for one job."""
    load_handlers()
    with platform.session() as session:
        if token is None:
            token = new_token()
            if not claim_one(session, outbox_id, platform.clock.now(), token=token, lease=lease):
                return JobResult(outbox_id, "not_claimed")
        try:
            return _run_claimed(platform, session, outbox_id, token, lease)
        except OperationalError as exc:  # database gone mid-job: the lease will expire
            session.rollback()
            log.warning("outbox job %s interrupted by a database error: %s", outbox_id, exc)
            return JobResult(outbox_id, "interrupted", error=str(exc))


def _run_claimed(
    platform: Platform, session: Session, outbox_id: int, token: str, lease: timedelta
) -> JobResult:
    from runtime.apps import load_published

    clock = platform.clock
    job = session.get(OutboxJob, outbox_id)
    if job is None or job.claim_token != token or job.status != "running":
        session.rollback()
        return JobResult(outbox_id, "not_claimed")
    bind_log(workspace=job.workspace_id)
    started = time.monotonic()
    run = trigger_run_for(session, job, clock.now())
    run.status = "running"
    run.attempts = job.attempts
    run.started_at = to_naive_utc(clock.now())

    if job.kind == HEALTH_ALERT_KIND:
        session.commit()
        return _run_health_alert(platform, session, job, run, token, lease, started)
    workspace = session.get(Workspace, job.workspace_id)
    try:
        app = load_published(session, job.workspace_id, job.app_id)
    except NotFound as exc:
        return _finish(session, job, run, "cancelled", started, clock.now(), error=exc.message,
                       cause="unpublished")
    trigger = next(
        (t for t in app.definition.triggers if isinstance(t, Trigger) and t.key == job.trigger_key),
        None,
    )
    if trigger is None or workspace is None:
        return _finish(session, job, run, "cancelled", started, clock.now(),
                       error="the trigger is no longer published", cause="unpublished")
    if trigger.rollout is not None and job.record_id is not None:
        current = _load_record(session, app, job) or {}
        actor = (job.payload or {}).get("actor_id") if isinstance(job.payload, dict) else None
        if rollout_member(session, job.workspace_id, trigger.rollout, (current.get("owner"), actor)) is None:
            group = describe_rollout(trigger.rollout)["en"]
            return _finish(session, job, run, "cancelled", started, clock.now(),
                           error=f"not in the rollout group ({group})", cause="not_in_rollout")

    result = JobResult(outbox_id, "running")
    skip_causes: list[tuple[int, str, dict[str, Any]]] = []
    # A retry of a failed action (runtime.automation.history.retry_action) starts there.
    first, last = _action_range(job)
    todo = [
        index for index, action in enumerate(trigger.actions)
        if action.type not in INLINE_ACTIONS and index >= first and (last is None or index <= last)
    ]
    # The run's start and the first action's attempt commit before any effect runs.
    try:
        counted = _count_attempt(session, job, trigger, todo, 0, clock.now())
        session.commit()
    except IntegrityError:  # another holder counted it first: the job is theirs
        session.rollback()
        return JobResult(outbox_id, "lost_claim")
    for position, index in enumerate(todo):
        action = trigger.actions[index]
        key = f"{job.id}:{index}"
        existing = action_run(session, key)
        if existing is not None and existing.status in ("done", "skipped"):
            if existing.status == "skipped" and (existing.detail or {}).get("cause"):
                skip_causes.append((index, action.type, dict(existing.detail)))  # a redelivered job
            continue
        now = clock.now()
        if not _renew(session, job.id, token, now + lease):
            session.rollback()
            return JobResult(outbox_id, "lost_claim")
        record = _load_record(session, app, job)
        call = CallContext(
            session=session,
            workspace=workspace,
            actor=Actor.system(job.workspace_id),
            clock=clock,
            depth=job.depth + 1,
            extras={"listeners": platform.listeners, "platform": platform},
        )
        ctx = ActionContext(
            call=call,
            app=app,
            settings=platform.settings,
            trigger_key=trigger.key,
            entity=job.entity or "",
            record_id=job.record_id,
            record=record,
            idempotency_key=key,
            payload=job.payload or {},
        )
        row = existing or ActionRun(
            workspace_id=job.workspace_id,
            app_id=job.app_id,
            outbox_id=job.id,
            trigger_key=job.trigger_key,
            action_index=index,
            action_type=action.type,
            idempotency_key=key,
            attempts=0,
        )
        was_counted = counted == index
        # Marked done *before* the effect, in the effect's transaction: both commit or neither.
        row.status = "done"
        if not was_counted:
            row.attempts = (row.attempts or 0) + 1
        row.started_at = to_naive_utc(now)
        row.error = None
        a_started = time.monotonic()
        try:
            session.add(row)
            session.flush()
            outcome = _run_action(ctx, action)
            row.status = "skipped" if outcome.status == "skipped" else "done"
            row.detail = jsonable(dict(outcome.detail))
            if outcome.status == "skipped" and outcome.detail.get("cause"):
                skip_causes.append((index, action.type, dict(outcome.detail)))
            row.finished_at = to_naive_utc(clock.now())
            row.duration_ms = int((time.monotonic() - a_started) * 1000)
            # The next action's attempt commits with this one's effect, before its own runs.
            counted = _count_attempt(session, job, trigger, todo, position + 1, clock.now())
            session.commit()
            result.actions_run.append(index)
        except IntegrityError:
            session.rollback()
            # Another holder recorded this action first: it is theirs, stop here.
            return JobResult(outbox_id, "lost_claim")
        except Exception as exc:  # every failure is recorded; nothing escapes the job
            session.rollback()
            counted = None
            committed = action_run(session, key)
            if committed is not None and committed.status == "done":
                continue  # the effect committed before the error (e.g. inside a service)
            transient = isinstance(exc, TransientActionError | Conflict | OperationalError)
            if not isinstance(exc, CairnError | TransientActionError | PermanentActionError):
                log.exception("action %s of trigger %s failed", key, job.trigger_key)
            message = _error_text(exc)
            job = session.get(OutboxJob, outbox_id)  # type: ignore[assignment]
            assert job is not None
            run = trigger_run_for(session, job, clock.now())
            failed_row = committed or ActionRun(
                workspace_id=job.workspace_id,
                app_id=job.app_id,
                outbox_id=job.id,
                trigger_key=job.trigger_key,
                action_index=index,
                action_type=action.type,
                idempotency_key=key,
                attempts=0,
                started_at=to_naive_utc(now),
            )
            if not was_counted or committed is None:
                failed_row.attempts = (failed_row.attempts or 0) + 1
            failed_row.failures = (failed_row.failures or 0) + 1
            failed_row.finished_at = to_naive_utc(clock.now())
            failed_row.duration_ms = int((time.monotonic() - a_started) * 1000)
            failed_row.error = message
            # Only the action's own failures spend its retry budget (not claims that died).
            retry = transient and failed_row.failures < _max_attempts(action)
            failed_row.status = "retrying" if retry else "failed"
            session.add(failed_row)
            if retry:
                job.status = "pending"
                job.claim_token = None
                job.locked_until = None
                job.available_at = to_naive_utc(clock.now() + backoff(failed_row.failures))
                job.last_error = message
                run.status = "retrying"
                run.error = message
                run.duration_ms = int((time.monotonic() - started) * 1000)
                session.commit()
                return JobResult(outbox_id, "retrying", result.actions_run, message)
            return _finish(session, job, run, "failed", started, clock.now(), error=message,
                           cause=cause_of_error(message))
    job = session.get(OutboxJob, outbox_id)  # type: ignore[assignment]
    assert job is not None
    run = trigger_run_for(session, job, clock.now())
    if skip_causes:
        # Skipped is not success: an action that had nobody to notify or assign means the
        # rule did not do its job; the run says which action and why.
        index, action_type, detail = skip_causes[0]
        notes = "; ".join(str(n) for n in detail.get("notes") or ())
        error = f"action {index} ({action_type}) skipped: {detail.get('reason')}" + (f" — {notes}" if notes else "")
        return _finish(session, job, run, "skipped", started, clock.now(), error=error,
                       cause=str(detail["cause"]), actions=result.actions_run)
    return _finish(session, job, run, "succeeded", started, clock.now(), actions=result.actions_run)


def _count_attempt(
    session: Session, job: OutboxJob, trigger: Trigger, todo: list[int], position: int, now: datetime
) -> int | None:
    """Counts an attempt of the first action of ``todo[position:]`` not finished yet (its run
    row, ``running``, in the caller's transaction, which commits before that action's effect
    runs); returns its index, or None when nothing is left to run."""
    for index in todo[position:]:
        key = f"{job.id}:{index}"
        row = action_run(session, key)
        if row is not None and row.status in ("done", "skipped"):
            continue
        if row is None:
            row = ActionRun(
                workspace_id=job.workspace_id, app_id=job.app_id, outbox_id=job.id,
                trigger_key=job.trigger_key, action_index=index, action_type=trigger.actions[index].type,
                idempotency_key=key, attempts=0, failures=0,
            )
            session.add(row)
        row.status = "running"
        row.attempts = (row.attempts or 0) + 1
        row.started_at = to_naive_utc(now)
        return index
    return None


def _action_range(job: OutboxJob) -> tuple[int, int | None]:
    """The actions a job runs: all of them, or — for a retry — from the retried one on (to
    the end after a failure, which stopped the ones after it; only it after a skip)."""
    payload = job.payload if isinstance(job.payload, dict) else {}

    def whole(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    return whole(payload.get("from_action")) or 0, whole(payload.get("to_action"))


def _run_health_alert(
    platform: Platform, session: Session, job: OutboxJob, run: TriggerRun, token: str,
    lease: timedelta, started: float,
) -> JobResult:
    """Delivers a rule-health alert (or its recovery) to the workspace's admins' inboxes."""
    from runtime.automation.health import deliver_alert

    clock = platform.clock
    key = f"{job.id}:0"
    if not _renew(session, job.id, token, clock.now() + lease):
        session.rollback()
        return JobResult(job.id, "lost_claim")
    row = action_run(session, key) or ActionRun(
        workspace_id=job.workspace_id, app_id=job.app_id, outbox_id=job.id,
        trigger_key=job.trigger_key, action_index=0, action_type="notify",
        idempotency_key=key, attempts=0,
    )
    if row.status != "done":
        row.status = "done"
        row.attempts = (row.attempts or 0) + 1
        row.started_at = to_naive_utc(clock.now())
        session.add(row)
        try:
            session.flush()
            row.detail = jsonable(deliver_alert(session, platform.settings, job, key, clock.now()))
            row.finished_at = to_naive_utc(clock.now())
            session.commit()
        except IntegrityError:
            session.rollback()
            return JobResult(job.id, "lost_claim")
        except Exception as exc:  # recorded like any other failed action
            session.rollback()
            log.exception("rule-health alert %s could not be delivered", job.id)
            job = session.get(OutboxJob, job.id)  # type: ignore[assignment]
            assert job is not None
            return _finish(session, job, trigger_run_for(session, job, clock.now()), "failed",
                           started, clock.now(), error=_error_text(exc), cause="delivery_failed")
    return _finish(session, job, run, "succeeded", started, clock.now(), actions=[0])


def _run_action(ctx: ActionContext, action: Any) -> ActionOutcome:
    try:
        handler = handler_for(action.type)
    except KeyError:
        raise PermanentActionError(f"no handler is installed for action type {action.type!r}") from None
    return handler.run(ctx, action)


def _error_text(exc: BaseException) -> str:
    code = getattr(exc, "code", None) or exc.__class__.__name__
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    return f"{code}: {message}"[:2000]


def _finish(
    session: Session,
    job: OutboxJob,
    run: TriggerRun,
    status: str,
    started: float,
    now: datetime,
    *,
    error: str | None = None,
    actions: list[int] | None = None,
    cause: str | None = None,
) -> JobResult:
    at = to_naive_utc(now)
    job.status = {"succeeded": "done", "skipped": "done", "cancelled": "done"}.get(status, status)
    job.finished_at = at
    job.locked_until = None
    job.last_error = error
    run.status = status
    run.finished_at = at
    run.error = error
    run.cause = cause
    run.duration_ms = int((time.monotonic() - started) * 1000)
    session.commit()
    if status in FAILURE_STATUSES and job.kind != HEALTH_ALERT_KIND:
        from runtime.automation.health import check_rule

        try:
            check_rule(session, job.workspace_id, job.app_id, job.trigger_key, now)
            session.commit()
        except Exception:  # health bookkeeping must never fail the job
            session.rollback()
            log.exception("could not update the health of trigger %s", job.trigger_key)
    return JobResult(job.id, status, actions or [], error)


def due_count(session: Session, now: datetime) -> int:
    """How many outbox rows are runnable at ``now`` (monitoring and tests)."""
    return int(session.scalar(sa.select(sa.func.count()).where(_claimable(to_naive_utc(now)))) or 0)


def available_at(job: OutboxJob) -> datetime | None:
    """When a pending job becomes due (aware UTC)."""
    return from_naive_utc(job.available_at)
