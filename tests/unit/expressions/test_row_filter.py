"""``SqlContext.row_filter``: the compiler asks it for every related collection and link.

The runtime answers with the reader's row condition for the target entity; here a filter
that admits only visits of region 华东 and no customer at all shows that every aggregate
form and link traversal honours it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from expressions import SqlContext, compile_expression
from tests.unit.expressions.support import (
    ACTOR,
    NOW,
    SCOPE,
    SHANGHAI,
    TableBinding,
    build_tables,
    sqlite_engine,
)

OPPORTUNITY = {"id": 1, "customer": 3, "name": "星辰"}
VISITS = [
    {"id": 1, "opportunity": 1, "outcome": "签约", "region": "华东"},
    {"id": 2, "opportunity": 1, "outcome": "秘密", "region": "华南"},
    {"id": 3, "opportunity": 1, "outcome": None, "region": "华南"},
]
CUSTOMER = {"id": 3, "region": "华南", "level": 2, "name": "星辰"}


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[sa.Engine, TableBinding]]:
    engine = sqlite_engine(database_url) if database_url.startswith("sqlite") else sa.create_engine(database_url)
    md = sa.MetaData()
    tables = build_tables(md)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(tables["opportunity"].insert(), [OPPORTUNITY])
        conn.execute(tables["visit"].insert(), VISITS)
        conn.execute(tables["customer"].insert(), [CUSTOMER])
    yield engine, TableBinding(tables)
    engine.dispose()


def _value(engine: sa.Engine, binding: TableBinding, ctx: SqlContext, source: str) -> Any:
    column = compile_expression(source, SCOPE).to_sql(binding, ctx, as_value=True)
    with engine.connect() as conn:
        return conn.execute(sa.select(column).select_from(binding.table("opportunity"))).scalar_one()


@pytest.mark.parametrize(
    ("source", "everything", "filtered"),
    [
        ("count(visits)", 3, 1),
        ('any(visits where outcome == "秘密")', True, False),
        ('count(visits where outcome == "秘密")', 1, 0),
        ('all(visits where region == "华东")', False, True),
        ("distinct_count(visits.region)", 2, 1),
        ("min_of(visits.outcome)", "秘密", "签约"),
        ("latest(visits.region)", "华南", "华东"),
        ("customer.region", "华南", None),
    ],
)
def test_the_row_filter_limits_collections_and_links(
    world: tuple[sa.Engine, TableBinding], source: str, everything: Any, filtered: Any
) -> None:
    engine, binding = world
    asked: list[str] = []

    def row_filter(entity: str, table: sa.FromClause) -> sa.ColumnElement[bool] | None:
        asked.append(entity)
        if entity == "visit":
            return table.c.region == "华东"  # type: ignore[no-any-return]
        if entity == "customer":
            return sa.false()
        return None

    ctx = SqlContext(NOW, SHANGHAI, engine.dialect.name, ACTOR)
    assert _value(engine, binding, ctx, source) == everything
    assert _value(engine, binding, dataclasses.replace(ctx, row_filter=row_filter), source) == filtered
    assert asked
