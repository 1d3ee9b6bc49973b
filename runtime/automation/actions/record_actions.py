"""Actions that write records: ``set_field``, ``create_record``; and ``prompt``.

They write through :class:`~runtime.records.RecordService` as the workspace's system actor
with ``CallContext.depth`` one above the job that runs them, so the writes are validated,
audited and fire triggers like any other (up to the loop cut). ``prompt`` runs inline in
the trigger engine; its handler here only exists so that every action type has one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from builder.model import FieldType
from builder.triggers import CreateRecord, PromptAction, SetField
from runtime.automation.actions.base import (
    ActionContext,
    ActionOutcome,
    PermanentActionError,
    register,
)


def _service(ctx: ActionContext) -> Any:
    from runtime.records import RecordService

    return RecordService(ctx.call, ctx.app, listeners=ctx.call.extras.get("listeners", ()))


def _evaluator(ctx: ActionContext) -> Any:
    from runtime.evaluation import RecordEvaluator

    return RecordEvaluator(ctx.call, ctx.app)


def _json(value: Any) -> Any:
    from runtime.values import to_json

    return to_json(value)


class SetFieldAction:
    """Sets one field of the trigger's record to the value of an expression."""

    type = "set_field"

    def run(self, ctx: ActionContext, config: SetField) -> ActionOutcome:
        """Evaluates ``config.value`` on the record and writes it (skipped if unchanged)."""
        if ctx.record is None or ctx.record_id is None:
            raise PermanentActionError("the record no longer exists")
        entity = ctx.app.entity(ctx.entity)
        value = _evaluator(ctx).value(entity, config.value, ctx.record)
        if ctx.record.get(config.field) == value:
            return ActionOutcome("skipped", {"field": config.field, "reason": "unchanged"})
        before = ctx.record.get(config.field)
        result = _service(ctx).update(
            ctx.entity, ctx.record_id, {config.field: _json(value)}, version=ctx.record.get("version")
        )
        return ActionOutcome(
            "ok",
            {
                "entity": ctx.entity,
                "record_id": ctx.record_id,
                "field": config.field,
                "before": _json(before),
                "after": _json(result.record.get(config.field)),
            },
        )


class CreateRecordAction:
    """Creates a record of any entity from expressions over the trigger's record."""

    type = "create_record"

    def run(self, ctx: ActionContext, config: CreateRecord) -> ActionOutcome:
        """Evaluates ``config.values``, adds the relative due date, creates the record."""
        values: dict[str, Any] = {}
        record = ctx.record or {}
        if config.values:
            if not ctx.entity:
                evaluator = None
            else:
                evaluator = _evaluator(ctx)
                entity = ctx.app.entity(ctx.entity)
            for key, source in config.values:
                if evaluator is None:
                    raise PermanentActionError("values need a record to be evaluated on")
                values[key] = _json(evaluator.value(entity, source, record))
        delta = config.due_delta
        if delta is not None and config.due_field:
            due: datetime = ctx.call.now() + delta
            target = ctx.app.entity(config.entity)
            spec = target.field(config.due_field)
            if spec is not None and spec.type is FieldType.DATE:
                values[config.due_field] = due.astimezone(ctx.call.tz).date().isoformat()
            else:
                values[config.due_field] = due.isoformat()
        result = _service(ctx).create(config.entity, values)
        return ActionOutcome(
            "ok",
            {"entity": config.entity, "record_id": result.record.get("id"), "values": values},
        )


class PromptHandler:
    """Prompts are answered inside the write that fired them; nothing is left to do later."""

    type = "prompt"

    def run(self, ctx: ActionContext, config: PromptAction) -> ActionOutcome:
        """Nothing to do out of band."""
        return ActionOutcome("skipped", {"reason": "prompts are shown inline"})


register(SetFieldAction())
register(CreateRecordAction())
register(PromptHandler())
