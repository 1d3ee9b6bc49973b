"""Record ids are never handed out twice, so no record shows another record's history.

Before, on SQLite, deleting the newest record freed its id: the next record got it and its
history, timeline and detail page showed the deleted record's events. SQLite and
PostgreSQL; the upgrade of tables created the old way (without AUTOINCREMENT) on SQLite.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from runtime.apps import load_published
from runtime.migrate import upgrade
from runtime.platform import Platform
from runtime.table_ids import has_autoincrement
from runtime.tables import build_table, new_metadata
from tests.integration.conftest import Api, Tenant, install
from tests.unit.web.conftest import sign_in

APP = "ledger"
RECORDS = f"/apps/{APP}/entities/entry/records"
SECRET = "机密备注-deleted-record"


def _definition(extra_field: bool = False) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}, "index": True},
        {"key": "note", "type": "text", "label": {"zh": "备注", "en": "Note"}},
        {"key": "code", "type": "text", "label": {"zh": "编码", "en": "Code"}, "unique": True},
    ]
    if extra_field:
        fields.append({"key": "extra", "type": "integer", "label": {"zh": "附加", "en": "Extra"}})
    return {
        "format": "cairn.app/1",
        "key": APP,
        "label": {"zh": "台账", "en": "Ledger"},
        "entities": [{"key": "entry", "label": {"zh": "条目", "en": "Entry"}, "title_field": "name", "fields": fields}],
    }


def _delete_newest_then_create(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    kept = api.post(RECORDS, json={"name": "kept", "code": "K"}).get_json()["record"]
    doomed = api.post(RECORDS, json={"name": "doomed", "code": "D"}).get_json()["record"]
    assert api.patch(f"{RECORDS}/{doomed['id']}", json={"version": 1, "note": SECRET}).status_code == 200
    assert api.delete(f"{RECORDS}/{doomed['id']}").status_code == 204
    fresh = api.post(RECORDS, json={"name": "fresh", "code": "F"})
    assert fresh.status_code == 201, fresh.get_json()
    return kept, doomed, fresh.get_json()["record"]


def test_a_deleted_records_id_is_never_reused_and_its_history_never_shown(
    admin_api: Api, client: FlaskClient, tenant: Tenant
) -> None:
    install(admin_api, _definition())
    kept, doomed, fresh = _delete_newest_then_create(admin_api)
    assert fresh["id"] > doomed["id"] > kept["id"]

    history = admin_api.get(f"{RECORDS}/{fresh['id']}/history").get_json()["items"]
    assert [(e["action"], e["outcome"]) for e in history] == [("create", "ok")]
    timeline = admin_api.get(f"{RECORDS}/{fresh['id']}/timeline").get_json()["items"]
    assert SECRET not in str(timeline) and all(e["record_id"] == fresh["id"] for e in timeline)
    assert admin_api.get(f"{RECORDS}/{doomed['id']}").status_code == 404

    sign_in(client, tenant.admin.username, "admin-password")
    page = client.get(f"/a/{APP}/entry/{fresh['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "fresh" in html and SECRET not in html and "doomed" not in html


def _recreate_the_old_way(platform: Platform, tenant: Tenant) -> str:
    """Replaces the entity table by one built as before: no AUTOINCREMENT (SQLite)."""
    with platform.engine.begin() as connection:
        app = load_published(Session(bind=connection), tenant.workspace.id, APP)
        name = app.table("entry").name
        old = build_table(new_metadata(), name, app.entity("entry"))
        old.dialect_options["sqlite"]["autoincrement"] = False
        connection.exec_driver_sql(f'DROP TABLE "{name}"')
        old.create(connection)
        assert not has_autoincrement(connection, name)
    return name


def _schema(platform: Platform, name: str) -> tuple[list[Any], list[Any]]:
    with platform.engine.connect() as connection:
        columns = connection.exec_driver_sql(f'PRAGMA table_info("{name}")').all()
        indexes = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name", (name,)
        ).all()
    return [tuple(c) for c in columns], [tuple(i) for i in indexes]


# SQLite only: PostgreSQL ids come from a BIGSERIAL sequence, which never goes back (the
# first test of this module shows it on both databases).
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
@pytest.mark.parametrize("via", ["startup_upgrade", "next_publish"])
def test_tables_created_without_autoincrement_are_rebuilt_keeping_data_indexes_and_max_id(
    admin_api: Api, tenant: Tenant, platform: Platform, via: str
) -> None:
    assert platform.engine.dialect.name == "sqlite"
    install(admin_api, _definition())
    name = _recreate_the_old_way(platform, tenant)
    kept = admin_api.post(RECORDS, json={"name": "kept", "code": "K", "note": "保留"}).get_json()["record"]
    doomed = admin_api.post(RECORDS, json={"name": "doomed", "code": "D"}).get_json()["record"]
    assert admin_api.delete(f"{RECORDS}/{doomed['id']}").status_code == 204
    columns, indexes = _schema(platform, name)
    assert len(indexes) >= 5  # owner, created_at, updated_at, name, unique code

    if via == "startup_upgrade":
        upgrade(platform.engine)
        upgrade(platform.engine)  # idempotent
    else:
        created = admin_api.post("/apps", json=_definition(extra_field=True))
        revision = created.get_json()["revision"]["id"]
        published = admin_api.post(f"/apps/{APP}/revisions/{revision}/publish", json={})
        assert published.status_code == 200, published.get_json()

    with platform.engine.connect() as connection:
        assert has_autoincrement(connection, name)
        seq = connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (name,)).scalar()
        assert seq == doomed["id"]  # the deleted record's id, known from its history, stays used
    after_columns, after_indexes = _schema(platform, name)
    assert after_indexes == indexes
    if via == "startup_upgrade":
        assert after_columns == columns
    else:
        assert after_columns[: len(columns)] == columns and after_columns[-1][1] == "extra"

    record = admin_api.get(f"{RECORDS}/{kept['id']}").get_json()["record"]
    assert (record["name"], record["code"], record["note"], record["version"]) == ("kept", "K", "保留", 1)
    fresh = admin_api.post(RECORDS, json={"name": "fresh", "code": "F"}).get_json()["record"]
    assert fresh["id"] == doomed["id"] + 1
    history = admin_api.get(f"{RECORDS}/{fresh['id']}/history").get_json()["items"]
    assert [e["action"] for e in history] == ["create"]
    duplicate = admin_api.post(RECORDS, json={"name": "again", "code": "F"})
    assert duplicate.status_code in (409, 422)  # the unique index came back with the table


@SQLITE_ONLY
def test_a_failed_rebuild_leaves_the_old_table_untouched(admin_api: Api, tenant: Tenant, platform: Platform) -> None:
    assert platform.engine.dialect.name == "sqlite"
    from runtime.table_ids import ensure_autoincrement

    install(admin_api, _definition())
    name = _recreate_the_old_way(platform, tenant)
    admin_api.post(RECORDS, json={"name": "kept", "code": "K"})
    before = _schema(platform, name)
    with pytest.raises(sa.exc.OperationalError), platform.engine.begin() as connection:
        assert ensure_autoincrement(connection, name)
        connection.exec_driver_sql("SELECT no_such_column FROM sqlite_master")
    with platform.engine.connect() as connection:
        assert not has_autoincrement(connection, name)
    assert _schema(platform, name) == before


def test_an_id_reused_before_the_upgrade_shows_only_its_current_records_events(
    admin_api: Api, client: FlaskClient, tenant: Tenant, platform: Platform
) -> None:
    install(admin_api, _definition())
    kept, doomed, fresh = _delete_newest_then_create(admin_api)
    # What an old SQLite table did: the fresh record took the deleted record's id.
    with platform.engine.begin() as connection:
        app = load_published(Session(bind=connection), tenant.workspace.id, APP)
        table = app.table("entry")
        connection.execute(sa.update(table).where(table.c.id == fresh["id"]).values(id=doomed["id"]))
        connection.exec_driver_sql(
            "UPDATE audit_events SET record_id = %s WHERE record_id = %s AND entity_key = 'entry'"
            if connection.dialect.name == "postgresql"
            else "UPDATE audit_events SET record_id = ? WHERE record_id = ? AND entity_key = 'entry'",
            (doomed["id"], fresh["id"]),
        )
    reused = doomed["id"]
    assert admin_api.get(f"{RECORDS}/{reused}").get_json()["record"]["name"] == "fresh"
    history = admin_api.get(f"{RECORDS}/{reused}/history").get_json()["items"]
    assert [(e["action"], e["outcome"]) for e in history] == [("create", "ok")]
    timeline = admin_api.get(f"{RECORDS}/{reused}/timeline").get_json()["items"]
    assert len(timeline) == 1 and SECRET not in str(timeline)
    kept_history = admin_api.get(f"{RECORDS}/{kept['id']}/history").get_json()["items"]
    assert [e["action"] for e in kept_history] == ["create"]

    sign_in(client, tenant.admin.username, "admin-password")
    html = client.get(f"/a/{APP}/entry/{reused}").get_data(as_text=True)
    assert "fresh" in html and SECRET not in html
