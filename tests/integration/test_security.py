"""Security headers, cookie flags, the sign-in / API-token throttle and password rehashing.

Each runs on SQLite and PostgreSQL (``database_url``); the throttle runs with its counts in
memory and in Redis (db 15, a fresh key prefix per test).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing.converters import NumberConverter

from runtime.clock import FrozenClock
from runtime.migrate import upgrade
from runtime.models import User
from runtime.passwords import check_password, needs_rehash
from runtime.platform import Platform
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Tenant, make_settings, make_tenant
from tests.unit.builder.fixtures import visit_app_definition
from web import create_app
from web.auth.throttle import SIGN_IN_PER_ADDRESS, FailureThrottle
from web.design.preview import PREVIEW_ENDPOINTS

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


def assert_security_headers(response: Any, what: str) -> None:
    for name in HEADERS:
        assert response.headers.get(name), f"{what}: no {name}"
    csp = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, what
    assert directives["script-src"] == ["'self'"], what
    assert directives["style-src"] == ["'self'"], what
    assert directives["frame-ancestors"] == ["'none'"], what
    assert response.headers["X-Frame-Options"] == "DENY", what
    assert response.headers["X-Content-Type-Options"] == "nosniff", what


def csrf(client: FlaskClient, **kwargs: Any) -> str:
    match = _META.search(client.get("/login", **kwargs).get_data(as_text=True))
    assert match
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str, address: str = "10.0.0.1") -> Any:
    environ = {"REMOTE_ADDR": address}
    token = csrf(client, environ_base=environ)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base=environ,
    )


# -- headers ------------------------------------------------------------------------------


def test_pages_api_answers_and_error_pages_carry_the_security_headers(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    @app.get("/__boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    bearer = {"Authorization": f"Bearer {tenant.admin_token}"}
    answers = {
        "sign-in page": client.get("/login"),
        "redirect to sign-in": client.get("/"),
        "page 404": client.get("/no/such/page"),
        "page 500": client.get("/__boom"),
        "stylesheet": client.get("/static/cairn.css"),
        "API 200": client.get("/api/v1/apps", headers=bearer),
        "API 401": client.get("/api/v1/apps"),
        "API 404": client.get("/api/v1/apps/nope", headers=bearer),
        "API 405": client.delete("/api/v1/openapi.json"),
        "OpenAPI document": client.get("/api/v1/openapi.json"),
    }
    assert answers["page 500"].status_code == 500
    assert answers["API 200"].status_code == 200
    for what, response in answers.items():
        assert_security_headers(response, what)
        response.close()


def test_docs_list_exactly_the_headers_sent(client: FlaskClient) -> None:
    """docs/web.md's header table is what a page carries, header for header, value for value."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text()
    documented = dict(re.findall(r"^\s*\| `([A-Za-z-]+)` \| `([^`]+)` \|$", docs, re.M))
    assert "Content-Security-Policy" in documented, "docs/web.md lost its header table"
    response = client.get("/login")
    for name, value in documented.items():
        assert response.headers.get(name) == value, f"docs/web.md says {name}: {value}"
    response.close()


