"""The assignment tables: the log of decisions and the round-robin cursors.

Both are platform tables (registered on :class:`~builder.repository.PlatformBase`), created
by migration ``0003_assignment``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from builder.repository import BigId, PlatformBase


class AssignmentLog(PlatformBase):
    """One assignment decision: who got the record, by which rule, and why."""

    __tablename__ = "assignment_log"
    __table_args__ = (
        sa.Index("ix_assignment_log_record", "app_id", "entity", "record_id", "at"),
        sa.Index("ix_assignment_log_rule", "app_id", "rule_key", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(sa.String(63))
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    field: Mapped[str] = mapped_column(sa.String(63))
    rule_key: Mapped[str] = mapped_column(sa.String(63))
    decided_by: Mapped[str | None] = mapped_column(sa.String(63))
    strategy: Mapped[str | None] = mapped_column(sa.String(32))
    assignee_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    trigger_key: Mapped[str | None] = mapped_column(sa.String(63))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    summary: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(sa.DateTime)


class AssignmentCursor(PlatformBase):
    """The round-robin position of one rule: the user who got the last record."""

    __tablename__ = "assignment_cursors"
    __table_args__ = (sa.UniqueConstraint("app_id", "rule_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    rule_key: Mapped[str] = mapped_column(sa.String(63))
    last_user_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
