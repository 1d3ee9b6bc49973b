"""``enqueue_many`` stores exactly the rows it is given, whatever varies between them.

On PostgreSQL the rows go in through ``unnest`` of array parameters for the columns that
differ and scalar parameters for the rest; on SQLite through the driver's executemany.
Both must give back every column of every row as sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.automation.models import OutboxJob
from runtime.automation.outbox import enqueue_many, outbox_row
from tests.integration.automation.conftest import World
from tests.integration.automation.definitions import sales_app
from tests.sql_count import counted

_COLUMNS = [c for c in OutboxJob.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]


def _stored(world: World) -> list[dict[str, Any]]:
    with world.platform.session() as session:
        rows = session.execute(sa.select(*_COLUMNS).order_by(OutboxJob.id)).mappings().all()
    return [dict(row) for row in rows]


def _rows(world: World, case: str) -> list[dict[str, Any]]:
    app = world.app("sales")
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    base = {"workspace_id": world.workspace.id, "app_id": app.app_id, "app_key": app.key, "entity": "order", "now": now}
    if case == "one":
        return [outbox_row(**base, trigger_key="t1", kind="created", record_id=7, payload={"change": "created"})]
    if case == "triggers":  # a write: only the trigger differs
        return [
            outbox_row(**base, trigger_key=key, kind="created", record_id=7,
                       payload={"change": "created", "actor_id": 3, "changed": ["name", "备注"]})
            for key in ("t1", "t2", "t3")
        ]
    # a sweep and more: record, payload, dedup key (some NULL), depth, status and times differ
    return [
        outbox_row(
            **{**base, "now": now + timedelta(seconds=n)},
            trigger_key=f"t{n % 2}", kind="elapsed", record_id=None if n == 3 else n,
            payload={"since": f"2026-02-0{n + 1}", "n": n, "nested": {"a": [1, None, "中文"]}} if n != 2 else {},
            dedup_key=None if n % 2 else f"key-{n}", depth=n, status="cut" if n == 4 else "pending",
            error="loop cut" if n == 4 else None,
        )
        for n in range(6)
    ]


@pytest.mark.parametrize("case", ["one", "triggers", "mixed"])
def test_enqueue_many_stores_every_column_of_every_row(embedded_world: World, case: str) -> None:
    world = embedded_world
    world.publish(sales_app())
    before = _stored(world)
    rows = _rows(world, case)
    with world.platform.session() as session, counted(world.platform.engine) as statements:
        enqueue_many(session, [dict(row) for row in rows])
        session.commit()
    inserts = [s for s in statements if s.startswith("INSERT INTO automation_outbox ")]
    assert len(inserts) == 1, statements
    if world.platform.engine.dialect.name == "postgresql":
        assert "FROM unnest(" in inserts[0], inserts[0]
    stored = _stored(world)[len(before):]
    expected = [{c.name: row[c.name] for c in _COLUMNS} for row in rows]
    for row in expected:  # naive UTC in the database
        for key in ("available_at", "created_at", "finished_at", "locked_until"):
            if row[key] is not None:
                row[key] = row[key].replace(tzinfo=None)
    assert stored == expected


def test_enqueue_many_of_nothing_sends_nothing(embedded_world: World) -> None:
    world = embedded_world
    with world.platform.session() as session, counted(world.platform.engine) as statements:
        enqueue_many(session, [])
    assert not [s for s in statements if "automation_outbox" in s]
