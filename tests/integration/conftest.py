"""Fixtures for integration tests: a migrated database, an app, two workspaces, API clients.

Everything runs once on SQLite and once on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.clock import FrozenClock
from runtime.migrate import upgrade
from runtime.models import User, Workspace
from runtime.platform import Platform
from runtime.settings import Settings
from runtime.workspaces import IdentityService
from web import create_app

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make_settings(database_url: str, instance: Path, **overrides: Any) -> Settings:
    """Settings for a test app on ``database_url`` with its instance folder in ``instance``."""
    base = Settings(
        database_url=database_url,
        secret_key="test-secret-key",
        instance_path=instance,
        upload_dir=instance / "uploads",
        testing=True,
        embedded_worker=False,
    )
    return base.with_overrides(**overrides)


@dataclass
class Tenant:
    """A workspace with an admin, a manager and a rep, and their API tokens."""

    workspace: Workspace
    admin: User
    manager: User
    rep: User
    admin_token: str
    manager_token: str
    rep_token: str


class Api:
    """A thin JSON client with a bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET /api/v1 + path."""
        return self.client.get("/api/v1" + path, headers=self._headers(), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST JSON."""
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(), **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """PATCH JSON."""
        return self.client.patch("/api/v1" + path, json=json, headers=self._headers(), **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """PUT JSON."""
        return self.client.put("/api/v1" + path, json=json, headers=self._headers(), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE."""
        return self.client.delete("/api/v1" + path, headers=self._headers(), **kwargs)


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock the test can advance."""
    return FrozenClock(START)


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Flask]:
    """A Cairn app on a freshly migrated database."""
    flask_app = create_app(make_settings(database_url, tmp_path / "instance"), clock=clock)
    platform: Platform = flask_app.extensions["cairn"]
    try:
        upgrade(platform.engine)
        yield flask_app
    finally:
        platform.dispose()


@pytest.fixture
def platform(app: Flask) -> Platform:
    """The app's platform (engine, sessions, clock)."""
    return app.extensions["cairn"]  # type: ignore[no-any-return]


def make_tenant(platform: Platform, key: str) -> Tenant:
    """A workspace with three users and their tokens."""
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        ws = identity.create_workspace(key, f"Workspace {key}")
        admin = identity.create_user(ws, f"{key}-admin", password="admin-password", role="admin")
        manager = identity.create_user(ws, f"{key}-manager", password="manager-password", role="manager", region="华东")
        rep = identity.create_user(ws, f"{key}-rep", password="rep-password", role="rep", region="华东", manager=manager.id)
        return Tenant(
            ws, admin, manager, rep,
            identity.issue_token(admin).token,
            identity.issue_token(manager).token,
            identity.issue_token(rep).token,
        )


@pytest.fixture
def tenant(platform: Platform) -> Tenant:
    """Workspace A."""
    return make_tenant(platform, "alpha")


@pytest.fixture
def other_tenant(platform: Platform) -> Tenant:
    """Workspace B."""
    return make_tenant(platform, "beta")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client."""
    return app.test_client()


@pytest.fixture
def admin_api(client: FlaskClient, tenant: Tenant) -> Api:
    """The API as workspace A's admin."""
    return Api(client, tenant.admin_token)


@pytest.fixture
def rep_api(client: FlaskClient, tenant: Tenant) -> Api:
    """The API as workspace A's rep."""
    return Api(client, tenant.rep_token)


def install(api: Api, definition: dict[str, Any]) -> dict[str, Any]:
    """Imports and publishes ``definition``; returns the publish response."""
    created = api.post("/apps", json=definition)
    assert created.status_code == 201, created.get_json()
    revision = created.get_json()["revision"]["id"]
    published = api.post(f"/apps/{definition['key']}/revisions/{revision}/publish", json={})
    assert published.status_code == 200, published.get_json()
    return published.get_json()  # type: ignore[no-any-return]
