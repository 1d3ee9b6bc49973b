"""Engines and sessions for SQLite (embedded) and PostgreSQL.

SQLite is configured for a server with a background worker: WAL journal, foreign keys,
a busy timeout, and ``BEGIN IMMEDIATE`` transactions so that two writers queue instead of
failing on a lock upgrade; it also gets the expression language's SQL functions.

A read-only path (:func:`read_only`, used for GET requests) opens its SQLite transactions
with a deferred ``BEGIN`` instead: under WAL a reader then never takes the write lock, so
a long read doesn't hold up a writer and many reads run side by side. Such a transaction
must not write (an upgrade from a read to a write lock fails, rather than waits, when
another writer got in first).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

#: Execution option marking connections whose transactions only read.
READ_ONLY = "cairn_read_only"


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
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = sa.create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


#: A pooled connection idle longer than this is pinged before it is handed out again.
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine, idle: float = IDLE_PING_SECONDS) -> None:
    """Checks a pooled connection is alive before reuse, unless it was in use moments ago.

    ``pool_pre_ping`` pings on every checkout: one more round trip per request. Here a
    connection checked in less than ``idle`` seconds ago is handed out as it is (it just
    worked); an older one is pinged, and if the ping fails the pool replaces it, so a
    database restart costs no request once connections have sat idle for a second. Within
    that second a dead connection fails its request, and SQLAlchemy then drops the pool.
    """

    @sa.event.listens_for(engine, "connect")
    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is not None and time.monotonic() - since < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa.exc.DisconnectionError(str(error)) from error


_CHECKED_IN = "cairn_checked_in_at"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def read_only(engine: Engine) -> Engine:
    """``engine`` (same pool) for transactions that only read: no write lock on SQLite."""
    return engine.execution_options(**{READ_ONLY: True})


def core_execute(session: Session, statement: Any, parameters: Any = None) -> sa.CursorResult[Any]:
    """Executes a Core ``statement`` in ``session``'s transaction, without the ORM's
    execution machinery (tens of microseconds a call on the write path).

    Pending ORM changes are flushed first, as ``session.execute`` would, so the statement
    sees them and runs after them.
    """
    session.flush()
    return session.connection().execute(statement, parameters)
