"""How values of each expression type are stored in SQL tables, and SQLite's functions.

``runtime`` builds entity tables with :func:`sql_type_for`; the SQL compiler uses the same
types for its parameters and results, so a value read back is the value written.

SQLite has no exact decimal type: decimals are stored as REAL and every decimal operation
in compiled SQL goes through the user functions registered by
:func:`install_sqlite_functions`, which convert with ``Decimal(repr(x))`` and compute
exactly with the same code as the Python evaluator. That is exact for values of up to 15
significant digits (what a double round-trips); PostgreSQL's ``numeric`` is exact always.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, DecimalException
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from expressions import values
from expressions.limits import INT64_MAX, MAX_DURATION_SECONDS
from expressions.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    FILE,
    INTEGER,
    LOCATION,
    NULL,
    TEXT,
    USER,
    ExprType,
    ListType,
    RecordType,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC; accepts aware datetimes of any zone, returns UTC."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return values.as_aware(value).astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)


class DurationSeconds(TypeDecorator[timedelta]):
    """A duration stored as whole seconds (truncated toward zero)."""

    impl = sa.BigInteger()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, timedelta):
            return values.duration_seconds(value)
        return int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> timedelta | None:
        if value is None:
            return None
        return timedelta(seconds=int(value))


def to_decimal(value: Any) -> Decimal | None:
    """A stored number as an exact Decimal (floats via their shortest repr)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


class ExactDecimal(TypeDecorator[Decimal]):
    """``numeric`` on PostgreSQL; REAL on SQLite (read back with ``Decimal(repr(x))``)."""

    impl = sa.Numeric()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Float(asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return float(value) if not isinstance(value, int) else value
        return to_decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return to_decimal(value)


class IntegerId(TypeDecorator[int]):
    """A 64-bit integer (INTEGER on SQLite, so that it can be a rowid primary key)."""

    impl = sa.BigInteger()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Integer())
        return dialect.type_descriptor(sa.BigInteger())

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


def sql_type_for(t: ExprType) -> TypeEngine[Any]:
    """The column type that stores values of expression type ``t``.

    ``location`` values are three Float columns (lat, lng, accuracy): this returns the
    type of each. ``list<…>`` is JSON (a list of text, or a list of file ids).
    """
    if t in (INTEGER, USER) or isinstance(t, RecordType):
        return IntegerId()
    if t == DECIMAL:
        return ExactDecimal()
    if t == TEXT:
        return sa.Text()
    if t == BOOLEAN:
        return sa.Boolean(create_constraint=False)
    if t == DATE:
        return sa.Date()
    if t == DATETIME:
        return UTCDateTime()
    if t == DURATION:
        return DurationSeconds()
    if t == LOCATION:
        return sa.Float()
    if isinstance(t, ListType):
        return sa.JSON()
    if t in (FILE, NULL):
        return sa.types.NullType() if t == NULL else IntegerId()
    raise ValueError(f"no SQL storage for type {t}")


# --- SQLite user functions ------------------------------------------------------------


def _sqlite_time(value: Any) -> date | datetime | None:
    """A SQLite date ('YYYY-MM-DD') or datetime (naive UTC text) as a Python value."""
    if value is None:
        return None
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sqlite_from(value: Any) -> Any:
    """A Python result as SQLite stores it (dates ISO, datetimes naive UTC text)."""
    if value is None or isinstance(value, bool | int | str):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        # isoformat pads the year to four digits (strftime's %Y does not for year 1)
        utc = values.as_aware(value).astimezone(UTC).replace(tzinfo=None)
        return utc.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return values.duration_seconds(value)
    return value


def _zone(name: Any) -> Any:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a user function so that no Python exception reaches SQLite (null instead)."""

    def wrapper(*args: Any) -> Any:
        try:
            return _sqlite_from(fn(*args))
        except (ArithmeticError, DecimalException, TypeError, ValueError, OverflowError):
            return None

    wrapper.__name__ = fn.__name__
    return wrapper


def _num(x: Any) -> Any:
    """A SQLite number as an exact Python number (int stays int)."""
    if x is None or isinstance(x, int):
        return x
    return to_decimal(x)


def _dec_op(op: str) -> Callable[[Any, Any], Any]:
    def fn(a: Any, b: Any) -> Any:
        x, y = _num(a), _num(b)
        if x is None or y is None:
            return None
        if op == "+":
            return values.EXACT.add(x, y)
        if op == "-":
            return values.EXACT.subtract(x, y)
        if op == "*":
            return values.EXACT.multiply(x, y)
        if op == "/":
            return values.divide(x, y)
        return values.modulo(x, y)

    return fn


def _texts(*parts: Any) -> list[str | None]:
    return [None if p is None else str(p) for p in parts]


class _DecimalSum:
    """Exact SUM over SQLite REAL values."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        number = to_decimal(value)
        if number is not None:
            self.total = number if self.total is None else values.EXACT.add(self.total, number)

    def finalize(self) -> Any:
        return _sqlite_from(self.total)


