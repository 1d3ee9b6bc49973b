"""What a record looks like to a form and to a reader: form state, history, timeline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from builder.model import Entity
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.evaluation import RecordEvaluator
from runtime.models import AuditEvent, User
from runtime.tables import step_column
from runtime.values import ValueProblem, coerce, to_json
from runtime.visibility import Visibility, visible_rows

if TYPE_CHECKING:
    from runtime.records import RecordService


class RecordViews:
    """Read-side views of one entity's records for the service's actor."""

    def __init__(self, service: RecordService) -> None:
        self.service = service

    def form_state(self, entity_key: str, record_id: int | None, draft: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the form should show for a record with unsaved ``draft`` values applied.

        Steps (unlocked / done / locked message), per-field visible / required / read-only,
        and the stage with its exit criteria explained — computed with the same server-side
        evaluation a save uses — but for the reader: linked and related records the actor
        may not read are absent here (a save computes derived values as the system).
        """
        service = self.service
        entity = service.app.entity(entity_key)
        evaluator = RecordEvaluator(service.ctx, service.app, visibility=Visibility.of(service.app, service.ctx.actor))
        if record_id is not None:
            service._require(entity, "read")
            record = service._load(entity, record_id)
        else:
            service._require(entity, "create")
            record = blank_record(entity, service.ctx)
        return describe_form(evaluator, entity, with_draft(entity, record, draft, service.ctx.tz))

    def step_states(self, entity_key: str, record_id: int) -> list[dict[str, Any]]:
        """The steps of a stored record: unlocked, done, done_at, locked message."""
        return list(self.form_state(entity_key, record_id)["steps"])

    def history(self, entity_key: str, record_id: int) -> list[dict[str, Any]]:
        """The audit trail of one record, oldest first (refused attempts included)."""
        entity = self.service.app.entity(entity_key)
        self.service._require(entity, "read")
        if not Visibility.of(self.service.app, self.service.ctx.actor).unrestricted:
            self.service._load(entity, record_id)  # NotFound when hidden (or gone)
        rows = self.service.session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.workspace_id == self.service.ctx.workspace_id,
                AuditEvent.app_id == self.service.app.app_id,
                AuditEvent.entity_key == entity_key,
                AuditEvent.record_id == record_id,
                _of_current_record(),
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return [_audit_json(row) for row in rows]

    def timeline(self, entity_key: str, record_id: int, since: datetime | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The record's events and those of its related records, in time order (S24).

        Related records come in only when the actor may read them (the related entity's
        row condition for the actor): a visit the rep may not open does not show its notes
        or photos on its customer's timeline either.
        """
        entity = self.service.app.entity(entity_key)
        self.service._require(entity, "read")
        self.service._load(entity, record_id)
        visibility = Visibility.of(self.service.app, self.service.ctx.actor)
        scope_entity = self.service.app.scope(entity_key).entity_spec()
        pairs: list[sa.ColumnElement[bool]] = [
            sa.and_(AuditEvent.entity_key == entity_key, AuditEvent.record_id == record_id)
        ]
        for collection in scope_entity.collections if scope_entity else ():
            child_entity = self.service.app.definition.entity(collection.entity)
            if child_entity is None or collection.entity in self.service.app.archived_entities:
                continue
            if visibility.rule(collection.entity) is False:
                continue
            table = self.service.app.table(collection.entity)
            children = sa.select(table.c.id).where(table.c[collection.link_field] == record_id)
            children = visible_rows(visibility, self.service.ctx, collection.entity, children, table)
            ids = list(self.service.session.scalars(children.order_by(table.c.id.desc()).limit(200)))
            if ids:
                pairs.append(sa.and_(AuditEvent.entity_key == collection.entity, AuditEvent.record_id.in_(ids)))
        query = sa.select(AuditEvent).where(
            AuditEvent.workspace_id == self.service.ctx.workspace_id,
            AuditEvent.app_id == self.service.app.app_id,
            sa.or_(*pairs),
            _of_current_record(),
        )
        if since is not None:
            query = query.where(AuditEvent.at >= to_naive_utc(since))
        rows = self.service.session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
        events = [_audit_json(row) for row in rows]
        names = self._user_names({e["actor_id"] for e in events if e["actor_id"]})
        for event in events:
            event["actor_name"] = names.get(event["actor_id"])
        return list(reversed(events))

    def _user_names(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = self.service.session.execute(
            sa.select(User.id, User.name).where(User.workspace_id == self.service.ctx.workspace_id, User.id.in_(ids))
        )
        return {row.id: row.name for row in rows}



def blank_record(entity: Entity, ctx: CallContext) -> dict[str, Any]:
    """The record a new form starts from: no values, owned by the actor, in the first stage."""
    record: dict[str, Any] = {f.key: None for f in entity.fields}
    record.update({"id": None, "owner": ctx.actor.id, "created_by": ctx.actor.id, "version": 0})
    for step in entity.steps:
        record[step_column(step.key)] = None
    if entity.stages:
        record["stage"] = entity.stages[0].key
        record["stage_entered_at"] = ctx.now()
    return record


def with_draft(entity: Entity, record: Mapping[str, Any], draft: Mapping[str, Any] | None, tz: tzinfo) -> dict[str, Any]:
    """``record`` with the unsaved ``draft`` values that can be read applied (others skipped)."""
    state = dict(record)
    for key, raw in (draft or {}).items():
        f = entity.field(key)
        if f is None or f.formula is not None:
            continue
        try:
            state[key] = coerce(f, raw, tz)
        except ValueProblem:
            continue
    return state


def describe_form(evaluator: RecordEvaluator, entity: Entity, state: dict[str, Any]) -> dict[str, Any]:
    """The form state of ``state`` (a record with draft values; completed in place).

    Steps (unlocked / done / locked message), per-field visible / required / read-only,
    formulas, and the stage with its exit criteria explained: the same evaluation a save
    runs (steps re-evaluated: a done step whose conditions no longer hold shows as open
    again), with the evaluator's visibility and data.
    """
    evaluator.compute_formulas(entity, state)
    evaluator.settle_steps(entity, state)
    steps = []
    for step in entity.steps:
        st = evaluator.step_state(entity, state, step.key)
        steps.append(
            {
                "key": step.key,
                "label": {"zh": step.label.zh, "en": step.label.en},
                "unlocked": st.unlocked,
                "done": st.done,
                "done_at": to_json(st.done_at),
                "locked_message": {"zh": step.locked_message.zh, "en": step.locked_message.en} if step.locked_message else None,
                "fields": list(step.fields),
            }
        )
    fields = {
        f.key: {
            "visible": evaluator.visible(entity, f, state),
            "required": evaluator.required(entity, f, state),
            "read_only": evaluator.read_only(entity, f, state),
        }
        for f in entity.fields
    }
    stage = None
    if entity.stages:
        current = entity.stage(str(state.get("stage"))) if state.get("stage") else None
        exit_info = evaluator.explain(entity, current.exit_when, state) if current and current.exit_when else {"ok": True, "parts": []}
        stage = {
            "current": current.key if current else None,
            "entered_at": to_json(state.get("stage_entered_at")),
            "stages": [{"key": s.key, "label": {"zh": s.label.zh, "en": s.label.en}, "guidance": {"zh": s.guidance.zh, "en": s.guidance.en} if s.guidance else None} for s in entity.stages],
            "exit": exit_info,
        }
    formulas = {f.key: to_json(state.get(f.key)) for f in entity.fields if f.formula is not None}
    return {"steps": steps, "fields": fields, "stage": stage, "formulas": formulas}


def _of_current_record() -> sa.ColumnElement[bool]:
    """Only events since the current holder of an event's record id was created.

    Ids are never handed out twice (``runtime.table_ids``); should a database have reused
    one before that, the events of the earlier record with that id — those before the
    latest successful ``create`` — stay out of the history and the timeline.
    """
    created = aliased(AuditEvent)
    latest = (
        sa.select(sa.func.max(created.id))
        .where(
            created.app_id == AuditEvent.app_id,
            created.entity_key == AuditEvent.entity_key,
            created.record_id == AuditEvent.record_id,
            created.action == "create",
            created.outcome == "ok",
        )
        .correlate(AuditEvent)
        .scalar_subquery()
    )
    return AuditEvent.id >= sa.func.coalesce(latest, 0)


def _audit_json(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "entity": row.entity_key,
        "record_id": row.record_id,
        "action": row.action,
        "outcome": row.outcome,
        "error_code": row.error_code,
        "message": row.message,
        "message_zh": row.message_zh or row.message,
        "changes": row.changes,
        "actor_id": row.actor_id,
        "at": row.at.isoformat() + "Z",
    }
