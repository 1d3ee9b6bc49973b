"""Shared test fixtures: databases, Redis, and the CI rule that nothing may skip.

Tests that need a service ask for it through :func:`need_service`: on a developer's
laptop a missing service skips the test with the reason; under ``CI=true`` it fails it,
and any skip at all fails the session, so CI can never go green by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "CAIRN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("CAIRN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def need_service(what: str, reason: str) -> None:
    """Skip (laptop) or fail (CI) a test whose service ``what`` is unavailable."""
    message = f"{what} is not available: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (required under CI=true)", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


def _postgres_admin_engine() -> sa.Engine:
    return sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped at the end of the session."""
    try:
        admin = _postgres_admin_engine()
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # any connection failure means "no PostgreSQL here"
        need_service("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {exc.__class__.__name__}: {exc}")
        raise  # unreachable: need_service skips or fails
    name = f"cairn_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where datname = :n and pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh SQLite database file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'cairn.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Runs a test once on SQLite and once on PostgreSQL (a fresh schema each time)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cairn.sqlite3'}"
    base = request.getfixturevalue("postgres_url")
    # Each test gets its own schema inside the session database, so tests stay independent.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    request.addfinalizer(lambda: _drop_schema(base, schema))
    return f"{base}?options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the test Redis database (db 15); tests use their own keys and queues.

    It is not flushed: parallel test processes share it, and one may run a worker.
    """
    try:
        import redis

        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:
        need_service("Redis", f"{REDIS_TEST_URL}: {exc.__class__.__name__}: {exc}")
        raise
    return REDIS_TEST_URL


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI, a skipped test fails the run: a service it needed was missing."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        if reporter:
            reporter.write_line(
                f"CI=true: {len(skipped)} test(s) were skipped; under CI every test must run.",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
