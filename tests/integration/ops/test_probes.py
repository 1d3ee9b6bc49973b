"""``/healthz``, ``/readyz`` (database, broker, outbox lag) and request ids."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from runtime.automation.models import OutboxJob
from runtime.clock import FrozenClock, to_naive_utc
from runtime.migrate import upgrade
from tests.conftest import need_service
from tests.integration.conftest import START, make_settings
from web import create_app


class OwnRedis:
    """A redis-server of the test's own on a free port, stopped and started at will (the
    shared Redis on 6379 is left alone)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        need_service("redis-server", "the binary is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _ready(client: Any) -> tuple[int, dict[str, Any]]:
    answer = client.get("/readyz")
    body = answer.get_json()
    return answer.status_code, {c["name"]: c for c in body["checks"]}


@pytest.mark.redis
def test_readyz_follows_the_broker(database_url: str, tmp_path: Path, own_redis: OwnRedis) -> None:
    clock = FrozenClock(START)
    app = create_app(make_settings(database_url, tmp_path / "instance", redis_url=own_redis.url), clock=clock)
    platform = app.extensions["cairn"]
    try:
        upgrade(platform.engine)
        client = app.test_client()
        assert client.get("/healthz").get_json() == {"status": "ok"}
        status, checks = _ready(client)
        assert status == 200 and all(c["ok"] for c in checks.values()), checks
        assert checks["broker"]["configured"] is True

        own_redis.stop()
        status, checks = _ready(client)
        assert status == 503 and not checks["broker"]["ok"] and checks["database"]["ok"], checks
        assert client.get("/healthz").status_code == 200  # alive, just not ready

        own_redis.start()
        status, checks = _ready(client)
        assert status == 200 and checks["broker"]["ok"], checks
    finally:
        platform.dispose()


def test_readyz_turns_unready_on_outbox_lag(database_url: str, tmp_path: Path) -> None:
    clock = FrozenClock(START)
    app = create_app(make_settings(database_url, tmp_path / "instance", ready_max_outbox_lag=60.0), clock=clock)
    platform = app.extensions["cairn"]
    try:
        upgrade(platform.engine)
        from runtime.workspaces import IdentityService

        with platform.session() as session:
            ws = IdentityService(session, clock).create_workspace("alpha", "Alpha")
        client = app.test_client()
        assert _ready(client)[0] == 200
        with platform.session() as session:
            app_id = _an_app(session, ws.id, clock)
            session.add(OutboxJob(workspace_id=ws.id, app_id=app_id, app_key="a", trigger_key="t", kind="created",
                                  status="pending", available_at=to_naive_utc(clock.now()),
                                  created_at=to_naive_utc(clock.now()), payload={}))
            session.commit()
        assert _ready(client)[0] == 200
        clock.advance(timedelta(seconds=61))
        status, checks = _ready(client)
        assert status == 503 and checks["outbox_lag"]["seconds"] == 61 and not checks["outbox_lag"]["ok"]
        with platform.session() as session:
            session.execute(sa.update(OutboxJob).values(status="running"))
            session.commit()
        assert _ready(client)[0] == 200  # claimed: a worker has it
    finally:
        platform.dispose()


def _an_app(session: Any, workspace_id: int, clock: FrozenClock) -> int:
    from builder.repository import AppRow

    row = AppRow(workspace_id=workspace_id, key="a", label={"en": "A"}, created_at=to_naive_utc(clock.now()))
    session.add(row)
    session.flush()
    return int(row.id)


@pytest.mark.postgres
def test_readyz_follows_the_database(postgres_url: str, tmp_path: Path) -> None:
    """The app's PostgreSQL database is renamed away (as good as down) and back."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"cairn_ready_{uuid.uuid4().hex[:8]}"
    away = name + "_away"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    app = create_app(make_settings(url, tmp_path / "instance"), clock=FrozenClock(START))
    platform = app.extensions["cairn"]

    def kick() -> None:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})

    try:
        upgrade(platform.engine)
        client = app.test_client()
        assert _ready(client)[0] == 200
        with admin.connect() as conn:
            kick()
            conn.execute(sa.text(f'ALTER DATABASE "{name}" RENAME TO "{away}"'))
        status, checks = _ready(client)
        assert status == 503 and not checks["database"]["ok"] and not checks["outbox_lag"]["ok"], checks
        assert client.get("/healthz").status_code == 200
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{away}" RENAME TO "{name}"'))
        status, checks = _ready(client)
        assert status == 200, checks
    finally:
        platform.dispose()
        with admin.connect() as conn:
            for db_name in (name, away):
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                             {"n": db_name})
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}"'))
        admin.dispose()


def test_request_ids_are_echoed_or_made(database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(database_url, tmp_path / "instance"), clock=FrozenClock(START))
    try:
        client = app.test_client()
        given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert given.headers["X-Request-ID"] == "abc-123"
        made = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
        assert made.headers["X-Request-ID"] != "bad id <script>" and len(made.headers["X-Request-ID"]) == 32
        assert client.get("/nowhere").headers["X-Request-ID"]
    finally:
        app.extensions["cairn"].dispose()
