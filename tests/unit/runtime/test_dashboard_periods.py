"""Period windows of dashboard widgets: whole calendar periods and the one before."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from runtime.dashboards.periods import Window, local_midnight, windows


def test_windows() -> None:
    tuesday = date(2026, 11, 24)
    assert windows("today", tuesday) == (Window(tuesday, date(2026, 11, 25)), Window(date(2026, 11, 23), tuesday))
    assert windows("this_week", tuesday) == (
        Window(date(2026, 11, 23), date(2026, 11, 30)), Window(date(2026, 11, 16), date(2026, 11, 23))
    )
    assert windows("this_month", tuesday) == (
        Window(date(2026, 11, 1), date(2026, 12, 1)), Window(date(2026, 10, 1), date(2026, 11, 1))
    )
    assert windows("this_month", date(2027, 1, 5))[1] == Window(date(2026, 12, 1), date(2027, 1, 1))
    assert windows("this_quarter", tuesday) == (
        Window(date(2026, 10, 1), date(2027, 1, 1)), Window(date(2026, 7, 1), date(2026, 10, 1))
    )
    assert windows("last_7_days", tuesday) == (
        Window(date(2026, 11, 18), date(2026, 11, 25)), Window(date(2026, 11, 11), date(2026, 11, 18))
    )
    assert windows("last_30_days", tuesday)[0] == Window(date(2026, 10, 26), date(2026, 11, 25))


def test_local_midnight_is_naive_utc_and_follows_dst() -> None:
    assert local_midnight(date(2026, 11, 24), ZoneInfo("Asia/Shanghai")) == datetime(2026, 11, 23, 16, 0)
    new_york = ZoneInfo("America/New_York")
    assert local_midnight(date(2026, 11, 1), new_york) == datetime(2026, 11, 1, 4, 0)
    assert local_midnight(date(2026, 11, 2), new_york) == datetime(2026, 11, 2, 5, 0)
    assert local_midnight(date(2026, 1, 1), UTC) == datetime(2026, 1, 1)
