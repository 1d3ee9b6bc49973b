"""The designer and the admin console let in workspace admins only."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Tenant


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    page = client.get("/design/")
    assert page.status_code == 302
    assert "/login" in page.headers["Location"]
    api = client.get("/design/", headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert api.get_json()["code"] == "unauthenticated"


def test_reps_and_managers_get_403(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.rep)
    page = client.get("/design/")
    assert page.status_code == 403
    assert "只有工作区管理员" in page.get_data(as_text=True) or "Only workspace admins" in page.get_data(as_text=True)
    assert 'data-testid="nav-design"' not in client.get("/").get_data(as_text=True)


def test_admins_get_the_shell_and_the_nav_link(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-design"' in home
    page = client.get("/design/")
    assert page.status_code == 200
    assert 'class="shell-rail"' in page.get_data(as_text=True)


def test_the_designer_page_loads_the_island_with_a_style_nonce(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    page = client.get("/design/")
    html = page.get_data(as_text=True)
    assert '<script type="module" src="/static/design/designer.js?v=' in html
    nonce = html.split('data-style-nonce="')[1].split('"')[0]
    assert len(nonce) >= 16
    policy = page.headers["Content-Security-Policy"]
    assert f"style-src 'self' 'nonce-{nonce}'" in policy
    assert "script-src 'self';" in policy
    # Every other page keeps the strict policy.
    assert "nonce-" not in client.get("/").headers["Content-Security-Policy"]


def test_an_empty_workspace_points_admins_to_the_designer(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    page = client.get("/a/").get_data(as_text=True)
    assert 'data-testid="start-designing"' in page and 'href="/design/"' in page


def test_an_empty_workspace_tells_reps_whom_to_ask(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.rep)
    page = client.get("/a/").get_data(as_text=True)
    assert 'data-testid="start-designing"' not in page
    assert "请联系工作区管理员发布应用。" in page or "Ask a workspace admin to publish an app." in page
