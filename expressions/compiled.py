"""Compiled expressions: evaluation, explanation, SQL, and the compile cache."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any

import sqlalchemy as sa

from expressions import diagnostics
from expressions import typed as t
from expressions.check import check
from expressions.errors import ExpressionInvalid
from expressions.pycompiler import Evaluator, compile_python
from expressions.scope import EvalContext, Scope, SqlBinding, SqlContext
from expressions.types import ExprType

CACHE_SIZE = 2048
_SCOPES_REMEMBERED = 64


@dataclass(frozen=True)
class ExplainPart:
    """One operand of a top-level ``and``/``or`` and whether it held."""

    source: str
    held: bool
    line: int
    column: int
    value: Any = None


@dataclass(frozen=True)
class Explanation:
    """The value of an expression on one record, with the parts that decided it."""

    value: Any
    parts: tuple[ExplainPart, ...]


class CompiledExpression:
    """A checked expression ready to evaluate on records or to compile to SQL."""

    __slots__ = ("source", "scope", "type", "sql_capable", "root", "evaluate", "_parts")

    def __init__(self, source: str, scope: Scope, root: t.TNode) -> None:
        self.source = source
        self.scope = scope
        self.type: ExprType = root.type
        self.sql_capable: bool = root.sql
        self.root = root
        evaluator = compile_python(root)
        self.evaluate: Evaluator = evaluator
        self._parts: tuple[tuple[t.TNode, Evaluator], ...] | None = None

    def __call__(self, record: Mapping[str, Any], ctx: EvalContext) -> Any:
        """Same as :meth:`evaluate`."""
        return self.evaluate(record, ctx)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r}, type={self.type})"

    def explain(self, record: Mapping[str, Any], ctx: EvalContext) -> Explanation:
        """The value on ``record`` and, for a top-level ``and``/``or``, each operand's result.

        Without a top-level ``and``/``or`` the whole expression is the one part.
        """
        if self._parts is None:
            nodes = self.root.operands if isinstance(self.root, t.TBool) else (self.root,)
            self._parts = tuple((n, compile_python(n)) for n in nodes)
        parts = []
        for node, fn in self._parts:
            value = fn(record, ctx)
            parts.append(
                ExplainPart(
                    self.source[node.span.start : node.span.end],
                    value is True,
                    node.span.line,
                    node.span.column,
                    value,
                )
            )
        return Explanation(self.evaluate(record, ctx), tuple(parts))

    def to_sql(
        self,
        binding: SqlBinding,
        ctx: SqlContext,
        table: sa.FromClause | None = None,
        *,
        as_value: bool = False,
    ) -> sa.ColumnElement[Any]:
        """The SQLAlchemy Core form, for rows of ``table`` (default: the scope's table).

        A boolean result is a condition: where Python gives false SQL may give NULL, which
        a WHERE clause treats the same; ``as_value=True`` makes it exactly true/false.
        Raises :class:`ExpressionInvalid` (``not_sql``) if the expression has no SQL form.
        """
        from expressions.sqlcompiler import compile_sql

        if not self.sql_capable:
            from expressions.check import _describe, _not_sql_culprit

            culprit = _not_sql_culprit(self.root)
            raise ExpressionInvalid(
                (diagnostics.make("not_sql", culprit.span, what=_describe(culprit)),)
            )
        return compile_sql(self.root, self.scope, binding, ctx, table, as_value=as_value)


class _Cache:
    """A bounded LRU keyed by (source, scope, expect), fast when the scope is reused."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = Lock()
        # id(scope) -> (scope, equal scope used as the key): skips hashing big scopes
        self.scopes: OrderedDict[int, tuple[Scope, Scope]] = OrderedDict()

    def canonical(self, scope: Scope) -> Scope:
        known = self.scopes.get(id(scope))
        if known is not None and known[0] is scope:
            return known[1]
        with self.lock:
            canonical = scope
            for _, (_, kept) in self.scopes.items():
                if kept == scope:
                    canonical = kept
                    break
            self.scopes[id(scope)] = (scope, canonical)
            while len(self.scopes) > _SCOPES_REMEMBERED:
                self.scopes.popitem(last=False)
        return canonical

    def clear(self) -> None:
        with self.lock:
            self.scopes.clear()


_CACHE = _Cache(CACHE_SIZE)


_ENTRIES: OrderedDict[tuple[str, int, ExprType | None], tuple[Scope, CompiledExpression]] = (
    OrderedDict()
)


def compile_expression(
    source: str, scope: Scope, *, expect: ExprType | None = None
) -> CompiledExpression:
    """Check and compile ``source``; cached by (source, scope, expect).

    Raises :class:`ExpressionInvalid` with every diagnostic when the check fails.
    """
    canonical = _CACHE.canonical(scope)
    key = (source, id(canonical), expect)
    hit = _ENTRIES.get(key)
    if hit is not None and hit[0] is canonical:
        try:
            _ENTRIES.move_to_end(key)
        except KeyError:  # evicted by another thread meanwhile
            pass
        return hit[1]
    result = check(source, scope, expect=expect)
    if not result.ok or result.ast is None:
        raise ExpressionInvalid(result.diagnostics)
    compiled = CompiledExpression(source, canonical, result.ast)
    with _CACHE.lock:
        _ENTRIES[key] = (canonical, compiled)
        while len(_ENTRIES) > _CACHE.size:
            _ENTRIES.popitem(last=False)
    return compiled


def clear_cache() -> None:
    """Forget every compiled expression (tests use this)."""
    _CACHE.clear()
    with _CACHE.lock:
        _ENTRIES.clear()
