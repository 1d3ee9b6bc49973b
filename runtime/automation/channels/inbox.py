"""The in-app inbox: one :class:`~runtime.automation.models.InboxNotification` per user.

Rows are written in the action's transaction, so they commit with the action run. The
``(user_id, idempotency_key)`` pair is unique: a redelivered job finds the rows it already
wrote and adds none.
"""

from __future__ import annotations

import sqlalchemy as sa

from runtime.automation.channels.base import (
    Delivery,
    DeliveryContext,
    DeliveryError,
    Message,
    Recipients,
    register_channel,
)
from runtime.clock import to_naive_utc

TITLE_LIMIT = 500


class Inbox:
    """Writes the message into each recipient's in-app inbox."""

    key = "inbox"

    def deliver(self, ctx: DeliveryContext, message: Message, recipients: Recipients) -> Delivery:
        """Adds one inbox row per recipient user that does not have this one yet."""
        from runtime.automation.models import InboxNotification

        if ctx.session is None:
            raise DeliveryError("inbox: no database session", retryable=False, code="not_configured")
        users = sorted(set(recipients.user_ids))
        if not users:
            return Delivery(self.key, detail={"written": 0})
        existing = set(
            ctx.session.scalars(
                sa.select(InboxNotification.user_id).where(
                    InboxNotification.workspace_id == ctx.workspace_id,
                    InboxNotification.idempotency_key == ctx.idempotency_key,
                    InboxNotification.user_id.in_(users),
                )
            )
        )
        text = message.text if not message.link else f"{message.text}\n{message.link}"
        first_line = message.text.strip().splitlines()[0] if message.text.strip() else ""
        title = message.title or first_line
        written = 0
        for user_id in users:
            if user_id in existing:
                continue
            ctx.session.add(
                InboxNotification(
                    workspace_id=ctx.workspace_id,
                    user_id=user_id,
                    app_id=ctx.app_id,
                    entity=ctx.entity,
                    record_id=ctx.record_id,
                    trigger_key=ctx.trigger_key,
                    idempotency_key=ctx.idempotency_key,
                    title=(title or "Cairn")[:TITLE_LIMIT],
                    message=text,
                    level=str(ctx.extra.get("level", "info")),
                    created_at=to_naive_utc(ctx.now),
                )
            )
            written += 1
        ctx.session.flush()
        return Delivery(
            self.key, sent_to=tuple(str(u) for u in users), detail={"written": written}
        )


register_channel(Inbox())
