"""A migrated database with a workspace, reps and the published sales app, on both databases."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from runtime.apps import AppService, PublishedApp, load_published
from runtime.automation.actions.base import ActionContext
from runtime.clock import FrozenClock
from runtime.context import Actor, CallContext
from runtime.db import make_engine, make_session_factory
from runtime.migrate import upgrade
from runtime.models import User, Workspace
from runtime.records import RecordService
from runtime.settings import Settings
from runtime.workspaces import IdentityService
from tests.integration.actions.sales_app import sales_definition

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class World:
    """Everything an action test needs; ``session`` is the test's open session."""

    session: Session
    workspace: Workspace
    admin: User
    users: dict[str, User]
    app: PublishedApp
    clock: FrozenClock
    settings: Settings
    jobs: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    def call(self, actor: Actor | None = None) -> CallContext:
        """A call context as ``actor`` (default: the automation's system actor)."""
        return CallContext(
            session=self.session,
            workspace=self.workspace,
            actor=actor or Actor.system(self.workspace.id),
            clock=self.clock,
            extras=dict(self.extras),
        )

    def create(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Creates a record as the admin; returns it."""
        service = RecordService(self.call(Actor.of(self.admin)), self.app)
        return service.create(entity, dict(values)).record

    def get(self, entity: str, record_id: int) -> dict[str, Any]:
        """The record as stored now."""
        return RecordService(self.call(Actor.of(self.admin)), self.app).get(entity, record_id)

    def action(
        self,
        entity: str | None,
        record: Mapping[str, Any] | None,
        *,
        trigger_key: str = "test_trigger",
        key: str | None = None,
        settings: Settings | None = None,
    ) -> ActionContext:
        """An action context for ``record`` with a fresh idempotency key (unless given)."""
        self.jobs += 1
        return ActionContext(
            call=self.call(),
            app=self.app,
            settings=settings or self.settings,
            trigger_key=trigger_key,
            entity=entity or "",
            record_id=None if record is None else record.get("id"),
            record=record,
            idempotency_key=key or f"{self.jobs}:0",
        )


def make_world(database_url: str, tmp_path: Path, reps: list[tuple[str, str | None]]) -> Iterator[World]:
    """Migrates ``database_url``, adds a workspace with an admin and ``reps`` (name, region),
    publishes the sales app, and yields the world (the session is closed afterwards)."""
    engine = make_engine(database_url)
    upgrade(engine)
    factory: sessionmaker[Session] = make_session_factory(engine)
    clock = FrozenClock(START)
    session = factory()
    try:
        identity = IdentityService(session, clock)
        workspace = identity.create_workspace("acme", "Acme", timezone="Asia/Shanghai")
        admin = identity.create_user(workspace, "admin@acme.test", role="admin")
        manager = identity.create_user(workspace, "boss@acme.test", name="boss", role="manager", region="east")
        users = {"boss": manager}
        for name, region in reps:
            users[name] = identity.create_user(
                workspace, f"{name}@acme.test", name=name, role="rep", region=region, manager=manager.id
            )
        admin_call = CallContext(session, workspace, Actor.of(admin), clock)
        service = AppService(admin_call)
        revision = service.import_definition(sales_definition())
        service.publish(revision.id)
        app = load_published(session, workspace.id, "sales")
        settings = Settings(
            database_url=database_url,
            secret_key="test",
            instance_path=tmp_path,
            testing=True,
            webhook_allowlist=("127.0.0.1", "::1"),
        )
        yield World(session, workspace, admin, users, app, clock, settings)
    finally:
        session.close()
        engine.dispose()


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """Three reps (ann, bob, cat) in region east, and dan in region west."""
    yield from make_world(
        database_url, tmp_path, [("ann", "east"), ("bob", "east"), ("cat", "east"), ("dan", "west")]
    )
