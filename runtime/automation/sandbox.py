"""The rule sandbox (S16): what a trigger or a condition from a draft would do, changing nothing.

A dry run evaluates a trigger of a draft revision (or of the published one) over existing
records of the published app and reports, per record, whether it would fire and what each
action would do (the field's value before → after, the record it would create, the
rendered message and who would get it). It only reads, and it runs in a transaction that
is rolled back at the end, so even a bug can't leave a trace. The same trigger of the
published revision is evaluated alongside, so the designer sees what the change changes.

``dry_run_condition`` does the same for any boolean expression (a changed stage exit rule,
a validation rule, a permission): how many records it holds for, with examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from builder.model import App, Entity
from builder.triggers import (
    Assign,
    CreateRecord,
    HttpWebhook,
    Notify,
    OnElapsed,
    PromptAction,
    Report,
    SetField,
    Trigger,
)
from expressions import BOOLEAN, EvalContext, compile_expression
from runtime.automation.outbox import jsonable
from runtime.automation.templates import render
from runtime.context import CallContext
from runtime.errors import Invalid, NotFound

MAX_RECORDS = 500


@dataclass
class _Evaluator:
    """Evaluates expressions of one definition (draft or published) on published records."""

    definition: App
    context: EvalContext

    def value(self, entity: str, source: str, record: Mapping[str, Any]) -> Any:
        from builder.scope import scope_for

        return compile_expression(source, scope_for(self.definition, entity)).evaluate(record, self.context)

    def holds(self, entity: str, source: str | None, record: Mapping[str, Any]) -> bool:
        from builder.scope import scope_for

        if not source:
            return True
        compiled = compile_expression(source, scope_for(self.definition, entity), expect=BOOLEAN)
        return compiled.evaluate(record, self.context) is True


def _draft_definition(ctx: CallContext, app: Any, revision_id: int | None) -> tuple[App, int | None]:
    if revision_id is None:
        return app.definition, app.revision_id
    from builder import load_definition
    from builder.repository import DefinitionRepository

    revision = DefinitionRepository(ctx.session, ctx.workspace_id).revision(revision_id)
    if revision is None or revision.app_id != app.app_id:
        raise NotFound("No such revision of this app.", message_zh="该应用没有这个版本。")
    return load_definition(revision.definition), revision.id


def _records(ctx: CallContext, app: Any, entity: Entity, record_ids: list[int] | None, limit: int) -> list[dict[str, Any]]:
    from runtime.evaluation import record_from_row

    table = app.table(entity.key)
    query = sa.select(table).order_by(table.c.id.desc()).limit(min(limit, MAX_RECORDS))
    if record_ids:
        query = query.where(table.c.id.in_(record_ids[:MAX_RECORDS]))
    rows = ctx.session.execute(query).mappings().all()
    return [record_from_row(entity, row) for row in rows]


def _verdict(ev: _Evaluator, trigger: Trigger, record: Mapping[str, Any], now: datetime) -> tuple[bool, str]:
    assert trigger.entity is not None
    on = trigger.on
    try:
        if isinstance(on, OnElapsed):
            if not ev.holds(trigger.entity, on.condition, record):
                return False, "the condition does not hold"
            since = record.get(on.since) if not on.since.startswith("steps.") else None
            if since is None:
                return False, f"{on.since} is empty"
            if isinstance(since, datetime) and since + on.after_delta > now:
                return False, f"not due until {(since + on.after_delta).isoformat()}"
        if not ev.holds(trigger.entity, trigger.when, record):
            return False, "the when condition does not hold"
    except Exception as exc:  # a draft may name fields the published table lacks
        return False, f"could not be evaluated: {exc}"
    return True, "would fire" if isinstance(on, OnElapsed) else f"would fire on {on.type}"


def _describe_action(ev: _Evaluator, trigger: Trigger, action: Any, record: Mapping[str, Any], tz: Any) -> dict[str, Any]:
    entity = trigger.entity or ""
    out: dict[str, Any] = {"type": action.type}
    try:
        if isinstance(action, SetField):
            out.update(field=action.field, before=jsonable(record.get(action.field)),
                       after=jsonable(ev.value(entity, action.value, record)))
        elif isinstance(action, CreateRecord):
            out.update(entity=action.entity,
                       values={k: jsonable(ev.value(entity, src, record)) for k, src in action.values},
                       due_in=action.due_in, due_field=action.due_field)
        elif isinstance(action, Notify | PromptAction):
            out["message"] = render(action.message.get("zh"), record, tz)
            if isinstance(action, Notify):
                out.update(channel=action.channel, to_role=action.to_role,
                           to=jsonable(ev.value(entity, action.to, record)) if action.to else None)
        elif isinstance(action, Assign):
            out["rule"] = action.rule
        elif isinstance(action, HttpWebhook):
            out["url"] = action.url
        elif isinstance(action, Report):
            out.update(entity=action.query.entity, where=action.query.where, channel=action.channel)
    except Exception as exc:
        out["error"] = str(exc)
    return out


def dry_run(
    ctx: CallContext,
    app_key: str,
    trigger_key: str,
    *,
    revision_id: int | None = None,
    record_ids: list[int] | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """What ``trigger_key`` of the draft ``revision_id`` (default: published) would do."""
    from runtime.apps import load_published
    from runtime.evaluation import RecordResolver

    app = load_published(ctx.session, ctx.workspace_id, app_key)
    try:
        definition, used_revision = _draft_definition(ctx, app, revision_id)
        trigger = next((t for t in definition.triggers if isinstance(t, Trigger) and t.key == trigger_key), None)
        if trigger is None:
            raise NotFound(f"No trigger {trigger_key!r} in that revision.", message_zh=f"该版本中没有触发器 {trigger_key}。")
        if trigger.entity is None:
            raise Invalid("Only triggers on an entity's records can be tried on records.",
                          message_zh="只有作用于实体记录的触发器可以在记录上试运行。")
        entity = app.entity(trigger.entity)
        published = next((t for t in app.definition.triggers
                          if isinstance(t, Trigger) and t.key == trigger_key), None)
        now = ctx.now()
        from runtime.evaluation import RecordEvaluator

        resolver = RecordResolver(ctx.session, app, RecordEvaluator(ctx, app))
        context = EvalContext(now=now, tz=ctx.tz, actor=ctx.actor.attributes(), resolver=resolver)
        draft_ev = _Evaluator(definition, context)
        published_ev = _Evaluator(app.definition, context)
        results = []
        for record in _records(ctx, app, entity, record_ids, limit):
            fires, reason = _verdict(draft_ev, trigger, record, now)
            row: dict[str, Any] = {"record_id": record["id"], "would_fire": fires, "reason": reason}
            if fires:
                row["actions"] = [_describe_action(draft_ev, trigger, a, record, ctx.tz) for a in trigger.actions]
            if published is not None and used_revision != app.revision_id:
                row["published_would_fire"] = _verdict(published_ev, published, record, now)[0]
            results.append(row)
        return {
            "trigger": trigger_key,
            "revision_id": used_revision,
            "on": trigger.on.type,
            "records": len(results),
            "would_fire": sum(1 for r in results if r["would_fire"]),
            "results": results,
        }
    finally:
        ctx.session.rollback()


def dry_run_condition(
    ctx: CallContext,
    app_key: str,
    entity_key: str,
    source: str,
    *,
    revision_id: int | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """How many of the latest ``limit`` records a (draft) boolean expression holds for."""
    from builder.scope import scope_for
    from expressions import check
    from runtime.apps import load_published
    from runtime.evaluation import RecordEvaluator, RecordResolver

    app = load_published(ctx.session, ctx.workspace_id, app_key)
    try:
        definition, used_revision = _draft_definition(ctx, app, revision_id)
        if definition.entity(entity_key) is None:
            raise NotFound(f"No entity {entity_key!r} in that revision.", message_zh=f"该版本中没有实体 {entity_key}。")
        result = check(source, scope_for(definition, entity_key), expect=BOOLEAN)
        if not result.ok:
            raise Invalid("The expression has problems.", message_zh="表达式有错误。",
                          errors={"expression": [d.message for d in result.diagnostics]})
        entity = app.entity(entity_key)
        resolver = RecordResolver(ctx.session, app, RecordEvaluator(ctx, app))
        ev = _Evaluator(definition, EvalContext(now=ctx.now(), tz=ctx.tz, actor=ctx.actor.attributes(),
                                                resolver=resolver))
        held: list[int] = []
        failed: list[int] = []
        for record in _records(ctx, app, entity, None, limit):
            (held if ev.holds(entity_key, source, record) else failed).append(record["id"])
        return {"entity": entity_key, "revision_id": used_revision, "records": len(held) + len(failed),
                "holds": len(held), "fails": len(failed), "holds_for": held[:50], "fails_for": failed[:50]}
    finally:
        ctx.session.rollback()
