"""Retention is edited on the admin console (zh/en, validation) and purged by `cairn purge`."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from runtime.automation.models import OutboxJob
from runtime.clock import FrozenClock, to_naive_utc
from runtime.platform import Platform
from runtime.retention import RetentionPolicy, retention_of
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install
from tests.integration.retention.conftest import TICKETS


def test_an_admin_edits_retention_and_sees_what_would_go(
    app: Flask, client: FlaskClient, tenant: Tenant, platform: Platform,
) -> None:
    token = sign_in_as(client, tenant.admin)
    page = client.get("/admin/retention", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "数据保留" in html and 'value="7"' in html and 'value="90"' in html

    refused = client.post("/admin/retention", data={
        "csrf_token": token, "outbox_days": "3", "runs_days": "5", "events_days": "x",
        "notifications_days": "30", "audit_days": "",
    }, headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "runs_days" in text and 'value="5"' in text and 'value="x"' in text
    with platform.session() as session:
        assert retention_of(session, tenant.workspace.id).outbox_days == 7  # nothing stored

    saved = client.post("/admin/retention", data={
        "csrf_token": token, "outbox_days": "3", "runs_days": "30", "events_days": "60",
        "notifications_days": "10", "audit_days": "365",
    }, headers={"Accept-Language": "zh-CN"})
    assert saved.status_code == 303
    with platform.session() as session:
        stored = retention_of(session, tenant.workspace.id)
    assert (stored.outbox_days, stored.runs_days, stored.events_days, stored.notifications_days,
            stored.audit_days) == (3, 30, 60, 10, 365)
    assert "数据保留设置已保存。" in client.get("/admin/retention").get_data(as_text=True)


def test_a_rep_may_not_see_retention(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.rep)
    assert client.get("/admin/retention").status_code in (302, 403, 404)


def test_cairn_purge_dry_run_prints_and_purge_deletes(
    app: Flask, admin_api: Api, tenant: Tenant, platform: Platform, clock: FrozenClock,
) -> None:
    install(admin_api, TICKETS)
    app_id = int(admin_api.get("/apps/support").get_json()["app"]["id"])
    at = to_naive_utc(clock.now() - timedelta(days=8))
    with platform.session() as session:
        for _ in range(3):
            session.add(OutboxJob(workspace_id=tenant.workspace.id, app_id=app_id, app_key="support",
                                  trigger_key="tag", kind="created", status="done", available_at=at,
                                  created_at=at, finished_at=at, payload={}))
        session.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "alpha: would delete outbox 3" in dry.output
    with platform.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxJob)) == 3
    done = runner.invoke(args=["purge", "--workspace", "alpha"])
    assert done.exit_code == 0 and "alpha: deleted outbox 3" in done.output, done.output
    with platform.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxJob)) == 0
        assert session.scalar(sa.select(RetentionPolicy.last_purge_at)) is not None
    assert "No workspace" in runner.invoke(args=["purge", "--workspace", "nope"]).output
