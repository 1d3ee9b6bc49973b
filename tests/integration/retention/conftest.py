"""Fixtures of the retention tests: the automation worlds, and a small app with two rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from runtime.automation.models import ActionRun, OutboxJob, TriggerRun
from runtime.clock import to_naive_utc
from tests.integration.automation.conftest import embedded_world, pg_url  # noqa: F401  (fixtures)

TICKETS: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "support",
    "label": "Support",
    "entities": [
        {"key": "ticket", "label": "Ticket", "fields": [
            {"key": "title", "type": "text", "label": "Title"},
            {"key": "closed", "type": "boolean", "label": "Closed"},
        ]},
    ],
    "triggers": [
        {"key": "tag", "label": "Tag", "entity": "ticket", "on": {"type": "created"},
         "actions": [{"type": "set_field", "field": "title", "value": '"tagged"'}]},
        {"key": "notify", "label": "Notify", "entity": "ticket", "on": {"type": "created"},
         "actions": [{"type": "set_field", "field": "closed", "value": "false"}]},
    ],
}


def seed_runs(session: Any, workspace_id: int, app_id: int, now: datetime, days: int) -> int:
    """For each of the last ``days`` days, per rule: 3 successes, 1 failure (with a cause),
    1 skipped, each with a done outbox row and an action run. Returns the runs made."""
    made = 0
    base = to_naive_utc(now)
    for day in range(1, days + 1):
        for key in ("tag", "notify"):
            for n, (status, cause) in enumerate(
                [("succeeded", None)] * 3 + [("failed", "no_recipient"), ("skipped", None)]
            ):
                at = base - timedelta(days=day) + timedelta(hours=2 + n)
                job = session.execute(sa.insert(OutboxJob).values(
                    workspace_id=workspace_id, app_id=app_id, app_key="support", trigger_key=key,
                    entity="ticket", record_id=1, kind="created", payload={}, depth=0,
                    status="done", attempts=1, available_at=at, created_at=at, finished_at=at,
                ).returning(OutboxJob.id)).scalar_one()
                session.execute(sa.insert(TriggerRun).values(
                    workspace_id=workspace_id, app_id=app_id, outbox_id=job, trigger_key=key,
                    kind="created", entity="ticket", record_id=1, status=status, attempts=1,
                    started_at=at, finished_at=at, duration_ms=5, cause=cause,
                    error="boom" if status == "failed" else None,
                ))
                session.execute(sa.insert(ActionRun).values(
                    workspace_id=workspace_id, app_id=app_id, outbox_id=job, trigger_key=key,
                    action_index=0, action_type="set_field", idempotency_key=f"{job}:0",
                    status="done", attempts=1, started_at=at, finished_at=at, detail={},
                ))
                made += 1
    session.commit()
    return made
