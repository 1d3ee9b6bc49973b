"""Clocks: the only place the runtime learns what time it is.

Services receive a clock instead of calling ``datetime.now()``, so tests freeze and
advance time. Every clock returns aware UTC datetimes; platform tables store naive UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests and dry runs."""

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The frozen time."""
        return self._at

    def advance(self, delta: timedelta) -> None:
        """Moves the clock forward by ``delta``."""
        self._at += delta

    def set(self, at: datetime) -> None:
        """Moves the clock to ``at``."""
        self._at = at.astimezone(UTC)


def to_naive_utc(value: datetime) -> datetime:
    """The naive UTC form used in platform tables (aware input is converted)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def from_naive_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime from a platform table's naive UTC value."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
