"""Rule health: skipped is not success, the alert goes out once per crossing through the
outbox to the admins' inboxes, failures are grouped by cause, the threshold is editable."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from runtime.automation.models import InboxNotification, OutboxJob, RuleAlert, TriggerRun
from runtime.clock import FrozenClock
from tests.integration.admin_runs.conftest import (
    HEALTH,
    HOURS_48,
    RUNS,
    customer,
    drain,
    into_need,
    platform_of,
    sweep,
)
from tests.integration.browser_session import csrf_token, sign_in_as
from tests.integration.conftest import Api, Tenant

ALERT_TITLE = "规则健康告警 / Rule health alert: need_timeout"


def _alerts(app: Flask, tenant: Tenant) -> list[InboxNotification]:
    with platform_of(app).session() as session:
        return list(session.scalars(
            sa.select(InboxNotification).where(InboxNotification.user_id == tenant.admin.id)
            .order_by(InboxNotification.id)
        ))


def _timeout_rule(items: list[dict[str, Any]]) -> dict[str, Any]:
    return next(h for h in items if h["trigger"] == "need_timeout")


def test_a_skip_for_a_missing_manager_fails_the_rule_and_alerts_the_admins_once(
    app: Flask, crm: Any, admin_api: Api, rep_api: Api, lone_rep: Api, tenant: Tenant, clock: FrozenClock,
    client: FlaskClient,
) -> None:
    # 200 S6 firings for a rep with a manager succeed: 100 %.
    for index in range(3):
        into_need(rep_api, customer(rep_api, name=f"有上级 {index}", note="n"))
    clock.advance(HOURS_48)
    sweep(app)
    drain(app)
    health = admin_api.get(HEALTH).get_json()
    assert _timeout_rule(health["items"])["success_rate"] == 1.0
    assert _alerts(app, tenant) == []

    # The rep without a manager: the notify action has nobody to tell. It used to count as a
    # success (100 %); now the run is "skipped", a failure of the rule, with its cause.
    lone = customer(lone_rep, name="无上级客户", note="n")
    into_need(lone_rep, lone)
    clock.advance(HOURS_48)
    sweep(app)
    drain(app)
    runs = admin_api.get(f"{RUNS}?rule=need_timeout&record_id={lone['id']}").get_json()["items"]
    (run,) = runs
    assert run["status"] == "skipped" and run["success"] is False
    assert run["cause"] == "missing_manager"
    assert run["reason"] == "The record's owner has no manager, so nobody received the message."
    assert run["reason_zh"] == "记录负责人没有设置上级,消息无人接收。"
    notify, set_status = run["actions"]
    assert notify["status"] == "skipped" and notify["cause"] == "missing_manager" and notify["retryable"]
    # The other action still ran, and its change is in the history: before → after.
    assert set_status["changes"] == [{"entity": "customer", "record_id": lone["id"], "field": "status",
                                      "before": None, "after": "待激活"}]

    sweep(app)  # the rates are checked with the sweeps
    drain(app)
    health = admin_api.get(HEALTH).get_json()
    rule = _timeout_rule(health["items"])
    assert rule["runs"] == 4 and rule["failed"] == 1 and rule["success_rate"] == 0.75
    assert rule["success_rate"] < 0.995 and rule["flagged"] is True
    assert health["causes"] == [{
        "trigger": "need_timeout", "cause": "missing_manager", "count": 1,
        "reason": "The record's owner has no manager, so nobody received the message.",
        "reason_zh": "记录负责人没有设置上级,消息无人接收。", "last_at": health["causes"][0]["last_at"],
    }]

    # The alert went through the outbox to every admin's inbox — exactly once, however many
    # sweeps and runs follow while the rule stays below the threshold.
    with platform_of(app).session() as session:
        jobs = session.scalars(sa.select(OutboxJob).where(OutboxJob.kind == "health_alert")).all()
        assert [(j.trigger_key, j.payload["event"], j.status) for j in jobs] == [("need_timeout", "raised", "done")]
    for _ in range(3):
        sweep(app)
        drain(app)
    another = customer(lone_rep, name="无上级客户 2", note="n")
    into_need(lone_rep, another)
    clock.advance(HOURS_48)
    sweep(app)
    drain(app)
    alerts = _alerts(app, tenant)
    assert [a.title for a in alerts] == [ALERT_TITLE]
    assert alerts[0].level == "warning"
    assert "75.0%" in alerts[0].message and "99.5%" in alerts[0].message
    assert "记录负责人没有设置上级" in alerts[0].message and "has no manager" in alerts[0].message
    assert "/admin/runs?app=crm&rule=need_timeout&outcome=failure" in alerts[0].message
    with platform_of(app).session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RuleAlert)) == 1

    # The health board shows it: the rate, the flag and the cause, in both languages.
    sign_in_as(client, tenant.admin)
    page = client.get("/admin/health?app=crm").get_data(as_text=True)
    assert 'data-rule="need_timeout" data-flagged="true"' in page
    assert 'data-cause="missing_manager"' in page
    assert "/admin/runs?app=crm&amp;rule=need_timeout&amp;outcome=failure&amp;cause=missing_manager" in page
    assert "<svg" in page and 'class="threshold"' in page
    assert "记录负责人没有设置上级,消息无人接收。" in page or "The record&#39;s owner has no manager" in page
    client.post("/locale", data={"locale": "en", "csrf_token": csrf_token(client, "/"), "next": "/"})
    english = client.get("/admin/health?app=crm").get_data(as_text=True)
    assert "The record&#39;s owner has no manager, so nobody received the message." in english
    assert "Below threshold" in english


def test_the_alert_clears_and_says_so_when_the_rate_recovers(
    app: Flask, crm: Any, admin_api: Api, rep_api: Api, lone_rep: Api, tenant: Tenant, clock: FrozenClock,
) -> None:
    into_need(lone_rep, customer(lone_rep, name="无上级", note="n"))
    clock.advance(HOURS_48)
    sweep(app)
    drain(app)
    sweep(app)
    drain(app)
    assert [a.title for a in _alerts(app, tenant)] == [ALERT_TITLE]
    # A lower threshold for this rule: 0 % is never crossed, so the rule is healthy again.
    stored = admin_api.client.put("/api/v1" + HEALTH + "/threshold", json={"threshold_percent": 0, "trigger": "need_timeout"},
                                  headers={"Authorization": f"Bearer {tenant.admin_token}"})
    assert stored.status_code == 200, stored.get_json()
    sweep(app)
    drain(app)
    titles = [a.title for a in _alerts(app, tenant)]
    assert titles == [ALERT_TITLE, "规则已恢复 / Rule recovered: need_timeout"]
    with platform_of(app).session() as session:
        alert = session.scalars(sa.select(RuleAlert)).one()
        assert alert.cleared_at is not None
    sweep(app)
    drain(app)
    assert len(_alerts(app, tenant)) == 2  # once per crossing, not per sweep


def test_failures_are_grouped_by_cause_with_readable_reasons(
    app: Flask, crm: Any, admin_api: Api, rep_api: Api,
) -> None:
    for index in range(2):
        customer(rep_api, name=f"无备注 {index}")  # make_task: a task without a title is invalid
    customer(rep_api, name="有备注", note="跟进")
    drain(app)
    health = admin_api.get(HEALTH).get_json()
    make_task = next(h for h in health["items"] if h["trigger"] == "make_task")
    assert (make_task["runs"], make_task["failed"]) == (3, 2)
    (cause,) = health["causes"]
    assert (cause["trigger"], cause["cause"], cause["count"]) == ("make_task", "invalid_write", 2)
    assert cause["reason_zh"] == "动作的写入因数据无效被拒绝。"
    days = health["daily"]["make_task"]
    assert [(d["succeeded"], d["failed"]) for d in days] == [(1, 2)]


def test_the_threshold_is_validated_and_stored(app: Flask, crm: Any, client: FlaskClient, tenant: Tenant) -> None:
    headers = {"Authorization": f"Bearer {tenant.admin_token}"}
    url = "/api/v1" + HEALTH + "/threshold"
    for bad in (100.5, -1, "abc", True, None, "NaN"):
        answer = client.put(url, json={"threshold_percent": bad}, headers=headers)
        assert answer.status_code == 422, (bad, answer.get_json())
        body = answer.get_json()
        assert body["code"] == "validation_failed" and "threshold_percent" in body["errors"], body
        assert "0" in body["detail"] and "100" in body["detail"]
    assert client.put(url, json={"threshold_percent": 99, "extra": 1}, headers=headers).status_code == 422
    unknown = client.put(url, json={"threshold_percent": 99, "trigger": "nope"}, headers=headers)
    assert unknown.status_code == 422 and "trigger" in unknown.get_json()["errors"]
    rep = {"Authorization": f"Bearer {tenant.rep_token}"}
    assert client.put(url, json={"threshold_percent": 99}, headers=rep).status_code == 403
    manager = {"Authorization": f"Bearer {tenant.manager_token}"}
    assert client.put(url, json={"threshold_percent": 99}, headers=manager).status_code == 403
    stored = client.put(url, json={"threshold_percent": 98.5}, headers=headers)
    assert stored.status_code == 200 and stored.get_json()["threshold"] == 0.985
    assert client.get("/api/v1" + HEALTH, headers=headers).get_json()["threshold"] == 0.985

    # The board's form: a clear error in the page's language, the entered value kept.
    sign_in_as(client, tenant.admin)
    token = csrf_token(client, "/admin/health?app=crm")
    wrong = client.post("/admin/health/threshold", data={"app": "crm", "threshold": "120", "csrf_token": token})
    assert wrong.status_code == 422
    page = wrong.get_data(as_text=True)
    assert "阈值必须是 0 到 100 之间的百分比,例如 99.5。" in page and 'value="120"' in page
    saved = client.post("/admin/health/threshold", data={"app": "crm", "threshold": "99.9", "csrf_token": token})
    assert saved.status_code == 303
    assert 'value="99.9"' in client.get("/admin/health?app=crm").get_data(as_text=True)
    no_csrf = client.post("/admin/health/threshold", data={"app": "crm", "threshold": "90"})
    assert no_csrf.status_code == 400
    assert client.get("/api/v1" + HEALTH, headers=headers).get_json()["threshold"] == 0.999


def test_a_rules_own_threshold_overrides_the_workspace_one(
    app: Flask, crm: Any, admin_api: Api, rep_api: Api, tenant: Tenant, client: FlaskClient,
) -> None:
    customer(rep_api, name="无备注")
    for index in range(3):
        customer(rep_api, name=f"有备注 {index}", note="n")
    drain(app)  # make_task: 3 of 4 = 75 %
    sign_in_as(client, tenant.admin)
    token = csrf_token(client, "/admin/health?app=crm")
    answer = client.post("/admin/health/threshold",
                         data={"app": "crm", "rule": "make_task", "threshold": "70", "csrf_token": token})
    assert answer.status_code == 303
    rule = next(h for h in admin_api.get(HEALTH).get_json()["items"] if h["trigger"] == "make_task")
    assert rule["threshold"] == 0.7 and rule["own_threshold"] is True and rule["flagged"] is False
    cleared = client.post("/admin/health/threshold",
                          data={"app": "crm", "rule": "make_task", "clear": "1", "csrf_token": token})
    assert cleared.status_code == 303
    rule = next(h for h in admin_api.get(HEALTH).get_json()["items"] if h["trigger"] == "make_task")
    assert rule["threshold"] == 0.995 and rule["own_threshold"] is False and rule["flagged"] is True


def test_alert_jobs_do_not_count_in_health(app: Flask, crm: Any, admin_api: Api, rep_api: Api) -> None:
    customer(rep_api, name="无备注")
    drain(app)
    sweep(app)
    drain(app)
    with platform_of(app).session() as session:
        kinds = sorted(r.kind for r in session.scalars(sa.select(TriggerRun)))
    assert kinds == ["created", "health_alert"]
    rule = next(h for h in admin_api.get(HEALTH).get_json()["items"] if h["trigger"] == "make_task")
    assert rule["runs"] == 1


def test_a_redelivered_job_keeps_the_skip_of_its_finished_actions(
    app: Flask, crm: Any, lone_rep: Api, clock: FrozenClock,
) -> None:
    into_need(lone_rep, customer(lone_rep, name="无上级", note="n"))
    clock.advance(HOURS_48)
    sweep(app)
    drain(app)
    with platform_of(app).session() as session:
        job = session.scalars(sa.select(OutboxJob).where(OutboxJob.trigger_key == "need_timeout")).one()
        run = session.scalars(sa.select(TriggerRun).where(TriggerRun.outbox_id == job.id)).one()
        assert (run.status, run.cause) == ("skipped", "missing_manager")
        # As if the worker died after both actions committed but before the run was finished.
        job.status, job.available_at, job.finished_at = "pending", job.created_at, None
        run.status, run.cause, run.finished_at = "running", None, None
        session.commit()
    drain(app)
    with platform_of(app).session() as session:
        run = session.scalars(sa.select(TriggerRun).where(TriggerRun.outbox_id == job.id)).one()
        assert (run.status, run.cause) == ("skipped", "missing_manager")
