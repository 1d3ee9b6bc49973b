"""Work-bounded checks: count what a call does instead of timing it.

A test that asserts "this took less than N seconds" fails on a busy machine. Counting the
Python and C function calls made while a function runs gives a figure that does not depend
on the machine's load, and still catches the blow-ups such tests are there for (a
quadratic loop over a large input makes orders of magnitude more calls).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Measured(Generic[T]):
    """What a call returned (or raised), how many function calls it made, and its time."""

    result: T | None
    error: BaseException | None
    calls: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.calls} calls in {self.seconds:.3f}s"


def measure(function: Callable[..., T], *args: Any, **kwargs: Any) -> Measured[T]:
    """Runs ``function`` under a profile hook that counts calls; never raises."""
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    previous = sys.getprofile()
    start = time.perf_counter()
    sys.setprofile(count)
    try:
        result: T | None = function(*args, **kwargs)
        error: BaseException | None = None
    except BaseException as exc:  # handed back to the test, which decides
        result, error = None, exc
    finally:
        sys.setprofile(previous)
    return Measured(result, error, calls, time.perf_counter() - start)
