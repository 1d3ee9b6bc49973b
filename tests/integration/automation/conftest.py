"""Automation integration fixtures: a migrated platform, a tenant, and both execution modes.

``world`` runs a test once per database (SQLite, PostgreSQL) and per execution mode:
``embedded`` drains the outbox with the in-process worker; ``celery`` publishes through the
relay to a real Celery worker consuming the real Redis broker (one worker per test
session, re-pointed at each test's platform). Time is a :class:`FrozenClock` the test
advances; ``world.settle()`` runs everything that is due, then returns.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.apps import AppService, PublishedApp, load_published
from runtime.automation.embedded import EmbeddedWorker
from runtime.automation.engine import install
from runtime.automation.models import InboxNotification, OutboxJob
from runtime.automation.sweeps import run_sweeps
from runtime.clock import FrozenClock
from runtime.context import Actor, CallContext
from runtime.migrate import upgrade
from runtime.models import User, Workspace
from runtime.platform import Platform
from runtime.records import RecordService, WriteResult
from runtime.settings import Settings
from runtime.workspaces import IdentityService

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
SETTLE_TIMEOUT = 90.0


class _PlatformSlot:
    """The platform the session's Celery worker serves (each test points it at its own)."""

    def __init__(self) -> None:
        self.current: Platform | None = None

    def __call__(self) -> Platform:
        assert self.current is not None, "no test platform is active"
        return self.current


@dataclass
class CeleryRig:
    """A Celery app with a running worker on the test Redis, and its platform slot."""

    app: Any
    slot: _PlatformSlot


#: The app of the process-killing tests: each item created fires one trigger with two
#: database effects (a receipt is created, the item is stamped), so every effect is countable.
STRESS_APP: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "stress",
    "label": "Stress",
    "entities": [
        {"key": "item", "label": "Item", "fields": [
            {"key": "n", "type": "integer", "label": "n"},
            {"key": "stamped", "type": "boolean", "label": "stamped"},
        ]},
        {"key": "receipt", "label": "Receipt", "fields": [
            {"key": "item", "type": "link", "target": "item", "label": "item"},
            {"key": "n", "type": "integer", "label": "n"},
        ]},
    ],
    "triggers": [
        {"key": "on_item", "label": "on item", "entity": "item", "on": "created",
         "actions": [
             {"type": "create_record", "entity": "receipt", "values": {"item": "id", "n": "n"}},
             {"type": "set_field", "field": "stamped", "value": "true"},
         ]},
    ],
}


def child_pids(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid`` (read from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


@pytest.fixture(scope="session")
def automation_redis_url(redis_url: str) -> str:
    """A Redis database of its own for the automation tests (the shared test database 15
    is flushed by whichever pytest-xdist process asks for ``redis_url`` first, which would
    drop the queues and bindings of a Celery worker already running in the other one).
    Every test uses its own queue names, so nothing needs flushing here."""
    return redis_url.rsplit("/", 1)[0] + "/13"


@pytest.fixture(scope="session")
def celery_rig(automation_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryRig]:
    """One real Celery worker (threads pool) for the whole session, on a private queue."""
    from celery.contrib.testing.worker import start_worker

    from runtime.celery_app import create_celery

    slot = _PlatformSlot()
    settings = Settings(
        database_url="sqlite://",
        secret_key="x",
        instance_path=tmp_path_factory.mktemp("celery"),
        redis_url=automation_redis_url,
    )
    queue = f"cairn-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    celery = create_celery(settings, slot, queue=queue)
    with start_worker(
        celery, pool="threads", concurrency=2, perform_ping_check=False, queues=[queue],
        loglevel="WARNING", shutdown_timeout=60,
    ):
        yield CeleryRig(celery, slot)


@dataclass
class World:
    """A tenant on a migrated platform, with helpers to write records and run automation."""

    platform: Platform
    clock: FrozenClock
    mode: str
    workspace: Workspace
    admin: User
    manager: User
    rep: User
    rep2: User
    rig: CeleryRig | None = None
    apps: dict[str, PublishedApp] = field(default_factory=dict)

    # -- contexts and services ------------------------------------------------------------

    def ctx(self, user: User | None = None, depth: int = 0) -> CallContext:
        """A call context with a fresh session (closed by the caller or left to GC)."""
        actor = Actor.of(user) if user is not None else Actor.system(self.workspace.id)
        return CallContext(
            session=self.platform.session(), workspace=self.workspace, actor=actor,
            clock=self.clock, depth=depth,
        )

    def publish(self, definition: Mapping[str, Any]) -> PublishedApp:
        """Imports and publishes ``definition``."""
        ctx = self.ctx(self.admin)
        with ctx.session:
            service = AppService(ctx)
            revision = service.import_definition(dict(definition))
            service.publish(revision.id)
        return self.app(definition["key"])

    def app(self, key: str) -> PublishedApp:
        """The published app ``key``."""
        with self.platform.session() as session:
            return load_published(session, self.workspace.id, key)

    def records(self, app_key: str, user: User | None = None) -> _Records:
        """Record operations on app ``app_key`` as ``user`` (default: the rep)."""
        return _Records(self, app_key, user or self.rep)

    # -- running automation ---------------------------------------------------------------

    def advance(self, delta: timedelta) -> None:
        """Moves the frozen clock forward."""
        self.clock.advance(delta)

    def settle(self, *, sweep: bool = True) -> None:
        """Runs the sweeps and every due job (and the jobs those queue) to completion."""
        if sweep:
            run_sweeps(self.platform)
        if self.mode == "embedded":
            EmbeddedWorker(self.platform).drain()
            return
        assert self.rig is not None
        from runtime.celery_app import make_relay

        relay = make_relay(self.platform, self.rig.app, lease=timedelta(seconds=30))
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            relay.drain()
            if self.open_jobs() == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"automation did not settle: {self.open_jobs()} job(s) open")

    def open_jobs(self) -> int:
        """Outbox rows that are due and not finished."""
        now = self.clock.now().replace(tzinfo=None)
        with self.platform.session() as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count()).where(
                        sa.or_(
                            OutboxJob.status.in_(("dispatched", "running")),
                            sa.and_(OutboxJob.status == "pending", OutboxJob.available_at <= now),
                        )
                    )
                )
                or 0
            )

    def inbox(self, user: User) -> list[InboxNotification]:
        """The inbox of ``user``, oldest first."""
        with self.platform.session() as session:
            return list(
                session.scalars(
                    sa.select(InboxNotification)
                    .where(InboxNotification.user_id == user.id)
                    .order_by(InboxNotification.id)
                )
            )

    def jobs(self) -> list[OutboxJob]:
        """Every outbox row."""
        with self.platform.session() as session:
            return list(session.scalars(sa.select(OutboxJob).order_by(OutboxJob.id)))


