"""Differential tests: random well-typed expressions over random records must give the
same value in the Python evaluator, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from expressions import BOOLEAN, SqlContext, StepState, compile_expression
from tests.unit.expressions.exprgen import KINDS, gen
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

EXAMPLES = 300
STATS = {"total": 0, "sql": 0}
PER_EXAMPLE = 10

_texts = st.one_of(
    st.none(),
    st.sampled_from(
        ["", "项目启动", "目", "a", "B", " a ", "%_", "采购", "华东", "项目目项目", "Ab项目a"]
    ),
)
_small_ints = st.one_of(st.none(), st.integers(-5, 5))
_ints = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from([0, 100, -1000, 999]))
_decs = st.one_of(
    st.none(),
    st.decimals(min_value=-999, max_value=999, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("0"), Decimal("0.1"), Decimal("-0.05"), Decimal("2.5")]),
)
_dates = st.one_of(
    st.none(),
    st.dates(min_value=date(2025, 12, 25), max_value=date(2026, 4, 5)),
    st.sampled_from([date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 16), date(2026, 3, 18)]),
)
_datetimes = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2026, 3, 1), max_value=datetime(2026, 3, 31), timezones=st.just(UTC)
    ),
    st.sampled_from(
        [
            datetime(2026, 3, 17, 16, 0, tzinfo=UTC),  # midnight in Shanghai
            datetime(2026, 3, 17, 15, 59, 59, 999999, tzinfo=UTC),
            NOW,
        ]
    ),
)
_durations = st.one_of(
    st.none(), st.integers(-10 * 86400, 10 * 86400).map(lambda s: timedelta(seconds=s))
)


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    """One opportunity with its customer, contacts and visits."""
    record = {
        "id": 1,
        "created_at": draw(_datetimes),
        "owner": draw(st.sampled_from([7, 8, None])),
        "stage": draw(_texts),
        "stage_entered_at": draw(_datetimes),
        "name": draw(_texts),
        "budget": draw(_decs),
        "budget_range": draw(_texts),
        "amount": draw(_decs),
        "transcript": draw(_texts),
        "referrals": draw(_ints),
        "quantity": draw(_small_ints),
        "signed_at": draw(_dates),
        "region": draw(_texts),
        "customer": draw(st.sampled_from([3, None, 99])),
        "approved": draw(st.one_of(st.none(), st.booleans())),
        "call_length": draw(_durations),
        "due_at": draw(_datetimes),
    }
    steps = {
        "competitor": draw(_datetimes),
        "need_confirmation": draw(_datetimes),
    }
    customer = {"id": 3, "region": draw(_texts), "level": draw(_ints), "name": draw(_texts)}
    contacts = [
        {"id": i + 1, "opportunity": 1, "role": draw(_texts), "score": draw(_ints)}
        for i in range(draw(st.integers(0, 3)))
    ]
    visits = [
        {
            "id": i + 1,
            "opportunity": 1,
            "score": draw(_decs),
            "outcome": draw(_texts),
            "created_at": draw(_datetimes),
            "region": draw(_texts),
            "wait": draw(_durations),
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    return {
        "record": record,
        "steps": steps,
        "customer": customer,
        "contacts": contacts,
        "visits": visits,
    }


USERS = [
    {"id": 7, "name": "王经理", "role": "manager", "region": "华东", "manager": None},
    {"id": 8, "name": "李", "role": "rep", "region": "华南", "manager": 7},
]


class _Db:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.metadata = sa.MetaData()
        self.tables = build_tables(self.metadata)
        self.binding = TableBinding(self.tables)
        self.metadata.create_all(engine)
        self.ctx = SqlContext(NOW, SHANGHAI, engine.dialect.name, ACTOR)

    def load(self, world: dict[str, Any]) -> None:
        t = self.tables
        with self.engine.begin() as conn:
            for table in self.metadata.sorted_tables:
                conn.execute(table.delete())
            row = dict(world["record"])
            for key, done_at in world["steps"].items():
                row[f"step_{key}_done_at"] = done_at
            conn.execute(t["opportunity"].insert(), [row])
            conn.execute(t["customer"].insert(), [world["customer"]])
            conn.execute(t["users"].insert(), USERS)
            if world["contacts"]:
                conn.execute(t["contact"].insert(), world["contacts"])
            if world["visits"]:
                conn.execute(t["visit"].insert(), world["visits"])

    def run(self, compiled: list[Any]) -> tuple[list[Any], list[Any]]:
        table = self.tables["opportunity"]
        columns: list[sa.ColumnElement[Any]] = []
        for i, c in enumerate(compiled):
            columns.append(c.to_sql(self.binding, self.ctx, as_value=True).label(f"v{i}"))
            if c.type == BOOLEAN:
                cond = c.to_sql(self.binding, self.ctx)
                columns.append(sa.case((cond, 1), else_=0).label(f"c{i}"))
            else:
                columns.append(sa.literal(0).label(f"c{i}"))
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*columns).select_from(table)).one()
        values = [row[2 * i] for i in range(len(compiled))]
        conds = [row[2 * i + 1] for i in range(len(compiled))]
        return values, conds


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Db]:
    path = tmp_path_factory.mktemp("diff") / "diff.sqlite3"
    engine = sqlite_engine(f"sqlite:///{path}")
    yield _Db(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_db(postgres_url: str) -> Iterator[_Db]:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS expr_diff"))
    engine.dispose()
    engine = sa.create_engine(postgres_url, connect_args={"options": "-csearch_path=expr_diff"})
    yield _Db(engine)
    engine.dispose()


def _resolver(world: dict[str, Any]) -> MemoryResolver:
    record = world["record"]
    return MemoryResolver(
        records={
            "opportunity": {1: record},
            "customer": {3: world["customer"]},
            "contact": {c["id"]: c for c in world["contacts"]},
            "visit": {v["id"]: v for v in world["visits"]},
        },
        users={u["id"]: u for u in USERS},
        steps={
            ("opportunity", 1, key): StepState(done_at is not None, done_at, False)
            for key, done_at in world["steps"].items()
        },
    )


def _significant_digits(value: Decimal) -> int:
    return len(value.normalize().as_tuple().digits)


def same(expected: Any, got: Any) -> bool:
    """Equal as language values (Decimal('2.870') == 2.87; aware datetimes by instant)."""
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, bool) or isinstance(got, bool):
        return bool(expected) == bool(got) and isinstance(got, bool | int)
    return bool(expected == got)


def _check(db: _Db, data: st.DataObject, exact_limit: int | None) -> None:
    world = data.draw(worlds(), label="world")
    srcs = [gen(data.draw, data.draw(st.sampled_from(KINDS)), 3) for _ in range(PER_EXAMPLE)]
    everything = [compile_expression(s, SCOPE) for s in srcs]
    # the generator only builds SQL constructs; a few are too deeply nested for SQLite
    compiled = [c for c in everything if c.sql_capable]
    srcs = [c.source for c in compiled]
    STATS["total"] += len(everything)
    STATS["sql"] += len(compiled)
    ctx = context(_resolver(world))
    expected = [c.evaluate(world["record"], ctx) for c in compiled]
    db.load(world)
    values, conds = db.run(compiled)
    for src, c, exp, got, cond in zip(srcs, compiled, expected, values, conds, strict=True):
        if (
            exact_limit is not None
            and isinstance(exp, Decimal)
            and _significant_digits(exp) > exact_limit
        ):
            continue
        assert same(exp, got), f"{src!r}: python={exp!r} sql={got!r} record={world}"
        if c.type == BOOLEAN:
            assert cond == (1 if exp is True else 0), f"{src!r} as a condition: {cond} vs {exp!r}"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)
@given(data=st.data())
def test_sqlite_agrees_with_python(sqlite_db: _Db, data: st.DataObject) -> None:
    _check(sqlite_db, data, exact_limit=15)


@pytest.mark.postgres
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_postgresql_agrees_with_python(postgres_db: _Db, data: st.DataObject) -> None:
    _check(postgres_db, data, exact_limit=None)


def test_most_generated_expressions_have_an_sql_form() -> None:
    print(f"differential expressions: {STATS}")
    if STATS["total"] >= 100:  # the differential tests ran in this process
        assert STATS["sql"] / STATS["total"] > 0.9, STATS
