"""Assignment rules (S11, S12): the frozen model and its marshmallow schema.

A rule chooses a user for a user field of a record: ``round_robin``, ``least_loaded``,
``rule`` (an expression per candidate and/or a history match) or ``weighted`` (a sum of
weighted expressions), with a ``fallback`` chain. They are loaded by
:func:`builder.triggers.load_assignment_rules` and run by ``runtime.assignment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validates_schema

from builder.model import LocalizedText
from builder.schemas import Coded, Expression, Identifier, Label, StrictSchema, _List
from builder.triggers.fields import _Channel, _Float, _opt_expr, _PairList

STRATEGIES = ("round_robin", "least_loaded", "rule", "weighted")


@dataclass(frozen=True, slots=True)
class Candidates:
    """Who may be assigned: active users of ``role``; with ``same_region``, only users whose
    region equals the value of the ``region`` expression on the record."""

    role: str | None = "rep"
    region: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryMatch:
    """A candidate matches when they own a record of ``entity`` that satisfies ``where``
    and whose ``same`` fields equal the assigned record's (S11: a won deal in the same
    industry in the last 30 days). ``user_field`` names the owner field (default owner)."""

    entity: str
    where: str | None = None
    same: tuple[tuple[str, str], ...] = ()
    user_field: str = "owner"


@dataclass(frozen=True, slots=True)
class Weight:
    """One weighted criterion (S12): ``expression`` scored per candidate (``me()``)."""

    key: str
    label: LocalizedText
    expression: str
    weight: float


@dataclass(frozen=True, slots=True)
class AssignmentRule:
    """How to choose a user for ``field`` of a record of ``entity``.

    ``rule`` strategies keep candidates for which ``expression`` holds (``me()`` is the
    candidate) and/or who match ``history``; ``least_loaded`` counts the candidate's
    records of ``entity`` satisfying ``load_where``; ``weighted`` sums ``weights``. When a
    strategy finds nobody, the ``fallback`` rules are tried in order.
    """

    key: str
    label: LocalizedText
    entity: str
    field: str
    strategy: str
    candidates: Candidates = Candidates()
    expression: str | None = None
    history: HistoryMatch | None = None
    load_where: str | None = None
    weights: tuple[Weight, ...] = ()
    fallback: tuple[str, ...] = ()


class _CandidatesSchema(StrictSchema):
    role = Identifier(load_default="rep", allow_none=True)
    region = _opt_expr()

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Candidates:
        return Candidates(**data)


class _HistorySchema(StrictSchema):
    entity = Identifier(required=True)
    where = _opt_expr()
    same = _PairList(load_default=())
    user_field = Identifier(load_default="owner")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> HistoryMatch:
        return HistoryMatch(**data)


class _WeightSchema(StrictSchema):
    key = Identifier(required=True)
    label = Label(required=True)
    expression = Expression(required=True)
    weight = _Float(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Weight:
        return Weight(**data)


class AssignmentRuleSchema(StrictSchema):
    """One assignment rule of an app definition."""

    key = Identifier(required=True, what="assignment rule")
    label = Label(required=True)
    entity = Identifier(required=True)
    field = Identifier(required=True)
    strategy = _Channel(STRATEGIES, required=True)
    candidates = fields.Nested(_CandidatesSchema, load_default=Candidates())
    expression = _opt_expr()
    rule = _opt_expr()
    history = fields.Nested(_HistorySchema, load_default=None, allow_none=True)
    load_where = _opt_expr()
    weights = _List(fields.Nested(_WeightSchema), load_default=())
    fallback = _List(Identifier(), load_default=())

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        strategy = data.get("strategy")
        if strategy == "rule" and not (data.get("expression") or data.get("rule") or data.get("history")):
            raise ValidationError(
                {"expression": [Coded("invalid_value", reason="a rule strategy needs an expression or history")]}
            )
        if strategy == "weighted" and not data.get("weights"):
            raise ValidationError({"weights": [Coded("invalid_value", reason="give at least one weight")]})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> AssignmentRule:
        rule = data.pop("rule", None)
        if data.get("expression") is None:
            data["expression"] = rule
        data["weights"] = tuple(data["weights"])
        data["fallback"] = tuple(data["fallback"])
        return AssignmentRule(**data)


ASSIGNMENT_RULE_SCHEMA = AssignmentRuleSchema()
