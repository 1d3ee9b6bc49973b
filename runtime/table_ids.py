"""Entity tables never hand out a record id twice.

On PostgreSQL ``id`` is a ``BIGSERIAL``: its sequence never goes back, whatever is deleted.
On SQLite an ``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT`` takes ``max(id) + 1``, so
deleting the newest record freed its id for the next one — whose history and timeline
then showed the deleted record's events. Entity tables are therefore created with
``AUTOINCREMENT`` (``runtime.tables``), which keeps the highest id ever used in
``sqlite_sequence``.

Tables created before that are upgraded by :func:`ensure_autoincrement`, on
``cairn init-db`` (:func:`runtime.migrate.upgrade`) and when their app is published
next. SQLite can't add ``AUTOINCREMENT`` to a table in place, so the table is rebuilt
with SQLite's documented procedure (https://sqlite.org/lang_altertable.html, "making
other kinds of table schema changes"), in the caller's transaction:

1. read the table's columns (declared type, ``NOT NULL``, default — verbatim) and the
   ``CREATE INDEX`` statements of its indexes;
2. create ``_rebuild_<table>`` with the same columns and ``id INTEGER PRIMARY KEY
   AUTOINCREMENT``, copy every row, drop the old table, rename the new one;
3. create the indexes again with their original statements;
4. set the table's ``sqlite_sequence`` entry to the highest id the table *or its history*
   ever held (audit events and stage history keep the ids of deleted records), so that
   not even an id deleted before the upgrade is handed out again.

Entity tables have no foreign keys, triggers or views, and no other table refers to them
with a foreign key, so no other step of the procedure applies.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.models import AuditEvent, EntityTableRow, StageHistory
from runtime.tables import bounded


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def has_autoincrement(connection: Connection, table_name: str) -> bool:
    """Whether SQLite table ``table_name`` was created with ``AUTOINCREMENT``."""
    sql = connection.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": table_name}
    ).scalar()
    return sql is not None and "AUTOINCREMENT" in str(sql).upper()


def _high_water(connection: Connection, table_name: str) -> int:
    """The highest id the table or the history of its records ever held."""
    table = sa.table(table_name, sa.column("id"))
    highest = connection.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    if not sa.inspect(connection).has_table(EntityTableRow.__tablename__):
        return int(highest)
    row = connection.execute(
        sa.select(EntityTableRow.app_id, EntityTableRow.entity_key).where(EntityTableRow.table_name == table_name)
    ).first()
    if row is not None:
        for model in (AuditEvent, StageHistory):
            used = connection.execute(
                sa.select(sa.func.max(model.record_id)).where(
                    model.app_id == row.app_id, model.entity_key == row.entity_key
                )
            ).scalar()
            highest = max(highest, used or 0)
    return int(highest)


def ensure_autoincrement(connection: Connection, table_name: str) -> bool:
    """Rebuilds SQLite table ``table_name`` with ``AUTOINCREMENT`` if it lacks it.

    Returns whether the table was rebuilt. Does nothing on other databases, for tables
    that don't exist and for tables that already have ``AUTOINCREMENT``. Runs in the
    caller's transaction (a failure leaves the table as it was).
    """
    if connection.dialect.name != "sqlite" or not sa.inspect(connection).has_table(table_name):
        return False
    if has_autoincrement(connection, table_name):
        return False
    columns = connection.execute(sa.text(f"PRAGMA table_info({_quote(table_name)})")).mappings().all()
    keys = [c for c in columns if c["pk"]]
    if len(keys) != 1 or keys[0]["name"] != "id" or str(keys[0]["type"]).upper() != "INTEGER":
        raise RuntimeError(f"{table_name}: expected a single INTEGER primary key named id")
    indexes = connection.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :name"),
        {"name": table_name},
    ).all()
    if any(sql is None for _name, sql in indexes):
        raise RuntimeError(f"{table_name}: has constraint indexes a rebuild would not keep")
    definitions = []
    for column in columns:
        if column["name"] == "id":
            definitions.append('"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT')
            continue
        parts = [_quote(column["name"])]
        if column["type"]:
            parts.append(str(column["type"]))
        if column["notnull"]:
            parts.append("NOT NULL")
        if column["dflt_value"] is not None:
            parts.append(f"DEFAULT {column['dflt_value']}")
        definitions.append(" ".join(parts))
    names = ", ".join(_quote(c["name"]) for c in columns)
    high_water = _high_water(connection, table_name)
    temporary = _quote(bounded(f"_rebuild_{table_name}"))
    target = _quote(table_name)
    connection.exec_driver_sql(f"CREATE TABLE {temporary} ({', '.join(definitions)})")
    connection.exec_driver_sql(f"INSERT INTO {temporary} ({names}) SELECT {names} FROM {target}")
    connection.exec_driver_sql(f"DROP TABLE {target}")
    connection.exec_driver_sql(f"ALTER TABLE {temporary} RENAME TO {target}")
    for _name, sql in indexes:
        connection.exec_driver_sql(sql)
    seed_sequence(connection, table_name, high_water)
    return True


def seed_sequence(connection: Connection, table_name: str, at_least: int) -> None:
    """Makes SQLite hand out ids above ``at_least`` for AUTOINCREMENT table ``table_name``."""
    sequence = sa.table("sqlite_sequence", sa.column("name"), sa.column("seq"))
    current = connection.execute(sa.select(sequence.c.seq).where(sequence.c.name == table_name)).scalar()
    if current is None:
        connection.execute(sa.insert(sequence).values(name=table_name, seq=at_least))
    elif current < at_least:
        connection.execute(sa.update(sequence).where(sequence.c.name == table_name).values(seq=at_least))


def upgrade_entity_tables(connection: Connection) -> list[str]:
    """Gives every entity table of the database ``AUTOINCREMENT`` (SQLite); the rebuilt names."""
    if connection.dialect.name != "sqlite" or not sa.inspect(connection).has_table(EntityTableRow.__tablename__):
        return []
    names = connection.execute(sa.select(EntityTableRow.table_name).order_by(EntityTableRow.id)).scalars().all()
    return [name for name in names if ensure_autoincrement(connection, name)]
