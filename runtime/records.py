"""The record service: every read and write of an entity's records goes through here.

A write is one transaction: permission check → type coercion → formulas → step gating
(a locked step's fields can't be written) → visibility, read-only and required checks →
validation rules → stage exit criteria → optimistic-locked INSERT/UPDATE → step completion
timestamps and stage history → audit event → write listeners (the trigger engine writes its
outbox rows here) → commit. A refused write rolls back and is then audited as refused, in
its own short transaction, so the trail shows every attempt's outcome.
"""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from builder.model import Entity, FieldType, Stage
from builder.scope import derives_from
from runtime.apps import PublishedApp
from runtime.changes import Prompt, RecordChange, WriteListener
from runtime.clock import to_naive_utc
from runtime.context import CallContext
from runtime.db import core_execute
from runtime.errors import (
    CairnError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RuleViolated,
    StageExitRefused,
    StageMoveRefused,
    StepLocked,
)
from runtime.evaluation import RecordEvaluator, record_from_row, system_evaluator
from runtime.field_messages import FieldProblem, field_error
from runtime.models import AuditEvent, FileRow, StageHistory
from runtime.reads import RecordReads
from runtime.record_list import RecordLister
from runtime.record_views import RecordViews
from runtime.tables import step_column
from runtime.values import (
    AUDIT_MESSAGE_CHARS,
    ValueProblem,
    audit_summary,
    coerce,
    is_blank,
    storable_text,
    to_json,
    to_row,
)
from runtime.visibility import Visibility

SYSTEM_WRITABLE = {"owner", "stage"}
DERIVED_DEPTH = 5  # how far up (parent, grandparent, …) a child's write recomputes derived state

#: One statement for a write's audit events (compiled once, sent as an executemany).
_AUDIT_INSERT = sa.insert(AuditEvent.__table__)  # type: ignore[arg-type]
_AUDIT_COLUMNS = (
    "workspace_id", "app_id", "entity_key", "record_id", "action", "outcome",
    "error_code", "message", "message_zh", "changes", "actor_id", "at",
)


@dataclass
class WriteResult:
    """A committed write: the record as stored, and prompts for the person who wrote it."""

    record: dict[str, Any]
    prompts: list[Prompt] = field(default_factory=list)
    completed_steps: list[str] = field(default_factory=list)


@dataclass
class Page:
    """One page of a list; ``next_cursor`` is None on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def record_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of a record (step timestamps under ``steps``)."""
    out: dict[str, Any] = {}
    steps: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("_done_"):
            steps[key[len("_done_") :]] = to_json(value)
        else:
            out[key] = to_json(value)
    if steps:
        out["steps_done_at"] = steps
    return out


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        k: [to_json(before.get(k)), to_json(after.get(k))]
        for k in after
        if k not in ("updated_at", "version") and before.get(k) != after.get(k)
    }


