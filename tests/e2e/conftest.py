"""Browser tests: Debian's Chromium driven by Playwright against a live Cairn server.

The server is the real app (``web.create_app``) on a fresh SQLite database, served by
werkzeug on 127.0.0.1 with a random port in a thread of the test process. Tests seed data
through the REST API (:class:`Api`); only identities (workspace, users, tokens) are made
with the identity service, which the API does not expose. Without Chromium the tests skip
on a laptop and fail under ``CI=true`` (:func:`tests.conftest.need_service`).

Screenshots of key states go to ``test-artifacts/e2e/`` (git-ignored).

The server runs on a :class:`ShiftedClock`: the real time until a test moves it forward
(``live.clock.advance(timedelta(hours=49))``) to see time rules fire; sessions, CSRF
tokens and sweeps all read that clock.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from runtime.workspaces import IdentityService
from tests.conftest import need_service
from tests.unit.web.support import PASSWORD, Tenant, make_app, make_tenant, platform_of

#: How long a browser step may wait (for an element, a request, a condition). Generous on
#: purpose: a CI machine running two test workers at full load answers slowly, and a wait
#: that passes does not wait longer.
BROWSER_TIMEOUT_MS = 45_000

CHROMIUM = os.environ.get("CAIRN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PHONE = {"width": 390, "height": 844}
SHANGHAI = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12}


class ShiftedClock:
    """The system time plus an offset a test moves forward (time rules in a live server)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The real time, shifted (aware, UTC)."""
        with self._lock:
            return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        """Moves the clock forward by ``delta`` from now on."""
        with self._lock:
            self.offset += delta


class ApiError(AssertionError):
    """The API answered with an error status while seeding."""


@dataclass
class Api:
    """A tiny REST client with one user's bearer token (seeding only)."""

    base: str
    token: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Sends ``body`` as JSON; returns the decoded answer or raises :class:`ApiError`."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + "/api/v1" + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{method} {path} → {exc.code}: {exc.read()[:2000]!r}") from None
        return json.loads(raw) if raw else None

    def publish(self, definition: dict[str, Any]) -> int:
        """Imports and publishes an app definition; returns the app id."""
        imported = self.call("POST", "/apps", definition)
        key = imported["app"]["key"]
        self.call("POST", f"/apps/{key}/revisions/{imported['revision']['id']}/publish", {})
        return int(imported["app"]["id"])

    def create(self, app: str, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        """Creates a record; returns the API's answer (record and prompts)."""
        return self.call("POST", f"/apps/{app}/entities/{entity}/records", values)  # type: ignore[no-any-return]


@dataclass
class LiveServer:
    """A running Cairn server with one workspace (admin, manager, two reps)."""

    url: str
    app: Flask
    tenant: Tenant
    tokens: dict[str, str]
    clock: ShiftedClock

    def api(self, who: str = "admin") -> Api:
        """A REST client acting as ``who`` (admin, manager, rep, rep2)."""
        return Api(self.url, self.tokens[who])

    def username(self, who: str) -> str:
        """The login name of ``who``."""
        return f"{self.tenant.workspace.key}-{who}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (skips on a laptop without it; fails under CI)."""
    if not Path(CHROMIUM).exists():
        need_service("Chromium", f"{CHROMIUM} not found (apt-get install chromium fonts-wqy-microhei)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # any launch failure means "no usable browser here"
            need_service("Chromium", f"{CHROMIUM} did not start: {exc}")
            raise
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[LiveServer]:
    """A live server on a random port with a fresh database (one per test module)."""
    tmp = tmp_path_factory.mktemp("live")
    clock = ShiftedClock()
    app = make_app(tmp, clock=clock)
    tenant = make_tenant(app)
    platform = platform_of(app)
    tokens = {}
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        for who, user in (("admin", tenant.admin), ("manager", tenant.manager), ("rep", tenant.rep), ("rep2", tenant.rep2)):
            tokens[who] = identity.issue_token(identity.user(tenant.workspace.id, user.id), "e2e").token
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="cairn-e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, tenant, tokens, clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        platform.dispose()


@pytest.fixture
def phone(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A page in a phone-sized context (390×844, touch, zh-CN, geolocation in Shanghai)."""
    context = browser.new_context(
        base_url=live.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation=SHANGHAI,
        permissions=["geolocation"],
    )
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    # Report every Content-Security-Policy violation as a console error, whatever Chromium
    # itself prints for it (init scripts run outside the page's CSP).
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')"
        " + ' at ' + e.sourceFile + ':' + e.lineNumber));"
    )
    page = context.new_page()
    problems: list[str] = []
    documents: list[tuple[str, str | None]] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "response",
        lambda response: documents.append((response.url, response.headers.get("content-security-policy")))
        if response.request.resource_type == "document"
        else None,
    )
    page.on(
        "console",
        lambda message: problems.append(f"console: {message.text}")
        if message.type == "error" and "favicon" not in message.text
        else None,
    )
    yield page
    context.close()
    # A script error or a blocked resource (e.g. by the Content-Security-Policy) is a bug
    # even when the test's own checks passed.
    assert problems == [], problems
    # ... and the check above means something only if the pages were under the policy.
    assert documents, "no page was opened"
    unprotected = [url for url, csp in documents if not csp or "'unsafe-inline'" in csp]
    assert unprotected == [], unprotected


DESK = {"width": 1440, "height": 1000}


@pytest.fixture
def desk(browser: Any, live: LiveServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a desktop-sized context (1440×1000, mouse, zh-CN): the designer's admin.

    Like :func:`phone`, a script error or a console error fails the test, except console
    errors containing a text the test expects (``@pytest.mark.console_allows("409")``).
    """
    marker = request.node.get_closest_marker("console_allows")
    allowed = tuple(marker.args) if marker else ()
    context = browser.new_context(base_url=live.url, viewport=DESK, locale="zh-CN")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));"
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(f"console: {message.text}")
        if message.type == "error" and "favicon" not in message.text
        and not any(text in message.text for text in allowed)
        else None,
    )
    yield page
    context.close()
    assert problems == [], problems


def shot(page: Any, name: str) -> None:
    """Saves a full-page screenshot under ``test-artifacts/e2e``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


__all__ = ["PASSWORD", "Api", "LiveServer", "ShiftedClock", "shot"]
