"""Evaluating a definition's expressions on records: the data resolver and the gates.

:class:`RecordEvaluator` is the one place the runtime evaluates expressions on a record:
conditions (``*_when``, rules, exit criteria), formulas, step states and their
explanations. It hands the expression language a :class:`RecordResolver` that loads linked
records, users and related collections through the session — bounded, and cached for the
duration of one service call.

What the resolver loads is limited to what the evaluator's :class:`Visibility` lets its
reader see: built for a call context, it applies the actor's row conditions (a linked
record the actor may not read is null, a related collection holds only readable rows);
derived state computed on write passes ``Visibility.everything(app)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from builder.model import Entity, Field, Step
from expressions.scope import CollectionSpec, EvalContext, StepState
from expressions.types import BOOLEAN
from runtime.apps import PublishedApp
from runtime.context import Actor, CallContext
from runtime.models import User
from runtime.tables import STAGE_COLUMNS, SYSTEM_COLUMNS, step_column
from runtime.values import from_row, is_blank
from runtime.visibility import Visibility, visible_rows

RELATED_LIMIT = 5_000


def record_from_row(entity: Entity, row: Mapping[Any, Any]) -> dict[str, Any]:
    """A record mapping (field key → Python value, system fields, step timestamps)."""
    record: dict[str, Any] = {name: row.get(name) for name in SYSTEM_COLUMNS}
    if entity.stages:
        for name in STAGE_COLUMNS:
            record[name] = row.get(name)
    for step in entity.steps:
        record[step_column(step.key)] = row.get(step_column(step.key))
    for f in entity.fields:
        record[f.key] = from_row(f, row)
    return record


def _comment(rest: str) -> str | None:
    """The text of a ``#`` comment in ``rest`` (outside string literals), if any."""
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(rest):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return rest[i + 1 :].strip() or None
    return None


def part_labels(source: str, parts: Sequence[tuple[int, int, str]]) -> list[str | None]:
    """A human label per explained part: the comment ending the line the part ends on.

    ``budget_range != null   # 预算范围已确认`` labels that part "预算范围已确认". A comment
    is only a part's label when no other part starts after it on the same line.
    """
    lines = source.splitlines()
    labels: list[str | None] = []
    for index, (line, column, text) in enumerate(parts):
        end_line = line + text.count("\n")
        end_column = (column + len(text)) if end_line == line else len(text.rsplit("\n", 1)[-1]) + 1
        following = parts[index + 1] if index + 1 < len(parts) else None
        if (following is not None and following[0] == end_line) or not 0 < end_line <= len(lines):
            labels.append(None)
            continue
        labels.append(_comment(lines[end_line - 1][end_column - 1 :]))
    return labels


def split_label(label: str | None) -> tuple[str | None, str | None]:
    """A part label's Chinese and English texts: ``预算已确认 | Budget confirmed`` gives both,
    a label without `` | `` serves both languages."""
    if label is None:
        return None, None
    zh, bar, en = label.partition(" | ")
    if not bar:
        return label, label
    zh, en = zh.strip(), en.strip()
    return (zh or en or None), (en or zh or None)


