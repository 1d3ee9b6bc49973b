"""Inbound automation: named events posted to records (S13) and inbound webhooks (S10).

Both are services that own their transaction: the event (or the record written by the
webhook) and the outbox rows of the triggers it fires commit together.

**Event sequences.** An ``event`` trigger names a sequence of events and a window
(``["product_page", "white_paper", "pricing_exit"]`` within ``3d``). When an event is
posted, each trigger whose sequence contains it looks at the record's events in the window
that came after its previous firing; if they contain the sequence (in order, unless
``ordered`` is false) the trigger fires — once per completed sequence.

**Inbound webhooks.** ``POST /api/v1/hooks/<app>/<trigger>`` creates a record of the
trigger's entity from the JSON payload, or — when the trigger has a ``dedup_key`` field
and a record with that value was created by the hook before — updates it. The dedup value
is claimed in :class:`~runtime.automation.models.WebhookKey` (unique), so two concurrent
deliveries of the same lead create one record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from builder.naming import is_identifier
from builder.triggers import OnEvent, OnWebhook, Trigger
from runtime.automation.models import OutboxJob, RecordEvent, WebhookKey
from runtime.automation.outbox import enqueue, enqueue_many, jsonable, outbox_row
from runtime.changes import Prompt, RecordChange
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.errors import Conflict, Invalid, NotFound
from runtime.visibility import Visibility

MAX_EVENT_DATA = 50


def _load_app(ctx: CallContext, app_key: str) -> Any:
    from runtime.apps import load_published

    return load_published(ctx.session, ctx.workspace_id, app_key)


def _sequence_met(names: Sequence[str], on: OnEvent) -> bool:
    if on.ordered:
        position = 0
        for name in names:
            if position < len(on.sequence) and name == on.sequence[position]:
                position += 1
        return position == len(on.sequence)
    return set(on.sequence) <= set(names)


def _when_holds(ctx: CallContext, app: Any, trigger: Trigger, record: Mapping[str, Any]) -> bool:
    if not trigger.when or trigger.entity is None:
        return True
    from runtime.evaluation import RecordEvaluator

    return bool(RecordEvaluator(ctx, app, visibility=Visibility.everything(app)).holds(app.entity(trigger.entity), trigger.when, record, False))


def post_event(
    ctx: CallContext,
    app_key: str,
    entity: str,
    record_id: int,
    name: str,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Stores event ``name`` on a record and fires the event triggers it completes; commits.

    Returns ``{"event_id": …, "fired": [trigger keys]}``. The actor must be able to read
    the record.
    """
    from runtime.records import RecordService

    try:
        if not is_identifier(name):
            raise Invalid(
                "An event name is a key: lowercase letters, digits and underscores.",
                message_zh="事件名须为标识:小写字母、数字和下划线。",
                errors={"name": ["invalid"]},
            )
        if data is not None and (not isinstance(data, Mapping) or len(data) > MAX_EVENT_DATA):
            raise Invalid("Event data is a small JSON object.", message_zh="事件数据须为较小的 JSON 对象。",
                          errors={"data": ["invalid"]})
        app = _load_app(ctx, app_key)
        record = RecordService(ctx, app).get(entity, record_id)
        now = ctx.now()
        event = RecordEvent(
            workspace_id=ctx.workspace_id, app_id=app.app_id, entity=entity, record_id=record_id,
            name=name, at=to_naive_utc(now), data=jsonable(dict(data or {})), actor_id=ctx.actor.id,
        )
        ctx.session.add(event)
        ctx.session.flush()
        fired: list[str] = []
        jobs: list[dict[str, Any]] = []
        for trigger in app.definition.triggers:
            if (
                not isinstance(trigger, Trigger)
                or not isinstance(trigger.on, OnEvent)
                or trigger.entity != entity
                or not trigger.enabled
                or name not in trigger.on.sequence
            ):
                continue
            job = _fire_if_complete(ctx, app, trigger, trigger.on, record, event)
            if job is not None:
                jobs.append(job)
                fired.append(trigger.key)
        enqueue_many(ctx.session, jobs)  # one INSERT for every trigger the event completed
        ctx.session.commit()
        return {"event_id": event.id, "fired": fired}
    except Exception:
        ctx.session.rollback()
        raise


def _fire_if_complete(
    ctx: CallContext, app: Any, trigger: Trigger, on: OnEvent, record: Mapping[str, Any], event: RecordEvent
) -> dict[str, Any] | None:
    """The outbox row to queue if ``event`` completes ``trigger``'s sequence, else None."""
    previous = ctx.session.scalars(
        sa.select(OutboxJob.payload)
        .where(
            OutboxJob.app_id == app.app_id, OutboxJob.trigger_key == trigger.key,
            OutboxJob.record_id == event.record_id, OutboxJob.kind == "event",
        )
        .order_by(OutboxJob.id.desc())
        .limit(1)
    ).first()
    after_id = int(previous.get("last_event_id", 0)) if isinstance(previous, dict) else 0
    window_start = to_naive_utc(ctx.now() - on.within_delta)
    rows = ctx.session.execute(
        sa.select(RecordEvent.id, RecordEvent.name)
        .where(
            RecordEvent.app_id == app.app_id, RecordEvent.entity == event.entity,
            RecordEvent.record_id == event.record_id, RecordEvent.id > after_id,
            RecordEvent.at >= window_start, RecordEvent.name.in_(on.sequence),
        )
        .order_by(RecordEvent.at, RecordEvent.id)
    ).all()
    if not _sequence_met([r.name for r in rows], on) or not _when_holds(ctx, app, trigger, record):
        return None
    return outbox_row(
        workspace_id=ctx.workspace_id, app_id=app.app_id, app_key=app.key, trigger_key=trigger.key,
        kind="event", entity=event.entity, record_id=event.record_id, now=ctx.now(), depth=ctx.depth,
        payload={"events": [r.id for r in rows], "last_event_id": event.id, "actor_id": ctx.actor.id},
        dedup_key=f"event:{app.app_id}:{trigger.key}:{event.record_id}:{event.id}",
    )


