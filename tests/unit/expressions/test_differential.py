"""Differential tests: well-typed expressions over records must give the same value in the
Python evaluator, on SQLite and on PostgreSQL.

Cases are drawn by :mod:`tests.unit.expressions.exprgen` with one seed per run, printed in
every failure and at the end of the run; ``CAIRN_DIFF_SEED=<n>`` reproduces a run. Every
argument position of every library function gets ``null`` and each extreme of its type
(``position_cases``); random expressions of depth 3 add nesting, with ``null`` and
extremes among their leaves; records hold extremes too.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from expressions import BOOLEAN, SqlContext, StepState, compile_expression
from expressions.functions.library import LIBRARY
from tests.unit.expressions import exprgen
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

SEED = int(os.environ.get("CAIRN_DIFF_SEED") or random.SystemRandom().randrange(2**32))
RANDOM_WORLDS = 60  # records per database, each with PER_WORLD random expressions
PER_WORLD = 15
POSITIONS_PER_WORLD = 60  # position cases share a record, this many at a time
STATS = {"total": 0, "sql": 0}


def _world(**record: Any) -> dict[str, Any]:
    """A world whose opportunity has ``record``'s values and nothing else."""
    base = exprgen.world(random.Random(0))
    base["record"] = {k: None for k in base["record"]} | {"id": 1} | record
    return base


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
        self.name = engine.dialect.name

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
    digits = list(value.as_tuple().digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
    return len(digits)


def same(expected: Any, got: Any) -> bool:
    """Equal as language values (Decimal('2.870') == 2.87; aware datetimes by instant)."""
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, bool) or isinstance(got, bool):
        return bool(expected) == bool(got) and isinstance(got, bool | int)
    return bool(expected == got)


def _show(world: dict[str, Any]) -> str:
    """``world`` for a failure message, long texts shortened."""
    text = repr(world)
    long = repr(exprgen.LONG_TEXT)[1:-1]
    return text.replace(long, f"<LONG_TEXT {len(exprgen.LONG_TEXT)} chars>")


def _compare(
    db: _Db, world: dict[str, Any], sources: list[str], exact_limit: int | None, why: str
) -> None:
    everything = [compile_expression(s, SCOPE) for s in sources]
    # the generator builds SQL constructs only; a few are too deeply nested for SQLite
    compiled = [c for c in everything if c.sql_capable]
    STATS["total"] += len(everything)
    STATS["sql"] += len(compiled)
    ctx = context(_resolver(world))
    expected = [c.evaluate(world["record"], ctx) for c in compiled]
    db.load(world)
    try:
        values, conds = db.run(compiled)
    except sa.exc.SQLAlchemyError:
        for c in compiled:  # find the expression the database refused
            try:
                db.run([c])
            except sa.exc.SQLAlchemyError as exc:
                pytest.fail(f"{why}: {c.source!r} fails on {db.name}: {exc} {_show(world)}")
        raise
    for c, exp, got, cond in zip(compiled, expected, values, conds, strict=True):
        if (
            exact_limit is not None
            and isinstance(exp, Decimal)
            and _significant_digits(exp) > exact_limit
        ):
            continue
        assert same(exp, got), (
            f"{why}: {c.source!r}: python={exp!r} {db.name}={got!r} {_show(world)}"
        )
        if c.type == BOOLEAN:
            assert cond == (1 if exp is True else 0), (
                f"{why}: {c.source!r} as a condition on {db.name}: {cond} vs {exp!r} {_show(world)}"
            )


def _run_all(db: _Db, exact_limit: int | None) -> None:
    rng = random.Random(SEED)
    why = f"CAIRN_DIFF_SEED={SEED}"
    sqlite = db.name == "sqlite"
    cases = [source for _, _, source in exprgen.position_cases(rng, sqlite)]
    rng.shuffle(cases)
    for i in range(0, len(cases), POSITIONS_PER_WORLD):
        world = exprgen.world(rng, sqlite)
        _compare(db, world, cases[i : i + POSITIONS_PER_WORLD], exact_limit, why)
    gen = exprgen.Gen(rng, sqlite=sqlite)
    for _ in range(RANDOM_WORLDS):
        world = exprgen.world(rng, sqlite)
        sources = [gen.expr(rng.choice(exprgen.KINDS), 3) for _ in range(PER_WORLD)]
        _compare(db, world, sources, exact_limit, why)
    print(f"differential seed: CAIRN_DIFF_SEED={SEED}")


def test_sqlite_agrees_with_python(sqlite_db: _Db) -> None:
    _run_all(sqlite_db, exact_limit=15)


@pytest.mark.postgres
def test_postgresql_agrees_with_python(postgres_db: _Db) -> None:
    _run_all(postgres_db, exact_limit=None)


