"""Assignment: choosing the user for a record's user field, and recording why.

Strategies are pure functions over :class:`Candidate` values (:func:`round_robin`,
:func:`least_loaded`, :func:`matching`, :func:`weighted`). :class:`AssignmentService`
loads the candidates of a rule (active users of the workspace, filtered by role and
region), their current load (one grouped SQL count of the records they own) and their
history matches (one grouped SQL count, S11), runs the rule's strategy, walks the fallback
chain when it finds nobody, and writes one :class:`AssignmentLog` row with the reason:
the rules tried, each one's outcome, and for weighted scoring every candidate's score
broken down by criterion ("why this rep", S12, S34).

Expressions see the candidate as ``me()``: ``me().id / name / role / region / manager``
plus ``me().load`` (open records owned) and ``me().history_matches`` (records matching the
rule's ``history``). The assignment service never commits; the action's job does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from builder.repository import BigId, PlatformBase
from runtime.clock import to_naive_utc
from runtime.models import User

MAX_CHAIN = 10

# ----------------------------------------------------------------------------- tables


class AssignmentLog(PlatformBase):
    """One assignment decision: who got the record, by which rule, and why."""

    __tablename__ = "assignment_log"
    __table_args__ = (
        sa.Index("ix_assignment_log_record", "app_id", "entity", "record_id", "at"),
        sa.Index("ix_assignment_log_rule", "app_id", "rule_key", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(sa.String(63))
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    field: Mapped[str] = mapped_column(sa.String(63))
    rule_key: Mapped[str] = mapped_column(sa.String(63))
    decided_by: Mapped[str | None] = mapped_column(sa.String(63))
    strategy: Mapped[str | None] = mapped_column(sa.String(32))
    assignee_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    trigger_key: Mapped[str | None] = mapped_column(sa.String(63))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    summary: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(sa.DateTime)


class AssignmentCursor(PlatformBase):
    """The round-robin position of one rule: the user who got the last record."""

    __tablename__ = "assignment_cursors"
    __table_args__ = (sa.UniqueConstraint("app_id", "rule_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("apps.id", ondelete="CASCADE"))
    rule_key: Mapped[str] = mapped_column(sa.String(63))
    last_user_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)


# ----------------------------------------------------------------------------- pure strategies


@dataclass(frozen=True)
class Candidate:
    """A user who may be assigned, with the figures strategies compare."""

    id: int
    name: str = ""
    role: str | None = None
    region: str | None = None
    manager: int | None = None
    load: int = 0
    history_matches: int = 0

    def attributes(self) -> dict[str, Any]:
        """What expressions see through ``me()`` while judging this candidate."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "region": self.region,
            "manager": self.manager,
            "load": self.load,
            "history_matches": self.history_matches,
        }


@dataclass(frozen=True)
class ScorePart:
    """One criterion's contribution to a weighted score: ``points = value * weight``."""

    key: str
    label: str
    value: float
    weight: float
    points: float


@dataclass(frozen=True)
class CandidateScore:
    """A candidate's weighted total and its breakdown."""

    user_id: int
    total: float
    parts: tuple[ScorePart, ...]
    load: int = 0

    def as_json(self) -> dict[str, Any]:
        """The JSON form kept in the assignment log."""
        return {
            "user_id": self.user_id,
            "total": round(self.total, 6),
            "load": self.load,
            "parts": [
                {"key": p.key, "label": p.label, "value": round(p.value, 6),
                 "weight": p.weight, "points": round(p.points, 6)}
                for p in self.parts
            ],
        }


@dataclass(frozen=True)
class Pick:
    """What one strategy decided: the user (or None) and a note saying why."""

    user_id: int | None
    note: str
    scores: tuple[CandidateScore, ...] = ()


@dataclass(frozen=True)
class WeightSpec:
    """A weighted criterion (``builder.triggers.Weight`` has the same attributes)."""

    key: str
    label: str
    weight: float


