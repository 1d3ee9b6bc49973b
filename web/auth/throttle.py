"""Slows down password guessing: too many failed sign-ins for one name from one address.

Failures are counted per (username, client address) in a sliding window, in memory. That
is enough for the single-process server of ``make run``; behind several processes each one
counts on its own (documented in docs/web.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
MAX_KEYS = 10_000


class SignInThrottle:
    """Counts failed sign-ins and tells when a (name, address) pair must wait."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: OrderedDict[tuple[str, str], deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(username: str, address: str | None) -> tuple[str, str]:
        """The counter's key: the name as typed (case-folded) and the client address."""
        return (username.strip().casefold()[:150], address or "?")

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def wait(self, key: tuple[str, str], now: datetime) -> timedelta | None:
        """How long this pair must wait before trying again, or None."""
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return None
            return times[0] + self.window - now

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        """Records one failed attempt."""
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forgets the failures of a pair that signed in."""
        with self._lock:
            self._failures.pop(key, None)
