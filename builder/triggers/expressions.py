"""Checks the expressions of triggers and assignment rules with the expression language.

Conditions must be boolean; expressions that run as SQL sweeps (elapsed conditions, report
filters, history matches) must also be SQL-capable. Each diagnostic of the checker becomes
a :class:`~builder.errors.Problem` at the JSON path of the expression (see
:mod:`builder.expression_checks`).

Assignment rules evaluate their ``expression`` and ``weights`` once per candidate with
``me()`` bound to the candidate, who also has ``me().load`` (open records assigned to them)
and ``me().history_matches`` (matching records in the rule's history): see
:data:`CANDIDATE_FIELDS`.
"""

from __future__ import annotations

import dataclasses

from builder import checker
from builder.errors import Problem
from builder.expression_checks import diagnostics_to_problems
from builder.model import App
from builder.scope import scope_for
from expressions.scope import FieldSpec, Scope
from expressions.types import BOOLEAN, INTEGER

#: What ``me()`` has on top of a user's attributes inside an assignment rule.
CANDIDATE_FIELDS: tuple[FieldSpec, ...] = (FieldSpec("load", INTEGER), FieldSpec("history_matches", INTEGER))


def candidate_scope(scope: Scope) -> Scope:
    """``scope`` with the candidate's ``me().load`` and ``me().history_matches``."""
    names = {f.name for f in scope.user_fields}
    extra = tuple(f for f in CANDIDATE_FIELDS if f.name not in names)
    return dataclasses.replace(scope, user_fields=scope.user_fields + extra) if extra else scope


def check_expression(
    app: App,
    entity: str,
    source: str,
    path: str,
    *,
    boolean: bool = False,
    sql: bool = False,
    report_other: bool = True,
    candidate: bool = False,
) -> list[Problem]:
    """The problems of ``source`` in the scope of ``entity``.

    ``boolean`` requires a boolean result, ``sql`` an SQL-capable expression; with
    ``report_other`` False only SQL problems are reported (the rest is checked elsewhere);
    ``candidate`` adds the assignment candidate's names (:data:`CANDIDATE_FIELDS`).
    """
    if not checker.available():
        return []
    try:
        scope = scope_for(app, entity)
    except Exception:  # a broken entity is reported by the definition's own validation
        return []
    if candidate:
        scope = candidate_scope(scope)
    outcome = checker.check_source(source, scope, expect=BOOLEAN if boolean else None, require_sql=sql)
    problems = diagnostics_to_problems(path, outcome)
    if not report_other:
        problems = [p for p in problems if p.code == "expression_not_sql"]
    return problems
