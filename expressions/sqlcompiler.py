"""Typed tree to SQLAlchemy Core, for PostgreSQL and SQLite.

Only Core constructs are built; every value from the expression is a bound parameter and
every table and column comes from the :class:`SqlBinding`. Sub-trees that do not depend on
the record (``now() - 48h``, ``me().region``) are evaluated once in Python and bound as one
parameter, so comparisons against them stay index-friendly (sargable).

Booleans: a comparison such as ``x < 1`` is NULL in SQL when ``x`` is null, where the
language says false. In a positive condition (a WHERE clause, the operands of ``and`` /
``or`` there) NULL and false behave alike, so the plain, sargable form is emitted; where the
exact value matters (under ``not``, as a value, as an argument) it is made two-valued with
``IS TRUE``.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from expressions import typed as t
from expressions.errors import ExpressionError
from expressions.pycompiler import compile_python
from expressions.scope import EvalContext, Scope, SqlBinding, SqlContext
from expressions.sqltypes import sql_type_for
from expressions.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    NULL,
    TEXT,
    ExprType,
)

Sql = sa.ColumnElement[Any]
_PG_CASTS = (INTEGER, DECIMAL, TEXT, DATE, DATETIME, DURATION, BOOLEAN)


def zone_name(tz: tzinfo) -> str:
    """The IANA name of ``tz`` (for SQL); UTC for fixed UTC offsets."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    if tz is UTC or str(tz) in ("UTC", "UTC+00:00"):
        return "UTC"
    raise ExpressionError(
        f"SQL compilation needs a zoneinfo.ZoneInfo time zone, not {tz!r}",
        code="unsupported_time_zone",
    )


def is_constant(node: t.TNode) -> bool:
    """Whether ``node`` reads nothing of the record (foldable to one parameter)."""
    if isinstance(node, t.TField | t.TStep | t.TAggregate | t.TLink):
        return False
    if isinstance(node, t.TUserAttr):
        base = node.base
        return isinstance(base, t.TCall) and base.function.name == "me"
    return all(is_constant(c) for c in t.children(node))