class _HookListener:
    """Inside the webhook's write: binds the dedup key to the new record, queues the hook."""

    def __init__(self, trigger: Trigger, key: WebhookKey | None, payload: Mapping[str, Any]) -> None:
        self.trigger = trigger
        self.key = key
        self.payload = payload
        self.record_id: int | None = None

    def on_change(self, ctx: CallContext, app: Any, changes: Sequence[RecordChange]) -> Sequence[Prompt]:
        for change in changes:
            if change.kind not in ("created", "updated") or change.entity != self.trigger.entity:
                continue
            if self.record_id is not None:
                continue
            self.record_id = change.record_id
            if self.key is not None and not self.key.record_id:
                self.key.record_id = change.record_id
            if _when_holds(ctx, app, self.trigger, change.after or {}):
                enqueue(
                    ctx.session,
                    workspace_id=ctx.workspace_id, app_id=app.app_id, app_key=app.key,
                    trigger_key=self.trigger.key, kind="webhook", entity=change.entity,
                    record_id=change.record_id, now=ctx.now(), depth=ctx.depth,
                    payload={"created": change.kind == "created", "body": dict(self.payload)},
                )
        return []


def receive_webhook(
    ctx: CallContext, app_key: str, trigger_key: str, body: Mapping[str, Any], listeners: Sequence[Any] = ()
) -> dict[str, Any]:
    """Creates (or, by dedup key, updates) the hook's record from ``body``; commits.

    Returns ``{"record": …, "created": bool}``.
    """
    from runtime.records import RecordService

    if not isinstance(body, Mapping):
        raise Invalid("Send a JSON object.", message_zh="请发送 JSON 对象。")
    app = _load_app(ctx, app_key)
    trigger = next(
        (t for t in app.definition.triggers
         if isinstance(t, Trigger) and t.key == trigger_key and isinstance(t.on, OnWebhook)),
        None,
    )
    if trigger is None or trigger.entity is None or not trigger.enabled:
        raise NotFound(f"No webhook {trigger_key!r} in app {app_key!r}.",
                       message_zh=f"应用 {app_key} 中没有 Webhook {trigger_key}。")
    on = trigger.on
    assert isinstance(on, OnWebhook)
    entity = app.entity(trigger.entity)
    mapping = dict(on.fields) if on.fields else {f.key: f.key for f in entity.fields if f.formula is None}
    values = {field: body[source] for source, field in mapping.items() if source in body}
    existing_id: int | None = None
    key_row: WebhookKey | None = None
    dedup_value: str | None = None
    if on.dedup_key:
        raw = values.get(on.dedup_key)
        if raw is None or str(raw).strip() == "":
            raise Invalid(f"The payload must carry the dedup key {on.dedup_key!r}.",
                          message_zh=f"请求体必须包含去重键 {on.dedup_key}。",
                          errors={on.dedup_key: ["required"]})
        dedup_value = str(raw)[:255]
    for attempt in range(2):
        if dedup_value is not None:
            key_row = ctx.session.scalars(
                sa.select(WebhookKey).where(
                    WebhookKey.app_id == app.app_id, WebhookKey.trigger_key == trigger.key,
                    WebhookKey.dedup_value == dedup_value,
                )
            ).one_or_none()
            if key_row is not None:
                existing_id = key_row.record_id
                if existing_id and not Visibility.of(app, ctx.actor).visible_ids(ctx, trigger.entity, [existing_id]):
                    # The dedup value is taken by a record the caller may not read: say
                    # so without naming or touching it.
                    raise Conflict(
                        f"The dedup value of {on.dedup_key!r} is already used by a record you can't access.",
                        message_zh=f"去重键 {on.dedup_key} 的值已被您无权访问的记录使用。",
                        errors={str(on.dedup_key): ["taken"]},
                        code="dedup_conflict",
                    )
            else:
                key_row = WebhookKey(
                    workspace_id=ctx.workspace_id, app_id=app.app_id, trigger_key=trigger.key,
                    dedup_value=dedup_value, record_id=0, created_at=to_naive_utc(ctx.now()),
                )
                ctx.session.add(key_row)
                try:
                    ctx.session.flush()
                except IntegrityError:  # a concurrent delivery claimed it: update theirs
                    ctx.session.rollback()
                    if attempt == 0:
                        continue
                    raise
        hook = _HookListener(trigger, key_row if existing_id is None else None, body)
        service = RecordService(ctx, app, listeners=[*listeners, hook])
        if existing_id:
            current = service.get(trigger.entity, existing_id)
            result = service.update(trigger.entity, existing_id, values, version=current["version"])
            return {"record": result.record, "created": False}
        result = service.create(trigger.entity, values)
        return {"record": result.record, "created": True}
    raise AssertionError("unreachable")
