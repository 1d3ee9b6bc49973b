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

The modules (this one re-exports their public names, and importing it registers the
tables):

* :mod:`~runtime.assignment.models` — the ``assignment_log`` and ``assignment_cursors``
  tables;
* :mod:`~runtime.assignment.strategies` — the pure strategies;
* :mod:`~runtime.assignment.service` — the service, its seams and the log reader;
* :mod:`~runtime.assignment.app_expressions` — the expression runner over an app.
"""

from runtime.assignment.app_expressions import AppExpressions, assignment_scope
from runtime.assignment.explain import explain
from runtime.assignment.models import AssignmentCursor, AssignmentLog
from runtime.assignment.service import (
    MAX_CHAIN,
    AssignmentError,
    AssignmentResult,
    AssignmentService,
    ExpressionRunner,
    RuleConfig,
    RuleStep,
    TableFor,
    log_entries,
    why_assigned,
)
from runtime.assignment.strategies import (
    Candidate,
    CandidateScore,
    Pick,
    ScorePart,
    WeightSpec,
    as_number,
    least_loaded,
    matching,
    round_robin,
    score,
    weighted,
)

__all__ = [
    "MAX_CHAIN",
    "AppExpressions",
    "AssignmentCursor",
    "AssignmentError",
    "AssignmentLog",
    "AssignmentResult",
    "AssignmentService",
    "Candidate",
    "CandidateScore",
    "ExpressionRunner",
    "Pick",
    "RuleConfig",
    "RuleStep",
    "ScorePart",
    "TableFor",
    "WeightSpec",
    "as_number",
    "assignment_scope",
    "explain",
    "least_loaded",
    "log_entries",
    "matching",
    "round_robin",
    "score",
    "weighted",
    "why_assigned",
]
