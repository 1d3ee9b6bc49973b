"""The assignment service: runs a rule's chain for a record and logs the decision.

:class:`AssignmentService` loads the candidates of a rule (active users of the workspace,
filtered by role and region), their current load (one grouped SQL count of the records they
own) and their history matches (one grouped SQL count, S11), runs the rule's strategy
(:mod:`runtime.assignment.strategies`), walks the fallback chain when it finds nobody, and
writes one :class:`~runtime.assignment.models.AssignmentLog` row with the reason. It never
commits; the action's job does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from runtime.assignment.models import AssignmentCursor, AssignmentLog
from runtime.assignment.strategies import (
    Candidate,
    CandidateScore,
    Pick,
    WeightSpec,
    least_loaded,
    matching,
    round_robin,
    weighted,
)
from runtime.clock import to_naive_utc
from runtime.models import User

MAX_CHAIN = 10


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
    #: The chosen user's load (open records), the rule's label {zh, en}, how many
    #: candidates a ``rule`` strategy kept, and why the pool was empty (if it was).
    load: int | None = None
    rule_label: Mapping[str, str] | None = None
    matched: int | None = None
    pool_note: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON form kept in the log."""
        out: dict[str, Any] = {
            "rule": self.rule, "strategy": self.strategy, "candidates": self.candidates,
            "user_id": self.user_id, "user_name": self.user_name, "note": self.note,
        }
        for name in ("load", "rule_label", "matched", "pool_note"):
            value = getattr(self, name)
            if value is not None:
                out[name] = dict(value) if isinstance(value, Mapping) else value
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
        dry_run: bool = False,
    ) -> None:
        self.session = session
        #: A dry run (the designer's preview) decides without writing anything: no log
        #: row, no cursor row; round-robin turns advance in ``self._turns`` only.
        self.dry_run = dry_run
        self._turns: dict[str, int] = {}
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
        if self.dry_run:
            raise AssignmentError("a dry-run assignment service writes nothing; call decide()")
        steps, chosen, reason = self.decide(rule_key, record)
        first = self.rules[rule_key]
        summary = reason["summary"]
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

    def decide(
        self, rule_key: str, record: Mapping[str, Any]
    ) -> tuple[list[RuleStep], RuleStep | None, dict[str, Any]]:
        """Runs ``rule_key``'s chain for ``record``: the steps tried, the chosen one and the
        reason as logged (with its zh/en ``explanation``). Writes nothing but the
        round-robin cursor — and not even that in a dry run."""
        from runtime.assignment.explain import explain

        steps: list[RuleStep] = []
        chosen: RuleStep | None = None
        for rule in self.chain(rule_key):
            step = self.try_rule(rule, record)
            steps.append(step)
            if step.user_id is not None:
                chosen = step
                break
        reason: dict[str, Any] = {
            "steps": [s.as_json() for s in steps],
            "fallbacks_tried": [s.rule for s in steps[1:]],
            "summary": _summary(steps, chosen),
        }
        reason["explanation"] = explain(reason)
        return steps, chosen, reason

    def preview(self, rule_key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """What :meth:`assign` would decide for ``record``, as JSON, writing nothing."""
        if not self.dry_run:
            raise AssignmentError("preview needs a dry-run assignment service")
        steps, chosen, reason = self.decide(rule_key, record)
        return {
            "user_id": chosen.user_id if chosen else None,
            "user_name": chosen.user_name if chosen else None,
            "decided_by": chosen.rule if chosen else None,
            "strategy": chosen.strategy if chosen else None,
            **reason,
        }

    def try_rule(self, rule: RuleConfig, record: Mapping[str, Any]) -> RuleStep:
        """Runs one rule's strategy (no fallback); ``user_id`` None when it found nobody."""
        candidates, note = self.candidates(rule, record)
        if not candidates:
            return RuleStep(rule.key, rule.strategy, 0, None, note or "no candidates",
                            pool_note=note or "no candidates")
        pick = self._pick(rule, record, candidates)
        if pick.user_id is not None and rule.strategy == "round_robin":
            self._advance_cursor(rule.key, pick.user_id)
        by_id = {c.id: c for c in candidates}
        winner = by_id.get(pick.user_id) if pick.user_id is not None else None
        return RuleStep(
            rule.key, rule.strategy, len(candidates), pick.user_id, pick.note, pick.scores,
            user_name=winner.name if winner else None,
            load=winner.load if winner else None,
            rule_label=rule_labels(getattr(rule, "label", None)),
            matched=pick.matched,
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
                WeightSpec(w.key, _label_text(w.label), float(w.weight), _label_text(w.label, "en"))
                for w in rule.weights
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
        loads = self.loads(rule, ids, exclude=record.get("id"))
        history = self.history_matches(rule, record, ids) if rule.history is not None else {}
        return [
            Candidate(
                id=u.id, name=u.name, role=u.role, region=u.region, manager=u.manager,
                load=loads.get(u.id, 0), history_matches=history.get(u.id, 0),
            )
            for u in users
        ], None

    def loads(
        self, rule: RuleConfig, user_ids: Sequence[int], *, exclude: Any = None
    ) -> dict[int, int]:
        """Per user: records of the rule's entity whose ``field`` is them and that are open
        (``load_where`` holds), counted in one grouped query. ``exclude`` is the id of the
        record being assigned: it is nobody's load while its assignee is chosen (so a
        record assigned again, or previewed, is judged like a new one)."""
        table = self.table_for(rule.entity)
        owner = table.c[rule.field]
        query = (
            sa.select(owner, sa.func.count())
            .where(owner.in_(list(user_ids)))
            .group_by(owner)
        )
        if isinstance(exclude, int) and not isinstance(exclude, bool):
            query = query.where(table.c.id != exclude)
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
        if self.dry_run:
            if rule_key in self._turns:
                return self._turns[rule_key]
            return self.session.scalar(  # read only: no lock, no row created
                sa.select(AssignmentCursor.last_user_id).where(
                    AssignmentCursor.app_id == self.app_id, AssignmentCursor.rule_key == rule_key
                )
            )
        return self._cursor_row(rule_key).last_user_id

    def _advance_cursor(self, rule_key: str, user_id: int) -> None:
        if self.dry_run:
            self._turns[rule_key] = user_id
            return
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


def why_assigned(
    session: Session,
    workspace_id: int,
    *,
    app_id: int,
    entity: str,
    record_id: int,
    actor_id: int | None,
    actor_role: str | None,
) -> dict[str, Any] | None:
    """"Why this rep": the record's latest assignment that chose somebody, for the assignee
    themselves and for admins and managers (None for anyone else, or when there is none).

    The caller has checked that the actor may read the record. The explanation (zh/en) is
    the one logged with the decision; older rows without one are explained from their
    reason JSON.
    """
    from runtime.assignment.explain import explain

    row = session.scalars(
        sa.select(AssignmentLog)
        .where(
            AssignmentLog.workspace_id == workspace_id,
            AssignmentLog.app_id == app_id,
            AssignmentLog.entity == entity,
            AssignmentLog.record_id == record_id,
            AssignmentLog.assignee_id.is_not(None),
        )
        .order_by(AssignmentLog.id.desc())
        .limit(1)
    ).first()
    if row is None or (row.assignee_id != actor_id and actor_role not in ("admin", "manager")):
        return None
    reason = dict(row.reason or {})
    explanation = reason.get("explanation") or explain(reason)
    name = session.scalar(sa.select(User.name).where(User.id == row.assignee_id))
    return {
        "assignee_id": row.assignee_id,
        "assignee_name": name,
        "field": row.field,
        "rule": row.rule_key,
        "decided_by": row.decided_by,
        "strategy": row.strategy,
        "explanation": {"zh": str(explanation.get("zh", "")), "en": str(explanation.get("en", ""))},
        "summary": row.summary,
        "at": row.at.isoformat() + "Z",
    }


def _label_text(label: Any, language: str = "zh") -> str:
    if label is None:
        return ""
    if isinstance(label, str):
        return label
    getter = getattr(label, "get", None)
    if not callable(getter):
        return str(label)
    text = getter(language) or getter("zh") or getter("en")
    return str(text) if text else ""


def rule_labels(label: Any) -> dict[str, str] | None:
    """A rule's label as ``{zh, en}`` (either falls back on the other), or None."""
    if label is None:
        return None
    zh, en = _label_text(label, "zh"), _label_text(label, "en")
    return {"zh": zh or en, "en": en or zh} if (zh or en) else None


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
