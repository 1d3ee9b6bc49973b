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

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from expressions import typed as t
from expressions.errors import ExpressionError
from expressions.limits import MAX_DURATION_SECONDS
from expressions.pycompiler import compile_python
from expressions.scope import EvalContext, Scope, SqlBinding, SqlContext
from expressions.sqltypes import sql_type_for
from expressions.typed import is_constant
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
            # typed, so that SQLAlchemy compares it (``x >= NULL``) instead of refusing or
            # turning ``=`` into ``IS NULL``, and PostgreSQL knows its type
            if typ in _PG_CASTS:
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

    def in_range(self, expr: Sql, typ: ExprType) -> Sql:
        """``expr`` (an integer, a duration in seconds, a date or a datetime), or NULL where
        the language's value would be out of range: integers beyond 64 bits, durations
        beyond ±999,999,999 days, dates and datetimes outside years 1…9999 — as in Python.

        ``expr`` appears once (no CASE repeating it): it is clamped into the range widened
        by one step, and the two sentinels are then mapped to NULL.
        """
        if not self.pg:
            if typ == INTEGER:
                return sa.func.cairn_int64(expr)
            if typ == DURATION:
                return sa.func.cairn_duration(expr)
            return expr
        lo, hi = _PG_RANGES[typ]
        return self._between(expr, lo, hi, typ)

    def _between(self, expr: Sql, lo: Sql, hi: Sql, typ: ExprType) -> Sql:
        clamped = sa.func.greatest(sa.func.least(expr, hi), lo)
        kept = sa.func.nullif(sa.func.nullif(clamped, hi), lo)
        if typ in (INTEGER, DURATION):
            return sa.cast(kept, sa.BigInteger())
        return kept

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
        if node.type == NULL:  # only ever null (``if(c, null, null)``, ``null + null``)
            return sa.null()
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
            if node.type in (INTEGER, DURATION):
                return self.in_range(-self.numeric(self.raw(node.operand)), node.type)
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
        if isinstance(node, t.TCall):
            impl = node.function.sql
            assert impl is not None
            return impl(self, node, _typed_null_args(node))  # type: ignore[no-any-return]
        if isinstance(node, t.TAggregate):
            impl = node.function.sql
            assert impl is not None
            return impl(self, node, [])  # type: ignore[no-any-return]
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
            return self.param(None, result)
        if result == TEXT:
            return a.op("||")(b)
        if op == "/":
            return self.divide(a, b)
        if result in (INTEGER, DECIMAL):
            exact = result == DECIMAL
            if op == "%":
                if self.pg:
                    if exact:
                        return self.numeric(a) % sa.func.nullif(self.numeric(b), 0)
                    a, b = sa.type_coerce(a, sa.BigInteger()), sa.type_coerce(b, sa.BigInteger())
                    return a % sa.func.nullif(b, 0)
                if exact:
                    return sa.func.cairn_dmod(a, b)
                a, b = sa.type_coerce(a, sa.BigInteger()), sa.type_coerce(b, sa.BigInteger())
                return a % sa.func.nullif(b, 0)
            if exact and not self.pg:
                name = {"+": "cairn_dadd", "-": "cairn_dsub", "*": "cairn_dmul"}[op]
                return getattr(sa.func, name)(a, b)  # type: ignore[no-any-return]
            a, b = self.numeric(a), self.numeric(b)
            value = a + b if op == "+" else a - b if op == "-" else a * b
            return value if exact else self.in_range(value, INTEGER)
        if result == DURATION and at == bt == DURATION:
            a, b = self.numeric(a), self.numeric(b)
            return self.in_range(a + b if op == "+" else a - b, DURATION)
        if result == DURATION and op == "*":
            return self.in_range(self.numeric(a) * self.numeric(b), DURATION)
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
        # A result outside years 1…9999 is null, as in Python, and PostgreSQL's own range
        # (4713 BC …) must never be exceeded on the way: the duration is clamped to a
        # little more than the whole range, the time is shifted 6,000 years (15 Gregorian
        # cycles, an exact number of days) forward, moved, checked, and shifted back.
        shift = sa.func.make_interval(0, 0, 0, _SHIFT_DAYS)
        if result == DATE:
            days = sa.cast(_pg_clamp(sa.func.div(b, 86400), _MAX_DAYS_SPAN), sa.Integer())
            moved: Sql = sa.cast(a + _SHIFT_DAYS, sa.Date())
            moved = moved + days if sign > 0 else moved - days
            lo, hi = _PG_SHIFTED[DATE]
            return sa.cast(self._between(moved, lo, hi, DATE) - _SHIFT_DAYS, sa.Date())
        seconds = sa.cast(_pg_clamp(b, _MAX_DAYS_SPAN * 86400), sa.Float())
        interval = sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
        moved = a + shift
        moved = moved + interval if sign > 0 else moved - interval
        lo, hi = _PG_SHIFTED[DATETIME]
        return self._between(moved, lo, hi, DATETIME) - shift

    def _compare(self, node: t.TCompare) -> Sql:
        left, right = node.left, node.right
        op = node.op
        for stamp, day, flipped in ((left, right, False), (right, left, True)):
            if _is_local_date(stamp) and is_constant(day) and not is_constant(stamp):
                assert isinstance(stamp, t.TCall)
                return self._date_window(_FLIPPED[op] if flipped else op, stamp.args[0], day)
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

    def _date_window(self, op: str, stamp: t.TNode, day: t.TNode) -> Sql:
        """``local_date(stamp) op day`` for a constant ``day``, as instant comparisons on
        ``stamp`` itself (index-friendly): ``created_at >= start_of_week(today())`` becomes
        ``created_at >= <Monday 00:00 in the workspace zone>``."""
        x = self.raw(stamp)
        d = self.fold(day)
        # instants whose local date exists (years 1…9999); elsewhere the date is null
        tz = self.ctx.tz
        first, last = _first_instant(date.min, tz), _last_instant(date.max, tz)
        exists = [x >= self.param(first, DATETIME)] if first is not None else []
        if last is not None:
            exists.append(x <= self.param(last, DATETIME))
        if d is None:
            has_date = sa.and_(x.is_not(sa.null()), *exists)
            if op == "==":
                return sa.not_(has_date.is_(sa.true()))
            return has_date if op == "!=" else sa.false()
        start = _first_instant(d, tz)
        following = _last_instant(d, tz)
        at_or_after = [x >= self.param(start, DATETIME)] if start is not None else []
        up_to = [x <= self.param(following, DATETIME)] if following is not None else []
        if op == ">=":
            return sa.and_(x.is_not(sa.null()), *at_or_after, *exists)
        if op == "<":
            return (
                sa.false() if start is None else sa.and_(x < self.param(start, DATETIME), *exists)
            )
        if op == ">":
            return (
                sa.false()
                if following is None
                else sa.and_(x > self.param(following, DATETIME), *exists)
            )
        if op == "<=":
            return sa.and_(x.is_not(sa.null()), *up_to, *exists)
        within = sa.and_(x.is_not(sa.null()), *at_or_after, *up_to, *exists)
        return within if op == "==" else sa.not_(within.is_(sa.true()))

    def _in(self, node: t.TIn) -> Sql:
        left = self.raw(node.left)
        right = node.right
        assert isinstance(right, t.TList)
        items = [self.value(i) for i in right.items]
        test: Sql = left.in_(items) if items else sa.false()
        if node.negated:
            return sa.not_(test.is_(sa.true()))
        return test