class _Records:
    def __init__(self, world: World, app_key: str, user: User) -> None:
        self.world = world
        self.app_key = app_key
        self.user = user

    def _service(self) -> tuple[CallContext, RecordService]:
        ctx = self.world.ctx(self.user)
        app = self.world.app(self.app_key)
        return ctx, RecordService(ctx, app, listeners=self.world.platform.listeners)

    def create(self, entity: str, values: Mapping[str, Any]) -> WriteResult:
        ctx, service = self._service()
        with ctx.session:
            return service.create(entity, dict(values))

    def update(self, entity: str, record_id: int, values: Mapping[str, Any]) -> WriteResult:
        ctx, service = self._service()
        with ctx.session:
            version = service.get(entity, record_id)["version"]
            return service.update(entity, record_id, dict(values), version=version)

    def get(self, entity: str, record_id: int) -> dict[str, Any]:
        ctx = self.world.ctx()
        with ctx.session:
            return RecordService(ctx, self.world.app(self.app_key)).get(entity, record_id)

    def all(self, entity: str) -> list[dict[str, Any]]:
        from runtime.evaluation import record_from_row

        app = self.world.app(self.app_key)
        table = app.table(entity)
        with self.world.platform.session() as session:
            rows = session.execute(sa.select(table).order_by(table.c.id)).mappings().all()
            return [record_from_row(app.entity(entity), r) for r in rows]


def make_world(
    database_url: str, instance: Path, mode: str, rig: CeleryRig | None, clock: Any = None
) -> World:
    """A migrated platform with the trigger engine installed and one tenant."""
    clock = clock or FrozenClock(START)
    settings = Settings(
        database_url=database_url, secret_key="test-secret", instance_path=instance,
        upload_dir=instance / "uploads", testing=True, embedded_worker=False,
    )
    platform = Platform.from_settings(settings, clock=clock)
    try:
        upgrade(platform.engine)
        install(platform)
        with platform.session() as session:
            identity = IdentityService(session, clock)
            ws = identity.create_workspace("acme", "Acme")
            admin = identity.create_user(ws, "admin", role="admin")
            manager = identity.create_user(ws, "manager", role="manager", region="华东")
            rep = identity.create_user(ws, "rep", role="rep", region="华东", manager=manager.id)
            rep2 = identity.create_user(ws, "rep2", role="rep", region="华南", manager=manager.id)
    except BaseException:
        platform.dispose()  # no one else holds it yet
        raise
    if rig is not None:
        rig.slot.current = platform
    return World(platform, clock, mode, ws, admin, manager, rep, rep2, rig)


@pytest.fixture(params=["embedded", "celery"])
def world(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[World]:
    """A world per database × execution mode."""
    rig = request.getfixturevalue("celery_rig") if request.param == "celery" else None
    built = make_world(database_url, tmp_path / "instance", request.param, rig)
    try:
        yield built
    finally:
        if rig is not None:
            rig.slot.current = None
        built.platform.dispose()


@pytest.fixture
def embedded_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """A world on each database, embedded mode only (for tests of one mode's mechanics)."""
    built = make_world(database_url, tmp_path / "instance", "embedded", None)
    try:
        yield built
    finally:
        built.platform.dispose()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL schema (for tests that only make sense on PostgreSQL)."""
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()

    def drop() -> None:
        dropper = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with dropper.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        dropper.dispose()

    request.addfinalizer(drop)
    return f"{base}?options=-csearch_path%3D{schema}"
