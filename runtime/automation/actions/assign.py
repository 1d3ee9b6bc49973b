"""The ``assign`` action: set a record's user field by an assignment rule.

Configuration (``builder.triggers.Assign``): ``rule``, the key of one of the app's
``assignment_rules``. :class:`runtime.assignment.AssignmentService` chooses the user
(walking the rule's fallback chain) and writes an ``assignment_log`` row with the reason;
this action then writes the field through the record service, as the system actor, so the
write is validated, audited and fires triggers. Both commit together.

A redelivered job finds its log row by the idempotency key and re-applies the logged user
(no second decision, no second round-robin turn). A rule that finds nobody is ``skipped``
with the reason; the log row shows it (S34: "empty industry tag broke assignment").
"""

from __future__ import annotations

from typing import Any, Protocol

from runtime.assignment import AppExpressions, AssignmentError, AssignmentService
from runtime.automation.actions.base import (
    ActionContext,
    ActionOutcome,
    PermanentActionError,
    register,
)


class AssignConfig(Protocol):
    """What the action reads (``builder.triggers.Assign``)."""

    rule: str


def _rules(ctx: ActionContext) -> list[Any]:
    return [r for r in ctx.app.definition.assignment_rules if hasattr(r, "strategy")]


def assignment_service(ctx: ActionContext) -> AssignmentService:
    """The assignment service of the action's app, in the job's session."""
    return AssignmentService(
        ctx.call.session,
        workspace_id=ctx.call.workspace_id,
        app_id=ctx.app.app_id,
        rules=_rules(ctx),
        table_for=ctx.app.table,
        expressions=AppExpressions(ctx.call, ctx.app),
        now=ctx.call.now(),
    )


class AssignHandler:
    """Runs ``assign`` actions."""

    type = "assign"

    def run(self, ctx: ActionContext, config: Any) -> ActionOutcome:
        """Chooses the user, logs why, and writes the field (skipped when nobody fits)."""
        cfg: AssignConfig = config
        if ctx.record is None or ctx.record_id is None:
            raise PermanentActionError("the record no longer exists")
        service = assignment_service(ctx)
        try:
            result = service.assign(
                cfg.rule,
                ctx.record,
                record_id=ctx.record_id,
                trigger_key=ctx.trigger_key,
                idempotency_key=ctx.idempotency_key,
            )
        except AssignmentError as exc:
            raise PermanentActionError(f"[{exc.code}] {exc}") from exc
        detail: dict[str, Any] = {
            "rule": cfg.rule,
            "decided_by": result.decided_by,
            "strategy": result.strategy,
            "user_id": result.user_id,
            "summary": result.summary,
            "log_id": result.log_id,
        }
        if result.user_id is None:
            return ActionOutcome(
                "skipped", {**detail, "reason": "nobody to assign", "cause": "nobody_to_assign"}
            )
        field = service.rules[result.decided_by or cfg.rule].field
        detail["field"] = field
        detail["before"] = ctx.record.get(field)
        detail["after"] = result.user_id
        if ctx.record.get(field) == result.user_id:
            return ActionOutcome("ok", {**detail, "write": "unchanged"})
        from runtime.records import RecordService

        records = RecordService(ctx.call, ctx.app, listeners=ctx.call.extras.get("listeners", ()))
        records.update(
            ctx.entity, ctx.record_id, {field: result.user_id}, version=ctx.record.get("version")
        )
        return ActionOutcome("ok", detail)


register(AssignHandler())
