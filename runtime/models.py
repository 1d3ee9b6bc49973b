"""Platform tables as ORM models (migrated by Alembic, see ``runtime/migrations``).

Every row belongs to a workspace: tenancy is a column on every table, and every
repository query filters on it. Entity records do not live here: each published entity
is its own table (see :mod:`runtime.tables`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from builder.repository import AppRow, BigId, PlatformBase, RevisionRow

__all__ = [
    "AppRow",
    "ApiToken",
    "AuditEvent",
    "EntityTableRow",
    "FileRow",
    "PlatformBase",
    "RevisionRow",
    "StageHistory",
    "User",
    "Workspace",
]

#: The built-in roles: ``admin`` may do everything, ``manager`` and ``rep`` keep their meaning in
#: every app (run history, assignment pools). A user may also hold a role declared by one of
#: the workspace's published apps (see docs/decisions/0009-roles-from-apps.md).
ROLES = ("admin", "manager", "rep")


class Workspace(PlatformBase):
    """A tenant: its own users, apps, entity tables and files."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class User(PlatformBase):
    """A person who signs in; belongs to exactly one workspace."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(63), default="rep")
    region: Mapped[str | None] = mapped_column(sa.String(100))
    manager: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)

    def attributes(self) -> dict[str, Any]:
        """The attributes expressions see through ``me()`` and user-typed fields."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "region": self.region,
            "manager": self.manager,
        }


class ApiToken(PlatformBase):
    """A bearer token of one user, scoped to the user's workspace; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class EntityTableRow(PlatformBase):
    """Which SQL table holds the records of an entity of an app."""

    __tablename__ = "entity_tables"
    __table_args__ = (sa.UniqueConstraint("app_id", "entity_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    entity_key: Mapped[str] = mapped_column(sa.String(63))
    table_name: Mapped[str] = mapped_column(sa.String(63), unique=True)
    archived_columns: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    archived_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class AuditEvent(PlatformBase):
    """One write attempt on a record: who, when, what changed, and the outcome.

    Changes to people and access (users, API tokens, workspaces) are audited here too; they
    have no ``app_id`` and their ``entity_key`` is ``user``, ``api_token`` or ``workspace``.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_record", "app_id", "entity_key", "record_id", "at"),
        sa.Index("ix_audit_events_workspace_at", "workspace_id", "at"),
        # The newest event of an app's entity in one probe: dashboards' change stamp.
        sa.Index("ix_audit_events_app_entity_id", "app_id", "entity_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int | None] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    entity_key: Mapped[str] = mapped_column(sa.String(63))
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    action: Mapped[str] = mapped_column(sa.String(32))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    message: Mapped[str | None] = mapped_column(sa.Text)
    message_zh: Mapped[str | None] = mapped_column(sa.Text)
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    at: Mapped[datetime] = mapped_column(sa.DateTime)


class StageHistory(PlatformBase):
    """When a record entered and left each stage (dwell and regression rules read it)."""

    __tablename__ = "stage_history"
    __table_args__ = (
        sa.Index("ix_stage_history_record", "app_id", "entity_key", "record_id", "entered_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    entity_key: Mapped[str] = mapped_column(sa.String(63))
    record_id: Mapped[int] = mapped_column(sa.BigInteger)
    stage: Mapped[str] = mapped_column(sa.String(63))
    from_stage: Mapped[str | None] = mapped_column(sa.String(63))
    entered_at: Mapped[datetime] = mapped_column(sa.DateTime)
    left_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger)


class FileRow(PlatformBase):
    """An uploaded file; its bytes live behind a storage backend under ``storage_key``.

    ``attached_at`` is set when a record first refers to the file; files never attached
    are purged a day after upload (:func:`runtime.files.purge_unattached`).
    """

    __tablename__ = "files"
    __table_args__ = (sa.Index("ix_files_unattached", "attached_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_by: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    attached_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
