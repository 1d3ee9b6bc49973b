"""Time buckets are local dates of the workspace zone, also across a daylight-saving change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.integration.dashboards.conftest import World, make_world

NEW_YORK = ZoneInfo("America/New_York")
#: New York leaves daylight saving time on 2026-11-01 at 06:00 UTC (02:00 EDT → 01:00 EST).
STAMPS = [
    datetime(2026, 10, 31, 3, 59, tzinfo=UTC),   # Oct 30, 23:59 EDT
    datetime(2026, 11, 1, 3, 59, tzinfo=UTC),    # Oct 31, 23:59 EDT (a UTC+8 or UTC guess says Nov 1)
    datetime(2026, 11, 1, 4, 1, tzinfo=UTC),     # Nov 1, 00:01 EDT
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),    # Nov 1, 01:30 EDT
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),    # Nov 1, 01:30 EST (the hour again)
    datetime(2026, 11, 2, 4, 30, tzinfo=UTC),    # Nov 1, 23:30 EST (an EDT offset would say Nov 2)
    datetime(2026, 11, 2, 5, 30, tzinfo=UTC),    # Nov 2, 00:30 EST
    datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # Dec 31, 18:30 EST
    datetime(2027, 1, 1, 5, 30, tzinfo=UTC),     # Jan 1, 00:30 EST: next quarter
]

WIDGETS = [
    {"key": unit, "type": "bar", "entity": "opportunity", "filter": "quantity == 99",
     "dimensions": [{"key": "at", "field": "created_at", "bucket": unit}], "measures": [{"key": "n", "agg": "count"}]}
    for unit in ("day", "week", "month", "quarter")
]


@pytest.fixture
def new_york(database_url: str, tmp_path: Path) -> Iterator[World]:
    for world in make_world(database_url, WIDGETS, timezone="America/New_York"):
        service = world.records()
        for stamp in STAMPS:
            world.clock.set(stamp)
            service.create("opportunity", {"title": "dst", "quantity": 99})
        yield world


def _start(day: date, unit: str) -> date:
    if unit == "week":
        return date.fromordinal(day.toordinal() - day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day


def test_buckets_follow_the_zone_across_dst(new_york: World) -> None:
    world = new_york
    service = world.dashboards()
    for unit in ("day", "week", "month", "quarter"):
        expected = Counter(_start(s.astimezone(NEW_YORK).date(), unit).isoformat() for s in STAMPS)
        result = service.widget("board", unit)
        assert {r["cell"]["at"]: r["values"]["n"] for r in result["rows"]} == expected, unit
        if world.dialect == "postgresql":
            trunc = "cast(date_trunc(:unit, (created_at at time zone 'UTC') at time zone 'America/New_York') as date)"
            rows = world.all(
                f"select {trunc}, count(*) from {world.opp} where quantity = 99 group by {trunc}", unit=unit
            )
            assert {d.isoformat(): n for d, n in rows} == expected
        for row in result["rows"]:
            drilled = service.drill("board", unit, row["cell"])
            count = world.session.execute(
                sa.select(sa.func.count()).select_from(world.app.table("opportunity")).where(drilled.condition)
            ).scalar()
            assert count == row["values"]["n"]
    days = {r["cell"]["at"]: r["values"]["n"] for r in service.widget("board", "day")["rows"]}
    assert days["2026-10-31"] == 1 and days["2026-11-01"] == 4 and days["2026-11-02"] == 1
