"""Storage of app definitions: apps and their draft / published revisions.

This is the one module of ``builder`` that touches a database. It declares the platform's
ORM base (shared with ``runtime.models``) and the rows of apps and revisions, and a
repository that reads and adds them inside a session it is given. It never commits: the
service that calls it owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class PlatformBase(DeclarativeBase):
    """Declarative base of every platform table (Alembic migrates these)."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class AppRow(PlatformBase):
    """An installed app of a workspace."""

    __tablename__ = "apps"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(sa.String(63))
    label: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    published_revision_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("app_revisions.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class RevisionRow(PlatformBase):
    """One revision of an app's definition: ``draft``, ``published`` or ``superseded``."""

    __tablename__ = "app_revisions"
    __table_args__ = (sa.UniqueConstraint("app_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16))
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    plan: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    created_by: Mapped[int | None] = mapped_column(sa.BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    published_by: Mapped[int | None] = mapped_column(sa.BigInteger)
    # A draft is saved many times; ``version`` counts the saves (optimistic locking).
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    updated_by: Mapped[int | None] = mapped_column(sa.BigInteger)


class DefinitionRepository:
    """Reads and adds apps and revisions of one workspace; never commits."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def app_by_key(self, key: str) -> AppRow | None:
        """The app ``key`` of this workspace, or None."""
        return self.session.scalars(
            sa.select(AppRow).where(AppRow.workspace_id == self.workspace_id, AppRow.key == key)
        ).one_or_none()

    def app(self, app_id: int) -> AppRow | None:
        """The app ``app_id`` if it belongs to this workspace."""
        return self.session.scalars(
            sa.select(AppRow).where(AppRow.workspace_id == self.workspace_id, AppRow.id == app_id)
        ).one_or_none()

    def apps(self) -> list[AppRow]:
        """Every app of this workspace, by key."""
        return list(
            self.session.scalars(
                sa.select(AppRow).where(AppRow.workspace_id == self.workspace_id).order_by(AppRow.key)
            )
        )

    def revision(self, revision_id: int) -> RevisionRow | None:
        """The revision ``revision_id`` if it belongs to this workspace."""
        return self.session.scalars(
            sa.select(RevisionRow).where(
                RevisionRow.workspace_id == self.workspace_id, RevisionRow.id == revision_id
            )
        ).one_or_none()

    def revisions(self, app_id: int) -> list[RevisionRow]:
        """The revisions of an app, newest first."""
        return list(
            self.session.scalars(
                sa.select(RevisionRow)
                .where(RevisionRow.workspace_id == self.workspace_id, RevisionRow.app_id == app_id)
                .order_by(RevisionRow.number.desc())
            )
        )

    def published(self, app: AppRow) -> RevisionRow | None:
        """The published revision of ``app``, or None."""
        if app.published_revision_id is None:
            return None
        return self.revision(app.published_revision_id)

    def draft(self, app_id: int) -> RevisionRow | None:
        """The newest draft revision of ``app_id`` (the one the designer edits), or None."""
        return self.session.scalars(
            sa.select(RevisionRow)
            .where(
                RevisionRow.workspace_id == self.workspace_id,
                RevisionRow.app_id == app_id,
                RevisionRow.status == "draft",
            )
            .order_by(RevisionRow.number.desc())
            .limit(1)
        ).first()

    def revision_by_number(self, app_id: int, number: int) -> RevisionRow | None:
        """The revision ``number`` of ``app_id`` in this workspace, or None."""
        return self.session.scalars(
            sa.select(RevisionRow).where(
                RevisionRow.workspace_id == self.workspace_id,
                RevisionRow.app_id == app_id,
                RevisionRow.number == number,
            )
        ).one_or_none()

    def delete(self, row: AppRow | RevisionRow) -> None:
        """Deletes ``row`` (flushed, so constraints are checked now)."""
        self.session.delete(row)
        self.session.flush()

    def next_number(self, app_id: int) -> int:
        """The number the next revision of ``app_id`` gets."""
        current = self.session.scalar(
            sa.select(sa.func.max(RevisionRow.number)).where(RevisionRow.app_id == app_id)
        )
        return (current or 0) + 1

    def add(self, row: AppRow | RevisionRow) -> None:
        """Adds a new row to the session and flushes it so it has an id."""
        self.session.add(row)
        self.session.flush()
