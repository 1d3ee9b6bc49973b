"""The public API: compile cache, explanations, SQL entry points, storage types, purity."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

import expressions
from expressions import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    CompiledExpression,
    ExpressionError,
    ExpressionInvalid,
    Scope,
    SqlContext,
    StepState,
    check,
    compile_expression,
)
from expressions.sqltypes import DurationSeconds, ExactDecimal, UTCDateTime, sql_type_for
from expressions.types import DATE, DATETIME, DURATION, LOCATION, TEXT, USER, list_of, record_of
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


def test_compile_is_cached_per_source_scope_and_expect() -> None:
    a = compile_expression("budget > 1", SCOPE)
    assert compile_expression("budget > 1", SCOPE) is a
    assert compile_expression("budget > 1", SCOPE, expect=BOOLEAN) is not a
    equal_scope = Scope(SCOPE.entity, SCOPE.entities, SCOPE.user_fields)
    assert compile_expression("budget > 1", equal_scope) is a
    other = Scope(SCOPE.entity, SCOPE.entities[:1] + SCOPE.entities[1:], ())
    assert compile_expression("budget > 1", other) is not a
    assert isinstance(a, CompiledExpression)
    assert a.source == "budget > 1" and a.type == BOOLEAN and a.sql_capable
    assert a({"budget": Decimal(2)}, context()) is True
    assert "budget > 1" in repr(a)


def test_error_hierarchy() -> None:
    assert issubclass(ExpressionInvalid, ExpressionError)
    assert issubclass(ExpressionInvalid, ValueError)
    with pytest.raises(ExpressionInvalid) as info:
        compile_expression("budjet > 1 and nope()", SCOPE)
    assert [d.code for d in info.value.diagnostics] == ["unknown_name", "unknown_function"]
    assert "and 1 more" in str(info.value)


def test_explain_top_level_and() -> None:
    source = 'budget_range != null and count(contacts where role == "老板") >= 2'
    compiled = compile_expression(source, SCOPE)
    resolver = MemoryResolver(records={"contact": {1: {"id": 1, "opportunity": 1, "role": "老板"}}})
    explanation = compiled.explain({"id": 1, "budget_range": "50万"}, context(resolver))
    assert explanation.value is False
    assert [(p.source, p.held) for p in explanation.parts] == [
        ("budget_range != null", True),
        ('count(contacts where role == "老板") >= 2', False),
    ]
    assert (explanation.parts[1].line, explanation.parts[1].column) == (1, 26)


def test_explain_single_part() -> None:
    explanation = compile_expression("quantity > 1", SCOPE).explain({"quantity": 2}, context())
    assert explanation.value is True
    assert [(p.source, p.held) for p in explanation.parts] == [("quantity > 1", True)]


def test_aggregates_with_where_and_parent() -> None:
    resolver = MemoryResolver(
        records={
            "visit": {
                1: {
                    "id": 1,
                    "opportunity": 1,
                    "region": "华东",
                    "score": Decimal("4.5"),
                    "created_at": NOW,
                    "outcome": "签约",
                },
                2: {
                    "id": 2,
                    "opportunity": 1,
                    "region": "华南",
                    "score": Decimal("3"),
                    "created_at": NOW - timedelta(days=3),
                    "outcome": "跟进",
                },
                3: {
                    "id": 3,
                    "opportunity": 2,
                    "region": "华东",
                    "score": Decimal("1"),
                    "created_at": NOW,
                    "outcome": "丢单",
                },
                4: {
                    "id": 4,
                    "opportunity": 1,
                    "region": "华东",
                    "score": None,
                    "created_at": NOW + timedelta(1),
                    "outcome": None,
                },
            }
        }
    )
    record = {"id": 1, "region": "华东"}
    ctx = context(resolver)

    def run(source: str) -> Any:
        return compile_expression(source, SCOPE).evaluate(record, ctx)

    assert run("count(visits where region == parent.region)") == 2
    assert run("sum(visits.score where region == parent.region)") == Decimal("4.5")
    assert run("avg(visits.score)") == Decimal("3.75")
    assert run("min_of(visits.score)") == Decimal("3")
    assert run("max_of(visits.created_at)") == NOW + timedelta(1)
    assert run("latest(visits.outcome)") == "签约"
    assert run("distinct_count(visits.region)") == 2
    assert run("count(visits.score)") == 2
    assert run("any(visits where score > 4)") is True
    assert run("all(visits where score > 1)") is False
    assert run("sum(visits.wait)") == timedelta(0)


def test_steps() -> None:
    resolver = MemoryResolver(steps={("opportunity", 1, "competitor"): StepState(True, NOW, True)})
    ctx = context(resolver)
    record = {"id": 1}
    assert compile_expression("steps.competitor.done_at", SCOPE).evaluate(record, ctx) == NOW
    assert compile_expression("steps.competitor.unlocked", SCOPE).evaluate(record, ctx) is True
    assert compile_expression("steps.need_confirmation.done", SCOPE).evaluate(record, ctx) is False


def test_to_sql_refuses_non_sql_expressions() -> None:
    compiled = compile_expression("steps.competitor.unlocked", SCOPE)
    binding = TableBinding(build_tables(sa.MetaData()))
    with pytest.raises(ExpressionInvalid) as info:
        compiled.to_sql(binding, SqlContext(NOW, SHANGHAI, "sqlite", ACTOR))
    assert info.value.diagnostics[0].code == "not_sql"


def _render(source: str, dialect: Any, name: str) -> str:
    binding = TableBinding(build_tables(sa.MetaData()))
    expr = compile_expression(source, SCOPE).to_sql(binding, SqlContext(NOW, SHANGHAI, name, ACTOR))
    return str(expr.compile(dialect=dialect))


@pytest.mark.parametrize(
    ("dialect", "name"), [(sqlite.dialect(), "sqlite"), (postgresql.dialect(), "postgresql")]
)
def test_time_condition_is_sargable(dialect: Any, name: str) -> None:
    sql = _render("stage_entered_at <= now() - 48h", dialect, name)
    assert sql.startswith("e_opportunity.stage_entered_at <= ")
    assert "now" not in sql.lower().split("<=")[1] or "cast" in sql.lower()
    row_permission = _render(
        'owner == me() or me().role == "manager" and region == me().region', dialect, name
    )
    assert "e_opportunity.owner = " in row_permission
    assert "users" not in row_permission  # me() attributes are folded to parameters


def test_user_text_is_always_a_bound_parameter() -> None:
    sql = _render("""name == "x'); DROP TABLE users; --" """, postgresql.dialect(), "postgresql")
    assert "DROP" not in sql


def test_default_table_and_explicit_alias() -> None:
    tables = build_tables(sa.MetaData())
    binding = TableBinding(tables)
    ctx = SqlContext(NOW, SHANGHAI, "sqlite", ACTOR)
    compiled = compile_expression("quantity > 1", SCOPE)
    alias = tables["opportunity"].alias("o")
    assert "o.quantity" in str(compiled.to_sql(binding, ctx, alias))
    assert "e_opportunity.quantity" in str(compiled.to_sql(binding, ctx))


def test_sql_type_for() -> None:
    assert isinstance(sql_type_for(DATETIME), UTCDateTime)
    assert isinstance(sql_type_for(DURATION), DurationSeconds)
    assert isinstance(sql_type_for(DECIMAL), ExactDecimal)
    assert isinstance(sql_type_for(TEXT), sa.Text)
    assert isinstance(sql_type_for(DATE), sa.Date)
    assert isinstance(sql_type_for(BOOLEAN), sa.Boolean)
    assert isinstance(sql_type_for(LOCATION), sa.Float)
    assert isinstance(sql_type_for(list_of(TEXT)), sa.JSON)
    for t in (INTEGER, USER, record_of("customer")):
        assert isinstance(sql_type_for(t).load_dialect_impl(postgresql.dialect()), sa.BigInteger)
    with pytest.raises(ValueError):
        sql_type_for(expressions.collection_of("visit"))


def _roundtrip(url: str) -> None:
    engine = sqlite_engine(url) if url.startswith("sqlite") else sa.create_engine(url)
    md = sa.MetaData()
    table = sa.Table(
        "roundtrip",
        md,
        sa.Column("id", sql_type_for(INTEGER), primary_key=True),
        sa.Column("at", sql_type_for(DATETIME)),
        sa.Column("wait", sql_type_for(DURATION)),
        sa.Column("amount", sql_type_for(DECIMAL)),
        sa.Column("tags", sql_type_for(list_of(TEXT))),
    )
    md.create_all(engine)
    plus8 = timezone(timedelta(hours=8))
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {
                    "id": 1,
                    "at": datetime(2026, 3, 18, 8, 0, tzinfo=plus8),
                    "wait": timedelta(hours=2, seconds=1.7),
                    "amount": Decimal("12345678901.23"),
                    "tags": ["重点"],
                },
                {"id": 2, "at": None, "wait": None, "amount": None, "tags": None},
            ],
        )
        rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
    md.drop_all(engine)
    engine.dispose()
    assert rows[0].at == datetime(2026, 3, 18, 0, 0, tzinfo=UTC) and rows[0].at.tzinfo == UTC
    assert rows[0].wait == timedelta(hours=2, seconds=1)
    assert rows[0].amount == Decimal("12345678901.23") and isinstance(rows[0].amount, Decimal)
    assert rows[0].tags == ["重点"]
    assert rows[1].at is None and rows[1].wait is None and rows[1].amount is None


def test_storage_roundtrip_sqlite(tmp_path: Any) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'rt.sqlite3'}")


@pytest.mark.postgres
def test_storage_roundtrip_postgresql(postgres_url: str) -> None:
    _roundtrip(postgres_url)


def test_sqlite_functions_never_raise() -> None:
    engine = sqlite_engine()
    with engine.connect() as conn:
        assert conn.execute(sa.text("select cairn_ddiv(1, 0)")).scalar() is None
        assert conn.execute(sa.text("select cairn_dadd('x', 1)")).scalar() is None
        assert conn.execute(sa.text("select cairn_ddiv(0.1, 3)")).scalar() == pytest.approx(
            0.0333333333
        )
        assert conn.execute(sa.text("select cairn_time_add('bad', 1, 1)")).scalar() is None
    engine.dispose()


def test_expressions_is_pure() -> None:
    code = (
        "import sys, expressions, expressions.sqltypes, expressions.sqlcompiler;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'celery', 'redis', 'builder', 'runtime', 'web', 'psycopg')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_result_is_frozen() -> None:
    result = check("1", SCOPE)
    with pytest.raises(AttributeError):
        result.ok = False  # type: ignore[misc]
    assert result.diagnostics == () and result.type == INTEGER and result.ast is not None


def test_date_literal_comparisons() -> None:
    compiled = compile_expression("signed_at >= start_of_month(today())", SCOPE)
    assert compiled.evaluate({"signed_at": date(2026, 3, 1)}, context()) is True


@pytest.mark.parametrize(
    "template", ["abs({})", "({} - budget)", "if(approved, {}, budget)", "-{}", "round({}, 1)"]
)
def test_every_sql_capable_nesting_runs(database_url: str, template: str) -> None:
    engine = (
        sqlite_engine(database_url)
        if database_url.startswith("sqlite")
        else sa.create_engine(database_url)
    )
    md = sa.MetaData()
    tables = build_tables(md)
    md.create_all(engine)
    binding = TableBinding(tables)
    ctx = SqlContext(NOW, SHANGHAI, engine.dialect.name, ACTOR)
    with engine.begin() as conn:
        conn.execute(
            tables["opportunity"].insert(), [{"id": 1, "budget": Decimal("1.5"), "approved": True}]
        )
    capable = 0
    source = "budget"
    for _ in range(40):
        source = template.format(source)
        compiled = compile_expression(source, SCOPE)
        if not compiled.sql_capable:
            break
        capable += 1
        with engine.connect() as conn:
            got = conn.execute(
                sa.select(compiled.to_sql(binding, ctx, as_value=True)).select_from(
                    tables["opportunity"]
                )
            ).scalar()
        assert got == compiled.evaluate({"budget": Decimal("1.5"), "approved": True}, context())
    engine.dispose()
    assert capable >= 6


def test_fixed_offset_zone_is_refused_for_sql() -> None:
    binding = TableBinding(build_tables(sa.MetaData()))
    plus8 = timezone(timedelta(hours=8))
    compiled = compile_expression("days_since(signed_at) > 1", SCOPE)
    with pytest.raises(ExpressionError) as info:
        compiled.to_sql(binding, SqlContext(NOW, plus8, "postgresql", ACTOR))
    assert info.value.code == "unsupported_time_zone"
    assert compiled.to_sql(binding, SqlContext(NOW, UTC, "postgresql", ACTOR)) is not None


def test_naive_clock_is_taken_as_utc() -> None:
    from expressions import EvalContext

    ctx = EvalContext(NOW.replace(tzinfo=None), SHANGHAI)
    compiled = compile_expression(
        "stage_entered_at < now() and hours_since(stage_entered_at) == 1", SCOPE
    )
    assert compiled.evaluate({"stage_entered_at": NOW - timedelta(hours=1)}, ctx) is True


def test_explain_top_level_or() -> None:
    compiled = compile_expression('owner == me() or region == "华东"', SCOPE)
    explanation = compiled.explain({"owner": 8, "region": "华东"}, context())
    assert explanation.value is True
    assert [p.held for p in explanation.parts] == [False, True]


def test_scope_without_its_entity() -> None:
    broken = Scope("missing", SCOPE.entities)
    result = check("1", broken)
    assert not result.ok and result.diagnostics[0].code == "unknown_name"
    assert "missing" in result.diagnostics[0].message
