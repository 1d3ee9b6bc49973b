"""Checks on the expressions of a definition: step dependency cycles and type checks.

Every expression of the definition is checked against its entity's scope
(:func:`builder.scope.scope_for`) with the type its place expects; each diagnostic becomes a
:class:`~builder.errors.Problem` with code ``expression_<diagnostic code>``, the JSON path
of the expression, and the line / column / suggestion in ``detail``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from builder import checker
from builder.errors import ROOT, Problem, join_path, problem
from builder.model import App, Entity, FieldType
from builder.scope import AppScopes, app_scopes, find_cycles
from expressions.types import BOOLEAN, ExprType


@dataclass(frozen=True, slots=True)
class Site:
    """One expression of a definition: where it is, on which entity, and what it must be."""

    path: str
    entity: str
    source: str
    expect: ExprType | None
    require_sql: bool = False


def expression_sites(app: App) -> Iterator[Site]:
    """Every expression of ``app`` except formulas (which are typed with the scope)."""
    for i, entity in enumerate(app.entities):
        base = join_path(ROOT, "entities", i)
        for j, f in enumerate(entity.fields):
            for option in ("required_when", "visible_when", "read_only_when"):
                source = getattr(f, option)
                if source is not None:
                    yield Site(join_path(base, "fields", j, option), entity.key, source, BOOLEAN)
        for s, step in enumerate(entity.steps):
            for option in ("unlock_when", "done_when"):
                source = getattr(step, option)
                if source is not None:
                    yield Site(join_path(base, "steps", s, option), entity.key, source, BOOLEAN)
        for s, stage in enumerate(entity.stages):
            if stage.exit_when is not None:
                path = join_path(base, "stages", s, "exit_when")
                yield Site(path, entity.key, stage.exit_when, BOOLEAN)
        for r, rule in enumerate(entity.rules):
            yield Site(join_path(base, "rules", r, "assert"), entity.key, rule.assert_, BOOLEAN)
        for p, perm in enumerate(entity.permissions):
            for option in ("read_when", "write_when"):
                source = getattr(perm, option)
                if source is not None:
                    path = join_path(base, "permissions", p, option)
                    yield Site(path, entity.key, source, BOOLEAN, require_sql=True)


def check_expressions(app: App) -> list[Problem]:
    """Step cycles, formula cycles and every expression's diagnostics."""
    problems = step_cycles(app)
    scopes = app_scopes(app)
    problems += _formula_problems(app, scopes)
    if not checker.available():
        problems += _unknown_steps(app)
        return problems
    for site in expression_sites(app):
        outcome = checker.check_source(
            site.source,
            scopes.scopes[site.entity],
            expect=site.expect,
            require_sql=site.require_sql,
        )
        problems += diagnostics_to_problems(site.path, outcome)
    return problems


def diagnostics_to_problems(path: str, outcome: checker.Outcome) -> list[Problem]:
    """One ``expression_<code>`` problem per diagnostic of ``outcome``."""
    return [
        problem(
            path,
            f"expression_{d.code}",
            detail={"diagnostic": d.code, **d.detail()},
            reason=d.message,
            reason_zh=d.message_zh,
        )
        for d in outcome.diagnostics
    ]


def _step_graph(entity: Entity) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for step in entity.steps:
        refs: set[str] = set()
        for source in (step.unlock_when, step.done_when):
            if source is not None:
                refs |= checker.step_references(source)
        graph.setdefault(step.key, sorted(refs))
    return graph


def step_cycles(app: App) -> list[Problem]:
    """A ``dependency_cycle`` problem for each cycle among an entity's steps."""
    problems = []
    for i, entity in enumerate(app.entities):
        index = {s.key: n for n, s in reversed(list(enumerate(entity.steps)))}
        for cycle in find_cycles(_step_graph(entity)):
            step = entity.steps[index[cycle[0]]]
            option = "unlock_when" if step.unlock_when is not None else "done_when"
            shown = " → ".join(f"steps.{k}" for k in cycle)
            problems.append(
                problem(
                    join_path(ROOT, "entities", i, "steps", index[cycle[0]], option),
                    "dependency_cycle",
                    detail={"cycle": list(cycle)},
                    cycle=shown,
                )
            )
    return problems


def _formula_problems(app: App, scopes: AppScopes) -> list[Problem]:
    problems: list[Problem] = []
    cyclic = {(entity, key) for entity, cycle in scopes.formulas.cycles for key in cycle}
    for entity_key, cycle in scopes.formulas.cycles:
        problems.append(
            problem(
                _formula_path(app, entity_key, cycle[0]),
                "dependency_cycle",
                detail={"cycle": list(cycle)},
                cycle=" → ".join(cycle),
            )
        )
    for i, entity in enumerate(app.entities):
        for j, f in enumerate(entity.fields):
            ident = (entity.key, f.key)
            if f.type is not FieldType.FORMULA or ident in cyclic:
                continue
            outcome = scopes.formulas.outcomes.get(ident)
            if outcome is not None and not outcome.ok:
                path = join_path(ROOT, "entities", i, "fields", j, "formula")
                problems += diagnostics_to_problems(path, outcome)
    return problems


def _formula_path(app: App, entity_key: str, field_key: str) -> str:
    for i, entity in enumerate(app.entities):
        if entity.key == entity_key:
            for j, f in enumerate(entity.fields):
                if f.key == field_key:
                    return join_path(ROOT, "entities", i, "fields", j, "formula")
    return ROOT  # pragma: no cover - cycles only name fields of the app


def _unknown_steps(app: App) -> list[Problem]:
    """Without the checker, at least catch ``steps.<key>`` naming no step."""
    steps = {e.key: {s.key for s in e.steps} for e in app.entities}
    problems = []
    for site in expression_sites(app):
        for ref in sorted(checker.step_references(site.source) - steps[site.entity]):
            problems.append(
                problem(
                    site.path,
                    "unknown_reference",
                    reason=f"steps.{ref} is not a step of {site.entity!r}",
                    reason_zh=f"steps.{ref} 不是实体 {site.entity!r} 的步骤",
                )
            )
    return problems
