"""Run history and rule health stay index-bound with many runs: the plans (read from the
database for the very statements the API ran, after a set-based insert and ANALYZE) walk
the run indexes with no full scan of the table and no sort for the pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from runtime.platform import Platform
from tests.integration.admin_runs.conftest import HEALTH, RUNS, platform_of
from tests.integration.conftest import Api

ROWS = 40_000
TABLE = "automation_trigger_runs"


def _fill(platform: Platform, workspace_id: int, app_id: int) -> None:
    """``ROWS`` runs over 4 rules and 30 days, one in 50 failed, by one INSERT … SELECT."""
    with platform.engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        started = ("TIMESTAMP '2026-11-23 09:00:00' - (n % 720) * INTERVAL '1 hour'" if pg
                   else "datetime('2026-11-23 09:00:00', '-' || (n % 720) || ' hours')")
        sql = f"""
            WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {ROWS})
            INSERT INTO {TABLE} (workspace_id, app_id, outbox_id, trigger_key, kind, entity, record_id,
                                 status, attempts, started_at, finished_at, duration_ms, cause)
            SELECT {workspace_id}, {app_id}, 1000000 + n, 'rule_' || (n % 4), 'created', 'customer', n % 5000,
                   CASE WHEN n % 50 = 0 THEN 'failed' ELSE 'succeeded' END, 1, {started}, {started}, 3,
                   CASE WHEN n % 50 = 0 THEN 'invalid_write' END
            FROM seq
        """
        conn.exec_driver_sql(sql.replace("%", "%%") if pg else sql)  # psycopg's placeholders
        conn.exec_driver_sql("ANALYZE")


@contextmanager
def _captured(platform: Platform) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {TABLE}" in statement.replace('"', ""):
            seen.append((statement, parameters))

    sa.event.listen(platform.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(platform.engine, "before_cursor_execute", listen)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(platform: Platform, statement: str, parameters: Any) -> tuple[list[str], list[str], bool]:
    """(node kinds, index names used, whether the runs table is scanned in full)."""
    with platform.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
            document = raw if isinstance(raw, list) else json.loads(raw)
            nodes = list(_nodes(document[0]["Plan"]))
            full = any(n["Node Type"] == "Seq Scan" and n.get("Relation Name") == TABLE for n in nodes)
            return [n["Node Type"] for n in nodes], [n["Index Name"] for n in nodes if "Index Name" in n], full
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        details = [str(r[-1]) for r in rows]
        full = any(d.startswith(f"SCAN {TABLE}") and "INDEX" not in d for d in details)
        sorts = ["Sort" for d in details if "TEMP B-TREE FOR ORDER BY" in d]
        return sorts, [d.split("INDEX ", 1)[1].split(" ")[0] for d in details if "INDEX " in d], full


def _page_statement(api: Api, platform: Platform, query: str) -> tuple[str, Any]:
    with _captured(platform) as seen:
        answer = api.get(f"{RUNS}?{query}")
    assert answer.status_code == 200, answer.get_json()
    pages = [s for s in seen if "ORDER BY" in s[0] and "LIMIT" in s[0].upper()]
    assert len(pages) == 1, seen
    return pages[0]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("limit=50", "ix_automation_trigger_runs_app_id"),
        ("limit=50&before=20000", "ix_automation_trigger_runs_app_id"),
        ("rule=rule_1&limit=50", "ix_automation_trigger_runs_rule_id"),
        ("outcome=failed&limit=50", "ix_automation_trigger_runs_status_id"),
        ("record=42&limit=50", "ix_automation_trigger_runs_record_id"),
    ],
)
def test_run_history_pages_walk_an_index(
    app: Flask, crm: Any, admin_api: Api, tenant: Any, query: str, index: str,
) -> None:
    platform = platform_of(app)
    _fill(platform, tenant.workspace.id, crm["revision"]["app_id"])
    statement, parameters = _page_statement(admin_api, platform, query)
    kinds, indexes, full = _plan(platform, statement, parameters)
    assert not any("Sort" in k for k in kinds), (kinds, statement)
    if platform.engine.dialect.name == "postgresql":
        assert not full, (kinds, indexes, statement)
        # With one app the primary key walked backwards is as good for an unfiltered page.
        allowed = {index, "pk_automation_trigger_runs"} if index.endswith("_app_id") else {index}
        assert allowed & set(indexes), (kinds, indexes, statement)
    elif "rule=" in query or "record=" in query or "outcome=" in query:
        # SQLite may walk the rowid (= id) backwards for an unfiltered page, which stops after
        # the page too; a filtered page must use the filter's index.
        assert index in indexes, (kinds, indexes, statement)


def test_the_health_board_reads_the_window_by_index(app: Flask, crm: Any, admin_api: Api, tenant: Any) -> None:
    platform = platform_of(app)
    _fill(platform, tenant.workspace.id, crm["revision"]["app_id"])
    with _captured(platform) as seen:
        answer = admin_api.get(f"{HEALTH}?days=2")
    assert answer.status_code == 200, answer.get_json()
    grouped = [s for s in seen if "GROUP BY" in s[0]]
    assert len(grouped) >= 3, seen  # rates, daily rates, causes
    for statement, parameters in grouped:
        kinds, indexes, full = _plan(platform, statement, parameters)
        if platform.engine.dialect.name == "postgresql" or "finished_at >=" in statement:
            assert not full, (kinds, indexes, statement)
            assert any(i.startswith("ix_automation_trigger_runs_") for i in indexes), (kinds, indexes, statement)
    items = answer.get_json()["items"]
    assert sorted(h["trigger"] for h in items) == ["rule_0", "rule_1", "rule_2", "rule_3"]
