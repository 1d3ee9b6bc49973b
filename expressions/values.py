"""Run-time operations on values, shared by the Python evaluator and SQLite's functions.

Every function here takes and returns plain Python values, never raises for the values
the checker lets through, and returns ``None`` for the documented null and error cases.
The SQLite user functions in :mod:`expressions.sqltypes` call these same functions, which
is what makes SQLite agree with the Python evaluator exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
)
from fractions import Fraction
from typing import Any

from expressions.limits import (
    DECIMAL_PRECISION,
    INT64_MAX,
    INT64_MIN,
    MAX_DURATION_SECONDS,
    MAX_ROUND_DIGITS,
    MAX_TEXT_CHARS,
)

DIVISION_PLACES = 10
_DIVISION_SCALE = 10**DIVISION_PLACES
_MICROS_PER_SECOND = 1_000_000

Number = int | Decimal

#: Decimal arithmetic is exact (as PostgreSQL's ``numeric``): the evaluator runs decimal
#: operations in this context instead of the default 28-digit one.
EXACT = Context(prec=DECIMAL_PRECISION, Emax=MAX_EMAX, Emin=MIN_EMIN)


def int64(value: Any) -> Any:
    """An integer result, or null when it is outside 64 bits (as SQL's ``bigint``)."""
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return None
    return value


def tidy(value: Decimal) -> Decimal:
    """``value`` without trailing fractional zeros (``3.5000`` → ``3.5``, ``2.0`` → ``2``)."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return value
    trimmed = list(digits)
    while exponent < 0 and len(trimmed) > 1 and trimmed[-1] == 0:
        trimmed.pop()
        exponent += 1
    if exponent < 0 and trimmed == [0]:
        exponent = 0
    return Decimal((sign, tuple(trimmed), exponent))


def _fraction(value: Number | Fraction) -> Fraction:
    return Fraction(value)


def divide(a: Number | Fraction | None, b: Number | None) -> Decimal | None:
    """``a / b`` rounded to 10 decimal places, half away from zero; null for zero/null."""
    if a is None or b is None or b == 0:
        return None
    try:
        q = _fraction(a) / _fraction(b)
    except (ValueError, OverflowError, ArithmeticError):
        return None
    numerator = abs(q.numerator) * _DIVISION_SCALE
    whole, rest = divmod(numerator, q.denominator)
    if 2 * rest >= q.denominator:
        whole += 1
    if q < 0:
        whole = -whole
    return tidy(Decimal(whole).scaleb(-DIVISION_PLACES, context=EXACT))


def modulo(a: Number | None, b: Number | None) -> Number | None:
    """``a % b`` with the sign of the dividend; null for zero/null."""
    if a is None or b is None or b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    try:
        return EXACT.remainder(Decimal(a), Decimal(b))
    except DecimalException:
        return None


def concat(a: str | None, b: str | None) -> str | None:
    """``a + b`` for text; null when either is null or the result exceeds 1 MB."""
    if a is None or b is None or len(a) + len(b) > MAX_TEXT_CHARS:
        return None
    return a + b


def _seconds(d: timedelta) -> int:
    micros = (d.days * 86400 + d.seconds) * _MICROS_PER_SECOND + d.microseconds
    whole = abs(micros) // _MICROS_PER_SECOND
    return -whole if micros < 0 else whole


def duration_of(seconds: int) -> timedelta | None:
    """A duration of whole ``seconds``, or null beyond ±999,999,999 days."""
    if abs(seconds) > MAX_DURATION_SECONDS:
        return None
    return timedelta(seconds=seconds)


def duration_seconds(d: timedelta | None) -> int | None:
    """Whole seconds of ``d``, truncated toward zero."""
    return None if d is None else _seconds(d)


def as_aware(value: datetime) -> datetime:
    """``value`` as an aware datetime (naive values are taken as UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def add_duration(t: Any, d: timedelta | None, sign: int = 1) -> Any:
    """``t ± d`` for a datetime, a date (whole days toward zero) or a duration."""
    if t is None or d is None:
        return None
    try:
        if isinstance(t, datetime):
            return as_aware(t) + sign * timedelta(seconds=_seconds(d))
        if isinstance(t, date):
            seconds = _seconds(d)
            days = abs(seconds) // 86400
            return t + timedelta(days=sign * (days if seconds >= 0 else -days))
        if isinstance(t, timedelta):
            return duration_of(_seconds(t) + sign * _seconds(d))
    except (OverflowError, ValueError):
        return None
    return None  # pragma: no cover - the checker admits no other operand


def subtract_times(a: Any, b: Any) -> timedelta | None:
    """``a - b`` for two datetimes (whole seconds toward zero) or two dates (days)."""
    if a is None or b is None:
        return None
    if isinstance(a, datetime) and isinstance(b, datetime):
        return timedelta(seconds=_seconds(as_aware(a) - as_aware(b)))
    return timedelta(days=(a - b).days)


def multiply_duration(d: timedelta | None, n: int | None) -> timedelta | None:
    """``d * n`` for a duration and an integer."""
    if d is None or n is None:
        return None
    return duration_of(_seconds(d) * n)


def negate(value: Any) -> Any:
    """``-value`` for numbers and durations."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return duration_of(-_seconds(value))
    if isinstance(value, Decimal):
        return EXACT.minus(value)
    return int64(-value)


# --- text ---------------------------------------------------------------------------


def _lower_char(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else low[0]  # "İ" → "i" (its simple mapping)


def _upper_char(ch: str) -> str:
    up = ch.upper()
    if len(up) == 1:
        return up
    title = ch.title()  # "ᾀ" → "ᾈ"; "ß" and "ﬀ" have no one-character upper case
    return title if len(title) == 1 else ch


def text_len(t: str | None) -> int | None:
    """Characters in ``t``."""
    return None if t is None else len(t)


def lower(t: str | None) -> str | None:
    """``t`` in lower case, character by character (the simple Unicode case mapping: the
    length never changes, and "Σ" is always "σ"), as PostgreSQL's ``lower``."""
    if t is None:
        return None
    if t.isascii():
        return t.lower()
    return "".join(map(_lower_char, t))


def upper(t: str | None) -> str | None:
    """``t`` in upper case, character by character (the simple Unicode case mapping:
    "ß" stays "ß"), as PostgreSQL's ``upper``."""
    if t is None:
        return None
    if t.isascii():
        return t.upper()
    return "".join(map(_upper_char, t))


TRIM_CHARS = " \t\n\r"


def trim(t: str | None) -> str | None:
    """``t`` without leading and trailing spaces, tabs and line breaks."""
    return None if t is None else t.strip(TRIM_CHARS)


def contains(t: str | None, part: str | None) -> bool:
    """Whether ``part`` occurs in ``t`` (case-sensitive); false for null."""
    return t is not None and part is not None and part in t


def contains_any(t: str | None, parts: Sequence[str | None] | None) -> bool:
    """Whether any of ``parts`` occurs in ``t``."""
    if t is None or parts is None:
        return False
    return any(p is not None and p in t for p in parts)


def contains_all(t: str | None, parts: Sequence[str | None] | None) -> bool:
    """Whether every non-null item of ``parts`` occurs in ``t``."""
    if t is None or parts is None:
        return False
    return all(p in t for p in parts if p is not None)


def starts_with(t: str | None, part: str | None) -> bool:
    """Whether ``t`` starts with ``part``."""
    return t is not None and part is not None and t.startswith(part)


def ends_with(t: str | None, part: str | None) -> bool:
    """Whether ``t`` ends with ``part``."""
    return t is not None and part is not None and t.endswith(part)


def count_of(t: str | None, part: str | None) -> int | None:
    """Non-overlapping occurrences of ``part`` in ``t`` (0 for an empty part)."""
    if t is None or part is None:
        return None
    return t.count(part) if part else 0


def keyword_density(t: str | None, words: Sequence[str | None] | None) -> Decimal | None:
    """Occurrences of all ``words`` per 1,000 characters of ``t``; null for empty text."""
    if not t or words is None:
        return None
    hits = sum(t.count(w) for w in words if w)
    return divide(hits * 1000, len(t))


def left(t: str | None, n: int | None) -> str | None:
    """The first ``n`` characters of ``t`` (empty for n ≤ 0)."""
    if t is None or n is None:
        return None
    return t[:n] if n > 0 else ""


def right(t: str | None, n: int | None) -> str | None:
    """The last ``n`` characters of ``t`` (empty for n ≤ 0)."""
    if t is None or n is None:
        return None
    return t[-n:] if n > 0 else ""


def is_blank(value: Any) -> bool:
    """Whether ``value`` is null, empty text or an empty list."""
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


# --- numbers ------------------------------------------------------------------------


def round_half_away(x: Number | None, digits: int | None = 0) -> Number | None:
    """``x`` rounded to ``digits`` places, half away from zero (null if |digits| > 18)."""
    if x is None or digits is None or abs(digits) > MAX_ROUND_DIGITS:
        return None
    try:
        if isinstance(x, int):
            if digits >= 0:
                return x
            unit: int = 10**-digits
            q, r = divmod(abs(x), unit)
            if 2 * r >= unit:
                q += 1
            whole: int = q * unit
            return int64(whole if x >= 0 else -whole)  # type: ignore[no-any-return]
        rounded = x.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=EXACT)
        return tidy(rounded) if digits > 0 else rounded
    except DecimalException:
        return None


def floor_(x: Number | None) -> int | None:
    """The greatest integer ≤ ``x``."""
    if x is None:
        return None
    if isinstance(x, int):
        return x
    try:
        return int64(int(x.to_integral_value(rounding=ROUND_FLOOR)))  # type: ignore[no-any-return]
    except DecimalException:
        return None


def ceil_(x: Number | None) -> int | None:
    """The least integer ≥ ``x``."""
    if x is None:
        return None
    if isinstance(x, int):
        return x
    try:
        return int64(int(x.to_integral_value(rounding=ROUND_CEILING)))  # type: ignore[no-any-return]
    except DecimalException:
        return None


def abs_(x: Number | None) -> Number | None:
    """``|x|``."""
    if x is None:
        return None
    if isinstance(x, Decimal):
        return EXACT.abs(x)
    return int64(abs(x))  # type: ignore[no-any-return]


def least(*values: Any) -> Any:
    """The smallest non-null value (null if all are null)."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


def greatest(*values: Any) -> Any:
    """The largest non-null value (null if all are null)."""
    present = [v for v in values if v is not None]
    return max(present) if present else None


def clamp(x: Any, lo: Any, hi: Any) -> Any:
    """``x`` limited to ``[lo, hi]`` (a null bound is no bound)."""
    if x is None:
        return None
    if lo is not None and x < lo:
        x = lo
    if hi is not None and x > hi:
        x = hi
    return x


# --- time ---------------------------------------------------------------------------


def local_date(value: Any, tz: tzinfo) -> date | None:
    """The calendar date of ``value`` in ``tz`` (dates are returned unchanged)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            return as_aware(value).astimezone(tz).date()
        except OverflowError:  # the local date is outside years 1…9999
            return None
    return value  # type: ignore[no-any-return]


def make_date(y: int | None, m: int | None, d: int | None) -> date | None:
    """The date ``y-m-d``, or null when it does not exist."""
    if y is None or m is None or d is None:
        return None
    try:
        return date(y, m, d)
    except (ValueError, OverflowError):
        return None


def days_between(a: Any, b: Any, tz: tzinfo) -> int | None:
    """Calendar days from ``a`` to ``b`` (dates of datetimes taken in ``tz``)."""
    da, db = local_date(a, tz), local_date(b, tz)
    if da is None or db is None:
        return None
    return (db - da).days


def hours_between(a: datetime | None, b: datetime | None) -> int | None:
    """Whole hours from ``a`` to ``b``, truncated toward zero."""
    if a is None or b is None:
        return None
    seconds = _seconds(as_aware(b) - as_aware(a))
    hours = abs(seconds) // 3600
    return -hours if seconds < 0 else hours


def weekday(value: Any, tz: tzinfo) -> int | None:
    """ISO weekday of ``value`` in ``tz`` (1 = Monday … 7 = Sunday)."""
    d = local_date(value, tz)
    return None if d is None else d.isoweekday()


def start_of_week(value: Any, tz: tzinfo) -> date | None:
    """The Monday of ``value``'s week in ``tz``."""
    d = local_date(value, tz)
    if d is None:
        return None
    try:
        return d - timedelta(days=d.isoweekday() - 1)
    except OverflowError:
        return None


def start_of_month(value: Any, tz: tzinfo) -> date | None:
    """The first day of ``value``'s month in ``tz``."""
    d = local_date(value, tz)
    return None if d is None else d.replace(day=1)


# --- aggregates ---------------------------------------------------------------------


def agg_sum(values: Iterable[Any], zero: Any) -> Any:
    """The sum of the non-null values (``zero`` when there are none)."""
    if isinstance(zero, timedelta):  # in whole seconds: only the total must be in range
        return duration_of(_seconds(zero) + sum(_seconds(v) for v in values if v is not None))
    total = zero
    try:
        for v in values:
            if v is not None:
                total = EXACT.add(total, v) if isinstance(total, Decimal) else total + v
    except OverflowError:  # durations beyond timedelta's range
        return None
    if isinstance(total, Decimal):
        return total
    if isinstance(total, timedelta):
        return duration_of(_seconds(total))
    return int64(total)


def agg_avg(values: Iterable[Any]) -> Decimal | None:
    """The mean of the non-null values, with the precision of ``/``; null if none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return divide(sum(Fraction(v) for v in present), len(present))


def agg_distinct(values: Iterable[Any]) -> int:
    """How many different non-null values there are."""
    return len({v for v in values if v is not None})
