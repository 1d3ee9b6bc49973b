"""Fixtures of the run-history and rule-health tests: a small CRM app whose rules succeed,
fail and skip on demand, a rep without a manager, and helpers that run the automation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.automation.embedded import EmbeddedWorker
from runtime.platform import Platform
from runtime.workspaces import IdentityService
from tests.integration.conftest import Api, Tenant, install


def _f(key: str, type_: str, zh: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": {"zh": zh, "en": key}, **extra}


def crm_app() -> dict[str, Any]:
    """Customers and tasks, with two rules:

    * ``need_timeout`` (S6): the need step not done 48 h after entering the need stage →
      tell the owner's manager through the inbox and set 待激活;
    * ``make_task``: a created customer gets a task titled with its note (a customer without
      a note makes an invalid task: the run fails).
    """
    return {
        "format": "cairn.app/1",
        "key": "crm",
        "label": {"zh": "客户管理", "en": "CRM"},
        "entities": [
            {
                "key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
                "fields": [
                    _f("name", "text", "名称", required=True),
                    _f("note", "text", "备注"),
                    _f("status", "choice", "状态", options=["正常", "待激活"]),
                    _f("need_note", "long_text", "需求确认"),
                ],
                "steps": [{"key": "need_confirmation", "label": {"zh": "需求确认", "en": "Need confirmation"},
                           "fields": ["need_note"]}],
                "stages": [
                    {"key": "contact", "label": {"zh": "接触", "en": "Contact"}},
                    {"key": "need", "label": {"zh": "需求确认", "en": "Need"}},
                ],
            },
            {
                "key": "task", "label": {"zh": "任务", "en": "Task"}, "title_field": "title",
                "fields": [_f("title", "text", "标题", required=True),
                           _f("customer", "link", "客户", target="customer", related_name="tasks")],
            },
        ],
        "triggers": [
            {
                "key": "need_timeout", "label": {"zh": "需求确认超时", "en": "Need confirmation overdue"},
                "entity": "customer",
                "on": {"type": "elapsed", "condition": 'stage == "need" and not steps.need_confirmation.done',
                       "since": "stage_entered_at", "after": "48h"},
                "actions": [
                    {"type": "notify", "channel": "inbox", "to": "owner.manager",
                     "title": "需求确认超时", "message": "客户 {name} 进入需求确认阶段已超过 48 小时"},
                    {"type": "set_field", "field": "status", "value": '"待激活"'},
                ],
            },
            {
                "key": "make_task", "label": {"zh": "建任务", "en": "Make a task"}, "entity": "customer",
                "on": "created",
                "actions": [{"type": "create_record", "entity": "task",
                             "values": {"title": "note", "customer": "id"}}],
            },
        ],
    }  # fmt: skip


def platform_of(app: Flask) -> Platform:
    """The app's platform."""
    return app.extensions["cairn"]  # type: ignore[no-any-return]


def drain(app: Flask) -> int:
    """Runs every due outbox job (and the ones they queue)."""
    return EmbeddedWorker(platform_of(app)).drain()


def sweep(app: Flask) -> Any:
    """One pass of the time rules and the health check."""
    return EmbeddedWorker(platform_of(app)).sweep()


@pytest.fixture
def crm(app: Flask, admin_api: Api) -> dict[str, Any]:
    """The CRM app, published."""
    return install(admin_api, crm_app())


@pytest.fixture
def lone_rep(app: Flask, client: FlaskClient, tenant: Tenant) -> Api:
    """The API as a rep of workspace A who has no manager."""
    platform = platform_of(app)
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        workspace = session.merge(tenant.workspace)
        rep = identity.create_user(workspace, "alpha-lone", password="rep-password", role="rep", region="华东")
        token = identity.issue_token(rep).token
    return Api(client, token)


CUSTOMERS = "/apps/crm/entities/customer/records"
RUNS = "/apps/crm/automation/runs"
HEALTH = "/apps/crm/automation/health"


def customer(api: Api, **values: Any) -> dict[str, Any]:
    """Creates a customer; returns the record."""
    answer = api.post(CUSTOMERS, json={"name": "客户", **values})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["record"]  # type: ignore[no-any-return]


def into_need(api: Api, record: dict[str, Any]) -> None:
    """Moves a customer into the need stage."""
    moved = api.post(f"{CUSTOMERS}/{record['id']}/stage", json={"stage": "need", "version": record["version"]})
    assert moved.status_code == 200, moved.get_json()


HOURS_48 = timedelta(hours=49)
