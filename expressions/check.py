"""``check()``: the whole front end (limits, parse, names and types) without raising."""

from __future__ import annotations

from dataclasses import dataclass, replace

from expressions import ast as a
from expressions import diagnostics
from expressions import typed as t
from expressions.checker import Checker
from expressions.diagnostics import Diagnostic
from expressions.functions.registry import unify
from expressions.limits import MAX_SQL_DEPTH, prescan
from expressions.parser import parse
from expressions.scope import Scope
from expressions.types import BOOLEAN, NULL, ExprType


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: diagnostics, type, SQL capability and typed tree."""

    ok: bool
    diagnostics: tuple[Diagnostic, ...]
    type: ExprType | None
    sql_capable: bool
    ast: t.TNode | None


def _not_sql_culprit(root: t.TNode) -> t.TNode:
    """The innermost node without an SQL form whose children all have one."""
    node = root
    while True:
        for child in t.children(node):
            if not child.sql:
                node = child
                break
        else:
            return node


_SQL_COST: dict[type, int] = {
    t.TLink: 3,
    t.TUserAttr: 3,
    t.TUnary: 2,
    t.TCompare: 2,
    t.TIn: 2,
    t.TBool: 1,
    t.TCall: 3,
    t.TAggregate: 4,
    t.TList: 1,
}


def _is_deep_root(node: t.TNode) -> bool:
    return not node.sql and all(c.sql for c in t.children(node)) and sql_depth(node) > MAX_SQL_DEPTH


_SQL_LEAVES = frozenset({t.TLiteral, t.TField, t.TStep, t.TMe})  # no children, cost 1


def sql_depth(node: t.TNode) -> int:
    """How deeply the SQL form of ``node`` nests (SQLite's parser allows about 30)."""
    kind = type(node)
    if kind in _SQL_LEAVES:
        return 1
    if kind is t.TChain:
        assert isinstance(node, t.TChain)
        depth = sql_depth(node.first)
        for _, operand, _ in node.steps:
            inner = sql_depth(operand)
            depth = (depth if depth > inner else inner) + 2
        return depth
    deepest = 0
    for child in t.children(node):
        inner = sql_depth(child)
        if inner > deepest:
            deepest = inner
    return deepest + _SQL_COST.get(kind, 1)


def _describe(node: t.TNode) -> str:
    if node.sql and all(c.sql for c in t.children(node)) or _is_deep_root(node):
        return f"an expression nested this deeply (SQL nesting over {MAX_SQL_DEPTH})"
    if isinstance(node, t.TStep):
        return f"`steps.{node.step}.{node.attr}`"
    if isinstance(node, t.TCall | t.TAggregate):
        return f"`{node.function.name}(...)`"
    if isinstance(node, t.TField | t.TLink | t.TUserAttr):
        return f"a value of type {node.type}"
    return "this part"


def check(
    source: str,
    scope: Scope,
    *,
    expect: ExprType | None = None,
    require_sql: bool = False,
) -> CheckResult:
    """Check ``source`` against ``scope``; never raises for any input text.

    ``expect=BOOLEAN`` marks a condition (a non-boolean result is ``not_boolean``; a null
    literal is accepted). Another ``expect`` type asks for a value assignable to it.
    ``require_sql=True`` reports constructs without an SQL form as ``not_sql``.
    """
    if not isinstance(source, str):
        source = str(source)
    problems = prescan(source)
    if problems:
        return CheckResult(False, tuple(problems), None, False, None)
    tree, syntax = parse(source)
    if tree is None:
        return CheckResult(False, syntax, None, False, None)
    checker = Checker(scope)
    typed = checker.run(tree)
    if typed is not None and typed.sql and sql_depth(typed) > MAX_SQL_DEPTH:
        typed = replace(typed, sql=False)
    found = list(checker.problems)
    if typed is not None:
        found.extend(_expectation(typed, expect, tree.span))
        if require_sql and not typed.sql:
            culprit = _not_sql_culprit(typed)
            found.append(diagnostics.make("not_sql", culprit.span, what=_describe(culprit)))
    ok = typed is not None and not found
    return CheckResult(
        ok,
        tuple(found),
        typed.type if typed is not None else None,
        bool(typed is not None and typed.sql),
        typed if ok else None,
    )


def _expectation(typed: t.TNode, expect: ExprType | None, span: a.Span) -> list[Diagnostic]:
    if expect is None or typed.type == NULL:
        return []
    if expect == BOOLEAN:
        if typed.type != BOOLEAN:
            return [diagnostics.make("not_boolean", span, type=typed.type)]
        return []
    if unify(expect, typed.type) != expect:
        return [
            diagnostics.make(
                "type_mismatch.argument", span, name="=", index=1, expected=expect, given=typed.type
            )
        ]
    return []