class SqlEmitter:
    """Compiles typed nodes for one dialect; the library's SQL forms call back into it."""

    def __init__(
        self, scope: Scope, binding: SqlBinding, ctx: SqlContext, table: sa.FromClause
    ) -> None:
        self.scope = scope
        self.binding = binding
        self.ctx = ctx
        self.dialect = ctx.dialect
        self.pg = ctx.dialect.startswith("postgres")
        self.tables: list[sa.FromClause] = [table]
        self.tz = zone_name(ctx.tz)
        self.eval_ctx = EvalContext(ctx.now, ctx.tz, ctx.actor, None)

    def row_filter(self, entity: str, table: sa.FromClause) -> list[Sql]:
        """Extra WHERE conditions for rows of ``entity`` in ``table`` (see SqlContext)."""
        if self.ctx.row_filter is None:
            return []
        condition = self.ctx.row_filter(entity, table)
        return [] if condition is None else [condition]

    # --- values ------------------------------------------------------------------

    def param(self, value: Any, typ: ExprType) -> Sql:
        """A bound parameter holding ``value`` of type ``typ``."""
        if value is None:
            if self.pg and typ in _PG_CASTS:
                return sa.cast(sa.null(), sql_type_for(typ))
            return sa.null()
        if typ == BOOLEAN:
            return sa.true() if value else sa.false()
        stype = sql_type_for(typ)
        lit: Sql = sa.literal(value, stype)
        if self.pg and typ in _PG_CASTS:
            return sa.cast(lit, stype)
        return lit

    def typed(self, expr: Sql, typ: ExprType) -> Sql:
        """``expr`` labelled with the storage type of ``typ`` (for result conversion)."""
        if typ == NULL:
            return expr
        if self.pg and typ == DECIMAL:
            return sa.cast(expr, sql_type_for(typ))
        return sa.type_coerce(expr, sql_type_for(typ))

    def numeric(self, expr: Sql) -> Sql:
        """``expr`` as an exact number on PostgreSQL (integers cast to numeric)."""
        return sa.cast(expr, sa.Numeric()) if self.pg else expr

    def text_c(self, expr: Sql) -> Sql:
        """``expr`` with code-point ordering (PostgreSQL ``COLLATE "C"``)."""
        return sa.collate(expr, "C") if self.pg else expr

    def fold(self, node: t.TNode) -> Any:
        """The value of a constant ``node`` (evaluated once, in Python)."""
        if isinstance(node, t.TLiteral):
            return node.value
        return compile_python(node)({}, self.eval_ctx)

    def today(self) -> Any:
        """``today()`` for this compilation."""
        from expressions.pyruntime import today

        return today(self.eval_ctx)

    # --- entry points ------------------------------------------------------------

    def value(self, node: t.TNode) -> Sql:
        """``node`` as an exact value (booleans never NULL unless the language says so)."""
        expr = self.raw(node)
        if node.type == BOOLEAN and not node.nullable and not _two_valued(node):
            return expr.is_(sa.true())
        return expr

    def truth(self, node: t.TNode) -> Sql:
        """``node`` as exactly true or false (null counts as false)."""
        expr = self.raw(node)
        return expr if _two_valued(node) else expr.is_(sa.true())

    def condition(self, node: t.TNode) -> Sql:
        """``node`` as a WHERE condition (NULL may stand for false)."""
        return self.raw(node)

    def raw(self, node: t.TNode) -> Sql:
        """``node`` in its plain (possibly three-valued) SQL form."""
        if isinstance(node, t.TLiteral):
            return self.param(node.value, node.type)
        if not isinstance(node, t.TList) and is_constant(node):
            return self.param(self.fold(node), node.type)
        if isinstance(node, t.TField):
            return self.binding.column(self.tables[node.depth], node.entity, node.name)
        if isinstance(node, t.TLink):
            target = self.binding.table(node.entity).alias()
            key = self.binding.column(target, node.entity, "id")
            col = self.binding.column(target, node.entity, node.name)
            return (
                sa.select(col)
                .where(key == self.value(node.base), *self.row_filter(node.entity, target))
                .scalar_subquery()
            )
        if isinstance(node, t.TUserAttr):
            users = self.binding.users_table().alias()
            return (
                sa.select(users.c[node.name])
                .where(users.c["id"] == self.value(node.base))
                .scalar_subquery()
            )
        if isinstance(node, t.TStep):
            done_at = self.binding.step_done_at(self.tables[node.depth], node.entity, node.step)
            if node.attr == "done":
                return done_at.is_not(sa.null())
            return done_at
        if isinstance(node, t.TUnary):
            if node.op == "not":
                return sa.not_(self.truth(node.operand))
            return -self.raw(node.operand)
        if isinstance(node, t.TChain):
            return self._chain(node)
        if isinstance(node, t.TCompare):
            return self._compare(node)
        if isinstance(node, t.TIn):
            return self._in(node)
        if isinstance(node, t.TBool):
            parts = [self.condition(x) for x in node.operands]
            return sa.and_(*parts) if node.op == "and" else sa.or_(*parts)
        if isinstance(node, t.TCall | t.TAggregate):
            impl = node.function.sql
            assert impl is not None
            return impl(self, node, [] if isinstance(node, t.TAggregate) else list(node.args))  # type: ignore[no-any-return]
        raise TypeError(f"no SQL form for {node!r}")  # pragma: no cover

    # --- operators ---------------------------------------------------------------

    def _chain(self, node: t.TChain) -> Sql:
        acc = self.raw(node.first)
        acc_type = node.first.type
        for op, operand, result in node.steps:
            acc = self.arith(op, acc, acc_type, self.raw(operand), operand.type, result)
            acc_type = result
        return acc

    def divide(self, a: Sql, b: Sql) -> Sql:
        """``a / b`` to 10 places, half away from zero; NULL for a zero divisor."""
        if not self.pg:
            return sa.func.cairn_ddiv(a, b)
        x = self.numeric(a)
        y = sa.func.nullif(self.numeric(b), 0)
        scale = sa.cast(sa.literal(10**10), sa.Numeric())
        q = sa.func.div(2 * sa.func.abs(x) * scale + sa.func.abs(y), 2 * sa.func.abs(y))
        return (
            sa.func.sign(x)
            * sa.func.sign(y)
            * q
            * sa.cast(sa.literal("0.0000000001"), sa.Numeric())
        )

    def arith(self, op: str, a: Sql, at: ExprType, b: Sql, bt: ExprType, result: ExprType) -> Sql:
        """``a op b`` for operand types ``at``/``bt`` giving ``result``."""
        if NULL in (at, bt, result):
            return sa.null()
        if result == TEXT:
            return a.op("||")(b)
        if op == "/":
            return self.divide(a, b)
        if result in (INTEGER, DECIMAL):
            exact = result == DECIMAL
            if op == "%":
                if self.pg:
                    return (
                        self.numeric(a) % sa.func.nullif(self.numeric(b), 0)
                        if exact
                        else a % sa.func.nullif(b, 0)
                    )
                return sa.func.cairn_dmod(a, b) if exact else a % sa.func.nullif(b, 0)
            if exact and not self.pg:
                name = {"+": "cairn_dadd", "-": "cairn_dsub", "*": "cairn_dmul"}[op]
                return getattr(sa.func, name)(a, b)  # type: ignore[no-any-return]
            if exact:
                a, b = self.numeric(a), self.numeric(b)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            return a * b
        if result == DURATION and at == bt == DURATION:
            return a + b if op == "+" else a - b
        if result == DURATION and op == "*":
            return a * b
        if result == DURATION:  # time - time
            if at == DATE:
                if self.pg:
                    return sa.type_coerce(a - b, sa.BigInteger()) * 86400
                return sa.func.cairn_time_sub(a, b)
            if self.pg:
                return sa.cast(sa.func.trunc(sa.extract("epoch", a - b)), sa.BigInteger())
            return sa.func.cairn_time_sub(a, b)
        # time ± duration (either order for +)
        if at == DURATION:
            a, b, at, bt = b, a, bt, at
        sign = -1 if op == "-" else 1
        if not self.pg:
            return sa.func.cairn_time_add(a, b, sign)
        if result == DATE:
            days = sa.cast(sa.func.div(b, 86400), sa.Integer())
            return sa.cast(a + days if sign > 0 else a - days, sa.Date())
        interval = sa.func.make_interval(0, 0, 0, 0, 0, 0, sa.cast(b, sa.Float()))
        return a + interval if sign > 0 else a - interval

    def _compare(self, node: t.TCompare) -> Sql:
        left, right = node.left, node.right
        op = node.op
        if op in ("==", "!="):
            lv, rv = self.value(left), self.value(right)
            if op == "!=":
                return lv.is_distinct_from(rv)
            for side, other in ((right, lv), (left, rv)):
                if is_constant(side):
                    value = self.fold(side)
                    if value is None:
                        return other.is_(sa.null())
                    # sargable; NULL (false) when the column is null, and made exact by
                    # value() wherever the exact boolean matters
                    return other == self.param(value, side.type)
            return lv.is_not_distinct_from(rv)
        if NULL in (left.type, right.type):
            return sa.false()
        lv, rv = self.raw(left), self.raw(right)
        if TEXT in (left.type, right.type):
            rv = self.text_c(rv)
        ops = {"<": lv < rv, "<=": lv <= rv, ">": lv > rv, ">=": lv >= rv}
        return ops[op]

    def _in(self, node: t.TIn) -> Sql:
        left = self.raw(node.left)
        right = node.right
        assert isinstance(right, t.TList)
        items = [self.value(i) for i in right.items]
        test: Sql = left.in_(items) if items else sa.false()
        if node.negated:
            return sa.not_(test.is_(sa.true()))
        return test


def _two_valued(node: t.TNode) -> bool:
    if isinstance(node, t.TLiteral | t.TIn) and not (isinstance(node, t.TIn) and not node.negated):
        return True
    if isinstance(node, t.TUnary) and node.op == "not":
        return True
    if isinstance(node, t.TStep) and node.attr == "done":
        return True
    if isinstance(node, t.TCompare) and node.op == "!=":
        return True
    if isinstance(node, t.TAggregate) and node.function.name in ("any", "all", "count"):
        return True
    return False


def compile_sql(
    root: t.TNode,
    scope: Scope,
    binding: SqlBinding,
    ctx: SqlContext,
    table: sa.FromClause | None = None,
    *,
    as_value: bool = False,
) -> Sql:
    """The SQLAlchemy form of ``root`` over rows of ``table`` (default: the scope's)."""
    emitter = SqlEmitter(
        scope, binding, ctx, table if table is not None else binding.table(scope.entity)
    )
    expr = emitter.value(root) if as_value or root.type != BOOLEAN else emitter.condition(root)
    return emitter.typed(expr, root.type)
