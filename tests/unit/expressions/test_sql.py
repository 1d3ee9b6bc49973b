"""Fixed SQL cases on SQLite and PostgreSQL (regressions found by the differential tests,
and every SQL-capable function), compared with the Python evaluator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from expressions import BOOLEAN, SqlContext, compile_expression
from expressions.functions.library import LIBRARY
from tests.unit.expressions.support import (
    ACTOR,
    NOW,
    SCOPE,
    SHANGHAI,
    MemoryResolver,
    TableBinding,
    build_tables,
    context,
    sqlite_engine,
)

RECORDS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "上海星辰科技有限公司",
        "budget": Decimal("2.5"),
        "amount": Decimal("-7.25"),
        "quantity": 3,
        "referrals": 0,
        "transcript": "预算充足，竞品是A公司；竞品报价低",
        "signed_at": date(2026, 3, 16),
        "stage_entered_at": datetime(2026, 3, 17, 16, 0, tzinfo=UTC),
        "due_at": datetime(2026, 3, 20, 1, 0, 0, 500_000, tzinfo=UTC),
        "call_length": timedelta(minutes=90),
        "approved": True,
        "owner": 7,
        "region": "华东",
        "customer": 3,
        "budget_range": "",
    },
    {"id": 2, "approved": None, "owner": None, "name": None, "transcript": "", "quantity": -7},
]
CHILDREN = {
    "visit": [
        {
            "id": 1,
            "opportunity": 1,
            "score": Decimal("0.1"),
            "outcome": "签约",
            "created_at": NOW,
            "region": "华东",
            "wait": timedelta(hours=1),
        },
        {
            "id": 2,
            "opportunity": 1,
            "score": Decimal("0.2"),
            "outcome": "跟进",
            "created_at": None,
            "region": "华南",
            "wait": None,
        },
        {
            "id": 3,
            "opportunity": 1,
            "score": None,
            "outcome": None,
            "created_at": NOW - timedelta(days=9),
            "region": None,
            "wait": timedelta(minutes=5),
        },
    ],
    "contact": [
        {"id": 1, "opportunity": 1, "role": "采购", "score": 5},
        {"id": 2, "opportunity": 1, "role": "老板", "score": None},
    ],
    "customer": [{"id": 3, "region": "华南", "level": 2, "name": "星辰"}],
}
USERS = [{"id": 7, "name": "王", "role": "manager", "region": "华东", "manager": None}]

SOURCES = [
    'if(approved, quantity, count_of(name, ""))',
    "not approved",
    "0.1 + 0.2 == 0.3",
    "budget * 3 / 7",
    "amount % 2",
    "quantity % -2",
    "1 / 0",
    "round(amount, 1)",
    "round(quantity * 125, -1)",
    "floor(amount) + ceil(amount)",
    "abs(amount)",
    "min(budget, quantity, null)",
    'max(name, "上海")',
    "clamp(amount, -1, 1)",
    "len(name)",
    "lower(name)",
    'upper("abc")',
    'trim("  a ")',
    'contains(transcript, "竞品")',
    'contains(name, "%")',
    'contains_any(transcript, ["报价", null])',
    'contains_all(transcript, ["预算", "竞品", null])',
    'starts_with(name, "上海")',
    'ends_with(name, "")',
    'count_of(transcript, "竞品")',
    'keyword_density(transcript, ["竞品", "预算"])',
    "left(name, 2) + right(name, 2)",
    "left(name, -1)",
    "is_blank(budget_range)",
    "coalesce(referrals, quantity)",
    "days_between(signed_at, stage_entered_at)",
    "days_between(stage_entered_at, today())",
    "hours_between(stage_entered_at, due_at)",
    "days_since(stage_entered_at)",
    "hours_since(stage_entered_at)",
    "weekday(stage_entered_at)",
    "start_of_week(stage_entered_at)",
    "start_of_month(signed_at)",
    "stage_entered_at + call_length",
    "due_at - stage_entered_at",
    "signed_at + 36h",
    "signed_at - 36h",
    "stage_entered_at <= now() - 48h",
    "owner == me()",
    "owner != me()",
    'me().role == "manager" and has_role("manager")',
    "owner.region",
    "customer.region",
    "customer.level * 2",
    "steps.competitor.done",
    "count(visits)",
    "count(visits.score)",
    'count(contacts where role in ["采购", "技术"])',
    "sum(visits.score)",
    "sum(contacts.score)",
    "sum(visits.wait)",
    "avg(visits.score)",
    "avg(contacts.score)",
    "min_of(visits.outcome)",
    "max_of(visits.created_at)",
    "latest(visits.outcome)",
    "distinct_count(visits.region)",
    "any(visits where region == parent.region)",
    "all(visits where score > 0)",
    "referrals in [0, null]",
    'name not in ["x"]',
    "quantity > 1 or referrals < 1",
]


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[sa.Engine, TableBinding]]:
    engine = (
        sqlite_engine(database_url)
        if database_url.startswith("sqlite")
        else sa.create_engine(database_url)
    )
    md = sa.MetaData()
    tables = build_tables(md)
    md.create_all(engine)
    with engine.begin() as conn:
        for record in RECORDS:
            conn.execute(tables["opportunity"].insert(), [record])
        for entity, rows in CHILDREN.items():
            for row in rows:
                conn.execute(tables[entity].insert(), [row])
        conn.execute(tables["users"].insert(), USERS)
    yield engine, TableBinding(tables)
    engine.dispose()


def _resolver() -> MemoryResolver:
    return MemoryResolver(
        records={k: {r["id"]: r for r in rows} for k, rows in CHILDREN.items()},
        users={u["id"]: u for u in USERS},
    )


def test_sql_matches_python(world: tuple[sa.Engine, TableBinding]) -> None:
    engine, binding = world
    table = binding.table("opportunity")
    ctx = SqlContext(NOW, SHANGHAI, engine.dialect.name, ACTOR)
    compiled = [compile_expression(s, SCOPE) for s in SOURCES]
    assert all(c.sql_capable for c in compiled)
    columns = [c.to_sql(binding, ctx, as_value=True) for c in compiled]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, *columns).order_by(table.c.id)).all()
        for record, row in zip(RECORDS, rows, strict=True):
            for c, got in zip(compiled, row[1:], strict=True):
                expected = c.evaluate(record, context(_resolver()))
                assert (expected is None) == (got is None) and expected == got, (
                    c.source,
                    record["id"],
                    expected,
                    got,
                )
            for c in compiled:
                if c.type == BOOLEAN:
                    query = sa.select(table.c.id).where(
                        table.c.id == record["id"], c.to_sql(binding, ctx)
                    )
                    held = conn.execute(query).first() is not None
                    assert held == (c.evaluate(record, context(_resolver())) is True), c.source


def test_every_sql_function_is_covered() -> None:
    text = " ".join(SOURCES)
    sql_functions = [f.name for f in LIBRARY.functions.values() if f.sql is not None]
    assert [
        n for n in sql_functions if f"{n}(" not in text and n not in ("if", "now", "today", "me")
    ] == []


def test_datetime_against_constant_date_compares_instants() -> None:
    """``created_at >= start_of_week(today())`` is index-friendly: the column is compared
    with Monday 00:00 in the workspace zone, not converted row by row."""
    from sqlalchemy.dialects import postgresql, sqlite

    md = sa.MetaData()
    binding = TableBinding(build_tables(md))
    monday = datetime(2026, 3, 15, 16, tzinfo=UTC)  # 2026-03-16 00:00 in Shanghai
    for dialect, name in ((postgresql.dialect(), "postgresql"), (sqlite.dialect(), "sqlite")):
        ctx = SqlContext(NOW, SHANGHAI, name, ACTOR)
        compiled = compile_expression("created_at >= start_of_week(today())", SCOPE)
        sql = compiled.to_sql(binding, ctx).compile(dialect=dialect)
        text = str(sql)
        assert "timezone" not in text and "cairn_local_date" not in text, text
        assert "e_opportunity.created_at >=" in text, text
        assert monday in sql.params.values(), sql.params
