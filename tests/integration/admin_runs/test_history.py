"""Run history (S34): filters, keyset pages, other workspaces' runs invisible, admins only
on the pages, and the retry of a failed action through the outbox."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from runtime.automation.models import OutboxJob
from runtime.clock import FrozenClock
from tests.integration.admin_runs.conftest import (
    CUSTOMERS,
    RUNS,
    crm_app,
    customer,
    drain,
    platform_of,
)
from tests.integration.browser_session import csrf_token, sign_in_as
from tests.integration.conftest import Api, Tenant, install


def _runs(api: Api, query: str = "") -> list[dict[str, Any]]:
    answer = api.get(f"{RUNS}?{query}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"]  # type: ignore[no-any-return]


@pytest.fixture
def history(app: Flask, crm: Any, rep_api: Api, clock: FrozenClock) -> dict[str, Any]:
    """Six make_task runs over three days: ok, failed, ok on day 1; failed on day 2; ok, ok on day 3."""
    made: list[dict[str, Any]] = []
    for day, notes in enumerate((["a", None, "b"], [None], ["c", "d"])):
        for note in notes:
            made.append(customer(rep_api, name=f"客户 {len(made)}", **({"note": note} if note else {})))
        drain(app)
        if day < 2:
            clock.advance(timedelta(days=1))
    return {"customers": made}


def test_filters_by_rule_outcome_record_and_time(admin_api: Api, history: dict[str, Any]) -> None:
    everything = _runs(admin_api, "rule=make_task")
    assert [r["status"] for r in everything] == ["succeeded", "succeeded", "failed", "succeeded", "failed", "succeeded"]
    assert [r["id"] for r in everything] == sorted((r["id"] for r in everything), reverse=True)  # newest first
    failed = _runs(admin_api, "rule=make_task&outcome=failure")
    assert [r["record_id"] for r in failed] == [history["customers"][3]["id"], history["customers"][1]["id"]]
    assert all(r["cause"] == "invalid_write" for r in failed)
    assert len(_runs(admin_api, "rule=make_task&outcome=success")) == 4
    assert len(_runs(admin_api, "status=failed&trigger=make_task")) == 2
    one = history["customers"][2]
    (run,) = _runs(admin_api, f"record={one['id']}&rule=make_task")
    created = run["actions"][0]["changes"]
    assert {c["field"]: c["after"] for c in created}["title"] == "b" and all(c["before"] is None for c in created)
    # Time: the workspace's dates (Asia/Shanghai); the fixture's clock starts 2026-11-23 17:00 there.
    assert len(_runs(admin_api, "rule=make_task&since=2026-11-24&until=2026-11-24")) == 1
    assert len(_runs(admin_api, "rule=make_task&since=2026-11-25")) == 2
    assert len(_runs(admin_api, "rule=make_task&until=2026-11-23")) == 3
    assert _runs(admin_api, "rule=nope") == []
    assert len(_runs(admin_api, "rule=make_task&cause=invalid_write")) == 2
    assert _runs(admin_api, "rule=make_task&cause=missing_manager") == []
    for bad, name in (("outcome=maybe", "outcome"), ("record=abc", "record"), ("since=yesterday", "since"),
                      ("cause=bad_luck", "cause"),
                      ("since=2026-11-25&until=2026-11-24", "since")):
        answer = admin_api.get(f"{RUNS}?{bad}")
        assert answer.status_code == 422 and name in answer.get_json()["errors"], (bad, answer.get_json())
        assert answer.get_json()["detail_zh"]


def test_keyset_pages_cover_every_run_once(admin_api: Api, history: dict[str, Any]) -> None:
    seen: list[int] = []
    query = "rule=make_task&limit=4"
    page = admin_api.get(f"{RUNS}?{query}").get_json()
    seen += [r["id"] for r in page["items"]]
    assert len(page["items"]) == 4 and page["next_before"] == seen[-1]
    page = admin_api.get(f"{RUNS}?{query}&before={page['next_before']}").get_json()
    seen += [r["id"] for r in page["items"]]
    assert len(page["items"]) == 2 and page["next_before"] is None
    assert seen == sorted(set(seen), reverse=True) and len(seen) == 6


def test_the_page_filters_pages_and_links_the_record(
    app: Flask, client: FlaskClient, tenant: Tenant, history: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import web.admin.runs as runs_page

    monkeypatch.setattr(runs_page, "PAGE_SIZE", 4)
    sign_in_as(client, tenant.admin)
    first = client.get("/admin/runs?app=crm&rule=make_task")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert html.count('data-testid="run"') == 4
    older = re.search(r'href="([^"]+)"[^>]*data-testid="older"', html)
    assert older is not None
    next_url = older.group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert second.count('data-testid="run"') == 2 and 'data-testid="older"' not in second
    # htmx asks for the rows alone, which go below the ones already shown.
    rows = client.get(next_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert rows.count('data-testid="run"') == 2 and "<html" not in rows
    failed = client.get("/admin/runs?app=crm&rule=make_task&outcome=failure").get_data(as_text=True)
    assert failed.count('data-testid="run"') == 2 and 'data-cause="invalid_write"' in failed
    record = history["customers"][0]
    assert f'href="/a/crm/customer/{record["id"]}"' in html or f'/a/crm/customer/{record["id"]}' in second
    bad = client.get("/admin/runs?app=crm&since=not-a-date")
    assert bad.status_code == 422 and 'data-testid="filter-error"' in bad.get_data(as_text=True)
    assert 'data-testid="rail-runs"' in html and 'data-testid="rail-health"' in html


def test_other_workspaces_runs_are_invisible(
    app: Flask, client: FlaskClient, admin_api: Api, other_tenant: Tenant, history: dict[str, Any],
) -> None:
    other = Api(client, other_tenant.admin_token)
    assert other.get(RUNS).status_code == 404  # workspace B has no crm app
    install(other, crm_app())
    assert _runs(other) == []
    run = _runs(admin_api, "rule=make_task&outcome=failure")[0]
    assert other.get(f"{RUNS}/{run['id']}").status_code == 404
    assert admin_api.get(f"{RUNS}/{run['id']}").get_json()["id"] == run["id"]
    action = run["actions"][0]["id"]
    assert other.post(f"/apps/crm/automation/action-runs/{action}/retry").status_code == 404
    assert other.get("/apps/crm/automation/health").get_json()["items"] == []
    sign_in_as(client, other_tenant.admin)
    assert 'data-testid="run"' not in client.get("/admin/runs?app=crm").get_data(as_text=True)


def test_non_admins_get_403_on_the_pages_and_reps_on_the_api(
    client: FlaskClient, tenant: Tenant, rep_api: Api, history: dict[str, Any],
) -> None:
    assert rep_api.get(RUNS).status_code == 403
    assert rep_api.get("/apps/crm/automation/health").status_code == 403
    for user in (tenant.rep, tenant.manager):
        sign_in_as(client, user)
        for path in ("/admin/runs", "/admin/health?app=crm"):
            assert client.get(path).status_code == 403, (user.role, path)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    anonymous = client.get("/admin/runs")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_retrying_a_failed_action_requeues_it_and_a_succeeded_one_is_refused(
    app: Flask, client: FlaskClient, tenant: Tenant, admin_api: Api, rep_api: Api, history: dict[str, Any],
) -> None:
    failed = _runs(admin_api, "rule=make_task&outcome=failed")[-1]
    (action,) = failed["actions"]
    assert action["status"] == "failed" and action["retryable"] is True
    # Give the customer a note: the retried action evaluates the record as it is now.
    record_id = failed["record_id"]
    current = rep_api.get(f"{CUSTOMERS}/{record_id}").get_json()["record"]
    assert rep_api.patch(f"{CUSTOMERS}/{record_id}", json={"note": "补上", "version": current["version"]}).status_code == 200
    manager = Api(client, tenant.manager_token)
    assert manager.post(f"/apps/crm/automation/action-runs/{action['id']}/retry").status_code == 403

    # Through the page: a POST with the CSRF token, which says what it did.
    sign_in_as(client, tenant.admin)
    token = csrf_token(client, "/admin/runs?app=crm")
    assert client.post(f"/admin/runs/actions/{action['id']}/retry", data={"app": "crm"}).status_code == 400  # no CSRF
    answer = client.post(f"/admin/runs/actions/{action['id']}/retry",
                         data={"app": "crm", "csrf_token": token, "next": "/admin/runs?app=crm&rule=make_task"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/runs?app=crm&rule=make_task"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "queued again" in page or "重新排队" in page
    with platform_of(app).session() as session:
        job = session.scalars(sa.select(OutboxJob).where(OutboxJob.dedup_key == f"retry:{action['id']}")).one()
        assert job.status == "pending" and job.payload["from_action"] == 0 and job.record_id == record_id
    drain(app)
    newest = _runs(admin_api, f"rule=make_task&record={record_id}")
    assert [r["status"] for r in newest] == ["succeeded", "failed"]  # the failure stays in the history
    assert newest[1]["actions"][0]["retried_by"] is not None and newest[1]["actions"][0]["retryable"] is False
    tasks = admin_api.get("/apps/crm/entities/task/records").get_json()["items"]
    assert "补上" in [t["title"] for t in tasks]

    # A second retry of the same action, and a retry of a succeeded one, are refused.
    again = admin_api.post(f"/apps/crm/automation/action-runs/{action['id']}/retry")
    assert again.status_code == 409 and again.get_json()["code"] == "already_retried"
    done = newest[0]["actions"][0]
    refused = admin_api.post(f"/apps/crm/automation/action-runs/{done['id']}/retry")
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_retryable"
    assert refused.get_json()["detail_zh"]
    assert admin_api.post("/apps/crm/automation/action-runs/999999/retry").status_code == 404
    with platform_of(app).session() as session:
        assert session.scalar(sa.select(sa.func.count()).where(OutboxJob.dedup_key.like("retry:%"))) == 1
