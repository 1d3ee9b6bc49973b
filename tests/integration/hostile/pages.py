"""Driving the generated pages as a person (or an attacker with a browser) would."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.unit.web.conftest import csrf_token, sign_in


def csrf(client: FlaskClient, path: str) -> str:
    """The session's CSRF token, read from the page at ``path``."""
    return csrf_token(client, path)


def browser(app: Flask, username: str, password: str) -> FlaskClient:
    """A test client signed in through the sign-in form."""
    client = app.test_client()
    sign_in(client, username, password)
    return client
