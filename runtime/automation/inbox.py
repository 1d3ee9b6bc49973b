"""A user's in-app inbox: reading their notifications, counting the unread, marking them read.

The ``inbox`` channel of the notify action and the rule-health alerts store the messages
(:class:`InboxNotification`); the bell on every page shows :meth:`InboxService.unread_count`,
the inbox page and ``/api/v1/inbox`` list them with a link to their record.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from builder.repository import AppRow
from runtime.automation.models import InboxNotification
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.errors import NotFound


def _json(n: InboxNotification, app_key: str | None = None) -> dict[str, Any]:
    return {
        "id": n.id,
        "title": n.title,
        "message": n.message,
        "level": n.level,
        "app_id": n.app_id,
        "app": app_key,
        "entity": n.entity,
        "record_id": n.record_id,
        "trigger": n.trigger_key,
        "created_at": n.created_at.isoformat() + "Z",
        "read_at": n.read_at.isoformat() + "Z" if n.read_at else None,
    }


class InboxService:
    """The acting user's notifications; owns the transaction of marking one read."""

    def __init__(self, ctx: CallContext) -> None:
        if ctx.actor.id is None:
            raise NotFound("No inbox.", message_zh="没有收件箱。")
        self.ctx = ctx
        self.user_id = ctx.actor.id

    def _mine(self) -> sa.Select[Any]:
        return sa.select(InboxNotification).where(
            InboxNotification.workspace_id == self.ctx.workspace_id,
            InboxNotification.user_id == self.user_id,
        )

    def notifications(
        self, *, unread_only: bool = False, limit: int = 50, before: int | None = None
    ) -> list[dict[str, Any]]:
        """The newest notifications first (at most ``limit``; ``before``: ids below it), each
        with its app's key so that a page can link to the record."""
        query = (
            sa.select(InboxNotification, AppRow.key)
            .outerjoin(AppRow, AppRow.id == InboxNotification.app_id)
            .where(
                InboxNotification.workspace_id == self.ctx.workspace_id,
                InboxNotification.user_id == self.user_id,
            )
        )
        if unread_only:
            query = query.where(InboxNotification.read_at.is_(None))
        if before is not None:
            query = query.where(InboxNotification.id < before)
        rows = self.ctx.session.execute(query.order_by(InboxNotification.id.desc()).limit(limit))
        return [_json(n, key) for n, key in rows]

    def unread_count(self, cap: int = 99) -> int:
        """How many notifications are unread, up to ``cap + 1`` (the bell shows "99+").

        Reads at most ``cap + 1`` ids off the ``(user_id, read_at, created_at)`` index: the
        cost does not grow with the inbox, and there is no ``count(*)`` over it.
        """
        ids = self.ctx.session.scalars(
            sa.select(InboxNotification.id)
            .where(
                InboxNotification.user_id == self.user_id,
                InboxNotification.read_at.is_(None),
                InboxNotification.workspace_id == self.ctx.workspace_id,
            )
            .limit(cap + 1)
        ).all()
        return len(ids)

    def mark_all_read(self) -> int:
        """Marks every unread notification of the user read; commits and returns how many."""
        result = self.ctx.session.execute(
            sa.update(InboxNotification)
            .where(
                InboxNotification.workspace_id == self.ctx.workspace_id,
                InboxNotification.user_id == self.user_id,
                InboxNotification.read_at.is_(None),
            )
            .values(read_at=to_naive_utc(self.ctx.now()))
        )
        self.ctx.session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def mark_read(self, notification_id: int) -> dict[str, Any]:
        """Marks one of the user's notifications read (idempotent) and commits."""
        row = self.ctx.session.scalars(
            self._mine().where(InboxNotification.id == notification_id)
        ).one_or_none()
        if row is None:
            raise NotFound("No such notification.", message_zh="没有该通知。")
        if row.read_at is None:
            row.read_at = to_naive_utc(self.ctx.now())
        self.ctx.session.commit()
        key = self.ctx.session.scalar(sa.select(AppRow.key).where(AppRow.id == row.app_id)) if row.app_id else None
        return _json(row, key)