#: Divergences once found on PostgreSQL (and the checker), each with a record it showed on.
REGRESSIONS: list[tuple[str, dict[str, Any]]] = [
    ("starts_with(name, null)", {"name": "上海星辰"}),
    ("ends_with(name, null)", {"name": "上海星辰"}),
    ("starts_with(name, budget_range + null)", {"name": "a", "budget_range": "a"}),
    ("not starts_with(name, null)", {"name": "上海星辰"}),
    ("clamp(quantity, null, 10)", {"quantity": 30}),
    ("clamp(quantity, 1, null)", {"quantity": -3}),
    ("clamp(amount, null, 2.5)", {"amount": Decimal("7.25")}),
    ("left(name, 4294967297)", {"name": "上海星辰"}),
    ("right(name, 4294967297)", {"name": "上海星辰"}),
    ("left(name, 9223372036854775807)", {"name": "上海星辰"}),
    ("right(name, referrals)", {"name": "上海星辰", "referrals": 2**40}),
    ("created_at >= start_of_week(today())", {"created_at": datetime(2026, 3, 15, 16, tzinfo=UTC)}),
    (
        "created_at >= start_of_week(today())",
        {"created_at": datetime(2026, 3, 15, 15, 59, tzinfo=UTC)},
    ),
    ("created_at == today()", {"created_at": datetime(2026, 3, 17, 16, tzinfo=UTC)}),
    ("created_at != today()", {"created_at": None}),
    ("due_at <= date(2026, 3, 18)", {"due_at": datetime(2026, 3, 18, 15, 59, tzinfo=UTC)}),
    ("date(2026, 3, 18) < due_at", {"due_at": datetime(2026, 3, 18, 16, tzinfo=UTC)}),
    ("signed_at >= date(2026, 1, 1)", {"signed_at": date(2026, 1, 1)}),
    ("signed_at == date(2026, 2, 30)", {"signed_at": None}),
    # 64-bit integers: a result out of range is null (no driver error, no REAL)
    ("referrals + 1", {"referrals": 2**63 - 1}),
    ("coalesce(referrals * 2, -1)", {"referrals": 2**62}),
    ("-referrals", {"referrals": -(2**63)}),
    ("abs(referrals)", {"referrals": -(2**63)}),
    ("referrals - 1", {"referrals": -(2**63)}),
    ("round(referrals, -1)", {"referrals": 2**63 - 1}),
    ("9223372036854775807 + quantity", {"quantity": 1}),
    ("floor(budget * 10000000000000)", {"budget": Decimal("999999.5")}),
    ("left(name, referrals)", {"name": "项目", "referrals": 2**63 - 1}),
    ("round(budget, referrals)", {"budget": Decimal("2.5"), "referrals": -(2**63)}),
    # durations, dates and datetimes out of range are null
    ("call_length * referrals", {"call_length": timedelta(days=1), "referrals": 2**40}),
    ("-call_length", {"call_length": timedelta(days=999_999_999, seconds=1)}),
    (
        "due_at + call_length",
        {"due_at": datetime(9999, 12, 30, tzinfo=UTC), "call_length": timedelta(days=2)},
    ),
    (
        "due_at - call_length",
        {"due_at": datetime(1, 1, 2, tzinfo=UTC), "call_length": timedelta(days=3650 * 2000)},
    ),
    ("signed_at - call_length", {"signed_at": date(1, 1, 1), "call_length": timedelta(days=1)}),
    (
        "signed_at + call_length",
        {"signed_at": date(9999, 12, 31), "call_length": timedelta(days=999_999_999)},
    ),
    ("days_between(due_at + 1d, today())", {"due_at": datetime(9999, 12, 30, 23, 59, tzinfo=UTC)}),
    ("(due_at + 1d) >= date(2026, 1, 1)", {"due_at": datetime(9999, 12, 30, 23, 59, tzinfo=UTC)}),
    # text: the simple case mapping, as PostgreSQL's upper()/lower()
    ('upper(name) == "SS"', {"name": "ß"}),
    ("lower(name)", {"name": "ΟΔΟΣ İ"}),
    ("upper(name)", {"name": "ᾀ ǆ ﬀ e\u0301"}),
    ('upper(max(name, "a"))', {"name": "ａ"}),  # not under min/max's COLLATE "C"
    ('lower(min(name, "ｚ"))', {"name": "Ａ"}),
    ("start_of_week(signed_at) >= date(-2147483648, 2026, 1)", {"signed_at": date(2026, 3, 18)}),
    ("coalesce(date(0, 1, 1), signed_at) < date(2026, 13, 1)", {"signed_at": date(2026, 3, 18)}),
    # a null list, a role read from the record
    ("contains_any(name, null)", {"name": "a"}),
    ("keyword_density(name, null)", {"name": "a"}),
    ("has_role(stage)", {"stage": "manager"}),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest) -> _Db:
    db: _Db = request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_db")
    return db


@pytest.mark.parametrize(("source", "record"), REGRESSIONS, ids=[s for s, _ in REGRESSIONS])
def test_regression(any_db: _Db, source: str, record: dict[str, Any]) -> None:
    assert compile_expression(source, SCOPE).sql_capable, source
    _compare(any_db, _world(**record), [source], None, "regression")


def test_every_argument_position_is_generated() -> None:
    cases = exprgen.position_cases(random.Random(SEED))
    covered = {(name, position) for name, position, _ in cases}
    sources = [source for _, _, source in cases]
    for function in LIBRARY.functions.values():
        if function.kind == "aggregate" or function.name in exprgen.NOT_GENERATED:
            continue
        for overload in function.overloads:
            for position in range(len(overload.params)):
                assert (function.name, position) in covered, (function.name, position)
    assert any(", null)" in s for s in sources) and any("(null, " in s for s in sources)
    for extreme in ("9223372036854775807", "-2147483649", '""', '"𠮷"', "date(9999, 12, 31)"):
        assert any(extreme in s for s in sources), extreme


def test_most_generated_expressions_have_an_sql_form() -> None:
    print(f"differential expressions: {STATS} (CAIRN_DIFF_SEED={SEED})")
    if STATS["total"] >= 100:  # the differential tests ran in this process
        assert STATS["sql"] / STATS["total"] > 0.9, STATS