def _lowest_load(candidates: Sequence[Candidate]) -> Candidate:
    # Ties go to the lowest user id, so the same data always gives the same answer.
    return min(candidates, key=lambda c: (c.load, c.id))


def round_robin(candidates: Sequence[Candidate], last_user_id: int | None) -> Pick:
    """The candidate after ``last_user_id`` in user-id order (wrapping round)."""
    if not candidates:
        return Pick(None, "no candidates")
    ordered = sorted(candidates, key=lambda c: c.id)
    if last_user_id is not None:
        for candidate in ordered:
            if candidate.id > last_user_id:
                return Pick(candidate.id, f"next in turn after user {last_user_id}")
    return Pick(ordered[0].id, "first in turn" if last_user_id is None else "turn wrapped round")


def least_loaded(candidates: Sequence[Candidate]) -> Pick:
    """The candidate owning the fewest open records (ties: lowest user id)."""
    if not candidates:
        return Pick(None, "no candidates")
    best = _lowest_load(candidates)
    return Pick(best.id, f"lowest load {best.load} of {len(candidates)} candidates")


def matching(
    candidates: Sequence[Candidate], predicate: Callable[[Candidate], bool], what: str
) -> Pick:
    """Among the candidates for which ``predicate`` holds, the least loaded one."""
    matched = [c for c in candidates if predicate(c)]
    if not matched:
        return Pick(None, f"nobody matched: {what}" if candidates else "no candidates")
    best = _lowest_load(matched)
    return Pick(
        best.id,
        f"{len(matched)} of {len(candidates)} candidates matched: {what}; "
        f"lowest load {best.load} among them",
    )


def as_number(value: Any) -> float:
    """A criterion's value as a number: true → 1, false / null / non-numbers → 0."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float | Decimal):
        return float(value)
    return 0.0


def score(
    candidate: Candidate,
    weights: Sequence[WeightSpec],
    value: Callable[[WeightSpec, Candidate], Any],
) -> CandidateScore:
    """``candidate``'s weighted score with one :class:`ScorePart` per criterion."""
    parts = []
    for spec in weights:
        number = as_number(value(spec, candidate))
        parts.append(ScorePart(spec.key, spec.label, number, spec.weight, number * spec.weight))
    return CandidateScore(candidate.id, sum(p.points for p in parts), tuple(parts), candidate.load)


def weighted(
    candidates: Sequence[Candidate],
    weights: Sequence[WeightSpec],
    value: Callable[[WeightSpec, Candidate], Any],
) -> Pick:
    """The candidate with the highest weighted score (ties: lower load, then lower id)."""
    if not candidates:
        return Pick(None, "no candidates")
    scores = sorted(
        (score(c, weights, value) for c in candidates),
        key=lambda s: (-s.total, s.load, s.user_id),
    )
    best = scores[0]
    parts = ", ".join(f"{p.key} {p.points:+.2f}" for p in best.parts)
    return Pick(best.user_id, f"highest score {best.total:.2f} ({parts})", tuple(scores))


# ----------------------------------------------------------------------------- service seams


class RuleConfig(Protocol):
    """An assignment rule (``builder.triggers.AssignmentRule``)."""

    key: str
    entity: str
    field: str
    strategy: str
    candidates: Any
    expression: str | None
    history: Any
    load_where: str | None
    weights: tuple[Any, ...]
    fallback: tuple[str, ...]


class ExpressionRunner(Protocol):
    """Evaluates expressions for assignment (implemented over :mod:`expressions`)."""

    def evaluate(
        self, entity: str, source: str, record: Mapping[str, Any], actor: Mapping[str, Any] | None
    ) -> Any:
        """The value of ``source`` on ``record``; ``actor`` is what ``me()`` returns."""
        ...

    def where(self, entity: str, source: str, table: sa.Table) -> sa.ColumnElement[bool]:
        """``source`` (boolean, SQL-capable) as a condition on ``table``'s rows."""
        ...


