"""An elapsed sweep over 1,000,000 records with 100 due reads an index, not the table: the
first sweep's catch-up the record table's ``since`` index, the steady sweep the due table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from runtime.automation.due import build_existing
from runtime.automation.models import ElapsedDue
from runtime.automation.sweeps import due_query, elapsed_query, sweep_elapsed
from tests.integration.automation.conftest import World, make_world

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = 1_000_000
DUE = 100

TICKETS: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "support",
    "label": "Support",
    "entities": [
        {"key": "ticket", "label": "Ticket", "fields": [
            {"key": "title", "type": "text", "label": "Title"},
            {"key": "due_at", "type": "datetime", "label": "Due", "index": True},
            {"key": "closed", "type": "boolean", "label": "Closed"},
        ]},
    ],
    "triggers": [
        {"key": "late", "label": "Late", "entity": "ticket",
         "on": {"type": "elapsed", "condition": "not closed", "since": "due_at", "after": "12h"},
         "actions": [{"type": "set_field", "field": "title", "value": '"late"'}]},
    ],
}


def _explain(session: Any, query: sa.Select[Any]) -> str:
    compiled = query.compile(dialect=session.get_bind().dialect)
    params = {}
    for key, value in compiled.params.items():
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        params[key] = value
    rows = session.connection().exec_driver_sql("EXPLAIN " + str(compiled), params).all()
    return "\n".join(r[0] for r in rows)


def test_elapsed_sweep_uses_the_index(pg_url: str, tmp_path: Path) -> None:
    world = make_world(pg_url, tmp_path / "instance", "embedded", None)
    try:
        _check_sweep_plan(world)
    finally:
        # Also when a check fails: pooled connections left to the garbage collector are
        # ResourceWarnings (errors under filterwarnings=error) in whichever test runs next.
        world.platform.dispose()


def _check_sweep_plan(world: World) -> None:
    app = world.publish(TICKETS)
    table = app.table("ticket").name
    now = world.clock.now()
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    with world.platform.session() as session:
        # 100 tickets became due (12–13 h past their due time, open); of the rest, half were
        # due long ago (closed) and half are due in the future.
        session.connection().exec_driver_sql(
            f'INSERT INTO "{table}" (created_at, updated_at, version, title, due_at, closed) '
            "SELECT %(now)s, %(now)s, 1, 't' || g, "
            "CASE WHEN g <= %(due)s THEN %(now)s - interval '12 hours 30 minutes' - g * interval '1 second' "
            "     WHEN g %% 2 = 0 THEN %(now)s - interval '60 days' - g * interval '1 second' "
            "     ELSE %(now)s + interval '1 day' + g * interval '1 second' END, "
            "CASE WHEN g <= %(due)s THEN false WHEN g %% 2 = 0 THEN true ELSE false END "
            "FROM generate_series(1, %(rows)s) AS g",
            {"now": naive_now, "due": DUE, "rows": ROWS},
        )
        session.commit()
        session.connection().exec_driver_sql(f'ANALYZE "{table}"')
        session.commit()

        trigger = app.definition.triggers[0]
        plan = _explain(session, elapsed_query(app, trigger, now, None, ZoneInfo("Asia/Shanghai"), "postgresql"))
        session.rollback()
    assert f"ix_{table}_due_at" in plan, plan
    assert f'Seq Scan on "{table}"' not in plan and f"Seq Scan on {table}" not in plan, plan
    # The index hands the rows over in the query's order (``since``): no sort, not even
    # PostgreSQL's incremental one.
    assert "Sort" not in plan, plan

    with world.platform.session() as session:
        fired = sweep_elapsed(session, app, trigger, now, ZoneInfo("Asia/Shanghai"))
        session.commit()
        assert fired == DUE
        again = sweep_elapsed(session, app, trigger, now + timedelta(minutes=1), ZoneInfo("Asia/Shanghai"))
        session.commit()
        assert again == 0

        # Steady state: 100 tickets written 12 h late get due rows (as the write path adds
        # them), among the due rows the first sweep built for the ~500,000 not yet due.
        session.connection().exec_driver_sql(
            f'UPDATE "{table}" SET closed = false, due_at = %(now)s - interval \'13 hours\' - id * interval \'1 second\' '
            "WHERE id > %(rows)s - %(due)s",
            {"now": naive_now, "rows": ROWS, "due": DUE},
        )
        # As the write path would: their due rows upserted with the new ``since``.
        session.execute(sa.delete(ElapsedDue).where(ElapsedDue.record_id > ROWS - DUE))
        build_existing(session, app, trigger, app.table("ticket").c.due_at, False,
                       app.table("ticket").c.id > ROWS - DUE)
        session.commit()
        session.connection().exec_driver_sql("ANALYZE automation_elapsed_due")
        session.commit()
        later = now + timedelta(minutes=2)
        plan = _explain(session, due_query(app, trigger, later, ZoneInfo("Asia/Shanghai"), "postgresql"))
        session.rollback()
        assert "ix_automation_elapsed_due_since" in plan, plan
        assert f"Seq Scan on {table}" not in plan and f'Seq Scan on "{table}"' not in plan, plan
        assert "Seq Scan on automation_elapsed_due" not in plan and "Sort" not in plan, plan
        assert "hashed" not in plan, plan
        assert sweep_elapsed(session, app, trigger, later, ZoneInfo("Asia/Shanghai")) == DUE
        session.commit()
