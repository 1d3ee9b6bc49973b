"""Workspaces made by the platform operator — through the CLI and the platform API (its own
credential, which is no user's token) — each with its own admin."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from runtime.platform import Platform
from tests.integration.browser_session import sign_in
from tests.integration.conftest import Api, Tenant

OPERATOR = "platform-operator-secret-" + "k" * 24


def test_platform_api_needs_the_operator_token(platform: Platform, client: FlaskClient, tenant: Tenant) -> None:
    operator = Api(client, OPERATOR)
    off = operator.get("/platform/workspaces")
    assert off.status_code == 401 and "CAIRN_PLATFORM_TOKEN" in off.get_json()["detail"]
    platform.settings = platform.settings.with_overrides(platform_token="too-short")
    assert Api(client, "too-short").get("/platform/workspaces").status_code == 401  # a guessable one stays off
    platform.settings = platform.settings.with_overrides(platform_token=OPERATOR)
    # A workspace admin's token is not the operator's.
    assert Api(client, tenant.admin_token).post("/platform/workspaces", json={"key": "x"}).status_code == 401
    assert Api(client, "wrong").get("/platform/workspaces").status_code == 401
    # ... and the operator's token opens no workspace.
    assert operator.get("/users").status_code == 401

    created = operator.post("/platform/workspaces", json={"key": "delta", "name": "Delta 公司", "admin_username": "delta-boss"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["workspace"]["key"] == "delta" and body["admin"]["role"] == "admin"
    assert sign_in(client, "delta-boss", body["password"]).status_code == 302
    delta_admin = Api(client, body["token"])
    assert [u["username"] for u in delta_admin.get("/users").get_json()["items"]] == ["delta-boss"]
    assert delta_admin.get(f"/users/{tenant.rep.id}").status_code == 404
    keys = [w["key"] for w in operator.get("/platform/workspaces").get_json()["items"]]
    assert keys == ["alpha", "delta"]

    taken = operator.post("/platform/workspaces", json={"key": "delta"})
    assert taken.status_code == 409 and taken.get_json()["code"] == "workspace_exists"
    name_taken = operator.post("/platform/workspaces", json={"key": "echo", "admin_username": "delta-boss"})
    assert name_taken.status_code == 409 and name_taken.get_json()["code"] == "username_taken"
    wrong = operator.post("/platform/workspaces", json={"key": "Echo!", "timezone": "Mars/Base"})
    assert wrong.status_code == 422 and set(wrong.get_json()["errors"]) == {"key", "timezone"}


def test_cli_creates_a_workspace_with_its_admin(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-workspace", "foxtrot", "--name", "Foxtrot", "--admin-username", "fox-admin"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].split()[0]
    token = result.output.split("API token: ")[1].split()[0]
    assert sign_in(client, "fox-admin", password).status_code == 302
    assert [u["username"] for u in Api(client, token).get("/users").get_json()["items"]] == ["fox-admin"]
    again = runner.invoke(args=["create-workspace", "foxtrot"])
    assert again.exit_code != 0 and "exists already" in again.output