TableFor = Callable[[str], sa.Table]


@dataclass(frozen=True)
class RuleStep:
    """One rule of the chain as tried: its outcome and why."""

    rule: str
    strategy: str
    candidates: int
    user_id: int | None
    note: str
    scores: tuple[CandidateScore, ...] = ()
    user_name: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON form kept in the log."""
        out: dict[str, Any] = {
            "rule": self.rule, "strategy": self.strategy, "candidates": self.candidates,
            "user_id": self.user_id, "user_name": self.user_name, "note": self.note,
        }
        if self.scores:
            out["scores"] = [s.as_json() for s in self.scores]
        return out


@dataclass(frozen=True)
class AssignmentResult:
    """The outcome of one assignment, as logged."""

    user_id: int | None
    rule_key: str
    decided_by: str | None
    strategy: str | None
    summary: str
    steps: tuple[RuleStep, ...]
    log_id: int | None = None
    repeated: bool = False
    reason: Mapping[str, Any] = field(default_factory=dict)


class AssignmentError(Exception):
    """A rule can't be run as configured (unknown rule, missing table)."""

    code = "assignment_failed"


# ----------------------------------------------------------------------------- service


class AssignmentService:
    """Runs assignment rules for one app of one workspace inside the caller's transaction."""

    def __init__(
        self,
        session: Session,
        *,
        workspace_id: int,
        app_id: int,
        rules: Iterable[RuleConfig],
        table_for: TableFor,
        expressions: ExpressionRunner | None,
        now: datetime,
    ) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.app_id = app_id
        self.rules = {r.key: r for r in rules}
        self.table_for = table_for
        self.expressions = expressions
        self.now = now

    # -- the chain

    def chain(self, rule_key: str) -> list[RuleConfig]:
        """``rule_key`` followed by its fallbacks, depth first, each rule once."""
        out: list[RuleConfig] = []
        seen: set[str] = set()

        def visit(key: str) -> None:
            if key in seen or len(out) >= MAX_CHAIN or key not in self.rules:
                return
            seen.add(key)
            rule = self.rules[key]
            out.append(rule)
            for nxt in rule.fallback:
                visit(nxt)

        if rule_key not in self.rules:
            raise AssignmentError(f"there is no assignment rule {rule_key!r}")
        visit(rule_key)
        return out

    def assign(
        self,
        rule_key: str,
        record: Mapping[str, Any],
        *,
        record_id: int | None,
        trigger_key: str | None = None,
        idempotency_key: str | None = None,
    ) -> AssignmentResult:
        """Chooses a user for ``record`` by ``rule_key`` (and its fallbacks) and logs why.

        With an ``idempotency_key`` already in the log, the logged result is returned and
        nothing runs again (a redelivered job assigns the same user).
        """
        if idempotency_key is not None:
            previous = self.session.scalar(
                sa.select(AssignmentLog).where(
                    AssignmentLog.workspace_id == self.workspace_id,
                    AssignmentLog.idempotency_key == idempotency_key,
                )
            )
            if previous is not None:
                return replace(_result_of(previous), repeated=True)
        steps: list[RuleStep] = []
        chosen: RuleStep | None = None
        for rule in self.chain(rule_key):
            step = self.try_rule(rule, record)
            steps.append(step)
            if step.user_id is not None:
                chosen = step
                break
        first = self.rules[rule_key]
        summary = _summary(steps, chosen)
        reason = {
            "steps": [s.as_json() for s in steps],
            "fallbacks_tried": [s.rule for s in steps[1:]],
            "summary": summary,
        }
        log = AssignmentLog(
            workspace_id=self.workspace_id,
            app_id=self.app_id,
            entity=first.entity,
            record_id=record_id,
            field=self.rules[chosen.rule].field if chosen else first.field,
            rule_key=rule_key,
            decided_by=chosen.rule if chosen else None,
            strategy=chosen.strategy if chosen else None,
            assignee_id=chosen.user_id if chosen else None,
            trigger_key=trigger_key,
            idempotency_key=idempotency_key,
            summary=summary,
            reason=reason,
            at=to_naive_utc(self.now),
        )
        self.session.add(log)
        self.session.flush()
        return _result_of(log)

    def try_rule(self, rule: RuleConfig, record: Mapping[str, Any]) -> RuleStep:
        """Runs one rule's strategy (no fallback); ``user_id`` None when it found nobody."""
        candidates, note = self.candidates(rule, record)
        if not candidates:
            return RuleStep(rule.key, rule.strategy, 0, None, note or "no candidates")
        pick = self._pick(rule, record, candidates)
        if pick.user_id is not None and rule.strategy == "round_robin":
            self._advance_cursor(rule.key, pick.user_id)
        names = {c.id: c.name for c in candidates}
        return RuleStep(
            rule.key, rule.strategy, len(candidates), pick.user_id, pick.note, pick.scores,
            user_name=names.get(pick.user_id) if pick.user_id is not None else None,
        )

    def _pick(
        self, rule: RuleConfig, record: Mapping[str, Any], candidates: list[Candidate]
    ) -> Pick:
        if rule.strategy == "round_robin":
            return round_robin(candidates, self._cursor(rule.key))
        if rule.strategy == "least_loaded":
            return least_loaded(candidates)
        if rule.strategy == "rule":
            what: list[str] = []
            history = rule.history
            if history is not None:
                empty = _empty_same_fields(history, record)
                if empty:
                    return Pick(
                        None, f"record field {', '.join(empty)} is empty, so no history can match"
                    )
                same = ", ".join(ours for _theirs, ours in history.same)
                what.append(f"a {history.entity}" + (f" with the same {same}" if same else ""))
            source = rule.expression
            if source:
                what.append(f"`{source}`")

            def holds(c: Candidate) -> bool:
                if history is not None and c.history_matches <= 0:
                    return False
                return source is None or self._evaluate(rule.entity, source, record, c) is True

            return matching(candidates, holds, " and ".join(what) or "the rule")
        if rule.strategy == "weighted":
            specs = [
                WeightSpec(w.key, _label_text(w.label), float(w.weight)) for w in rule.weights
            ]
            sources = {w.key: w.expression for w in rule.weights}
            return weighted(
                candidates, specs,
                lambda spec, c: self._evaluate(rule.entity, sources[spec.key], record, c),
            )
        raise AssignmentError(f"unknown strategy {rule.strategy!r} in rule {rule.key!r}")

    def _evaluate(
        self, entity: str, source: str, record: Mapping[str, Any], candidate: Candidate
    ) -> Any:
        if self.expressions is None:
            raise AssignmentError("assignment expressions need the expression language")
        return self.expressions.evaluate(entity, source, record, candidate.attributes())

    # -- candidates, loads and history

    def candidates(
        self, rule: RuleConfig, record: Mapping[str, Any]
    ) -> tuple[list[Candidate], str | None]:
        """The rule's candidates with load and history filled in, or [] and why none."""
        query = sa.select(User).where(User.workspace_id == self.workspace_id, User.is_active.is_(True))
        spec = rule.candidates
        role = getattr(spec, "role", None)
        if role:
            query = query.where(User.role == role)
        region_source = getattr(spec, "region", None)
        if region_source:
            region = (
                self.expressions.evaluate(rule.entity, region_source, record, None)
                if self.expressions is not None else record.get(region_source)
            )
            if region is None or region == "":
                return [], f"the record's region ({region_source}) is empty"
            query = query.where(User.region == str(region))
        users = list(self.session.scalars(query.order_by(User.id)))
        if not users:
            return [], f"no active user with role {role!r}" if role else "no active users"
        ids = [u.id for u in users]
        loads = self.loads(rule, ids)
        history = self.history_matches(rule, record, ids) if rule.history is not None else {}
        return [
            Candidate(
                id=u.id, name=u.name, role=u.role, region=u.region, manager=u.manager,
                load=loads.get(u.id, 0), history_matches=history.get(u.id, 0),
            )
            for u in users
        ], None

    def loads(self, rule: RuleConfig, user_ids: Sequence[int]) -> dict[int, int]:
        """Per user: records of the rule's entity whose ``field`` is them and that are open
        (``load_where`` holds), counted in one grouped query."""
        table = self.table_for(rule.entity)
        owner = table.c[rule.field]
        query = (
            sa.select(owner, sa.func.count())
            .where(owner.in_(list(user_ids)))
            .group_by(owner)
        )
        if rule.load_where:
            if self.expressions is None:
                raise AssignmentError("load_where needs the expression language")
            query = query.where(self.expressions.where(rule.entity, rule.load_where, table))
        return {int(uid): int(n) for uid, n in self.session.execute(query)}

    def history_matches(
        self, rule: RuleConfig, record: Mapping[str, Any], user_ids: Sequence[int]
    ) -> dict[int, int]:
        """Per user: their records of ``history.entity`` that satisfy ``history.where`` and
        whose ``same`` fields equal the record's (S11), counted in one grouped query."""
        history = rule.history
        if _empty_same_fields(history, record):
            return {}
        table = self.table_for(history.entity)
        owner = table.c[history.user_field]
        query = sa.select(owner, sa.func.count()).where(owner.in_(list(user_ids))).group_by(owner)
        for theirs, ours in history.same:
            query = query.where(table.c[theirs] == record.get(ours))
        if history.where:
            if self.expressions is None:
                raise AssignmentError("history.where needs the expression language")
            query = query.where(self.expressions.where(history.entity, history.where, table))
        return {int(uid): int(n) for uid, n in self.session.execute(query)}

    # -- round-robin cursor

    def _cursor_row(self, rule_key: str) -> AssignmentCursor:
        query = (
            sa.select(AssignmentCursor)
            .where(AssignmentCursor.app_id == self.app_id, AssignmentCursor.rule_key == rule_key)
            .with_for_update()
        )
        row = self.session.scalar(query)
        if row is not None:
            return row
        try:
            with self.session.begin_nested():
                row = AssignmentCursor(
                    workspace_id=self.workspace_id, app_id=self.app_id, rule_key=rule_key,
                    last_user_id=None, updated_at=to_naive_utc(self.now),
                )
                self.session.add(row)
            return row
        except IntegrityError:  # another worker created it first: lock theirs
            found = self.session.scalar(query)
            assert found is not None
            return found

    def _cursor(self, rule_key: str) -> int | None:
        return self._cursor_row(rule_key).last_user_id

    def _advance_cursor(self, rule_key: str, user_id: int) -> None:
        row = self._cursor_row(rule_key)
        row.last_user_id = user_id
        row.updated_at = to_naive_utc(self.now)
        self.session.flush()


