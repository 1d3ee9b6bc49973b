"""Publishing revisions migrates real tables without losing data (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from runtime.apps import load_published
from runtime.platform import Platform
from tests.integration.conftest import Api, Tenant, install

ROWS = 10_000
BAD_ROWS = 37


def _definition() -> dict[str, Any]:
    return {
        "format": "cairn.app/1",
        "key": "inventory",
        "label": {"zh": "库存", "en": "Inventory"},
        "entities": [
            {
                "key": "item",
                "label": {"zh": "货品", "en": "Item"},
                "fields": [
                    {"key": "code", "type": "text", "label": {"zh": "编码", "en": "Code"}},
                    {"key": "qty", "type": "text", "label": {"zh": "数量", "en": "Quantity"}},
                    {"key": "price", "type": "integer", "label": {"zh": "价格", "en": "Price"}},
                    {"key": "legacy", "type": "text", "label": {"zh": "旧字段", "en": "Legacy"}},
                ],
            }
        ],
    }


def _seed(platform: Platform, tenant: Tenant) -> sa.Table:
    with platform.session() as session:
        app = load_published(session, tenant.workspace.id, "inventory")
        table = app.table("item")
        now = datetime(2026, 11, 1, tzinfo=UTC)
        rows = [
            {
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "code": f"{i:05d}" if i >= BAD_ROWS else f"A-{i}",
                "qty": str(i % 500),
                "price": i,
                "legacy": f"old-{i}",
            }
            for i in range(ROWS)
        ]
        session.execute(sa.insert(table), rows)
        session.commit()
        return table


def _publish(api: Api, doc: dict[str, Any], confirm: list[str] | None = None) -> Any:
    created = api.post("/apps", json=doc)
    assert created.status_code == 201, created.get_json()
    revision = created.get_json()["revision"]["id"]
    plan = api.post(f"/apps/inventory/revisions/{revision}/plan", json={"confirm_drops": confirm or []})
    assert plan.status_code == 200, plan.get_json()
    return plan.get_json(), api.post(
        f"/apps/inventory/revisions/{revision}/publish", json={"confirm_drops": confirm or []}
    )


def test_second_revision_migrates_ten_thousand_rows(admin_api: Api, tenant: Tenant, platform: Platform) -> None:
    install(admin_api, _definition())
    _seed(platform, tenant)

    doc = _definition()
    fields = doc["entities"][0]["fields"]
    fields[0]["label"] = {"zh": "货号", "en": "Item code"}  # rename: same key, new label
    fields[1]["type"] = "integer"  # type change text → integer, all values convert
    fields[1]["index"] = True
    del fields[3]  # legacy removed → archived, data kept
    fields.append({"key": "note", "type": "long_text", "label": {"zh": "备注", "en": "Note"}})
    plan, published = _publish(admin_api, doc)
    kinds = {step["kind"] for step in plan["steps"]}
    assert {"relabel_field", "change_field_type", "archive_field", "add_field"} <= kinds
    assert published.status_code == 200, published.get_json()

    with platform.session() as session:
        app = load_published(session, tenant.workspace.id, "inventory")
        table = app.table("item")
        assert session.scalar(sa.select(sa.func.count()).select_from(table)) == ROWS
        rows = session.execute(sa.select(table.c.id, table.c.qty, table.c.price, table.c.code, table.c.note).order_by(table.c.id)).all()
        assert all(isinstance(r.qty, int) for r in rows)
        assert sum(r.qty for r in rows) == sum(i % 500 for i in range(ROWS))
        assert [r.price for r in rows] == list(range(ROWS))
        assert all(r.note is None for r in rows)
        columns = {c["name"] for c in sa.inspect(session.connection()).get_columns(table.name)}
        archived = [c for c in columns if c.startswith("_arch_legacy")]
        assert len(archived) == 1
        kept = session.execute(sa.text(f'select count(*) from "{table.name}" where "{archived[0]}" like :p'), {"p": "old-%"}).scalar()
        assert kept == ROWS
    listed = admin_api.get("/apps/inventory/entities/item/records?limit=2&order_by=price").get_json()
    assert [r["qty"] for r in listed["items"]] == [0, 1]
    assert listed["items"][0]["code"] == "A-0"


def test_unconvertible_type_change_is_refused_with_row_count(admin_api: Api, tenant: Tenant, platform: Platform) -> None:
    install(admin_api, _definition())
    _seed(platform, tenant)
    doc = _definition()
    doc["entities"][0]["fields"][0]["type"] = "number"  # "A-0" … "A-36" are not numbers
    _plan, refused = _publish(admin_api, doc)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "conversion_failed"
    assert body["detail_data"]["rows"] == BAD_ROWS
    assert str(BAD_ROWS) in body["detail"]
    # Nothing changed: still revision 1, the column is still text, the draft stays a draft.
    app = admin_api.get("/apps/inventory").get_json()
    assert app["app"]["published_revision_number"] == 1
    assert [r["status"] for r in app["revisions"]] == ["draft", "published"]
    with platform.session() as session:
        table = load_published(session, tenant.workspace.id, "inventory").table("item")
        codes = session.execute(sa.select(table.c.code).where(table.c.id <= 3).order_by(table.c.id)).scalars().all()
        assert codes == ["A-0", "A-1", "A-2"]


def test_dropping_a_field_needs_confirmation(admin_api: Api, tenant: Tenant, platform: Platform) -> None:
    install(admin_api, _definition())
    created = admin_api.post("/apps/inventory/entities/item/records", json={"code": "X1", "legacy": "keep me", "price": 3, "qty": "1"})
    assert created.status_code == 201
    doc = _definition()
    del doc["entities"][0]["fields"][3]
    plan, published = _publish(admin_api, copy.deepcopy(doc), confirm=["item.legacy"])
    assert any(s["kind"] == "drop_field" and s["destructive"] for s in plan["steps"])
    assert published.status_code == 200, published.get_json()
    with platform.session() as session:
        table = load_published(session, tenant.workspace.id, "inventory").table("item")
        columns = {c["name"] for c in sa.inspect(session.connection()).get_columns(table.name)}
        assert "legacy" not in columns and not any(c.startswith("_arch_") for c in columns)
    record = admin_api.get(f"/apps/inventory/entities/item/records/{created.get_json()['record']['id']}").get_json()["record"]
    assert record["price"] == 3 and "legacy" not in record
