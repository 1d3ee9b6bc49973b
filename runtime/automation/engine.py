"""The trigger engine: matches a write's changes to triggers, inside the write's transaction.

:class:`TriggerEngine` is a :class:`~runtime.changes.WriteListener`. For every change of a
write it finds the triggers of the app that match (created, updated, field_changed with
from/to, step_completed, stage_changed, deleted), evaluates their ``when`` condition on the
record, runs ``prompt`` actions inline (they are the write's answer to the person: S8) and
adds **one outbox row per matched trigger** for the other actions — in the same session,
so the rows commit with the write or not at all (transactional outbox). A write's rows go
in with one multi-row INSERT, not one statement per row. A write that creates a record or
moves the ``since`` value of an elapsed trigger also upserts its due row
(:mod:`runtime.automation.due`), one statement for the whole write. It never commits.

Loops (trigger A writes a record that fires B that fires A …) are cut at
:data:`MAX_DEPTH`: a write made by automation carries ``CallContext.depth`` = the depth of
the job that made it + 1, and at ``MAX_DEPTH`` the engine records the firing as ``cut``
instead of queueing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from builder.checker import references
from builder.model import Entity
from builder.triggers import (
    INLINE_ACTIONS,
    OnCreated,
    OnDeleted,
    OnFieldChanged,
    OnStageChanged,
    OnStepCompleted,
    OnUpdated,
    PromptAction,
    Trigger,
)
from runtime.automation.due import track as track_due
from runtime.automation.history import record_cut
from runtime.automation.outbox import enqueue, enqueue_many, outbox_row
from runtime.automation.templates import render
from runtime.changes import Prompt, RecordChange

if TYPE_CHECKING:
    from runtime.apps import PublishedApp
    from runtime.context import CallContext
    from runtime.platform import Platform

log = logging.getLogger(__name__)

#: Writes caused by automation deeper than this do not fire triggers (loop cut).
MAX_DEPTH = 8


def _any_of(expected: Any, value: Any) -> bool:
    if isinstance(expected, tuple):
        return any(_same(e, value) for e in expected)
    return _same(expected, value)


def _same(expected: Any, value: Any) -> bool:
    if expected is None or value is None:
        return expected is None and value is None
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    if isinstance(expected, int | float) and not isinstance(value, str):
        try:
            return bool(float(value) == float(expected))
        except (TypeError, ValueError):
            return False
    return str(value) == str(expected)


def matches(trigger: Trigger, change: RecordChange) -> bool:
    """Whether ``trigger``'s ``on`` is satisfied by ``change`` (its ``when`` aside)."""
    on = trigger.on
    if trigger.entity != change.entity or not trigger.enabled:
        return False
    if isinstance(on, OnCreated):
        return change.kind == "created"
    if isinstance(on, OnDeleted):
        return change.kind == "deleted"
    if isinstance(on, OnUpdated):
        if change.kind != "updated":
            return False
        return not on.fields or bool(set(on.fields) & set(change.changed))
    if isinstance(on, OnStepCompleted):
        return change.kind == "step_completed" and change.step == on.step
    if isinstance(on, OnStageChanged):
        if change.kind != "stage_changed":
            return False
        if on.from_ is not None and change.stage_from != on.from_:
            return False
        return on.to is None or change.stage_to == on.to
    if isinstance(on, OnFieldChanged):
        before = change.before or {}
        after = change.after or {}
        if change.kind == "created":
            # A record created with the field filled counts as a change from empty.
            if after.get(on.field) is None:
                return False
        elif change.kind == "updated":
            if on.field not in change.changed and before.get(on.field) == after.get(on.field):
                return False
        else:
            return False
        if on.has_from and not _any_of(on.from_, before.get(on.field)):
            return False
        return not (on.has_to and not _any_of(on.to, after.get(on.field)))
    return False


#: System columns a trigger's ``when`` may read and still be known before the record's id.
_OWN_COLUMNS = frozenset({"owner", "stage", "created_at", "updated_at", "created_by", "version", "stage_entered_at"})


def _reads_own_fields(entity: Entity, source: str) -> bool:
    """Whether the expression ``source`` reads only the record's own stored values (its
    fields and system columns other than ``id``; ``steps.<key>`` are stored columns too)."""
    names = references(source).names
    return all(name in _OWN_COLUMNS or (entity.field(name) is not None) for name in names)


@dataclass(frozen=True)
class PlannedFirings:
    """A create's outbox rows before its record exists (``record_id`` left out), and what
    is done once it does: ``after_insert`` writes the record's elapsed due rows (they need
    its id) and returns the prompts its firings give (see :meth:`TriggerEngine.plan_create`)."""

    rows: list[dict[str, Any]]
    after_insert: Callable[[], list[Prompt]]


