"""The inbox: the bell's unread count on every page, the inbox page with links to records,
mark read one and all, the API's counterpart, and the today page's "needs you"."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient

from builder.repository import AppRow
from runtime.automation.models import InboxNotification
from runtime.clock import to_naive_utc
from runtime.platform import Platform
from tests.integration.admin_people.support import books_app, post_form, text_of
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install


def _notify(platform: Platform, tenant: Tenant, user_id: int, title: str, *, app_id: int | None = None,
            record_id: int | None = None, minutes: int = 0) -> int:
    with platform.session() as session:
        row = InboxNotification(
            workspace_id=tenant.workspace.id, user_id=user_id, app_id=app_id,
            entity="invoice" if record_id else None, record_id=record_id, trigger_key="s6_timeout",
            title=title, message=f"{title}: 需要处理", level="warning",
            created_at=to_naive_utc(platform.clock.now() + timedelta(minutes=minutes)),
        )
        session.add(row)
        session.commit()
        return row.id


def _app_id(platform: Platform) -> int:
    with platform.session() as session:
        return int(session.scalar(sa.select(AppRow.id).where(AppRow.key == "books")) or 0)


def test_bell_inbox_page_and_mark_read(client: FlaskClient, platform: Platform, tenant: Tenant, admin_api: Api) -> None:
    install(admin_api, books_app())
    app_id = _app_id(platform)
    record = admin_api.post("/apps/books/entities/invoice/records", json={"name": "发票", "region": "华东"}).get_json()["record"]["id"]
    first = _notify(platform, tenant, tenant.manager.id, "需求确认超时", app_id=app_id, record_id=record)
    second = _notify(platform, tenant, tenant.manager.id, "另一条", minutes=1)
    _notify(platform, tenant, tenant.rep.id, "别人的")  # another user's: never counted here

    sign_in_as(client, tenant.manager)
    for path in ("/", "/inbox", "/apps", "/account/password"):
        html = client.get(path).get_data(as_text=True)
        assert 'data-testid="bell-count">2<' in html, path
    page = client.get("/inbox")
    assert "需求确认超时" in text_of(page) and "别人的" not in text_of(page)
    # Open the record: marks it read and goes to the record's page.
    opened = post_form(client, f"/inbox/{first}/read", {"open": "1"})
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/a/books/invoice/{record}")
    assert 'data-testid="bell-count">1<' in client.get("/").get_data(as_text=True)
    # Someone else's notification is not found.
    assert post_form(client, f"/inbox/{second + 1}/read", {}).status_code == 404
    # Mark all read: the bell shows no count.
    assert post_form(client, "/inbox/read-all", {}).status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="bell-count"' not in html and 'data-testid="bell"' in html
    assert 'data-testid="inbox-empty"' in client.get("/inbox?unread=1").get_data(as_text=True)
    assert "需求确认超时" in text_of(client.get("/inbox"))  # read ones stay in "all"


def test_today_page_shows_what_needs_the_rep(client: FlaskClient, platform: Platform, tenant: Tenant) -> None:
    sign_in_as(client, tenant.rep)
    assert 'data-testid="needs-you"' not in client.get("/").get_data(as_text=True)
    _notify(platform, tenant, tenant.rep.id, "客户华联 48 小时未确认需求")
    today = client.get("/")
    assert 'data-testid="needs-you"' in today.get_data(as_text=True)
    assert "客户华联 48 小时未确认需求" in text_of(today)
    zh = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert "需要你处理" in text_of(zh)
    post_form(client, "/inbox/read-all", {})
    assert 'data-testid="needs-you"' not in client.get("/").get_data(as_text=True)


def test_inbox_api_links_and_unread(platform: Platform, tenant: Tenant, client: FlaskClient, admin_api: Api) -> None:
    install(admin_api, books_app())
    app_id = _app_id(platform)
    nid = _notify(platform, tenant, tenant.rep.id, "带链接", app_id=app_id, record_id=7)
    rep = Api(client, tenant.rep_token)
    items = rep.get("/inbox?unread=1").get_json()["items"]
    assert [(i["id"], i["app"], i["entity"], i["record_id"]) for i in items] == [(nid, "books", "invoice", 7)]
    assert rep.post(f"/inbox/{nid}/read").status_code == 200
    assert rep.get("/inbox?unread=1").get_json()["items"] == []
    _notify(platform, tenant, tenant.rep.id, "一")
    _notify(platform, tenant, tenant.rep.id, "二")
    assert rep.post("/inbox/read-all").get_json() == {"marked": 2}
    assert rep.get("/inbox?unread=1").get_json()["items"] == []
    assert rep.post("/inbox/read-all").get_json() == {"marked": 0}
    sign_in_as(client, tenant.rep)
    html = client.get("/inbox").get_data(as_text=True)
    assert 'data-testid="open-' in html  # a link to the record


def test_bell_caps_at_99_plus(client: FlaskClient, platform: Platform, tenant: Tenant) -> None:
    with platform.session() as session:
        session.add_all([
            InboxNotification(workspace_id=tenant.workspace.id, user_id=tenant.rep.id, title=f"n{i}", message="m",
                              level="info", created_at=to_naive_utc(platform.clock.now()))
            for i in range(100)
        ])
        session.commit()
    sign_in_as(client, tenant.rep)
    assert 'data-testid="bell-count">99+<' in client.get("/inbox").get_data(as_text=True)
    post_form(client, f"/inbox/{_first_id(platform, tenant)}/read", {})
    assert 'data-testid="bell-count">99<' in client.get("/inbox").get_data(as_text=True)


def _first_id(platform: Platform, tenant: Tenant) -> int:
    with platform.session() as session:
        return int(session.scalar(sa.select(sa.func.min(InboxNotification.id)).where(
            InboxNotification.user_id == tenant.rep.id)) or 0)


def test_notify_actions_in_app_channel_reaches_the_bell_and_the_inbox(
    client: FlaskClient, platform: Platform, tenant: Tenant, admin_api: Api, rep_api: Api
) -> None:
    from runtime.automation.embedded import EmbeddedWorker
    from tests.integration.test_write_round_trips import DEALS, perf_app

    install(admin_api, perf_app())  # three triggers notify the owner through the inbox on create
    created = rep_api.post(DEALS, json={"name": "华联大单"})
    assert created.status_code == 201
    record = created.get_json()["record"]["id"]
    EmbeddedWorker(platform).drain()
    sign_in_as(client, tenant.rep)
    assert 'data-testid="bell-count">3<' in client.get("/").get_data(as_text=True)
    page = client.get("/inbox")
    assert text_of(page).count("新商机 华联大单") == 3
    first = rep_api.get("/inbox").get_json()["items"][0]
    opened = post_form(client, f"/inbox/{first['id']}/read", {"open": "1"})
    assert opened.headers["Location"].endswith(f"/a/perf/deal/{record}")
    assert 'data-testid="bell-count">2<' in client.get("/").get_data(as_text=True)
