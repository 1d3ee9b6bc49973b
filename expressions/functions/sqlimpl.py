"""SQL forms of the library functions, for PostgreSQL and SQLite.

Each takes the :class:`~expressions.sqlcompiler.SqlEmitter`, the typed call node and its
typed arguments. On SQLite, where the built-in functions differ from the language's rules,
the registered ``cairn_*`` functions (see :mod:`expressions.sqltypes`) run the Python
implementation itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from expressions import typed as t
from expressions.limits import MAX_ROUND_DIGITS
from expressions.types import DATE, DATETIME, DECIMAL, DURATION, INTEGER, TEXT

if TYPE_CHECKING:
    from expressions.sqlcompiler import SqlEmitter

Sql = sa.ColumnElement[Any]
Args = list[t.TNode]
_TRIM = " \t\n\r"


def sql_if(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``if(c, a, b)``."""
    return sa.case((emit.condition(args[0]), emit.value(args[1])), else_=emit.value(args[2]))


def sql_coalesce(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``coalesce(a, b, ...)``."""
    values = [emit.value(a) for a in args]
    return values[0] if len(values) == 1 else sa.func.coalesce(*values)


def sql_is_blank(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``is_blank(x)``."""
    x = emit.value(args[0])
    if args[0].type == TEXT:
        return sa.or_(x.is_(sa.null()), x == "").is_(sa.true())
    return x.is_(sa.null())


def sql_len(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``len(t)`` in characters."""
    x = emit.value(args[0])
    return sa.func.char_length(x) if emit.pg else sa.func.length(x)


def _case_mapped(emit: SqlEmitter, fn: str, arg: t.TNode) -> Sql:
    """PostgreSQL's ``lower``/``upper`` of ``arg`` in the database's own collation.

    ``min``/``max`` of text compare under ``COLLATE "C"`` (code-point order), and their
    result carries that collation, under which ``lower``/``upper`` change ASCII letters
    only. There the argument is re-collated, inside a scalar subquery so that the
    explicit collation does not clash with a ``COLLATE "C"`` around the result.
    """
    x = emit.value(arg)
    if not _carries_c_collation(arg):
        return getattr(sa.func, fn)(x)  # type: ignore[no-any-return]
    mapped = getattr(sa.func, fn)(sa.collate(x, "default"))
    return sa.select(mapped).scalar_subquery()


def _carries_c_collation(node: t.TNode) -> bool:
    if isinstance(node, t.TAggregate):
        return node.function.name in ("min_of", "max_of") and node.type == TEXT
    if isinstance(node, t.TCall) and node.function.name in ("min", "max"):
        return node.type == TEXT
    if isinstance(node, t.TCompare | t.TIn | t.TBool | t.TUnary) or node.type != TEXT:
        return False
    return any(_carries_c_collation(c) for c in t.children(node))


def sql_lower(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``lower(t)``."""
    if emit.pg:
        return _case_mapped(emit, "lower", args[0])
    return sa.func.cairn_lower(emit.value(args[0]))


def sql_upper(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``upper(t)``."""
    if emit.pg:
        return _case_mapped(emit, "upper", args[0])
    return sa.func.cairn_upper(emit.value(args[0]))


def sql_trim(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``trim(t)`` (spaces, tabs, line breaks)."""
    x = emit.value(args[0])
    chars = emit.param(_TRIM, TEXT)
    return sa.func.btrim(x, chars) if emit.pg else sa.func.trim(x, chars)


def _position(emit: SqlEmitter, x: Sql, part: Sql) -> Sql:
    return sa.func.strpos(x, part) if emit.pg else sa.func.instr(x, part)


def sql_contains(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``contains(t, part)`` (case-sensitive)."""
    return _position(emit, emit.value(args[0]), emit.value(args[1])) > 0


def _list_items(emit: SqlEmitter, node: t.TNode) -> list[Sql | None]:
    assert isinstance(node, t.TList)
    return [
        None if isinstance(i, t.TLiteral) and i.value is None else emit.value(i) for i in node.items
    ]


def sql_contains_any(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``contains_any(t, [..])`` (false for a null list)."""
    if not isinstance(args[1], t.TList):  # the checker lets only a null through
        return sa.false()
    x = emit.value(args[0])
    tests = [_position(emit, x, p) > 0 for p in _list_items(emit, args[1]) if p is not None]
    return sa.or_(sa.false(), *tests)


def sql_contains_all(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``contains_all(t, [..])`` (null items ignored; false for null text or list)."""
    if not isinstance(args[1], t.TList):
        return sa.false()
    x = emit.value(args[0])
    tests = [
        sa.or_(p.is_(sa.null()), _position(emit, x, p) > 0)
        for p in _list_items(emit, args[1])
        if p is not None
    ]
    return sa.and_(x.is_not(sa.null()), *tests)


def sql_starts_with(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``starts_with(t, part)``."""
    x, p = emit.value(args[0]), emit.value(args[1])
    if emit.pg:
        # NULL (false) when either is null: left(x, NULL) and "= NULL" are NULL
        return sa.func.left(x, sa.func.char_length(p)).op("=")(p)
    return sa.func.cairn_starts_with(x, p) == 1


def sql_ends_with(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``ends_with(t, part)``."""
    x, p = emit.value(args[0]), emit.value(args[1])
    if emit.pg:
        return sa.func.right(x, sa.func.char_length(p)).op("=")(p)
    return sa.func.cairn_ends_with(x, p) == 1


def _count_of(emit: SqlEmitter, x: Sql, p: Sql) -> Sql:
    if not emit.pg:
        return sa.func.cairn_count_of(x, p)
    n = sa.func.char_length(p)
    removed = sa.func.char_length(x) - sa.func.char_length(sa.func.replace(x, p, ""))
    return sa.case(
        (x.is_(sa.null()), sa.null()),
        (n == 0, 0),
        else_=sa.cast(sa.func.div(removed, sa.func.nullif(n, 0)), sa.BigInteger()),
    )


def sql_count_of(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``count_of(t, part)`` (non-overlapping)."""
    return _count_of(emit, emit.value(args[0]), emit.value(args[1]))


def sql_keyword_density(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``keyword_density(t, [..])``: occurrences per 1,000 characters (null list: null)."""
    if not isinstance(args[1], t.TList):
        return emit.param(None, DECIMAL)
    x = emit.value(args[0])
    hits: Sql = sa.literal(0, sa.Integer())
    for p in _list_items(emit, args[1]):
        if p is not None:
            hits = hits + sa.func.coalesce(_count_of(emit, x, p), 0)
    length = sa.func.char_length(x) if emit.pg else sa.func.length(x)
    return sa.case((length > 0, emit.divide(hits * 1000, length)), else_=sa.null())


#: PostgreSQL's left()/right() take an int4; no text holds more characters than this.
_INT4_MAX = 2**31 - 1


def _left_right(emit: SqlEmitter, args: Args, fn: str) -> Sql:
    x, n = emit.value(args[0]), emit.value(args[1])
    if not emit.pg:
        return getattr(sa.func, f"cairn_{fn}")(x, n)  # type: ignore[no-any-return]
    return sa.case(
        (n <= 0, sa.case((x.is_(sa.null()), sa.null()), else_="")),
        # a count beyond int4 takes the whole text (and must not reach the int4 cast)
        (n > _INT4_MAX, x),
        else_=getattr(sa.func, fn)(x, sa.cast(n, sa.Integer())),
    )


def sql_left(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``left(t, n)``: empty for n ≤ 0."""
    return _left_right(emit, args, "left")


def sql_right(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``right(t, n)``: empty for n ≤ 0."""
    return _left_right(emit, args, "right")


def sql_round(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``round(x, d)``, half away from zero."""
    x = emit.value(args[0])
    d = emit.value(args[1]) if len(args) > 1 else emit.param(0, INTEGER)
    if not emit.pg:
        if args[0].type == INTEGER:
            return sa.cast(sa.func.cairn_round(x, d), sa.Integer())
        return sa.func.cairn_round(x, d)
    rounded: Sql = sa.func.round(emit.numeric(x), sa.cast(_pg_clamp_digits(d), sa.Integer()))
    if args[0].type == INTEGER:
        rounded = emit.in_range(rounded, INTEGER)
    return sa.case((d.between(-MAX_ROUND_DIGITS, MAX_ROUND_DIGITS), rounded), else_=sa.null())


def _pg_clamp_digits(d: Sql) -> Sql:
    """Digits for PostgreSQL's round(): beyond ±18 the result is null anyway, and clamping
    keeps an int4 cast from failing."""
    limit = MAX_ROUND_DIGITS + 1
    return sa.func.greatest(sa.func.least(d, limit), -limit)


def _whole(emit: SqlEmitter, fn: str, args: Args) -> Sql:
    x = emit.value(args[0])
    if args[0].type == INTEGER:
        return x
    if emit.pg:
        return emit.in_range(getattr(sa.func, fn)(x), INTEGER)
    return getattr(sa.func, f"cairn_{fn}")(x)  # type: ignore[no-any-return]


def sql_floor(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``floor(x)``."""
    return _whole(emit, "floor", args)


def sql_ceil(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``ceil(x)``."""
    return _whole(emit, "ceil", args)


def sql_abs(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``abs(x)`` (null where the absolute value of an integer exceeds 64 bits)."""
    x = emit.value(args[0])
    if args[0].type != INTEGER:
        return sa.func.abs(x)
    if not emit.pg:
        return sa.func.cairn_abs(x)
    return emit.in_range(sa.func.abs(emit.numeric(x)), INTEGER)


def _extreme(emit: SqlEmitter, node: t.TCall, args: Args, pg_name: str, sqlite_name: str) -> Sql:
    values = [emit.value(a) for a in args]
    if len(values) == 1:
        return values[0]
    if emit.pg:
        if node.type == TEXT:
            values = [emit.text_c(v) for v in values]
        elif node.type == DECIMAL:
            values = [emit.numeric(v) for v in values]
        return getattr(sa.func, pg_name)(*values)  # type: ignore[no-any-return]
    return getattr(sa.func, sqlite_name)(*values)  # type: ignore[no-any-return]


def sql_least(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``min(a, b, ...)`` ignoring nulls."""
    return _extreme(emit, node, args, "least", "cairn_least")


def sql_greatest(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``max(a, b, ...)`` ignoring nulls."""
    return _extreme(emit, node, args, "greatest", "cairn_greatest")


def sql_clamp(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``clamp(x, lo, hi)``."""
    x, lo, hi = (emit.value(a) for a in args)
    if not emit.pg:
        return sa.func.cairn_clamp(x, lo, hi)
    if node.type == DECIMAL:
        x, lo, hi = emit.numeric(x), emit.numeric(lo), emit.numeric(hi)
    raised = sa.case((sa.and_(lo.is_not(sa.null()), x < lo), lo), else_=x)
    return sa.case(
        (x.is_(sa.null()), sa.null()),
        (sa.and_(hi.is_not(sa.null()), raised > hi), hi),
        else_=raised,
    )


def sql_context(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:  # pragma: no cover
    """``now()``, ``today()``, ``me()``, ``has_role``: always folded to parameters."""
    raise AssertionError("context functions are folded to constants")


def sql_has_role(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``has_role(t)`` for a role read from the record: one of the actor's roles."""
    actor = emit.ctx.actor or {}
    roles = [actor.get("role")]
    extra = actor.get("roles")
    if isinstance(extra, list | tuple | set | frozenset):
        roles.extend(extra)
    names = sorted({r for r in roles if isinstance(r, str)})
    if not names:
        return sa.false()
    return emit.value(args[0]).in_([emit.param(r, TEXT) for r in names])


def local_date(emit: SqlEmitter, node: t.TNode) -> Sql:
    """The calendar date of ``node`` in the workspace zone."""
    x = emit.value(node)
    if node.type != DATETIME:
        return x
    # null where the local date is outside years 1…9999 (as in Python)
    day = sa.cast(sa.func.timezone(emit.tz, sa.func.timezone("UTC", x)), sa.Date())
    return emit.in_range(day, DATE)


def sql_local_date(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """The calendar date of a datetime in the workspace zone (date/datetime comparisons)."""
    if not emit.pg:
        return sa.func.cairn_local_date(emit.value(args[0]), emit.tz)
    return local_date(emit, args[0])


def sql_days_between(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``days_between(a, b)``."""
    if not emit.pg:
        return sa.func.cairn_days_between(emit.value(args[0]), emit.value(args[1]), emit.tz)
    days = local_date(emit, args[1]) - local_date(emit, args[0])
    return sa.type_coerce(days, sa.BigInteger())


def sql_hours_between(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``hours_between(a, b)``."""
    a, b = emit.value(args[0]), emit.value(args[1])
    return _hours(emit, a, b)


def _hours(emit: SqlEmitter, a: Sql, b: Sql) -> Sql:
    if not emit.pg:
        return sa.func.cairn_hours_between(a, b)
    seconds = sa.func.trunc(sa.extract("epoch", b - a))
    return sa.cast(sa.func.trunc(seconds / 3600), sa.BigInteger())


def sql_days_since(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``days_since(t)`` = ``days_between(t, today())``."""
    today = emit.param(emit.today(), DATE)
    if not emit.pg:
        return sa.func.cairn_days_between(emit.value(args[0]), today, emit.tz)
    return sa.type_coerce(today - local_date(emit, args[0]), sa.BigInteger())


def sql_hours_since(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``hours_since(t)`` = ``hours_between(t, now())``."""
    return _hours(emit, emit.value(args[0]), emit.param(emit.ctx.now, DATETIME))


def sql_weekday(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``weekday(d)``: 1 = Monday."""
    if not emit.pg:
        return sa.func.cairn_weekday(emit.value(args[0]), emit.tz)
    return sa.cast(sa.extract("isodow", local_date(emit, args[0])), sa.Integer())


def sql_start_of_week(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``start_of_week(d)``: the Monday."""
    if not emit.pg:
        return sa.func.cairn_start_of_week(emit.value(args[0]), emit.tz)
    d = local_date(emit, args[0])
    return sa.cast(d - (sa.cast(sa.extract("isodow", d), sa.Integer()) - 1), sa.Date())


def sql_start_of_month(emit: SqlEmitter, node: t.TCall, args: Args) -> Sql:
    """``start_of_month(d)``."""
    if not emit.pg:
        return sa.func.cairn_start_of_month(emit.value(args[0]), emit.tz)
    return sa.cast(sa.func.date_trunc("month", local_date(emit, args[0])), sa.Date())


def sql_aggregate(emit: SqlEmitter, node: t.TAggregate, args: Args) -> Sql:
    """Aggregates over a related collection, as correlated subqueries."""
    name = node.function.name
    spec = node.collection
    parent = emit.tables[0]
    child = emit.binding.table(spec.entity).alias()
    link = emit.binding.column(child, spec.entity, spec.link_field)
    parent_id = emit.binding.column(parent, node.parent_entity, "id")
    conditions: list[Sql] = [link == parent_id, *emit.row_filter(spec.entity, child)]
    emit.tables.insert(0, child)
    try:
        where = None if node.where is None else emit.condition(node.where)
        exact_where = None if node.where is None else emit.truth(node.where)
    finally:
        emit.tables.pop(0)
    col = None if node.field is None else emit.binding.column(child, spec.entity, node.field)
    if name == "all":
        assert exact_where is not None
        failing = (
            sa.select(sa.literal(1))
            .select_from(child)
            .where(*conditions, sa.not_(exact_where))
        )
        return ~sa.exists(failing)
    if where is not None:
        conditions.append(where)
    if name == "any":
        return sa.exists(sa.select(sa.literal(1)).select_from(child).where(*conditions))
    if name == "count":
        counted = sa.func.count() if col is None else sa.func.count(col)
        return sa.select(counted).select_from(child).where(*conditions).scalar_subquery()
    assert col is not None
    if name == "distinct_count":
        return sa.select(sa.func.count(sa.distinct(col))).where(*conditions).scalar_subquery()
    if name == "latest":
        created = emit.binding.column(child, spec.entity, "created_at")
        ident = emit.binding.column(child, spec.entity, "id")
        return (
            sa.select(col)
            .where(*conditions, col.is_not(sa.null()))
            .order_by(created.desc().nulls_last(), ident.desc())
            .limit(1)
            .scalar_subquery()
        )
    ftype = node.field_type
    if name in ("min_of", "max_of"):
        value = emit.text_c(col) if ftype == TEXT else col
        agg = sa.func.min(value) if name == "min_of" else sa.func.max(value)
        return sa.select(agg).where(*conditions).scalar_subquery()
    if name == "sum":
        if ftype == DECIMAL and not emit.pg:
            total: Sql = sa.func.cairn_dsum(col)
        elif ftype in (INTEGER, DURATION):
            # 0 over no rows, null beyond the type's range (one row either way)
            if emit.pg:
                total = emit.in_range(sa.func.coalesce(sa.func.sum(col), 0), ftype)
            else:
                name = "cairn_isum" if ftype == INTEGER else "cairn_dursum"
                # SQLite finalises an aggregate that saw no rows as NULL
                total = sa.case((sa.func.count(col) == 0, 0), else_=getattr(sa.func, name)(col))
            return sa.select(total).where(*conditions).scalar_subquery()
        else:
            total = sa.func.sum(col)
        inner = sa.select(total).where(*conditions).scalar_subquery()
        return sa.func.coalesce(inner, 0)
    # avg
    if not emit.pg:
        return sa.select(sa.func.cairn_davg(col)).where(*conditions).scalar_subquery()
    average = emit.divide(sa.func.sum(emit.numeric(col)), sa.func.count(col))
    return sa.select(average).where(*conditions).scalar_subquery()
