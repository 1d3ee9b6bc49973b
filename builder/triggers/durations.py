"""Durations written as text (``90s``, ``15m``, ``48h``, ``30d``, ``2w``, ``1d12h``)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(?:(\d{1,6})(w|d|h|m|s))+$")
_DURATION_PART = re.compile(r"(\d{1,6})(w|d|h|m|s)")
_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
MAX_DURATION = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """``"48h"``, ``"30d"``, ``"1d12h"`` … as a :class:`timedelta`; ValueError otherwise."""
    compact = text.replace(" ", "")
    if not _DURATION.fullmatch(compact):
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 48h, 30d or 2w")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION_PART.findall(compact))
    return timedelta(seconds=seconds)
