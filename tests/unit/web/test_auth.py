"""Sign-in, sign-out, sessions, CSRF and the language of the UI."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.models import User
from runtime.workspaces import IdentityService
from tests.unit.web.conftest import csrf_token, sign_in
from tests.unit.web.support import PASSWORD, Tenant, platform_of, visit_app
from web.auth.views import safe_next


def test_pages_need_a_signed_in_user(app: Flask, tenant: Tenant) -> None:
    client = app.test_client()
    response = client.get("/a/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get("/").headers["Location"] == "/login"


def test_sign_in_with_the_right_password_opens_today(app: Flask, tenant: Tenant) -> None:
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": "acme-rep", "password": PASSWORD, "csrf_token": token, "next": "/a/"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/a/"
    home = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert home.status_code == 200
    assert "李销售" in home.get_data(as_text=True)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(app: Flask, tenant: Tenant) -> None:
    client = app.test_client()
    token = csrf_token(client)
    wrong = client.post("/login", data={"username": "acme-rep", "password": "nope-nope", "csrf_token": token})
    unknown = client.post("/login", data={"username": "nobody", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert client.get("/a/").status_code == 302


def test_a_deactivated_user_is_signed_out_on_the_next_request(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("acme-rep")
    assert client.get("/a/").status_code == 200
    with platform_of(app).session() as session:
        user = session.get(User, tenant.rep.id)
        assert user is not None
        user.is_active = False
        session.commit()
    assert client.get("/a/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/a/store_visits/visit/1/edit", "/a/store_visits/visit/1/edit"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_after_sign_in_only_local_paths_are_followed(target: str | None, expected: str) -> None:
    assert safe_next(target, "/") == expected


def test_sign_out_is_a_post_with_the_csrf_token(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("acme-rep")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/a/").status_code == 200
    token = csrf_token(client, "/a/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/a/").status_code == 302


def test_every_browser_post_without_a_csrf_token_is_400(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    from tests.unit.web.support import publish

    publish(app, tenant, visit_app())
    anonymous = app.test_client()
    assert anonymous.post("/login", data={"username": "acme-rep", "password": PASSWORD}).status_code == 400
    client = client_for("acme-rep")
    for path in (
        "/a/store_visits/customer/new",
        "/a/store_visits/visit/state",
        "/a/store_visits/visit/upload/shelf_photos",
        "/locale",
    ):
        response = client.post(path, data={"v-name": "x"})
        assert response.status_code == 400, path
    # A wrong token is as bad as none.
    response = client.post("/a/store_visits/customer/new", data={"v-name": "x", "v-csrf_token": "forged"})
    assert response.status_code == 400
    # The header form of the token (used by the page's script) is accepted.
    token = csrf_token(client, "/a/")
    ok = client.post("/a/store_visits/visit/state", data={}, headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert ok.status_code == 200


def test_the_token_authenticated_api_needs_no_csrf_token(app: Flask, tenant: Tenant) -> None:
    with platform_of(app).session() as session:
        identity = IdentityService(session, platform_of(app).clock)
        token = identity.issue_token(identity.user(tenant.workspace.id, tenant.admin.id)).token
    client = app.test_client()
    response = client.post("/api/v1/apps", json=visit_app(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_data(as_text=True)[:500]


def test_the_ui_language_follows_the_browser_then_the_switcher(app: Flask, tenant: Tenant) -> None:
    client = app.test_client()
    assert "<h1>Sign in</h1>" in client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "<h1>登录</h1>" in client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "<h1>登录</h1>" in client.get("/login").get_data(as_text=True)  # default: Chinese
    token = csrf_token(client)
    client.post("/locale", data={"locale": "en", "csrf_token": token, "next": "/login"})
    assert "<h1>Sign in</h1>" in client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_the_users_own_language_setting_wins_over_the_browser(app: Flask, tenant: Tenant) -> None:
    with platform_of(app).session() as session:
        user = session.get(User, tenant.rep.id)
        assert user is not None
        user.locale = "en"
        session.commit()
    client = app.test_client()
    sign_in(client, "acme-rep")
    page = client.get("/a/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Sign out" in page and "退出" not in page


def test_repeated_failed_sign_ins_are_throttled(app: Flask, tenant: Tenant) -> None:
    client = app.test_client()
    token = csrf_token(client)
    for _ in range(5):
        assert client.post("/login", data={"username": "acme-rep", "password": "guess-123", "csrf_token": token}).status_code == 401
    blocked = client.post("/login", data={"username": "acme-rep", "password": PASSWORD, "csrf_token": token}, headers={"Accept-Language": "zh-CN"})
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    other = client.post("/login", data={"username": "acme-manager", "password": "guess-123", "csrf_token": token})
    assert other.status_code == 401  # another name is not blocked
    # The same person from another address is not locked out by the guesses.
    elsewhere = app.test_client()
    token = csrf_token(elsewhere)
    again = elsewhere.post(
        "/login",
        data={"username": "acme-rep", "password": PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert again.status_code == 302
