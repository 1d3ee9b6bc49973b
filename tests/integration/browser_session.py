"""Signing in through the pages with a Flask test client (session cookie + CSRF token)."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

PASSWORDS = {"admin": "admin-password", "manager": "manager-password", "rep": "rep-password"}


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read off a page's ``<meta>``."""
    match = _META.search(client.get(path).get_data(as_text=True))
    assert match, "the page carries no csrf-token meta"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str) -> Any:
    """Posts the sign-in form; returns the answer (302 on success)."""
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


def sign_in_as(client: FlaskClient, user: Any) -> str:
    """Signs ``user`` (one of a Tenant's users) in and returns the CSRF token for JSON calls."""
    answer = sign_in(client, user.username, PASSWORDS[user.role])
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return csrf_token(client, "/")
