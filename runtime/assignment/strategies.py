"""The assignment strategies: pure functions over :class:`Candidate` values.

:func:`round_robin`, :func:`least_loaded`, :func:`matching` and :func:`weighted` each
return a :class:`Pick` (the user or None, and a note saying why); nothing here touches the
database or the expression language (criteria are passed in as callables).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


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
    label_en: str = ""


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
                {"key": p.key, "label": p.label, "label_en": p.label_en or p.label,
                 "value": round(p.value, 6), "weight": p.weight, "points": round(p.points, 6)}
                for p in self.parts
            ],
        }


@dataclass(frozen=True)
class Pick:
    """What one strategy decided: the user (or None) and a note saying why."""

    user_id: int | None
    note: str
    scores: tuple[CandidateScore, ...] = ()
    #: How many candidates a :func:`matching` predicate kept.
    matched: int | None = None


@dataclass(frozen=True)
class WeightSpec:
    """A weighted criterion (``builder.triggers.Weight`` has the same attributes)."""

    key: str
    label: str
    weight: float
    label_en: str = ""


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
        return Pick(None, f"nobody matched: {what}" if candidates else "no candidates", matched=0)
    best = _lowest_load(matched)
    return Pick(
        best.id,
        f"{len(matched)} of {len(candidates)} candidates matched: {what}; "
        f"lowest load {best.load} among them",
        matched=len(matched),
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
        parts.append(
            ScorePart(spec.key, spec.label, number, spec.weight, number * spec.weight, spec.label_en)
        )
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