#: The SQL type a null argument takes for each parameter pattern of the library.
_PATTERN_TYPES: dict[str, ExprType] = {
    "integer": INTEGER,
    "text": TEXT,
    "boolean": BOOLEAN,
    "date": DATE,
    "datetime": DATETIME,
    "temporal": DATE,
    "duration": DURATION,
}


def _typed_null_args(node: t.TCall) -> list[t.TNode]:
    """The arguments of ``node``, each null-typed one replaced by a null of its parameter's
    type, so that SQL forms get ``CAST(NULL AS type)`` (never an untyped ``NULL``, which
    SQLAlchemy turns into ``IS NULL`` in a comparison and PostgreSQL cannot type)."""
    args = list(node.args)
    if all(a.type != NULL for a in args):
        return args
    function = node.function
    types = [a.type for a in args]
    overload = next((o for o in function.overloads if o.matches(types)), None)
    if overload is None:  # pragma: no cover - the checker matched one
        return args
    n = len(overload.params)
    for i, arg in enumerate(args):
        if arg.type != NULL:
            continue
        pattern = overload.params[min(i, n - 1)]
        want = _PATTERN_TYPES.get(pattern)
        if want is None and pattern in ("number", "ordered") and node.type != NULL:
            want = node.type if pattern == "ordered" or node.type == DECIMAL else INTEGER
        if want is None and function.kind == "lazy" and pattern == "any":
            want = node.type if node.type in _PG_CASTS else None
        if want is not None:
            args[i] = t.TLiteral(arg.span, want, True, True, None)
    return args


#: One step beyond each end of the ranges of :meth:`SqlEmitter.in_range` (PostgreSQL).
_PG_RANGES: dict[ExprType, tuple[Sql, Sql]] = {
    INTEGER: (
        sa.literal_column("(-9223372036854775809)::numeric"),
        sa.literal_column("9223372036854775808::numeric"),
    ),
    DURATION: (
        sa.literal_column(f"(-{MAX_DURATION_SECONDS + 1})::numeric"),
        sa.literal_column(f"{MAX_DURATION_SECONDS + 1}::numeric"),
    ),
    DATE: (sa.literal_column("'0001-12-31 BC'::date"), sa.literal_column("'10000-01-01'::date")),
    DATETIME: (
        sa.literal_column("'0001-12-31 23:59:59.999999 BC'::timestamp"),
        sa.literal_column("'10000-01-01 00:00:00'::timestamp"),
    ),
}
_MAX_DAYS_SPAN = 3_700_000  # more days than from year 1 to year 9999
_SHIFT_DAYS = 15 * 146_097  # 6,000 years
_PG_SHIFTED: dict[ExprType, tuple[Sql, Sql]] = {
    DATE: (sa.literal_column("'6000-12-31'::date"), sa.literal_column("'16000-01-01'::date")),
    DATETIME: (
        sa.literal_column("'6000-12-31 23:59:59.999999'::timestamp"),
        sa.literal_column("'16000-01-01 00:00:00'::timestamp"),
    ),
}


def _pg_clamp(expr: Sql, limit: int) -> Sql:
    return sa.func.greatest(sa.func.least(expr, limit), -limit)


_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _is_local_date(node: t.TNode) -> bool:
    return isinstance(node, t.TCall) and node.function.name == "local_date"


def _first_instant(day: date, tz: tzinfo) -> datetime | None:
    """The first instant (UTC) whose date in ``tz`` is ``day``; None before year 1."""
    try:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        return None


def _last_instant(day: date, tz: tzinfo) -> datetime | None:
    """The last instant (UTC, to the microsecond) whose date in ``tz`` is ``day``; None
    when that is after year 9999."""
    try:
        following = _first_instant(day + timedelta(days=1), tz)
    except OverflowError:
        following = None
    if following is not None:
        return following - timedelta(microseconds=1)
    try:
        end = datetime.combine(day, datetime.max.time(), tzinfo=tz).astimezone(UTC)
    except OverflowError:
        return None
    return end


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
