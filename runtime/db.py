"""Engines and sessions for SQLite (embedded) and PostgreSQL.

SQLite is configured for a server with a background worker: WAL journal, foreign keys,
a busy timeout, and ``BEGIN IMMEDIATE`` transactions so that two writers queue instead of
failing on a lock upgrade; it also gets the expression language's SQL functions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_functions(dbapi_connection: Any) -> None:
    try:
        from expressions.sqltypes import install_sqlite_functions
    except ImportError:  # the expression language's SQL functions are optional at start-up
        return
    install_sqlite_functions(dbapi_connection)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with Cairn's per-dialect settings."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Hand transaction control to SQLAlchemy's begin event below.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            _sqlite_functions(dbapi_connection)

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