class RecordResolver:
    """Loads what expressions reach beyond one record (a ``DataResolver``)."""

    def __init__(self, session: Session, app: PublishedApp, evaluator: RecordEvaluator) -> None:
        self.session = session
        self.app = app
        self.evaluator = evaluator
        self._records: dict[tuple[str, int], dict[str, Any] | None] = {}
        self._users: dict[int, dict[str, Any] | None] = {}
        self._related: dict[tuple[str, int], list[dict[str, Any]]] = {}

    def record(self, entity: str, record_id: int) -> Mapping[str, Any] | None:
        """The linked record, or None."""
        key = (entity, record_id)
        if key not in self._records:
            table = self.app.table(entity)
            query = self.evaluator.restrict(entity, sa.select(table).where(table.c.id == record_id), table)
            row = self.session.execute(query).mappings().first()
            self._records[key] = None if row is None else record_from_row(self.app.entity(entity), row)
        return self._records[key]

    def user(self, user_id: int) -> Mapping[str, Any] | None:
        """The attributes of a user of this workspace, or None."""
        if user_id not in self._users:
            user = self.session.scalars(
                sa.select(User).where(User.id == user_id, User.workspace_id == self.app.workspace_id)
            ).one_or_none()
            self._users[user_id] = None if user is None else user.attributes()
        return self._users[user_id]

    def related(
        self, collection: CollectionSpec, parent: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        """The child records linking to ``parent`` (at most RELATED_LIMIT, newest last)."""
        parent_id = parent.get("id")
        if parent_id is None:
            return []
        key = (collection.entity + "." + collection.link_field, int(parent_id))
        if key not in self._related:
            table = self.app.table(collection.entity)
            child = self.app.entity(collection.entity)
            query = sa.select(table).where(table.c[collection.link_field] == parent_id)
            query = self.evaluator.restrict(collection.entity, query, table)
            rows = self.session.execute(query.order_by(table.c.id).limit(RELATED_LIMIT)).mappings()
            self._related[key] = [record_from_row(child, r) for r in rows]
        return self._related[key]

    def step(self, entity: str, record: Mapping[str, Any], step: str) -> StepState:
        """The state of a step of ``record``."""
        return self.evaluator.step_state(self.app.entity(entity), record, step)

    def forget(self, entity: str, record_id: int) -> None:
        """Drops a cached record after it was written."""
        self._records.pop((entity, record_id), None)


def system_evaluator(ctx: CallContext, app: PublishedApp, *, me: Actor | None = None) -> RecordEvaluator:
    """An evaluator that sees records as the system does (no actor's row conditions).

    The write path evaluates stored and gating state with it — formulas, step done /
    unlock conditions, requirements, rules, stage exit criteria — so that what is stored
    never depends on which rows the writer may read. ``me`` is who ``me()`` names: the
    writer on a record's own write, the system (the default) when derived state is
    recomputed after another record changed.
    """
    system = replace(ctx, actor=Actor.system(ctx.workspace_id))
    return RecordEvaluator(system, app, me=me, visibility=Visibility.everything(app))


class RecordEvaluator:
    """Evaluates a definition's expressions on records for one service call.

    ``ctx.actor`` is whose view of the data the evaluator takes; ``me`` (default: the same
    actor) is who ``me()`` names in expressions.
    """

    def __init__(
        self, ctx: CallContext, app: PublishedApp, *, me: Actor | None = None, visibility: Visibility | None = None
    ) -> None:
        """``visibility`` defaults to what ``ctx``'s actor may read."""
        self.ctx = ctx
        self.app = app
        self.me = me or ctx.actor
        self.visibility = visibility if visibility is not None else Visibility.of(app, ctx.actor)
        self.resolver = RecordResolver(ctx.session, app, self)
        self._context: EvalContext | None = None
        self._conditions = app.expressions(BOOLEAN)  # looked up before app.compiled
        self._values = app.expressions(None)
        self._unlocking: set[tuple[int, str]] = set()

    def restrict(self, entity: str, query: sa.Select[Any], table: sa.FromClause) -> sa.Select[Any]:
        """``query`` over ``table`` limited to the rows of ``entity`` this evaluator may see."""
        if self.visibility.unrestricted:
            return query
        return visible_rows(self.visibility, self.ctx, entity, query, table)

    @property
    def context(self) -> EvalContext:
        """The evaluation context: clock, zone, ``me()`` and resolver of this call."""
        if self._context is None:
            self._context = EvalContext(
                now=self.ctx.now(),
                tz=self.ctx.tz,
                actor=self.me.attributes(),
                resolver=self.resolver,
            )
        return self._context

    def value(self, entity: Entity, source: str, record: Mapping[str, Any]) -> Any:
        """The value of ``source`` on ``record``."""
        compiled = self._values.get((entity.key, source)) or self.app.compiled(entity.key, source)
        return compiled.evaluate(record, self._context or self.context)

    def holds(self, entity: Entity, source: str | None, record: Mapping[str, Any], default: bool) -> bool:
        """Whether condition ``source`` holds (``default`` when there is none; null is false).

        The record service's per-record path: one dict lookup in the app's compiled
        expressions, then the compiled function.
        """
        if not source:
            return default
        compiled = self._conditions.get((entity.key, source)) or self.app.compiled(entity.key, source, BOOLEAN)
        return compiled.evaluate(record, self._context or self.context) is True

    def explain(self, entity: Entity, source: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Which top-level parts of condition ``source`` held: ``{"ok", "parts"}``."""
        compiled = self.app.compiled(entity.key, source, BOOLEAN)
        explanation = compiled.explain(record, self.context)
        labels = part_labels(source, [(p.line, p.column, p.source) for p in explanation.parts])
        return {
            "ok": explanation.value is True,
            "parts": [
                {"source": p.source, "held": bool(p.held), "label": zh, "label_en": en}
                for p, (zh, en) in zip(explanation.parts, map(split_label, labels), strict=True)
            ],
        }

    def compute_formulas(self, entity: Entity, record: dict[str, Any]) -> None:
        """Sets every formula field of ``record`` in place (twice: formulas may read formulas
        defined after them)."""
        formulas = [f for f in entity.fields if f.formula is not None]
        for _ in range(2):
            for f in formulas:
                record[f.key] = self.value(entity, f.formula or "", record)

    # -- steps ---------------------------------------------------------------------------

    def step_done_now(self, entity: Entity, step: Step, record: Mapping[str, Any]) -> bool:
        """Whether ``step``'s done condition holds on ``record`` right now.

        Without ``done_when`` a step is done when its required fields are filled (all of
        its fields if none is required; never if it owns no field).
        """
        if step.done_when:
            return self.holds(entity, step.done_when, record, False)
        owned = [f for f in entity.fields if f.key in step.fields]
        if not owned:
            return False
        required = [f for f in owned if self.required(entity, f, record)] or owned
        return all(not is_blank(record.get(f.key)) for f in required)

    def step_unmet(self, entity: Entity, step: Step, record: Mapping[str, Any]) -> list[Field]:
        """The visible fields ``step`` owns whose ``required`` / ``required_when`` fails."""
        return [
            f
            for f in entity.fields
            if f.key in step.fields
            and is_blank(record.get(f.key))
            and self.visible(entity, f, record)
            and self.required(entity, f, record)
        ]

    def step_complete(self, entity: Entity, step: Step, record: Mapping[str, Any]) -> bool:
        """Whether ``step`` is done on ``record``: its owned fields' requirements hold and its
        done condition holds."""
        return not self.step_unmet(entity, step, record) and self.step_done_now(entity, step, record)

    def settle_steps(self, entity: Entity, record: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Re-evaluates every step of ``record`` in place; returns (completed, reopened).

        A step whose conditions hold gets its ``_done_<step>`` timestamp (now); a done step
        whose conditions no longer hold loses it. Steps may depend on each other (acyclic,
        checked by the builder), so this repeats until nothing changes; a step that ends
        where it started keeps its original timestamp.
        """
        original = {s.key: record.get(step_column(s.key)) for s in entity.steps}
        now = self.ctx.now()
        for _ in range(len(entity.steps) + 1):
            changed = False
            for step in entity.steps:
                column = step_column(step.key)
                done = self.step_complete(entity, step, record)
                if done and record.get(column) is None:
                    record[column] = original[step.key] or now
                    changed = True
                elif not done and record.get(column) is not None:
                    record[column] = None
                    changed = True
            if not changed:
                break
        completed = [s.key for s in entity.steps if original[s.key] is None and record.get(step_column(s.key)) is not None]
        reopened = [s.key for s in entity.steps if original[s.key] is not None and record.get(step_column(s.key)) is None]
        return completed, reopened

    def step_state(self, entity: Entity, record: Mapping[str, Any], step_key: str) -> StepState:
        """Done (its ``_done_<step>`` timestamp is set), when, and whether it is unlocked."""
        step = entity.step(step_key)
        if step is None:
            return StepState(done=False, done_at=None, unlocked=False)
        done_at: datetime | None = record.get(step_column(step_key))
        marker = (id(record), step_key)
        if marker in self._unlocking:  # a dependency cycle slipped past validation
            return StepState(done=done_at is not None, done_at=done_at, unlocked=False)
        self._unlocking.add(marker)
        try:
            unlocked = self.holds(entity, step.unlock_when, record, True)
        finally:
            self._unlocking.discard(marker)
        return StepState(done=done_at is not None, done_at=done_at, unlocked=unlocked)

    def step_of(self, entity: Entity, field_key: str) -> Step | None:
        """The step owning ``field_key``, if any."""
        for step in entity.steps:
            if field_key in step.fields:
                return step
        return None

    # -- fields --------------------------------------------------------------------------

    def required(self, entity: Entity, f: Field, record: Mapping[str, Any]) -> bool:
        """Whether ``f`` must be filled on ``record``."""
        if f.required:
            return True
        return self.holds(entity, f.required_when, record, False)

    def visible(self, entity: Entity, f: Field, record: Mapping[str, Any]) -> bool:
        """Whether ``f`` is shown on ``record``."""
        return self.holds(entity, f.visible_when, record, True)

    def read_only(self, entity: Entity, f: Field, record: Mapping[str, Any]) -> bool:
        """Whether ``f`` may not be written on ``record``."""
        if f.formula is not None:
            return True
        return self.holds(entity, f.read_only_when, record, False)
