"""Brings the platform schema up to date with Alembic, programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic configuration pointing at Cairn's migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrates the platform tables of ``engine``'s database to ``revision``.

    Then, in the same transaction, rebuilds SQLite entity tables created before they had
    ``AUTOINCREMENT`` (see :mod:`runtime.table_ids`), so no record id is handed out twice.
    """
    from runtime.table_ids import upgrade_entity_tables

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        upgrade_entity_tables(connection)
