"""Fixtures of the web unit tests: an app on a fresh SQLite file, users, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.unit.web.support import PASSWORD, Tenant, make_app, make_tenant, platform_of

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """A Cairn app on a fresh, migrated SQLite database (its engine disposed afterwards)."""
    flask_app = make_app(tmp_path)
    yield flask_app
    platform_of(flask_app).dispose()


@pytest.fixture
def tenant(app: Flask) -> Tenant:
    """Workspace ``acme`` with an admin, a manager and two reps."""
    return make_tenant(app, "acme")


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The session's CSRF token, read from a page's ``<meta name="csrf-token">``."""
    page = client.get(path)
    match = _META.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Signs ``client`` in through the sign-in form."""
    token = csrf_token(client)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def client_for(app: Flask) -> Callable[[str], FlaskClient]:
    """``client_for("acme-rep")``: a test client signed in as that user."""

    def make(username: str) -> FlaskClient:
        client = app.test_client()
        sign_in(client, username)
        return client

    return make