class _IntSum:
    """SUM of SQLite integers that gives null beyond the range (where SQLite raises)."""

    low, high = -INT64_MAX - 1, INT64_MAX

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: Any) -> None:
        if value is not None:
            self.total += int(value)

    def finalize(self) -> Any:
        return self.total if self.low <= self.total <= self.high else None


class _DurationSum(_IntSum):
    low, high = -MAX_DURATION_SECONDS, MAX_DURATION_SECONDS


def _int64(x: Any) -> Any:
    """An integer result of SQLite arithmetic; a REAL means it overflowed (null)."""
    if isinstance(x, float):
        return None
    return values.int64(x)


def _duration(x: Any) -> Any:
    if x is None or isinstance(x, float) or abs(x) > MAX_DURATION_SECONDS:
        return None
    return x


class _DecimalAvg:
    """Exact AVG over SQLite numbers, with the precision of ``/``."""

    def __init__(self) -> None:
        self.items: list[Decimal] = []

    def step(self, value: Any) -> None:
        number = to_decimal(value)
        if number is not None:
            self.items.append(number)

    def finalize(self) -> Any:
        try:
            return _sqlite_from(values.agg_avg(self.items))
        except (ArithmeticError, DecimalException):
            return None


def _add_time(t: Any, seconds: Any, sign: Any) -> Any:
    base = _sqlite_time(t)
    if base is None or seconds is None:
        return None
    return values.add_duration(base, timedelta(seconds=int(seconds)), int(sign))


def _sub_times(a: Any, b: Any) -> Any:
    return values.duration_seconds(values.subtract_times(_sqlite_time(a), _sqlite_time(b)))


_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "cairn_dadd": (2, _dec_op("+")),
    "cairn_dsub": (2, _dec_op("-")),
    "cairn_dmul": (2, _dec_op("*")),
    "cairn_ddiv": (2, _dec_op("/")),
    "cairn_dmod": (2, _dec_op("%")),
    "cairn_int64": (1, _int64),
    "cairn_duration": (1, _duration),
    "cairn_abs": (1, lambda x: values.abs_(_num(x))),
    "cairn_round": (2, lambda x, d: values.round_half_away(_num(x), d)),
    "cairn_floor": (1, lambda x: values.floor_(_num(x))),
    "cairn_ceil": (1, lambda x: values.ceil_(_num(x))),
    "cairn_lower": (1, lambda t: values.lower(*_texts(t))),
    "cairn_upper": (1, lambda t: values.upper(*_texts(t))),
    "cairn_left": (2, lambda t, n: values.left(_texts(t)[0], n)),
    "cairn_right": (2, lambda t, n: values.right(_texts(t)[0], n)),
    "cairn_starts_with": (2, lambda t, p: int(values.starts_with(*_texts(t, p)))),
    "cairn_ends_with": (2, lambda t, p: int(values.ends_with(*_texts(t, p)))),
    "cairn_count_of": (2, lambda t, p: values.count_of(*_texts(t, p))),
    "cairn_least": (
        -1,
        lambda *xs: values.least(*(_num(x) if not isinstance(x, str) else x for x in xs)),
    ),
    "cairn_greatest": (
        -1,
        lambda *xs: values.greatest(*(_num(x) if not isinstance(x, str) else x for x in xs)),
    ),
    "cairn_clamp": (3, lambda x, lo, hi: values.clamp(_num(x), _num(lo), _num(hi))),
    "cairn_days_between": (
        3,
        lambda a, b, tz: values.days_between(_sqlite_time(a), _sqlite_time(b), _zone(tz)),
    ),
    "cairn_hours_between": (
        2,
        lambda a, b: values.hours_between(_sqlite_time(a), _sqlite_time(b)),  # type: ignore[arg-type]
    ),
    "cairn_local_date": (2, lambda d, tz: values.local_date(_sqlite_time(d), _zone(tz))),
    "cairn_weekday": (2, lambda d, tz: values.weekday(_sqlite_time(d), _zone(tz))),
    "cairn_start_of_week": (2, lambda d, tz: values.start_of_week(_sqlite_time(d), _zone(tz))),
    "cairn_start_of_month": (2, lambda d, tz: values.start_of_month(_sqlite_time(d), _zone(tz))),
    "cairn_time_add": (3, _add_time),
    "cairn_time_sub": (2, _sub_times),
}


def install_sqlite_functions(dbapi_connection: Any) -> None:
    """Register the user functions compiled SQL needs on one SQLite DB-API connection.

    Call it from a ``connect`` event on every SQLite engine::

        sa.event.listen(engine, "connect", lambda conn, _: install_sqlite_functions(conn))
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):  # pragma: no cover
        dbapi_connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    for name, (nargs, fn) in _FUNCTIONS.items():
        dbapi_connection.create_function(name, nargs, _safe(fn), deterministic=True)
    dbapi_connection.create_aggregate("cairn_dsum", 1, _DecimalSum)
    dbapi_connection.create_aggregate("cairn_davg", 1, _DecimalAvg)
    dbapi_connection.create_aggregate("cairn_isum", 1, _IntSum)
    dbapi_connection.create_aggregate("cairn_dursum", 1, _DurationSum)