def test_no_template_needs_inline_script_or_style() -> None:
    """CSP without 'unsafe-inline' blocks these, so none may be written in a template."""
    web = Path(__file__).resolve().parents[2] / "web"
    offenders = []
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style\b", re.I)
    for template in sorted(web.rglob("templates/**/*.html")):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            if inline.search(line):
                offenders.append(f"{template.relative_to(web)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def _directives(response: Any) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in response.headers["Content-Security-Policy"].split("; ")}


def test_the_phone_preview_may_be_framed_by_this_site_only(client: FlaskClient, tenant: Tenant) -> None:
    """The designer shows the preview in a frame of its own page: same origin, nobody else."""
    bearer = {"Authorization": f"Bearer {tenant.admin_token}"}
    app_id = client.post("/api/v1/apps", json=visit_app_definition(), headers=bearer).get_json()["app"]["id"]
    token = sign_in_as(client, tenant.admin)
    answers = {
        "preview": client.get(f"/design/apps/{app_id}/preview/visit"),
        "preview state": client.post(
            f"/design/apps/{app_id}/preview/visit/state", headers={"X-CSRFToken": token, "Accept": "application/json"}
        ),
        "preview of an unknown entity": client.get(f"/design/apps/{app_id}/preview/nothing"),
    }
    assert [a.status_code for a in answers.values()] == [200, 200, 404]
    for what, response in answers.items():
        directives = _directives(response)
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN", what
        assert directives["frame-ancestors"] == ["'self'"], what
        # Only the framing is relaxed: the rest of the policy is the strict one.
        assert {k: v for k, v in directives.items() if k != "frame-ancestors"} == {
            k: v for k, v in _directives(client.get("/login")).items() if k != "frame-ancestors"
        }, what
        response.close()


def test_every_other_route_still_refuses_to_be_framed(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    """GET every route of the app (as an admin, with placeholder arguments): only the
    preview routes answer with SAMEORIGIN; everything else — pages, the designer shell,
    API answers, 404s — keeps DENY and frame-ancestors 'none'."""
    bearer = {"Authorization": f"Bearer {tenant.admin_token}"}
    created = client.post("/api/v1/apps", json=visit_app_definition(), headers=bearer).get_json()
    client.post(f"/api/v1/apps/store_visits/revisions/{created['revision']['id']}/publish", json={}, headers=bearer)
    sign_in_as(client, tenant.admin)
    known: dict[str, Any] = {"app_key": "store_visits", "app_ref": "store_visits", "entity_key": "visit", "entity": "visit", "app_id": created["app"]["id"]}
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in PREVIEW_ENDPOINTS:
            continue
        args = {name: known.get(name, 1 if isinstance(rule._converters[name], NumberConverter) else "x") for name in rule.arguments}
        url = rule.build(args, append_unknown=False)[1]  # type: ignore[index]
        response = client.get(url, headers=bearer if url.startswith("/api/") else {})
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert _directives(response)["frame-ancestors"] == ["'none'"], url
        response.close()
        checked += 1
    assert checked > 20


# -- cookies ------------------------------------------------------------------------------


def _session_cookie(response: Any) -> str:
    cookies = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    assert cookies, response.headers
    return cookies[0]


def _make_app(database_url: str, tmp_path: Path, clock: FrozenClock, **overrides: Any) -> Flask:
    flask_app = create_app(make_settings(database_url, tmp_path / "instance", **overrides), clock=clock)
    upgrade(flask_app.extensions["cairn"].engine)
    return flask_app


@pytest.fixture
def app_with(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Callable[..., Flask]]:
    """Builds extra apps on the test's database with some settings changed; disposes them."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        flask_app = _make_app(database_url, tmp_path / f"app{len(made)}", clock, **overrides)
        made.append(flask_app)
        return flask_app

    yield make
    for flask_app in made:
        flask_app.extensions["cairn"].dispose()


def test_cookies_are_secure_over_https_and_behind_a_trusted_proxy(
    app: Flask, app_with: Callable[..., Flask]
) -> None:
    plain = app.test_client()
    assert "Secure" not in _session_cookie(plain.get("/login"))
    over_https = app.test_client().get("/login", base_url="https://cairn.example")
    assert "; Secure" in _session_cookie(over_https)
    assert "HttpOnly" in _session_cookie(over_https) and "SameSite=Lax" in _session_cookie(over_https)
    # Without a configured proxy, anyone could send X-Forwarded-Proto: it is ignored.
    spoofed = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in _session_cookie(spoofed)

    proxied = app_with(proxy_hops=1).test_client()
    behind = proxied.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "; Secure" in _session_cookie(behind)

    forced = app_with(secure_cookies=True).test_client()
    assert "; Secure" in _session_cookie(forced.get("/login"))


def test_api_answers_never_read_or_set_the_session_cookie(client: FlaskClient, tenant: Tenant) -> None:
    """The API is token-only: a browser's session cookie is not read (no user from it) and
    no answer of the API carries ``Set-Cookie`` or ``Vary: Cookie`` — success, refusal or error."""
    sign_in_as(client, tenant.admin)  # the client now sends a valid session cookie
    assert client.get_cookie("session") is not None
    bearer = {"Authorization": f"Bearer {tenant.admin_token}"}
    answers = {
        "API 200": client.get("/api/v1/apps", headers=bearer),
        "API 201": client.post("/api/v1/apps", json=visit_app_definition(), headers=bearer),
        "API 401 with only the cookie": client.get("/api/v1/apps"),
        "API 404": client.get("/api/v1/apps/nope", headers=bearer),
        "API 422": client.post("/api/v1/apps", json={"key": 1}, headers=bearer),
        "OpenAPI document": client.get("/api/v1/openapi.json"),
    }
    assert [a.status_code for a in answers.values()] == [200, 201, 401, 404, 422, 200]
    for what, response in answers.items():
        assert response.headers.getlist("Set-Cookie") == [], what
        assert "cookie" not in response.headers.get("Vary", "").lower(), what
        assert_security_headers(response, what)
        response.close()
    # Pages still keep the signed-in session.
    page = client.get("/")
    assert page.status_code == 200
    assert "cookie" in page.headers.get("Vary", "").lower()


# -- the throttle -------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for counting failures in memory or in Redis under a fresh prefix."""
    if request.param == "memory":
        return {"rate_limit_url": "memory://"}
    redis_url: str = request.getfixturevalue("redis_url")
    return {"rate_limit_url": redis_url, "rate_limit_prefix": f"test-{uuid.uuid4().hex}"}


def test_failed_sign_ins_lock_the_name_from_that_address_only(
    app_with: Callable[..., Flask], store: dict[str, str]
) -> None:
    flask_app = app_with(**store)
    make_tenant(flask_app.extensions["cairn"], "alpha")
    attacker = flask_app.test_client()
    for _ in range(5):
        assert sign_in(attacker, "alpha-rep", "guess-1234", "198.51.100.7").status_code == 401
    blocked = sign_in(attacker, "alpha-rep", "rep-password", "198.51.100.7")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    # The same name case-folded is the same key.
    assert sign_in(attacker, " ALPHA-REP", "rep-password", "198.51.100.7").status_code == 429
    # Another name from the attacker's address is not locked by this pair.
    assert sign_in(attacker, "alpha-manager", "guess-1234", "198.51.100.7").status_code == 401
    # The rep, from their own address, signs in as usual.
    assert sign_in(flask_app.test_client(), "alpha-rep", "rep-password", "10.1.2.3").status_code == 302


def test_failure_counts_are_shared_by_every_process_using_redis(
    app_with: Callable[..., Flask], redis_url: str
) -> None:
    shared = {"rate_limit_url": redis_url, "rate_limit_prefix": f"test-{uuid.uuid4().hex}"}
    first, second = app_with(**shared), app_with(**shared)
    make_tenant(first.extensions["cairn"], "alpha")
    for _ in range(5):
        assert sign_in(first.test_client(), "alpha-rep", "guess-1234").status_code == 401
    assert sign_in(second.test_client(), "alpha-rep", "rep-password").status_code == 429
    # A process with its own (memory) store knows nothing of those failures.
    alone = app_with(rate_limit_url="memory://")
    assert sign_in(alone.test_client(), "alpha-rep", "rep-password").status_code == 302


def test_a_successful_sign_in_clears_the_count_of_that_pair(
    app_with: Callable[..., Flask], store: dict[str, str]
) -> None:
    flask_app = app_with(**store)
    make_tenant(flask_app.extensions["cairn"], "alpha")
    client = flask_app.test_client()
    for _ in range(4):
        assert sign_in(client, "alpha-rep", "typo-12345").status_code == 401
    assert sign_in(client, "alpha-rep", "rep-password").status_code == 302
    client.post("/logout", data={"csrf_token": csrf(client, environ_base={"REMOTE_ADDR": "10.0.0.1"})}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    for _ in range(4):
        assert sign_in(client, "alpha-rep", "typo-12345").status_code == 401
    assert sign_in(client, "alpha-rep", "rep-password").status_code == 302


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_one_address_trying_many_names_is_stopped_without_touching_other_addresses(
    request: pytest.FixtureRequest, where: str
) -> None:
    if where == "memory":
        guard = FailureThrottle("memory://")
    else:
        guard = FailureThrottle(request.getfixturevalue("redis_url"), prefix=f"test-{uuid.uuid4().hex}")
    for number in range(SIGN_IN_PER_ADDRESS.amount):
        limits = guard.sign_in_limits(f"user{number}", "198.51.100.7")
        assert guard.wait(limits) is None
        guard.failed(limits)
    wait = guard.wait(guard.sign_in_limits("a-name-never-tried", "198.51.100.7"))
    assert wait is not None and 0 < wait <= 15 * 60
    assert guard.wait(guard.sign_in_limits("user0", "10.1.2.3")) is None


def test_guessing_api_tokens_is_stopped_per_address(
    app_with: Callable[..., Flask], store: dict[str, str]
) -> None:
    flask_app = app_with(**store)
    tenant = make_tenant(flask_app.extensions["cairn"], "alpha")
    client = flask_app.test_client()
    attacker = {"REMOTE_ADDR": "198.51.100.7"}
    for number in range(20):
        guess = client.get("/api/v1/apps", headers={"Authorization": f"Bearer cairn_guess{number}"}, environ_base=attacker)
        assert guess.status_code == 401
    blocked = client.get("/api/v1/apps", headers={"Authorization": "Bearer cairn_guess-more"}, environ_base=attacker)
    assert blocked.status_code == 429
    assert blocked.get_json()["code"] == "too_many_attempts"
    assert int(blocked.headers["Retry-After"]) > 0
    assert_security_headers(blocked, "API 429")
    # A real client elsewhere is not affected.
    fine = client.get(
        "/api/v1/apps", headers={"Authorization": f"Bearer {tenant.admin_token}"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert fine.status_code == 200


# -- password hashes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old_hash",
    [
        # Argon2id with weaker parameters than today's.
        lambda password: PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(password),
        # The PBKDF2-SHA256 format of earlier versions.
        lambda password: (
            "pbkdf2_sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==$"
            + __import__("base64").b64encode(
                __import__("hashlib").pbkdf2_hmac("sha256", password.encode(), b"saltsaltsaltsalt", 1000)
            ).decode()
        ),
    ],
    ids=["argon2-weak", "pbkdf2"],
)
def test_a_hash_made_with_old_parameters_is_upgraded_at_sign_in(
    app: Flask, platform: Platform, tenant: Tenant, old_hash: Callable[[str], str]
) -> None:
    stored = old_hash("rep-password")
    with platform.session() as session:
        session.execute(sa.update(User).where(User.id == tenant.rep.id).values(password_hash=stored))
        session.commit()
    assert needs_rehash(stored) and check_password(stored, "rep-password")

    assert sign_in(app.test_client(), "alpha-rep", "wrong-password").status_code == 401
    with platform.session() as session:
        assert session.get(User, tenant.rep.id).password_hash == stored  # type: ignore[union-attr]

    assert sign_in(app.test_client(), "alpha-rep", "rep-password").status_code == 302
    with platform.session() as session:
        upgraded = session.get(User, tenant.rep.id).password_hash  # type: ignore[union-attr]
    assert upgraded != stored and upgraded is not None
    assert upgraded.startswith("$argon2id$") and not needs_rehash(upgraded)
    assert check_password(upgraded, "rep-password") and not check_password(upgraded, "wrong-password")
