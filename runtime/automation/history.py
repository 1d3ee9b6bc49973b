"""Run history: one trigger run per outbox job, one action run per action of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.automation.models import ActionRun, OutboxJob, TriggerRun
from runtime.clock import to_naive_utc


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
        _run_of(job, "cut", job.created_at, finished_at=job.created_at, duration_ms=0, error=job.last_error)
    )


def action_run(session: Session, key: str) -> ActionRun | None:
    """The action run with idempotency key ``key``, if any."""
    return session.scalars(sa.select(ActionRun).where(ActionRun.idempotency_key == key)).one_or_none()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def list_runs(
    session: Session,
    workspace_id: int,
    app_id: int,
    *,
    trigger_key: str | None = None,
    status: str | None = None,
    record_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The latest trigger runs of an app, newest first, each with its action runs (S34)."""
    query = sa.select(TriggerRun).where(TriggerRun.workspace_id == workspace_id, TriggerRun.app_id == app_id)
    if trigger_key:
        query = query.where(TriggerRun.trigger_key == trigger_key)
    if status:
        query = query.where(TriggerRun.status == status)
    if record_id is not None:
        query = query.where(TriggerRun.record_id == record_id)
    runs = list(session.scalars(query.order_by(TriggerRun.id.desc()).limit(max(1, min(limit, 500)))))
    actions: dict[int, list[ActionRun]] = {}
    if runs:
        for row in session.scalars(
            sa.select(ActionRun)
            .where(ActionRun.outbox_id.in_([r.outbox_id for r in runs]))
            .order_by(ActionRun.action_index)
        ):
            actions.setdefault(row.outbox_id, []).append(row)
    return [
        {
            "id": run.id,
            "trigger": run.trigger_key,
            "kind": run.kind,
            "entity": run.entity,
            "record_id": run.record_id,
            "status": run.status,
            "attempts": run.attempts,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "duration_ms": run.duration_ms,
            "error": run.error,
            "actions": [
                {
                    "index": a.action_index,
                    "type": a.action_type,
                    "idempotency_key": a.idempotency_key,
                    "status": a.status,
                    "attempts": a.attempts,
                    "duration_ms": a.duration_ms,
                    "error": a.error,
                    "detail": a.detail,
                }
                for a in actions.get(run.outbox_id, [])
            ],
        }
        for run in runs
    ]
