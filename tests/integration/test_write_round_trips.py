"""The write path's fixed costs: SQL statements per API record create, and what they keep.

A regression guard, not a benchmark: the number of statements an authenticated API create
(an entity with steps and a formula, three matching triggers) sends to the database is
counted with SQLAlchemy's ``before_cursor_execute`` event and held to an upper bound, so a
new round trip on the write path fails here. The statements are printed (``pytest -s``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.automation.engine import install as install_engine
from runtime.automation.models import OutboxJob
from runtime.models import AuditEvent
from runtime.platform import Platform
from tests.integration.conftest import Api, Tenant, install
from tests.sql_count import counted

#: Statements of one create through ``POST /api/v1/.../records`` (see the printed list):
#: [BEGIN IMMEDIATE on SQLite], the token with its user, workspace and the published app's
#: revision (one query), then on PostgreSQL the record, its audit event and its three
#: outbox rows in one statement (a data-modifying CTE), on SQLite the record, the audit
#: event and the outbox rows (one INSERT) as three.
#: Before the write path was trimmed: 12 on SQLite, 11 on PostgreSQL; then 6 and 5, then
#: 5 and 3 (PostgreSQL's outbox rows were a statement of their own).
MAX_CREATE_STATEMENTS = {"sqlite": 5, "postgresql": 2}
#: Statements of one GET of a record: [BEGIN on SQLite], token with the app's revision,
#: the record. Before: 8 on SQLite, 7 on PostgreSQL; then 4 and 3.
MAX_READ_STATEMENTS = {"sqlite": 3, "postgresql": 2}

DEALS = "/apps/perf/entities/deal/records"


def _trigger(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "label": {"zh": key, "en": key},
        "entity": "deal",
        "on": {"type": "created"},
        "actions": [{"type": "notify", "channel": "inbox", "to": "owner", "message": "新商机 {name}"}],
    }


def perf_app() -> dict[str, Any]:
    """One entity with steps and a formula, and three triggers on its creation."""
    return {
        "format": "cairn.app/1",
        "key": "perf",
        "label": {"zh": "性能", "en": "Perf"},
        "entities": [
            {
                "key": "deal",
                "label": {"zh": "商机", "en": "Deal"},
                "title_field": "name",
                "fields": [
                    {"key": "name", "type": "text", "required": True, "label": {"zh": "名称", "en": "Name"}},
                    {"key": "qty", "type": "integer", "label": {"zh": "数量", "en": "Qty"}},
                    {"key": "price", "type": "money", "label": {"zh": "单价", "en": "Price"}},
                    {"key": "note", "type": "long_text", "label": {"zh": "备注", "en": "Note"}},
                    {"key": "total", "type": "formula", "formula": "qty * price",
                     "label": {"zh": "总额", "en": "Total"}},
                ],
                "steps": [
                    {"key": "quote", "label": {"zh": "报价", "en": "Quote"}, "fields": ["qty", "price"]},
                    {"key": "review", "label": {"zh": "复核", "en": "Review"}, "fields": ["note"],
                     "unlock_when": "steps.quote.done"},
                ],
            }
        ],
        "triggers": [_trigger("t1"), _trigger("t2"), _trigger("t3")],
    }


def test_api_create_statement_count(
    admin_api: Api, rep_api: Api, tenant: Tenant, platform: Platform
) -> None:
    install_engine(platform)
    install(admin_api, perf_app())
    warm = rep_api.post(DEALS, json={"name": "warm-up", "qty": 1, "price": "2.5"})
    assert warm.status_code == 201, warm.get_json()

    with counted(platform.engine) as statements:
        created = rep_api.post(DEALS, json={"name": "大单", "qty": 3, "price": "10.5", "note": "x"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["record"]["total"] in ("31.5", "31.50", 31.5)

    dialect = platform.engine.dialect.name
    print(f"\n{len(statements)} statements per create on {dialect}:")
    if dialect == "sqlite":
        assert statements[0] == "BEGIN IMMEDIATE", statements  # writers still queue
    # The outbox rows go in with one INSERT: on PostgreSQL the record's own statement.
    outbox = "INSERT INTO automation_outbox" if dialect == "sqlite" else "WITH written AS"
    assert sum(s.startswith(outbox) for s in statements) == 1, statements
    assert sum("INSERT INTO automation_outbox" in s for s in statements) == 1, statements
    # Who the caller is and which revision of the app is published: one query.
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1 and "api_tokens" in reads[0] and "app_revisions" in reads[0], reads
    for number, statement in enumerate(statements, 1):
        print(f"  {number:2}. {statement[:200]}")
    assert len(statements) <= MAX_CREATE_STATEMENTS[dialect], statements

    # What the statements must still do: the record, its audit event and one outbox row
    # per trigger, all committed together.
    record_id = created.get_json()["record"]["id"]
    with platform.session() as session:
        jobs = session.scalars(
            sa.select(OutboxJob.trigger_key).where(OutboxJob.record_id == record_id).order_by(OutboxJob.trigger_key)
        ).all()
        assert jobs == ["t1", "t2", "t3"]
        audits = session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.record_id == record_id)
        )
        assert audits == 1
        audit = session.scalars(sa.select(AuditEvent).where(AuditEvent.record_id == record_id)).one()
        assert (audit.action, audit.outcome, audit.entity_key) == ("create", "ok", "deal")
        assert audit.actor_id == tenant.rep.id and audit.workspace_id == tenant.workspace.id
        assert audit.changes == {"name": [None, "大单"], "qty": [None, 3], "price": [None, "10.5"], "note": [None, "x"]}


def test_api_read_statement_count(rep_api: Api, admin_api: Api, platform: Platform) -> None:
    install(admin_api, perf_app())
    created = rep_api.post(DEALS, json={"name": "a"})
    assert created.status_code == 201
    record_id = created.get_json()["record"]["id"]
    assert rep_api.get(f"{DEALS}/{record_id}").status_code == 200
    with counted(platform.engine) as statements:
        got = rep_api.get(f"{DEALS}/{record_id}")
    assert got.status_code == 200
    dialect = platform.engine.dialect.name
    print(f"\n{len(statements)} statements per read on {dialect}:")
    for number, statement in enumerate(statements, 1):
        print(f"  {number:2}. {statement[:200]}")
    assert len(statements) <= MAX_READ_STATEMENTS[dialect], statements
    # The cached app is not read again, and on SQLite a read doesn't take the write lock.
    assert not any("definition" in s or "entity_tables" in s for s in statements), statements
    if dialect == "sqlite":
        assert statements[0] == "BEGIN", statements
