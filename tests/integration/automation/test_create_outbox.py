"""A create's outbox rows: on PostgreSQL they go in with the record's own statement.

The trigger engine works out a create's firings before the record is inserted (its id is
not known yet), and the record, its audit event and its outbox rows are one data-modifying
CTE. That is only done where the outcome can't depend on the id: a trigger whose ``when``
reads anything but the record's own fields (here its ``id``) makes the create insert the
record first and match afterwards, as every other write does. Either way the rows, their
record id and the prompts (rendered with the stored record, ``{id}`` included) are the same.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.automation.engine import install as install_engine
from runtime.automation.models import OutboxJob
from runtime.models import AuditEvent
from runtime.platform import Platform
from tests.integration.conftest import Api, install
from tests.sql_count import counted

DEALS = "/apps/{app}/entities/deal/records"


def _app(key: str, when_big: str) -> dict[str, Any]:
    label = {"zh": key, "en": key}
    return {
        "format": "cairn.app/1",
        "key": key,
        "label": label,
        "entities": [
            {
                "key": "deal",
                "label": {"zh": "商机", "en": "Deal"},
                "title_field": "name",
                "fields": [
                    {"key": "name", "type": "text", "required": True, "label": {"zh": "名称", "en": "Name"}},
                    {"key": "qty", "type": "integer", "label": {"zh": "数量", "en": "Qty"}},
                ],
            }
        ],
        "triggers": [
            {"key": "always", "label": label, "entity": "deal", "on": {"type": "created"},
             "actions": [{"type": "notify", "channel": "inbox", "to": "owner", "message": "新商机 {name}"}]},
            {"key": "big", "label": label, "entity": "deal", "on": {"type": "created"}, "when": when_big,
             "actions": [
                 {"type": "notify", "channel": "inbox", "to": "owner", "message": "大单 {id}"},
                 {"type": "prompt", "message": {"zh": "大单 {id}:{name}", "en": "Big deal {id}: {name}"}},
             ]},
            {"key": "prompt_only", "label": label, "entity": "deal", "on": {"type": "created"},
             "actions": [{"type": "prompt", "message": {"zh": "已创建 {id}", "en": "Created {id}"}}]},
        ],
    }


def _jobs(platform: Platform, record_id: int) -> list[tuple[str, str, Any]]:
    with platform.session() as session:
        rows = session.execute(
            sa.select(OutboxJob.trigger_key, OutboxJob.kind, OutboxJob.payload, OutboxJob.status)
            .where(OutboxJob.record_id == record_id)
            .order_by(OutboxJob.trigger_key)
        ).all()
    return [(r.trigger_key, r.kind, r.payload["changed"]) for r in rows if r.status == "pending"]


def _create(api: Api, app: str, platform: Platform, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    with counted(platform.engine) as statements:
        created = api.post(DEALS.format(app=app), json=body)
    assert created.status_code == 201, created.get_json()
    return created.get_json(), statements


def _check(api: Api, app: str, platform: Platform) -> tuple[list[str], list[str]]:
    """Creates a big and a small deal; checks rows, record ids and prompts; returns the
    statements of each create."""
    big, big_statements = _create(api, app, platform, {"name": "大单", "qty": 10})
    record_id = big["record"]["id"]
    assert _jobs(platform, record_id) == [
        ("always", "created", ["name", "qty"]),
        ("big", "created", ["name", "qty"]),
    ]
    prompts = {p["trigger"]: p["message"] for p in big["prompts"]}
    assert prompts == {
        "big": {"zh": f"大单 {record_id}:大单", "en": f"Big deal {record_id}: 大单"},
        "prompt_only": {"zh": f"已创建 {record_id}", "en": f"Created {record_id}"},
    }
    small, small_statements = _create(api, app, platform, {"name": "小单", "qty": 1})
    assert _jobs(platform, small["record"]["id"]) == [("always", "created", ["name", "qty"])]
    assert [p["trigger"] for p in small["prompts"]] == ["prompt_only"]
    with platform.session() as session:
        audits = session.execute(
            sa.select(AuditEvent.action, AuditEvent.outcome, AuditEvent.changes).where(AuditEvent.record_id == record_id)
        ).all()
    assert [tuple(a) for a in audits] == [("create", "ok", {"name": [None, "大单"], "qty": [None, 10]})]
    return big_statements, small_statements


def test_a_creates_outbox_rows_go_in_with_its_record(admin_api: Api, rep_api: Api, platform: Platform) -> None:
    install_engine(platform)
    install(admin_api, _app("fold", "qty > 5"))
    rep_api.post(DEALS.format(app="fold"), json={"name": "warm-up"})
    big, small = _check(rep_api, "fold", platform)
    for statements in (big, small):
        outbox = [s for s in statements if "INSERT INTO automation_outbox" in s]
        assert len(outbox) == 1, statements
        if platform.engine.dialect.name == "postgresql":
            # token + app revision, then record + audit event + outbox rows: one statement
            assert len(statements) == 2 and outbox[0].startswith("WITH written AS"), statements


def test_a_condition_on_the_id_is_matched_after_the_insert(admin_api: Api, rep_api: Api, platform: Platform) -> None:
    install_engine(platform)
    install(admin_api, _app("late", "qty > 5 and id > 0"))
    rep_api.post(DEALS.format(app="late"), json={"name": "warm-up"})
    big, small = _check(rep_api, "late", platform)
    for statements in (big, small):
        outbox = [s for s in statements if "INSERT INTO automation_outbox" in s]
        assert len(outbox) == 1 and outbox[0].startswith("INSERT INTO automation_outbox"), statements


def test_a_refused_create_queues_nothing(admin_api: Api, rep_api: Api, platform: Platform) -> None:
    install_engine(platform)
    install(admin_api, _app("refused", "qty > 5"))
    with platform.session() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(OutboxJob))
    refused = rep_api.post(DEALS.format(app="refused"), json={"qty": 10})  # no name: required
    assert refused.status_code == 422, refused.get_json()
    with platform.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxJob)) == before
        outcome = session.execute(
            sa.select(AuditEvent.action, AuditEvent.outcome).order_by(AuditEvent.id.desc()).limit(1)
        ).one()
    assert tuple(outcome) == ("create", "refused")