class RecordService:
    """Reads and writes the records of one published app for one call context."""

    def __init__(
        self,
        ctx: CallContext,
        app: PublishedApp,
        listeners: Sequence[WriteListener] = (),
    ) -> None:
        self.ctx = ctx
        self.app = app
        self.session = ctx.session
        self.listeners = list(listeners)
        self._audits: builtins.list[dict[str, Any]] = []  # queued by _audit, see _flush_audits

    # Both evaluators are made on first use: many calls need only one of them.

    @functools.cached_property
    def evaluator(self) -> RecordEvaluator:
        """Row conditions see all data; reads apply the actor's Visibility explicitly."""
        return RecordEvaluator(self.ctx, self.app, visibility=Visibility.everything(self.app))

    @functools.cached_property
    def derive(self) -> RecordEvaluator:
        """The write path's view: formulas, steps, requirements, rules and stage exits are
        evaluated with system visibility (me() still names the writer)."""
        return system_evaluator(self.ctx, self.app, me=self.ctx.actor)

    # -- permissions ----------------------------------------------------------------------

    def _permission(self, entity: Entity) -> Any | None:
        """The entity's permission entry for the actor's role (None = unrestricted)."""
        role = self.ctx.actor.role
        if role in ("admin", "system") or not entity.permissions:
            return None
        for permission in entity.permissions:
            if permission.role == role:
                return permission
        return False

    def _require(self, entity: Entity, action: str) -> None:
        permission = self._permission(entity)
        if permission is None:
            return
        if permission is False or not getattr(permission, action):
            raise Forbidden(
                f"Your role may not {action} {entity.label.get('en')} records.",
                message_zh=f"您的角色无权{ {'create': '创建', 'read': '查看', 'update': '修改', 'delete': '删除'}[action] }{entity.label.get('zh')}记录。",
            )

    def can(self, entity_key: str, action: str) -> bool:
        """Whether the actor's role may ``action`` (create/read/update/delete) the entity at all.

        Row-level conditions still apply per record; pages use this to hide what would be
        refused anyway.
        """
        try:
            self._require(self.app.entity(entity_key), action)
        except Forbidden:
            return False
        return True

    def _row_condition(self, entity: Entity, which: str) -> str | None:
        permission = self._permission(entity)
        if not permission:
            return None
        return getattr(permission, which)  # type: ignore[no-any-return]

    def _visible_to_actor(self, entity: Entity, record: Mapping[str, Any]) -> bool:
        condition = self._row_condition(entity, "read_when")
        return self.evaluator.holds(entity, condition, record, True)

    # -- reads ----------------------------------------------------------------------------

    def _row(self, entity: Entity, record_id: int, *, for_update: bool) -> Any | None:
        """The stored row (locked on PostgreSQL when ``for_update``), or None."""
        table = self.app.table(entity.key)
        query = sa.select(table).where(table.c.id == record_id)
        if for_update and self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return self.session.execute(query).mappings().first()

    def _write_row(self, entity: Entity, before: Mapping[str, Any], after: Mapping[str, Any], version: int) -> None:
        """UPDATEs what changed if the row is still at ``version`` (else a conflict)."""
        record_id = int(after["id"])
        table = self.app.table(entity.key)
        keys = {k for k in after if k != "id" and (before.get(k) != after.get(k) or k in ("updated_at", "version"))}
        result = self.session.execute(
            sa.update(table)
            .where(table.c.id == record_id, table.c.version == version)
            .values(self._row_values(entity, after, keys))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise self._conflict(entity, record_id)
        self.evaluator.resolver.forget(entity.key, record_id)
        self.derive.resolver.forget(entity.key, record_id)

    def _load(self, entity: Entity, record_id: int, *, for_update: bool = False) -> dict[str, Any]:
        row = self._row(entity, record_id, for_update=for_update)
        if row is None:
            raise NotFound(
                f"No {entity.label.get('en')} record {record_id}.",
                message_zh=f"没有编号为 {record_id} 的{entity.label.get('zh')}记录。",
            )
        record = record_from_row(entity, row)
        if not self._visible_to_actor(entity, record):
            raise NotFound(
                f"No {entity.label.get('en')} record {record_id}.",
                message_zh=f"没有编号为 {record_id} 的{entity.label.get('zh')}记录。",
            )
        return record

    def get(self, entity_key: str, record_id: int) -> dict[str, Any]:
        """One record (NotFound if it does not exist or the actor may not see it)."""
        entity = self.app.entity(entity_key)
        self._require(entity, "read")
        return self._load(entity, record_id)

    def list(
        self,
        entity_key: str,
        *,
        where: str | None = None,
        search: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order_by: str = "-created_at",
        after: str | None = None,
        limit: int = 50,
        condition: sa.ColumnElement[bool] | None = None,
    ) -> Page:
        """A page of records, newest first by default, with keyset pagination.

        ``where`` is an expression (compiled to SQL), ``search`` matches text fields,
        ``filters`` are equality filters by field key, ``condition`` a Core condition on
        the entity's table (a dashboard's drill-down). There is never a count query.
        """
        return RecordLister(self).page(
            entity_key, where=where, search=search, filters=filters, order_by=order_by, after=after, limit=limit,
            condition=condition,
        )

    # -- writes ---------------------------------------------------------------------------

    def create(self, entity_key: str, values: Mapping[str, Any], *, complete: str | None = None) -> WriteResult:
        """Creates a record from JSON ``values``.

        With ``complete`` (a step key) the write is refused (``step_incomplete``) unless that
        step is done afterwards — what a form card's submit means.
        """
        entity = self.app.entity(entity_key)
        self._known_step(entity, complete)
        return self._guarded(
            entity, None, "create", values, lambda: self._create(entity, values, require_step=complete)
        )

    def update(
        self,
        entity_key: str,
        record_id: int,
        values: Mapping[str, Any],
        *,
        version: int | None,
        complete: str | None = None,
    ) -> WriteResult:
        """Updates a record; ``version`` must be the version the caller read (409 if stale).

        ``complete`` as for :meth:`create`.
        """
        entity = self.app.entity(entity_key)
        self._known_step(entity, complete)
        return self._guarded(
            entity,
            record_id,
            "update",
            values,
            lambda: self._update(entity, record_id, values, version, require_step=complete),
        )

    def _known_step(self, entity: Entity, step_key: str | None) -> None:
        if step_key is not None and entity.step(step_key) is None:
            raise NotFound(f"No step {step_key!r}.", message_zh=f"没有步骤 {step_key}。")

    def move_stage(self, entity_key: str, record_id: int, stage: str, *, version: int | None) -> WriteResult:
        """Moves a record to ``stage`` (refused as :meth:`_stage_move` says)."""
        return self.update(entity_key, record_id, {"stage": stage}, version=version)

    def complete_step(
        self, entity_key: str, record_id: int, step_key: str, values: Mapping[str, Any], *, version: int | None
    ) -> WriteResult:
        """Writes fields of one step and requires the step to be done afterwards.

        Refused as a whole (``step_incomplete``) when the step's done condition still fails.
        """
        entity = self.app.entity(entity_key)
        step = entity.step(step_key)
        if step is None:
            raise NotFound(f"No step {step_key!r}.", message_zh=f"没有步骤 {step_key}。")
        outside = [k for k in values if k not in step.fields]
        if outside:
            raise field_error(entity, {str(k): FieldProblem.not_in_step(step_key) for k in outside})
        return self._guarded(
            entity,
            record_id,
            "complete_step",
            values,
            lambda: self._update(entity, record_id, values, version, require_step=step_key),
        )

    def delete(self, entity_key: str, record_id: int, *, version: int | None = None) -> None:
        """Deletes a record (409 if ``version`` is given and stale)."""
        entity = self.app.entity(entity_key)

        def run() -> WriteResult:
            self._require(entity, "delete")
            before = self._load(entity, record_id, for_update=True)
            self._check_row_write(entity, before)
            if version is not None and before["version"] != version:
                raise self._conflict(entity, record_id)
            self._refuse_if_linked(entity, record_id)
            table = self.app.table(entity_key)
            self.session.execute(sa.delete(table).where(table.c.id == record_id))
            self._audit(entity, record_id, "delete", "ok", {k: [to_json(v), None] for k, v in before.items() if not k.startswith("_")})
            change = RecordChange("deleted", self.app.app_id, self.app.key, entity.key, record_id, self.ctx.now(), before=before)
            prompts = self._notify([change, *self._refresh_parents(entity, before, None)])
            self.session.commit()
            return WriteResult(record=before, prompts=prompts)

        self._guarded(entity, record_id, "delete", {}, run)

    def _refuse_if_linked(self, entity: Entity, record_id: int) -> None:
        """A record other records link to can't be deleted (links would point nowhere)."""
        spec = self.app.scope(entity.key).entity_spec()
        users: dict[str, int] = {}
        for collection in spec.collections if spec else ():
            if collection.entity in self.app.archived_entities:
                continue
            child = self.app.table(collection.entity)
            linked = self.session.execute(
                sa.select(child.c.id).where(child.c[collection.link_field] == record_id).limit(1)
            ).first()
            if linked is not None:
                users[collection.name] = linked.id
        if users:
            names = ", ".join(sorted(users))
            raise Conflict(
                f"This {entity.label.get('en')} record is still linked from {names}; delete or relink those records first.",
                message_zh=f"仍有{names}关联到此{entity.label.get('zh')}记录,请先删除或改关联这些记录。",
                detail={"linked_from": sorted(users)},
                code="record_in_use",
            )

    def _guarded(self, entity: Entity, record_id: int | None, action: str, values: Mapping[str, Any], run: Any) -> WriteResult:
        """Runs a write; on a refusal rolls back, audits the refused attempt, re-raises."""
        try:
            try:
                result: WriteResult = run()
            except sa.exc.IntegrityError:  # the only constraints of entity tables: unique fields
                raise _value_taken(entity, values) from None
            except (sa.exc.DataError, OverflowError):  # e.g. a formula's whole number beyond 64 bits
                raise _out_of_range(entity) from None
            return result
        except CairnError as error:
            self.session.rollback()
            self._audits.clear()  # the refused write's own events went with it
            if not isinstance(error, NotFound | Forbidden):
                self._audit(
                    entity,
                    record_id,
                    action,
                    "refused",
                    {k: [None, v] for k, v in audit_summary(values).items()},
                    error_code=error.code,
                    message=storable_text(error.message, AUDIT_MESSAGE_CHARS),
                    message_zh=storable_text(error.message_zh, AUDIT_MESSAGE_CHARS) if error.message_zh else None,
                )
                self._flush_audits()
                self.session.commit()
            raise
        except Exception:
            self.session.rollback()
            self._audits.clear()
            raise

    def _conflict(self, entity: Entity, record_id: int) -> Conflict:
        return Conflict(
            f"The {entity.label.get('en')} record {record_id} was changed by someone else; reload it and apply your change again.",
            message_zh=f"{entity.label.get('zh')}记录 {record_id} 已被他人修改,请刷新后重新修改。",
            code="version_conflict",
        )

    def _coerce(self, entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(values, Mapping):
            raise Invalid("Send the record's fields as a JSON object.", message_zh="请以 JSON 对象提交记录字段。")
        errors: dict[str, FieldProblem] = {}
        out: dict[str, Any] = {}
        for key, raw in values.items():
            if key in SYSTEM_WRITABLE:
                if key == "owner":
                    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
                        errors[key] = FieldProblem.other("expected a user id", "应为用户编号")
                        continue
                    out[key] = raw
                    continue
                if key == "stage" and entity.stages:
                    if entity.stage(str(raw)) is None:
                        errors[key] = FieldProblem.unknown_stage(raw, [s.key for s in entity.stages])
                        continue
                    out[key] = raw
                    continue
            f = entity.field(key) if isinstance(key, str) else None
            if f is None:
                errors[str(key)[:100]] = FieldProblem.unknown_field()
                continue
            try:
                out[key] = coerce(f, raw, self.ctx.tz)
            except ValueProblem as problem:
                errors[key] = FieldProblem.invalid(problem)
        if errors:
            raise field_error(entity, errors)
        self._check_references(entity, out)
        return out

    def _check_references(self, entity: Entity, values: Mapping[str, Any]) -> None:
        """Links and files must point at what the actor may read: anything else is refused
        exactly as if it did not exist (same code, same message)."""
        errors: dict[str, FieldProblem] = {}
        for key, value in values.items():
            if value is None:
                continue
            f = entity.field(key)
            if key == "owner" or (f is not None and f.type is FieldType.USER):
                if self.evaluator.resolver.user(value) is None:
                    errors[key] = FieldProblem.unknown_reference(value, "no such user in this workspace")
            elif f is not None and f.type is FieldType.LINK and f.target:
                if not Visibility.of(self.app, self.ctx.actor).visible_ids(self.ctx, f.target, [value]):
                    errors[key] = FieldProblem.unknown_reference(value, f"no {f.target} record {value}")
            elif f is not None and f.type in (FieldType.PHOTO, FieldType.FILE) and value:
                found = set(RecordReads(self.ctx, self.app).files(value))
                if found != set(value):
                    missing = [v for v in value if v not in found]
                    errors[key] = FieldProblem.unknown_reference(missing, "unknown file id(s): " + ", ".join(str(v) for v in missing))
        if errors:
            raise field_error(entity, errors)

    def _compute_formulas(self, entity: Entity, record: dict[str, Any], evaluator: RecordEvaluator | None = None) -> None:
        (evaluator or self.derive).compute_formulas(entity, record)

    def _gate(
        self, entity: Entity, before: Mapping[str, Any] | None, after: dict[str, Any], written: set[str]
    ) -> tuple[builtins.list[str], builtins.list[str]]:
        """Enforces steps, visibility, read-only, required and rules.

        Re-evaluates every step first (see ``settle_steps``) and returns the steps this
        write completed and those it reopened. Fields a step owns are not required for the
        write to be saved — their requirements decide whether the step is done.
        """
        evaluator = self.derive
        completed, reopened = evaluator.settle_steps(entity, after)
        locked: dict[str, FieldProblem] = {}
        first_message = None
        for key in sorted(written):
            owner_step = evaluator.step_of(entity, key)
            if owner_step is None:
                continue
            if not evaluator.step_state(entity, after, owner_step.key).unlocked:
                message = owner_step.locked_message or None
                text_en = message.get("en") if message else f"Step {owner_step.label.get('en')} is locked."
                text_zh = message.get("zh") if message else f"步骤「{owner_step.label.get('zh')}」尚未解锁。"
                locked[key] = FieldProblem.step_locked(owner_step.key, text_en, text_zh)
                first_message = first_message or (text_en, text_zh, owner_step.key)
        if locked and first_message:
            raise field_error(
                entity, locked, cls=StepLocked, message=first_message[0], message_zh=first_message[1], detail={"step": first_message[2]}
            )
        errors: dict[str, FieldProblem] = {}
        for key in sorted(written):
            f = entity.field(key)
            if f is None:
                continue
            reference = before if before is not None else after
            if evaluator.read_only(entity, f, reference):
                errors[key] = FieldProblem.read_only()
            elif not is_blank(after.get(key)) and not evaluator.visible(entity, f, after):
                errors[key] = FieldProblem.hidden()
        for f in entity.fields:
            if f.key in errors or evaluator.step_of(entity, f.key) is not None:
                continue
            if is_blank(after.get(f.key)) and evaluator.visible(entity, f, after) and evaluator.required(entity, f, after):
                errors[f.key] = FieldProblem.required()
        if errors:
            raise field_error(entity, errors)
        failed = [rule for rule in entity.rules if not evaluator.holds(entity, rule.assert_, after, True)]
        if failed:
            raise RuleViolated(
                "; ".join(r.message.get("en") for r in failed),
                message_zh=";".join(r.message.get("zh") for r in failed),
                errors={r.key: [r.message.get("en")] for r in failed},
                detail={"rules": [r.key for r in failed]},
            )
        return completed, reopened

    def _require_done(self, entity: Entity, step_key: str, after: Mapping[str, Any]) -> None:
        """Refuses (``step_incomplete``, naming each unmet field) unless the step is done."""
        if after.get(step_column(step_key)) is not None:
            return
        step = entity.step(step_key)
        if step is None:
            return
        unmet = self.derive.step_unmet(entity, step, after)
        if not unmet and not step.done_when:  # none required: every owned field counts
            unmet = [
                f for f in entity.fields
                if f.key in step.fields and is_blank(after.get(f.key)) and self.derive.visible(entity, f, after)
            ]
        if unmet:
            raise field_error(
                entity,
                {f.key: FieldProblem.required_for_step(step_key) for f in unmet},
                message=f"Step “{step.label.get('en')}” is not done yet; fill in: "
                + ", ".join(f.label.get("en") for f in unmet),
                message_zh=f"步骤「{step.label.get('zh')}」尚未完成,请填写:" + "、".join(f.label.get("zh") for f in unmet),
                detail={"step": step_key, "fields": [f.key for f in unmet]},
                code="step_incomplete",
            )
        explanation = self.derive.explain(entity, step.done_when, after) if step.done_when else None
        failed = [p for p in explanation["parts"] if not p["held"]] if explanation else []
        failing = [p["label"] or p["source"] for p in failed]
        failing_en = [p.get("label_en") or p["label"] or p["source"] for p in failed]
        raise Invalid(
            f"Step “{step.label.get('en')}” is not done yet" + (f"; not met: {'; '.join(failing_en)}" if failing_en else "."),
            message_zh=f"步骤「{step.label.get('zh')}」尚未完成" + (f",未满足:{';'.join(failing)}" if failing else "。"),
            errors={step_key: [f"not met: {part}" for part in failing_en] or ["the step's done condition does not hold"]},
            detail={"step": step_key, "fields": []},
            code="step_incomplete",
        )

    def _stage_move(self, entity: Entity, before: Mapping[str, Any], after: dict[str, Any]) -> tuple[str | None, str | None]:
        """Checks a move from ``before``'s stage to ``after``'s; returns (from, to).

        Forward, the record (as it will be stored) must pass the ``exit_when`` of every
        stage it leaves on the way, unless the stage it leaves names the target in
        ``allow_skip_to`` (then only that stage's). Backward needs ``allow_back`` on the
        stage being left. Exit criteria see the system's view of related records.
        """
        current, target = before.get("stage"), after.get("stage")
        if current == target:
            return None, None
        order = [s.key for s in entity.stages]
        here = order.index(str(current)) if current in order else -1
        there = order.index(str(target))
        leaving = entity.stages[here] if here >= 0 else None
        arriving = entity.stages[there]
        if there < here:
            if leaving is not None and not leaving.allow_back:
                raise StageMoveRefused(
                    f"A record can't move back from stage {leaving.label.get('en')} to {arriving.label.get('en')}.",
                    message_zh=f"记录不能从阶段「{leaving.label.get('zh')}」退回到「{arriving.label.get('zh')}」。",
                    errors={"stage": ["moving back from this stage is not allowed"]},
                    detail={"from": leaving.key, "to": arriving.key},
                )
        else:
            if leaving is not None and arriving.key in leaving.allow_skip_to:
                walk: builtins.list[Stage] = [leaving]
            else:
                walk = list(entity.stages[max(here, 0) : there])
            for stage in walk:
                if stage.exit_when:
                    self._check_exit(entity, stage, arriving, after, on_the_way=stage is not leaving)
        after["stage_entered_at"] = self.ctx.now()
        return str(current) if current else None, str(target)

    def _check_exit(self, entity: Entity, stage: Stage, arriving: Stage, after: Mapping[str, Any], *, on_the_way: bool) -> None:
        explanation = self.derive.explain(entity, stage.exit_when or "", after)
        if explanation["ok"]:
            return
        failed = [p for p in explanation["parts"] if not p["held"]]
        failing = [p["label"] or p["source"] for p in failed]
        failing_en = [p.get("label_en") or p["label"] or p["source"] for p in failed]
        raise StageExitRefused(
            f"Exit criteria of stage {stage.label.get('en')} are not met"
            + (f" (on the way to {arriving.label.get('en')})" if on_the_way else "")
            + ": " + "; ".join(failing_en),
            message_zh=f"未满足阶段「{stage.label.get('zh')}」的退出条件"
            + (f"(前往「{arriving.label.get('zh')}」途经此阶段)" if on_the_way else "")
            + ":" + ";".join(failing),
            errors={"stage": [f"not met: {part}" for part in failing_en]},
            detail={"stage": stage.key, "to": arriving.key, "exit": explanation},
        )

    def _record_stage(self, entity: Entity, record_id: int, from_stage: str | None, to_stage: str | None) -> None:
        now = to_naive_utc(self.ctx.now())
        open_rows = self.session.scalars(
            sa.select(StageHistory).where(
                StageHistory.app_id == self.app.app_id,
                StageHistory.entity_key == entity.key,
                StageHistory.record_id == record_id,
                StageHistory.left_at.is_(None),
            )
        )
        for row in open_rows:
            row.left_at = now
        if to_stage is not None:
            self.session.add(
                StageHistory(
                    workspace_id=self.ctx.workspace_id,
                    app_id=self.app.app_id,
                    entity_key=entity.key,
                    record_id=record_id,
                    stage=to_stage,
                    from_stage=from_stage,
                    entered_at=now,
                    actor_id=self.ctx.actor.id,
                )
            )

    def _attach_files(self, entity: Entity, values: Mapping[str, Any]) -> None:
        """Marks files a write refers to as attached (unattached uploads get purged)."""
        ids = {
            file_id
            for key, value in values.items()
            if (f := entity.field(key)) is not None and f.type in (FieldType.PHOTO, FieldType.FILE) and value
            for file_id in value
        }
        if ids:
            self.session.execute(
                sa.update(FileRow)
                .where(FileRow.workspace_id == self.ctx.workspace_id, FileRow.id.in_(ids), FileRow.attached_at.is_(None))
                .values(attached_at=to_naive_utc(self.ctx.now()))
            )

    def _row_values(self, entity: Entity, record: Mapping[str, Any], keys: set[str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for key in keys:
            f = entity.field(key)
            if f is not None:
                row.update(to_row(f, record.get(key)))
            else:
                row[key] = record.get(key)
        return row

    def _check_row_write(self, entity: Entity, record: Mapping[str, Any]) -> None:
        condition = self._row_condition(entity, "write_when")
        if condition and not self.evaluator.holds(entity, condition, record, True):
            raise Forbidden("You may not change this record.", message_zh="您无权修改此记录。")

    def _create(self, entity: Entity, values: Mapping[str, Any], *, require_step: str | None = None) -> WriteResult:
        self._require(entity, "create")
        data = self._coerce(entity, values)
        now = self.ctx.now()
        after: dict[str, Any] = {
            "id": None,
            "created_at": now,
            "updated_at": now,
            "created_by": self.ctx.actor.id,
            "owner": self.ctx.actor.id,
            "version": 1,
        }
        for f in entity.fields:
            after[f.key] = None
            if f.default is not None and f.formula is None:
                try:
                    after[f.key] = coerce(f, f.default, self.ctx.tz)
                except ValueProblem:
                    after[f.key] = None
        for step in entity.steps:
            after[step_column(step.key)] = None
        first = entity.stages[0].key if entity.stages else None
        if first is not None:
            after["stage"] = first
            after["stage_entered_at"] = now
        after.update(data)
        self._compute_formulas(entity, after)
        completed, _reopened = self._gate(entity, None, after, set(data))
        if require_step is not None:
            self._require_done(entity, require_step, after)
        moved_to = None
        if first is not None and after.get("stage") != first:
            # A record starts in the first stage; asking for another is a move from there.
            _from, moved_to = self._stage_move(entity, {"stage": first}, after)
        self._check_row_write(entity, after)
        keys = {k for k in after if k != "id"}
        row = self._row_values(entity, after, keys)
        written = {k: [None, to_json(v)] for k, v in data.items()}
        if self.session.get_bind().dialect.name == "postgresql":
            # The record and its audit event in one statement (a data-modifying CTE).
            record_id = self._insert_audited(entity, row, self._audit_row(entity, None, "create", "ok", written))
        else:
            record_id = core_execute(self.session, self.app.insert_returning_id(entity.key), row).scalar_one()
            self._audit(entity, record_id, "create", "ok", written)
        after["id"] = record_id
        if first is not None:
            self._record_stage(entity, record_id, None, first)
            if moved_to is not None:
                self._record_stage(entity, record_id, first, moved_to)
        self._attach_files(entity, data)
        changes = [RecordChange("created", self.app.app_id, self.app.key, entity.key, record_id, now, before=None, after=after, changed=frozenset(data))]
        changes += [
            RecordChange("step_completed", self.app.app_id, self.app.key, entity.key, record_id, now, after=after, step=s)
            for s in completed
        ]
        changes += self._refresh_parents(entity, None, after)
        prompts = self._notify(changes)
        self.session.commit()
        return WriteResult(record=after, prompts=prompts, completed_steps=completed)

    def _update(
        self,
        entity: Entity,
        record_id: int,
        values: Mapping[str, Any],
        version: int | None,
        *,
        require_step: str | None = None,
    ) -> WriteResult:
        self._require(entity, "update")
        if version is None:
            raise Invalid(
                "Send the version you read (field 'version') so that concurrent changes are detected.",
                message_zh="请提交读取时的版本号(version),以便检测并发修改。",
                errors={"version": ["required"]},
            )
        data = self._coerce(entity, values)
        before = self._load(entity, record_id, for_update=True)
        self._check_row_write(entity, before)
        if before["version"] != version:
            raise self._conflict(entity, record_id)
        now = self.ctx.now()
        after = dict(before)
        after.update(data)
        after["updated_at"] = now
        after["version"] = version + 1
        stage_from = stage_to = None
        if entity.stages and after.get("stage") != before.get("stage"):
            after["stage_entered_at"] = now  # formulas see the move (refused as a whole if it is)
        self._compute_formulas(entity, after)
        written = {k for k in data if before.get(k) != data[k]} - {"stage", "owner"}
        completed, reopened = self._gate(entity, before, after, written)
        if require_step is not None:
            self._require_done(entity, require_step, after)
        if "stage" in data and entity.stages:
            # Checked on the record as it will be stored: formulas and steps re-evaluated.
            stage_from, stage_to = self._stage_move(entity, before, after)
        changes_map = _changed(before, after)
        self._write_row(entity, before, after, version)
        if stage_to is not None or stage_from is not None:
            self._record_stage(entity, record_id, stage_from, stage_to)
        self._attach_files(entity, data)
        self._audit(entity, record_id, "update", "ok", changes_map)
        self._audit_reopened(entity, record_id, before, reopened)
        changed = frozenset(k for k in changes_map)
        changes = [RecordChange("updated", self.app.app_id, self.app.key, entity.key, record_id, now, before=before, after=after, changed=changed)]
        if stage_from != stage_to:
            changes.append(
                RecordChange("stage_changed", self.app.app_id, self.app.key, entity.key, record_id, now, before=before, after=after, changed=changed, stage_from=stage_from, stage_to=stage_to)
            )
        changes += [
            RecordChange("step_completed", self.app.app_id, self.app.key, entity.key, record_id, now, before=before, after=after, step=s)
            for s in completed
        ]
        changes += self._refresh_parents(entity, before, after)
        prompts = self._notify(changes)
        self.session.commit()
        return WriteResult(record=after, prompts=prompts, completed_steps=completed)

    # -- derived state --------------------------------------------------------------------

    def _audit_reopened(self, entity: Entity, record_id: int, before: Mapping[str, Any], reopened: builtins.list[str], *, system: bool = False) -> None:
        """One ``step_reopened`` history entry per done step whose conditions stopped holding."""
        for key in reopened:
            step = entity.step(key)
            label = step.label.get("en") if step else key
            self._audit(
                entity,
                record_id,
                "step_reopened",
                "ok",
                {step_column(key): [to_json(before.get(step_column(key))), None]},
                message=f"Step {label} reopened: its conditions no longer hold.",
                system=system,
            )

    def _refresh_parents(
        self, entity: Entity, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, depth: int = 1
    ) -> builtins.list[RecordChange]:
        """Recomputes what the records ``entity`` links to derive from its collection.

        For each link of the written record whose target stores something computed from
        the reverse collection (formulas, step states), the old and the new parent are
        locked, reloaded and recomputed as the system, in this transaction; a parent that
        changed is written (version bumped), audited as a system change and reported as
        ``updated`` / ``step_completed`` changes. Recurses to grandparents up to
        ``DERIVED_DEPTH``.
        """
        if depth > DERIVED_DEPTH:
            return []
        out: builtins.list[RecordChange] = []
        for f in entity.fields:
            if f.type is not FieldType.LINK or not f.target or not f.related_name:
                continue
            if f.target in self.app.archived_entities:
                continue
            parent = self.app.definition.entity(f.target)
            if parent is None or not derives_from(parent, f.related_name):
                continue
            ids = {int(r[f.key]) for r in (before, after) if r is not None and r.get(f.key) is not None}
            for parent_id in sorted(ids):
                out += self._refresh(parent, parent_id, depth)
        return out

    def _refresh(self, entity: Entity, record_id: int, depth: int) -> builtins.list[RecordChange]:
        row = self._row(entity, record_id, for_update=True)
        if row is None:
            return []
        before = record_from_row(entity, row)
        after = dict(before)
        evaluator = system_evaluator(self.ctx, self.app)  # fresh: sees the child's write
        self._compute_formulas(entity, after, evaluator)
        completed, reopened = evaluator.settle_steps(entity, after)
        changes_map = _changed(before, after)
        if not changes_map:
            return []
        now = self.ctx.now()
        after["updated_at"] = now
        after["version"] = before["version"] + 1
        self._write_row(entity, before, after, before["version"])
        self._audit(entity, record_id, "update", "ok", changes_map, system=True)
        self._audit_reopened(entity, record_id, before, reopened, system=True)
        changed = frozenset(changes_map)
        changes = [RecordChange("updated", self.app.app_id, self.app.key, entity.key, record_id, now, before=before, after=after, changed=changed)]
        changes += [
            RecordChange("step_completed", self.app.app_id, self.app.key, entity.key, record_id, now, before=before, after=after, step=s)
            for s in completed
        ]
        return changes + self._refresh_parents(entity, before, after, depth + 1)

    def _notify(self, changes: builtins.list[RecordChange]) -> builtins.list[Prompt]:
        self._flush_audits()  # the write's audit events, in its transaction
        prompts: builtins.list[Prompt] = []
        for listener in self.listeners:
            prompts.extend(listener.on_change(self.ctx, self.app, changes))
        return prompts

    def _audit(
        self,
        entity: Entity,
        record_id: int | None,
        action: str,
        outcome: str,
        changes: Mapping[str, Any],
        *,
        error_code: str | None = None,
        message: str | None = None,
        message_zh: str | None = None,
        system: bool = False,
    ) -> None:
        """Queues one audit event; :meth:`_flush_audits` inserts a write's events together."""
        self._audits.append(
            self._audit_row(
                entity, record_id, action, outcome, changes,
                error_code=error_code, message=message, message_zh=message_zh, system=system,
            )
        )

    def _audit_row(
        self,
        entity: Entity,
        record_id: int | None,
        action: str,
        outcome: str,
        changes: Mapping[str, Any],
        *,
        error_code: str | None = None,
        message: str | None = None,
        message_zh: str | None = None,
        system: bool = False,
    ) -> dict[str, Any]:
        """The column values of one audit event."""
        return {
            "workspace_id": self.ctx.workspace_id,
            "app_id": self.app.app_id,
            "entity_key": entity.key,
            "record_id": record_id,
            "action": action,
            "outcome": outcome,
            "error_code": error_code,
            "message": message,
            "message_zh": message_zh,
            "changes": _json_copy(changes),
            "actor_id": None if system else self.ctx.actor.id,
            "at": to_naive_utc(self.ctx.now()),
        }

    def _insert_audited(self, entity: Entity, row: dict[str, Any], audit: dict[str, Any]) -> int:
        """INSERTs ``row`` into the entity's table and ``audit`` (its record id filled in)
        into the audit trail with one statement; returns the new record's id.

        ``WITH written AS (INSERT … RETURNING id) INSERT INTO audit_events … SELECT … FROM
        written``: PostgreSQL only (SQLite has no data-modifying CTE, nor round trips).
        """
        columns = tuple(row)

        def build() -> Any:
            table = self.app.table(entity.key)
            written = (
                table.insert()
                .values({c: sa.bindparam(f"r_{c}", type_=table.c[c].type) for c in columns})
                .returning(table.c.id)
                .cte("written")
            )
            audit_table = AuditEvent.__table__
            names = list(_AUDIT_COLUMNS)
            values = [
                written.c.id if c == "record_id" else sa.bindparam(f"a_{c}", type_=audit_table.c[c].type)
                for c in names
            ]
            return audit_table.insert().from_select(names, sa.select(*values)).returning(audit_table.c.record_id)  # type: ignore[attr-defined]

        statement = self.app.statement(("audited insert", entity.key, columns), build)
        parameters = {f"r_{c}": v for c, v in row.items()}
        parameters.update((f"a_{c}", v) for c, v in audit.items() if c != "record_id")
        return int(core_execute(self.session, statement, parameters).scalar_one())

    def _flush_audits(self) -> None:
        """Inserts the queued audit events with one statement (executemany of a cached INSERT)."""
        rows, self._audits = self._audits, []
        if rows:
            core_execute(self.session, _AUDIT_INSERT, rows)

    # -- form state and history -------------------------------------------------------------
    # -- form state and history -------------------------------------------------------------

    def form_state(self, entity_key: str, record_id: int | None, draft: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Steps, fields and stage of a record with unsaved ``draft`` values (see RecordViews)."""
        return RecordViews(self).form_state(entity_key, record_id, draft)

    def step_states(self, entity_key: str, record_id: int) -> builtins.list[dict[str, Any]]:
        """The steps of a stored record: unlocked, done, done_at, locked message."""
        return RecordViews(self).step_states(entity_key, record_id)

    def history(self, entity_key: str, record_id: int) -> builtins.list[dict[str, Any]]:
        """The audit trail of one record, oldest first (refused attempts included)."""
        return RecordViews(self).history(entity_key, record_id)

    def timeline(self, entity_key: str, record_id: int, since: datetime | None = None, limit: int = 500) -> builtins.list[dict[str, Any]]:
        """The record's events and those of its related records, in time order (S24)."""
        return RecordViews(self).timeline(entity_key, record_id, since, limit)


#: Exact types of JSON scalars (bool included; subclasses take the JSON round trip).
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_copy(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of an audit event's changes.

    Changes are usually ``{field: [before, after]}`` with values already in their JSON form
    (``to_json``): those are copied as they are. Anything else goes through a JSON round
    trip, which turns values JSON can't hold into their ``str``.
    """
    copy: dict[str, Any] = {}
    for key, value in changes.items():
        if type(key) is not str or type(value) is not list or any(type(v) not in _JSON_SCALARS for v in value):
            return json.loads(json.dumps(dict(changes), default=str))  # type: ignore[no-any-return]
        copy[key] = list(value)
    return copy


def _value_taken(entity: Entity, values: Mapping[str, Any]) -> Conflict:
    """A write that clashed with a unique field: 409 naming the unique fields it sent."""
    sent = [f for f in entity.fields if f.unique and isinstance(values, Mapping) and f.key in values]
    names_en = ", ".join(str(f.label.get("en")) for f in sent) or "a unique field"
    names_zh = "、".join(str(f.label.get("zh")) for f in sent) or "唯一字段"
    return Conflict(
        f"Another {entity.label.get('en')} record already has this {names_en}; use a different value.",
        message_zh=f"已有其他{entity.label.get('zh')}记录使用了相同的{names_zh},请换一个值。",
        errors={f.key: ["already used by another record"] for f in sent},
        code="value_taken",
    )


def _out_of_range(entity: Entity) -> Invalid:
    """A write whose values (sent or computed) the database can't hold: 422, not 500."""
    return Invalid(
        f"A value of this {entity.label.get('en')} record, sent or computed by a formula, is out of "
        "range for the database (e.g. a whole number beyond ±9.2×10^18). Use smaller numbers.",
        message_zh=f"此{entity.label.get('zh')}记录的某个值(提交的或由公式计算的)超出数据库可保存的范围"
        "(例如超过 ±9.2×10^18 的整数),请使用更小的数字。",
        code="value_out_of_range",
    )
