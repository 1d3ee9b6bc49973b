"""Period windows of a widget (``today``, ``this_week`` …) in the workspace time zone.

A window is a half-open range of local dates ``[start, end)``. The current window is the
whole calendar period containing today (``this_month`` is the whole month); the previous
window (``compare``) is the calendar period just before it — yesterday, last week, last
month, last quarter, or the 7 / 30 days before the last 7 / 30 days.

A datetime field is compared against the UTC instants where those local dates begin, so
the comparison uses the column as stored (naive UTC) and its index; a date field is
compared against the dates themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class Window:
    """Local dates ``[start, end)``."""

    start: date
    end: date


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def windows(range_: str, today: date) -> tuple[Window, Window]:
    """The current and the previous window of ``range_`` for ``today``."""
    if range_ == "today":
        return Window(today, today + timedelta(days=1)), Window(today - timedelta(days=1), today)
    if range_ == "this_week":
        monday = today - timedelta(days=today.isoweekday() - 1)
        return Window(monday, monday + timedelta(days=7)), Window(monday - timedelta(days=7), monday)
    if range_ in ("this_month", "this_quarter"):
        months = 1 if range_ == "this_month" else 3
        first = today.replace(day=1)
        if months == 3:
            first = first.replace(month=(first.month - 1) // 3 * 3 + 1)
        return Window(first, _shift_months(first, months)), Window(_shift_months(first, -months), first)
    days = 7 if range_ == "last_7_days" else 30
    end = today + timedelta(days=1)
    start = end - timedelta(days=days)
    return Window(start, end), Window(start - timedelta(days=days), start)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The naive UTC instant at which ``day`` begins in ``tz``."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def condition(column: sa.ColumnElement[Any], window: Window, tz: tzinfo, *, is_datetime: bool) -> sa.ColumnElement[bool]:
    """``column`` within ``window``."""
    if is_datetime:
        low: Any = local_midnight(window.start, tz).replace(tzinfo=UTC)
        high: Any = local_midnight(window.end, tz).replace(tzinfo=UTC)
    else:
        low, high = window.start, window.end
    return sa.and_(column >= sa.literal(low, column.type), column < sa.literal(high, column.type))
