"""Entity tables never reuse ids: their DDL on both databases, and the SQLite rebuild."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from builder.model import Entity, Field, FieldType, LocalizedText
from runtime.table_ids import ensure_autoincrement, has_autoincrement
from runtime.tables import build_table, new_metadata


def _entity() -> Entity:
    label = LocalizedText("X", "X")
    fields = (
        Field(key="name", type=FieldType.TEXT, label=label, unique=True),
        Field(key="amount", type=FieldType.MONEY, label=label),
    )
    return Entity(key="thing", label=label, fields=fields)


def test_entity_tables_take_ids_that_are_never_handed_out_again() -> None:
    table = build_table(new_metadata(), "e1_thing", _entity())
    assert "id BIGSERIAL" in str(sa.schema.CreateTable(table).compile(dialect=postgresql.dialect()))
    assert "PRIMARY KEY AUTOINCREMENT" in str(sa.schema.CreateTable(table).compile(dialect=sqlite.dialect()))


def test_an_old_sqlite_table_is_rebuilt_with_its_rows_defaults_and_indexes() -> None:
    engine = sa.create_engine("sqlite://")
    old = build_table(new_metadata(), "e1_thing", _entity())
    old.dialect_options["sqlite"]["autoincrement"] = False
    now = "2026-11-23 09:00:00"
    with engine.begin() as connection:
        old.create(connection)
        assert not has_autoincrement(connection, "e1_thing")
        for name in ("a", "b", "c"):
            connection.exec_driver_sql(
                "INSERT INTO e1_thing (created_at, updated_at, name, amount) VALUES (?, ?, ?, '1.50')", (now, now, name)
            )
        connection.exec_driver_sql("DELETE FROM e1_thing WHERE name = 'c'")
        before_columns = connection.exec_driver_sql("PRAGMA table_info(e1_thing)").all()
        before_indexes = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ).all()
        select_rows = "SELECT id, name, amount, typeof(amount), version FROM e1_thing ORDER BY id"
        before_rows = connection.exec_driver_sql(select_rows).all()
        assert ensure_autoincrement(connection, "e1_thing")
        assert not ensure_autoincrement(connection, "e1_thing")  # once
        assert has_autoincrement(connection, "e1_thing")
        assert connection.exec_driver_sql("PRAGMA table_info(e1_thing)").all() == before_columns
        assert connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ).all() == before_indexes
        rows = connection.exec_driver_sql(select_rows).all()
        assert rows == before_rows and [(r[0], r[1], r[4]) for r in rows] == [(1, "a", 1), (2, "b", 1)]
        connection.exec_driver_sql("DELETE FROM e1_thing WHERE name = 'b'")
        connection.exec_driver_sql(
            "INSERT INTO e1_thing (created_at, updated_at, name) VALUES (?, ?, 'd')", (now, now)
        )
        new_id = connection.exec_driver_sql("SELECT id FROM e1_thing WHERE name = 'd'").scalar()
    assert new_id == 3  # the id deleted after the rebuild (2) is not handed out again


def test_other_databases_and_missing_tables_are_left_alone() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        assert not ensure_autoincrement(connection, "no_such_table")
