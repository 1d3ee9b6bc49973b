"""Platform tables of automation: the outbox, run history, events, inbox and sweep state.

All timestamps are naive UTC (see :mod:`runtime.clock`). The outbox is the durable queue of
both execution modes: a record write adds rows in its own transaction; the embedded worker
claims them directly, the relay publishes them to Celery in scaled mode.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from builder.repository import BigId, PlatformBase

#: Outbox statuses: ``pending`` (waiting, possibly until ``available_at``), ``dispatched``
#: (published to Celery; the relay re-publishes it when ``locked_until`` passes),
#: ``running`` (claimed by a worker until ``locked_until``), ``done``, ``failed``.
OUTBOX_STATUSES = ("pending", "dispatched", "running", "done", "failed")


class OutboxJob(PlatformBase):
    """One trigger firing waiting to run its actions (one row per trigger per record)."""

    __tablename__ = "automation_outbox"
    __table_args__ = (
        sa.Index("ix_automation_outbox_due", "status", "available_at"),
        sa.Index("ix_automation_outbox_trigger", "app_id", "trigger_key"),
        # Retention deletes done rows oldest first (runtime.retention).
        sa.Index("ix_automation_outbox_finished", "workspace_id", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    app_key: Mapped[str] = mapped_column(sa.String(63))
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    entity: Mapped[str | None] = mapped_column(sa.String(63))
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    depth: Mapped[int] = mapped_column(sa.Integer, default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    #: Claims: incremented when a worker claims the job, committed before it runs.
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Claims whose lease ran out before the job finished (its worker died or hung); at
    #: :data:`runtime.automation.jobs.MAX_EXPIRED_CLAIMS` the job is failed, not re-claimed.
    expired_claims: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    available_at: Mapped[datetime] = mapped_column(sa.DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime)
    claim_token: Mapped[str | None] = mapped_column(sa.String(36))
    dedup_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class TriggerRun(PlatformBase):
    """The run of one outbox job: status, attempts, duration and the last error."""

    __tablename__ = "automation_trigger_runs"
    __table_args__ = (
        sa.Index("ix_automation_trigger_runs_rule", "app_id", "trigger_key", "started_at"),
        # Run history pages newest first by id (keyset), optionally by rule, outcome or record.
        sa.Index("ix_automation_trigger_runs_app_id", "app_id", "id"),
        sa.Index("ix_automation_trigger_runs_rule_id", "app_id", "trigger_key", "id"),
        sa.Index("ix_automation_trigger_runs_status_id", "app_id", "status", "id"),
        sa.Index("ix_automation_trigger_runs_record_id", "app_id", "record_id", "id"),
        # Rule health: runs finished in a window, grouped by rule, outcome and cause.
        sa.Index("ix_automation_trigger_runs_finished", "app_id", "finished_at", "trigger_key", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    kind: Mapped[str] = mapped_column(sa.String(32))
    entity: Mapped[str | None] = mapped_column(sa.String(63))
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
    #: Why a run did not succeed, as a key of :data:`runtime.automation.causes.CAUSES`.
    cause: Mapped[str | None] = mapped_column(sa.String(32))


class ActionRun(PlatformBase):
    """One action of a job; ``idempotency_key`` (``<outbox id>:<index>``) is unique, so an
    action whose run is ``done`` is never repeated by a redelivered job."""

    __tablename__ = "automation_action_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    action_index: Mapped[int] = mapped_column(sa.Integer)
    action_type: Mapped[str] = mapped_column(sa.String(32))
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    #: Times the action was started, counted (and committed) before its effect runs, so a
    #: worker killed mid-action still counts.
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Times the action itself failed (raised); only these spend its retry budget.
    failures: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class RecordEvent(PlatformBase):
    """A named event posted to a record through the API (S13: page views, downloads …)."""

    __tablename__ = "automation_events"
    __table_args__ = (
        sa.Index("ix_automation_events_record", "app_id", "entity", "record_id", "at"),
        sa.Index("ix_automation_events_workspace_at", "workspace_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(sa.String(63))
    record_id: Mapped[int] = mapped_column(sa.BigInteger)
    name: Mapped[str] = mapped_column(sa.String(63))
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger)


class InboxNotification(PlatformBase):
    """A message in a user's in-app inbox (the ``inbox`` channel and rule-health alerts)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user", "user_id", "read_at", "created_at"),
        sa.Index("ix_notifications_read", "workspace_id", "read_at"),
        sa.UniqueConstraint("user_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    app_id: Mapped[int | None] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    entity: Mapped[str | None] = mapped_column(sa.String(63))
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    trigger_key: Mapped[str | None] = mapped_column(sa.String(63))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.String(500))
    message: Mapped[str] = mapped_column(sa.Text)
    level: Mapped[str] = mapped_column(sa.String(16), default="info")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class WebhookKey(PlatformBase):
    """The record an inbound webhook's dedup value already created (S10)."""

    __tablename__ = "automation_webhook_keys"
    __table_args__ = (sa.UniqueConstraint("app_id", "trigger_key", "dedup_value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    dedup_value: Mapped[str] = mapped_column(sa.String(255))
    record_id: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class ScheduleState(PlatformBase):
    """Per time-based trigger: the last schedule fire, or how far an elapsed sweep got."""

    __tablename__ = "automation_schedule_state"
    __table_args__ = (sa.UniqueConstraint("app_id", "trigger_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    last_fire_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: Elapsed triggers before the due table (migration 0010): how far the time-window
    #: sweep got; the first sweep after the upgrade catches up from there.
    swept_until: Mapped[datetime | None] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
    #: Elapsed: ``<entity>|<since>`` the due rows were built for (NULL: not built yet).
    due_signature: Mapped[str | None] = mapped_column(sa.String(200))
    #: Elapsed catch-up of records already due when the due rows were built: records
    #: with ``since`` from ``catchup_from`` (NULL: the beginning) to ``catchup_until``.
    catchup_from: Mapped[datetime | None] = mapped_column(sa.DateTime)
    catchup_until: Mapped[datetime | None] = mapped_column(sa.DateTime)


class ElapsedMark(PlatformBase):
    """An elapsed trigger fired for a record in the episode that started at ``since``."""

    __tablename__ = "automation_elapsed_marks"
    __table_args__ = (sa.UniqueConstraint("app_id", "trigger_key", "record_id", "since"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    record_id: Mapped[int] = mapped_column(sa.BigInteger)
    since: Mapped[datetime] = mapped_column(sa.DateTime)
    fired_at: Mapped[datetime] = mapped_column(sa.DateTime)


class ElapsedDue(PlatformBase):
    """A record's open episode for an elapsed trigger: it falls due at ``since`` + the
    trigger's ``after``. Written with the record (:mod:`runtime.automation.due`), removed by
    the sweep that settles it (fired, or its condition did not hold), so the table holds
    only episodes not yet settled and the sweep reads the index range of those due."""

    __tablename__ = "automation_elapsed_due"
    __table_args__ = (sa.Index("ix_automation_elapsed_due_since", "app_id", "trigger_key", "since"),)

    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    trigger_key: Mapped[str] = mapped_column(sa.String(63), primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    since: Mapped[datetime] = mapped_column(sa.DateTime)


class RuleAlert(PlatformBase):
    """A trigger flagged unhealthy (success rate below the threshold) until it recovers."""

    __tablename__ = "automation_rule_alerts"
    __table_args__ = (sa.Index("ix_automation_rule_alerts_rule", "app_id", "trigger_key", "raised_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(sa.String(63))
    success_rate: Mapped[float] = mapped_column(sa.Float)
    runs: Mapped[int] = mapped_column(sa.Integer)
    failures: Mapped[int] = mapped_column(sa.Integer)
    raised_at: Mapped[datetime] = mapped_column(sa.DateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class RuleThreshold(PlatformBase):
    """The success rate below which a rule is flagged: the workspace's default (``scope``
    ``"*"``) or one rule's own (``scope`` ``"<app id>:<trigger key>"``)."""

    __tablename__ = "automation_rule_thresholds"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(sa.String(100))
    app_id: Mapped[int | None] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    trigger_key: Mapped[str | None] = mapped_column(sa.String(63))
    threshold: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_by: Mapped[int | None] = mapped_column(sa.BigInteger)