def log_entries(
    session: Session,
    workspace_id: int,
    *,
    app_id: int | None = None,
    entity: str | None = None,
    record_id: int | None = None,
    rule_key: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Assignment decisions, newest first, as JSON ("why this rep"; for the API and S34)."""
    query = sa.select(AssignmentLog).where(AssignmentLog.workspace_id == workspace_id)
    if app_id is not None:
        query = query.where(AssignmentLog.app_id == app_id)
    if entity is not None:
        query = query.where(AssignmentLog.entity == entity)
    if record_id is not None:
        query = query.where(AssignmentLog.record_id == record_id)
    if rule_key is not None:
        query = query.where(AssignmentLog.rule_key == rule_key)
    rows = session.scalars(query.order_by(AssignmentLog.id.desc()).limit(max(1, min(limit, 500))))
    return [
        {
            "id": row.id, "app_id": row.app_id, "entity": row.entity, "record_id": row.record_id,
            "field": row.field, "rule": row.rule_key, "decided_by": row.decided_by,
            "strategy": row.strategy, "assignee_id": row.assignee_id,
            "trigger": row.trigger_key, "summary": row.summary, "reason": row.reason,
            "at": row.at.isoformat() + "Z",
        }
        for row in rows
    ]


def _label_text(label: Any) -> str:
    if label is None:
        return ""
    if isinstance(label, str):
        return label
    getter = getattr(label, "get", None)
    return str(getter("zh")) if callable(getter) else str(label)


def _empty_same_fields(history: Any, record: Mapping[str, Any]) -> list[str]:
    return [ours for _theirs, ours in history.same if record.get(ours) in (None, "")]


def _summary(steps: Sequence[RuleStep], chosen: RuleStep | None) -> str:
    tried = "; ".join(f"{s.rule} ({s.strategy}): {s.note}" for s in steps)
    if chosen is None:
        return f"nobody assigned — {tried}"
    who = f"{chosen.user_name} (user {chosen.user_id})" if chosen.user_name else f"user {chosen.user_id}"
    if len(steps) == 1:
        return f"{who} by {chosen.rule} ({chosen.strategy}): {chosen.note}"
    return (
        f"{who} by fallback {chosen.rule} ({chosen.strategy}) "
        f"after {', '.join(s.rule for s in steps[:-1])} found nobody — {tried}"
    )


def _result_of(log: AssignmentLog) -> AssignmentResult:
    reason = dict(log.reason or {})
    steps = tuple(
        RuleStep(
            rule=s["rule"], strategy=s["strategy"], candidates=s["candidates"],
            user_id=s["user_id"], note=s["note"], user_name=s.get("user_name"),
        )
        for s in reason.get("steps", [])
    )
    return AssignmentResult(
        user_id=log.assignee_id,
        rule_key=log.rule_key,
        decided_by=log.decided_by,
        strategy=log.strategy,
        summary=log.summary,
        steps=steps,
        log_id=log.id,
        repeated=False,
        reason=reason,
    )


# ----------------------------------------------------------------------------- the app's expressions


def assignment_scope(scope: Any) -> Any:
    """``scope`` with ``me().load`` and ``me().history_matches`` (the builder checks rules
    against the same scope: ``builder.automation_expressions.candidate_scope``)."""
    from builder.automation_expressions import candidate_scope

    return candidate_scope(scope)


class AppExpressions:
    """The :class:`ExpressionRunner` over a published app's expression scopes."""

    def __init__(self, call: Any, app: Any) -> None:
        from runtime.evaluation import RecordEvaluator

        self.call = call
        self.app = app
        self.evaluator = RecordEvaluator(call, app)

    def evaluate(
        self, entity: str, source: str, record: Mapping[str, Any], actor: Mapping[str, Any] | None
    ) -> Any:
        """The value of ``source`` on ``record`` with ``me()`` = ``actor`` (the candidate)."""
        import dataclasses

        from expressions import compile_expression

        compiled = compile_expression(source, assignment_scope(self.app.scope(entity)))
        context = self.evaluator.context
        if actor is not None:
            context = dataclasses.replace(context, actor=actor)
        return compiled.evaluate(record, context)

    def where(self, entity: str, source: str, table: sa.Table) -> sa.ColumnElement[bool]:
        """``source`` compiled to SQL over ``table`` (the acting user is ``me()``)."""
        from expressions import BOOLEAN, SqlContext, compile_expression

        compiled = compile_expression(source, self.app.scope(entity), expect=BOOLEAN)
        ctx = SqlContext(
            now=self.call.now(),
            tz=self.call.tz,
            dialect=self.call.session.get_bind().dialect.name,
            actor=self.call.actor.attributes(),
        )
        return compiled.to_sql(self.app.binding, ctx, table)  # type: ignore[no-any-return]