class TriggerEngine:
    """The write listener that turns matching changes into prompts and outbox rows."""

    def __init__(self, max_depth: int = MAX_DEPTH) -> None:
        self.max_depth = max_depth

    def on_change(
        self, ctx: CallContext, app: PublishedApp, changes: Sequence[RecordChange]
    ) -> Sequence[Prompt]:
        """Matches ``changes``; returns prompts and adds outbox rows to ``ctx.session``."""
        track_due(ctx.session, app, changes)  # elapsed triggers' open episodes (due table)
        prompts: list[Prompt] = []
        rows: list[dict[str, Any]] = []
        for trigger, change, entity, record in self._firings(ctx, app, changes):
            prompts.extend(self._prompts(ctx, trigger, record))
            if all(a.type in INLINE_ACTIONS for a in trigger.actions):
                continue
            self._enqueue(ctx, app, trigger, change, entity, record, rows)
        enqueue_many(ctx.session, rows)
        return prompts

    def plan_create(
        self, ctx: CallContext, app: PublishedApp, changes: Sequence[RecordChange]
    ) -> PlannedFirings | None:
        """What :meth:`on_change` would do for a create's ``changes``, worked out before the
        record is inserted, so that its outbox rows can go in with the record's statement.

        ``changes`` carry no record id yet (``record_id`` 0, ``after["id"]`` None); the
        rows' ``record_id`` is left out for the statement to fill in, and the prompts are
        rendered once the record is stored (their templates may show its id). None where
        the firings can't be known before the id: a loop cut (its run row points at its
        outbox row), or a matching trigger whose ``when`` reads something other than the
        record's own fields (its id, a collection, …). The caller then inserts the record
        and calls :meth:`on_change` as for any write.
        """
        if ctx.depth >= self.max_depth:
            return None
        firings: list[tuple[Trigger, Mapping[str, Any] | None]] = []
        rows: list[dict[str, Any]] = []
        for firing in self._firings(ctx, app, changes, own_fields_only=True):
            if firing is None:
                return None
            trigger, change, entity, record = firing
            firings.append((trigger, record))
            if not all(a.type in INLINE_ACTIONS for a in trigger.actions):
                self._enqueue(ctx, app, trigger, change, entity, record, rows)
        for row in rows:
            del row["record_id"]

        def after_insert() -> list[Prompt]:
            # The caller has stored the record and put its id into the changes' ``after``.
            stored = [replace(c, record_id=c.after["id"]) for c in changes if c.after is not None]
            track_due(ctx.session, app, stored)
            out: list[Prompt] = []
            for trigger, record in firings:
                out.extend(self._prompts(ctx, trigger, record))
            return out

        return PlannedFirings(rows, after_insert)

    def _firings(
        self,
        ctx: CallContext,
        app: PublishedApp,
        changes: Sequence[RecordChange],
        *,
        own_fields_only: bool = False,
    ) -> list[Any]:
        """(trigger, change, entity, record) of each trigger ``changes`` fire, ``when``
        included. With ``own_fields_only`` a matching trigger whose ``when`` reads anything
        but the record's own fields gives a None entry instead (see :meth:`plan_create`)."""
        triggers = [t for t in app.definition.triggers if isinstance(t, Trigger)]
        if not triggers:
            return []
        out: list[Any] = []
        evaluator = None
        for change in changes:
            for trigger in triggers:
                if not matches(trigger, change):
                    continue
                entity = app.definition.entity(change.entity)
                if entity is None:
                    continue
                record = change.before if change.kind == "deleted" else change.after
                if trigger.when:
                    if own_fields_only and not _reads_own_fields(entity, trigger.when):
                        out.append(None)
                        continue
                    if evaluator is None:
                        from runtime.evaluation import RecordEvaluator
                        from runtime.visibility import Visibility

                        evaluator = RecordEvaluator(ctx, app, visibility=Visibility.everything(app))
                    if not evaluator.holds(entity, trigger.when, record or {}, False):
                        continue
                out.append((trigger, change, entity, record))
        return out

    def _prompts(
        self, ctx: CallContext, trigger: Trigger, record: Mapping[str, Any] | None
    ) -> list[Prompt]:
        out: list[Prompt] = []
        for action in trigger.actions:
            if not isinstance(action, PromptAction):
                continue
            message = {
                loc: render(text, record, ctx.tz)
                for loc, text in (("zh", action.message.zh), ("en", action.message.en))
                if text is not None
            }
            title = {}
            if action.title is not None:
                title = {
                    loc: render(text, record, ctx.tz)
                    for loc, text in (("zh", action.title.zh), ("en", action.title.en))
                    if text is not None
                }
            out.append(Prompt(trigger=trigger.key, message=message, title=title, level=action.level))
        return out

    def _enqueue(
        self,
        ctx: CallContext,
        app: PublishedApp,
        trigger: Trigger,
        change: RecordChange,
        entity: Entity,
        record: Mapping[str, Any] | None,
        rows: list[dict[str, Any]],
    ) -> None:
        """Adds the outbox row of one firing to ``rows`` (a cut firing is stored at once)."""
        payload: dict[str, Any] = {
            "change": change.kind,
            "actor_id": ctx.actor.id,
            "changed": sorted(change.changed),
        }
        if change.stage_from is not None or change.stage_to is not None:
            payload["stage_from"], payload["stage_to"] = change.stage_from, change.stage_to
        if change.step:
            payload["step"] = change.step
        if change.kind == "deleted" and record is not None:
            payload["record"] = dict(record)
        cut = ctx.depth >= self.max_depth
        if cut:
            log.warning(
                "trigger %s.%s not fired for %s %s: automation depth %d reached (loop cut)",
                app.key, trigger.key, change.entity, change.record_id, ctx.depth,
            )
        fields: dict[str, Any] = {
            "workspace_id": ctx.workspace_id,
            "app_id": app.app_id,
            "app_key": app.key,
            "trigger_key": trigger.key,
            "kind": change.kind,
            "entity": change.entity,
            "record_id": change.record_id,
            "now": ctx.now(),
            "depth": ctx.depth,
            "payload": payload,
        }
        if not cut:
            rows.append(outbox_row(**fields))
            return
        # A cut firing's run row points at its outbox row, so that one is inserted now.
        job = enqueue(
            ctx.session,
            **fields,
            status="cut",
            error=f"loop cut: automation depth {ctx.depth} reached the limit {self.max_depth}",
        )
        record_cut(ctx.session, job)


def install(platform: Platform) -> TriggerEngine:
    """Adds the trigger engine to ``platform.listeners`` (once) and returns it."""
    for listener in platform.listeners:
        if isinstance(listener, TriggerEngine):
            return listener
    engine = TriggerEngine()
    platform.listeners.append(engine)
    return engine
