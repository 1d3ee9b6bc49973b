"""A user's in-app inbox: reading their notifications and marking them read."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.automation.models import InboxNotification
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.errors import NotFound


def _json(n: InboxNotification) -> dict[str, Any]:
    return {
        "id": n.id,
        "title": n.title,
        "message": n.message,
        "level": n.level,
        "app_id": n.app_id,
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

    def notifications(self, *, unread_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        """The newest notifications first (at most ``limit``)."""
        query = self._mine()
        if unread_only:
            query = query.where(InboxNotification.read_at.is_(None))
        rows = self.ctx.session.scalars(query.order_by(InboxNotification.id.desc()).limit(limit))
        return [_json(n) for n in rows]

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
        return _json(row)
