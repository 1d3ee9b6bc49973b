"""Slows down password and token guessing, with counts shared by every server process.

Failures are counted in moving windows by the ``limits`` library (the storage layer of
Flask-Limiter): in Redis when one is configured (``CAIRN_RATE_LIMIT_URL``, else
``REDIS_URL``), so all web processes see the same counts, or in this process's memory.

The keys are chosen so that an attacker can't lock a person out for everyone:

- **(username, address)**: 5 failed sign-ins in 15 minutes stop that name *from that
  address*; the same person signs in from any other address as usual.
- **address**: 50 failed sign-ins in 15 minutes, whatever the names, stop that address
  (someone trying many names); other addresses are not affected.
- **token address**: 20 requests with an unknown API token in 15 minutes stop API-token
  authentication from that address.

A successful sign-in clears its (username, address) count, not the address count (one
valid account must not reset a guessing run over other names).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

SIGN_IN_PER_USER_AND_ADDRESS = parse("5 per 15 minutes")
SIGN_IN_PER_ADDRESS = parse("50 per 15 minutes")
TOKEN_PER_ADDRESS = parse("20 per 15 minutes")
THROTTLE_EXTENSION = "cairn_throttle"


@dataclass(frozen=True)
class Limit:
    """One counted limit: the rate and the key parts it is counted under."""

    item: RateLimitItem
    key: tuple[str, ...]


class FailureThrottle:
    """Counts failures under several keys and tells how long a caller must wait."""

    def __init__(self, storage_uri: str = "memory://", *, prefix: str = "cairn") -> None:
        options: dict[str, str | bool] = {"wrap_exceptions": True}
        if not storage_uri.startswith("memory"):
            options["key_prefix"] = f"{prefix}:throttle"
        storage = storage_from_string(storage_uri, **options)
        if not isinstance(storage, Storage):  # an asyncio storage ("async+redis://")
            raise ValueError(f"not a synchronous rate-limit storage: {storage_uri}")
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(self.storage)

    # -- the keys -------------------------------------------------------------------------

    @staticmethod
    def _name(username: str) -> str:
        return username.strip().casefold()[:150]

    @staticmethod
    def _address(address: str | None) -> str:
        return address or "?"

    def sign_in_limits(self, username: str, address: str | None) -> list[Limit]:
        """The limits a sign-in attempt for ``username`` from ``address`` is held to."""
        return [
            Limit(SIGN_IN_PER_USER_AND_ADDRESS, ("sign-in", self._name(username), self._address(address))),
            Limit(SIGN_IN_PER_ADDRESS, ("sign-in-address", self._address(address))),
        ]

    def token_limits(self, address: str | None) -> list[Limit]:
        """The limits an API-token authentication from ``address`` is held to."""
        return [Limit(TOKEN_PER_ADDRESS, ("token-address", self._address(address)))]

    # -- counting -------------------------------------------------------------------------

    def wait(self, limits: list[Limit]) -> float | None:
        """Seconds to wait before the next attempt is allowed, or None when it is."""
        longest: float | None = None
        for limit in limits:
            try:
                allowed = self.limiter.test(limit.item, *limit.key)
                if allowed:
                    continue
                reset_at = self.limiter.get_window_stats(limit.item, *limit.key).reset_time
            except StorageError:
                # A store outage must not lock everyone out; it is logged loudly instead.
                log.exception("rate-limit store unavailable; %s not enforced", limit.key[0])
                continue
            seconds = max(1.0, reset_at - time.time())
            longest = seconds if longest is None else max(longest, seconds)
        return longest

    def failed(self, limits: list[Limit]) -> None:
        """Counts one failure under every key."""
        for limit in limits:
            try:
                self.limiter.hit(limit.item, *limit.key)
            except StorageError:
                log.exception("rate-limit store unavailable; failure not counted")

    def clear(self, limit: Limit) -> None:
        """Forgets the failures counted under one key."""
        try:
            self.limiter.clear(limit.item, *limit.key)
        except StorageError:
            log.exception("rate-limit store unavailable; count not cleared")

    def succeeded_sign_in(self, username: str, address: str | None) -> None:
        """A sign-in succeeded: its (username, address) count starts again."""
        self.clear(self.sign_in_limits(username, address)[0])


def minutes(seconds: float) -> int:
    """Whole minutes (at least 1) to show in "try again in N minutes"."""
    return max(1, math.ceil(seconds / 60))


def throttle() -> FailureThrottle:
    """The app's sign-in and API-token throttle (made by ``web.security.init_app``)."""
    found: FailureThrottle = current_app.extensions[THROTTLE_EXTENSION]
    return found
