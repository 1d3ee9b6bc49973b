"""Fixtures of the designer's API tests: signed-in browser clients calling /design/api."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Tenant


class Designer:
    """A signed-in browser session calling ``/design/api`` with its CSRF header."""

    def __init__(self, app: Flask, user: Any) -> None:
        self.client = app.test_client()
        self.token = sign_in_as(self.client, user)

    def _headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.token, "Accept": "application/json"}

    def get(self, path: str) -> Any:
        """GET /design/api + path."""
        return self.client.get("/design/api" + path, headers=self._headers())

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST JSON."""
        return self.client.post("/design/api" + path, json=json, headers=self._headers(), **kwargs)

    def put(self, path: str, json: Any = None) -> Any:
        """PUT JSON."""
        return self.client.put("/design/api" + path, json=json, headers=self._headers())

    def patch(self, path: str, json: Any = None) -> Any:
        """PATCH JSON."""
        return self.client.patch("/design/api" + path, json=json, headers=self._headers())

    def delete(self, path: str) -> Any:
        """DELETE."""
        return self.client.delete("/design/api" + path, headers=self._headers())

    def ok(self, response: Any, status: int = 200) -> Any:
        """The JSON body of ``response``, asserting its status."""
        assert response.status_code == status, response.get_data(as_text=True)[:2000]
        return response.get_json()


@pytest.fixture
def designer(app: Flask, tenant: Tenant) -> Designer:
    """Workspace A's admin in the designer."""
    return Designer(app, tenant.admin)


@pytest.fixture
def rep_designer(app: Flask, tenant: Tenant) -> Designer:
    """Workspace A's rep trying the designer."""
    return Designer(app, tenant.rep)


@pytest.fixture
def other_designer(app: Flask, other_tenant: Tenant) -> Designer:
    """Workspace B's admin in the designer."""
    return Designer(app, other_tenant.admin)
