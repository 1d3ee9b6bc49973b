"""The audit-log viewer: filters, paging, changes to people and access, CSV export (filters,
Chinese text, cells that would start a formula escaped), and workspace isolation."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask.testing import FlaskClient

from runtime.clock import FrozenClock
from runtime.people import csv_cell
from tests.integration.admin_people.support import books_app, text_of
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install

INVOICES = "/apps/books/entities/invoice/records"


def _rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _get(api: Api, path: str, lang: str):  # type: ignore[no-untyped-def]
    return api.client.get("/api/v1" + path, headers={"Authorization": f"Bearer {api.token}", "Accept-Language": lang})


def test_audit_api_filters_and_people_changes(admin_api: Api, tenant: Tenant, other_tenant: Tenant, clock: FrozenClock) -> None:
    install(admin_api, books_app())
    admin_api.post(INVOICES, json={"name": "=HYPERLINK(\"http://evil\")", "region": "华东"})
    clock.advance(timedelta(days=2))
    admin_api.patch(f"/users/{tenant.rep.id}", json={"region": "华南"})
    Api(admin_api.client, other_tenant.admin_token).patch(f"/users/{other_tenant.rep.id}", json={"region": "B 区"})

    everything = admin_api.get("/audit").get_json()["items"]
    assert {e["entity"] for e in everything} >= {"invoice", "user"}
    assert all(e["changes"] != {"region": [None, "B 区"]} for e in everything)  # nothing of workspace B
    people = admin_api.get("/audit?entity=user&action=user.update").get_json()["items"]
    assert len(people) == 1
    assert people[0]["changes"] == {"region": ["华东", "华南"]} and people[0]["actor_name"] == tenant.admin.name
    assert people[0]["app"] is None and people[0]["record_id"] == tenant.rep.id
    day = (clock.now() + timedelta(hours=8)).date().isoformat()  # Asia/Shanghai
    assert {e["entity"] for e in admin_api.get(f"/audit?since={day}").get_json()["items"]} == {"user"}
    assert {e["entity"] for e in admin_api.get(f"/audit?until={day}&app=books").get_json()["items"]} == {"invoice"}
    assert admin_api.get(f"/audit?actor={tenant.rep.id}").get_json()["items"] == []
    bad = admin_api.get("/audit?since=2026-13-01")
    assert bad.status_code == 422 and bad.get_json()["errors"]["since"]
    backwards = admin_api.get("/audit?since=2026-12-01&until=2026-11-01")
    assert backwards.status_code == 422
    # Paging: newest first, `before` continues.
    first = admin_api.get("/audit?limit=1").get_json()
    assert len(first["items"]) == 1 and first["next_before"] == first["items"][0]["id"]
    rest = admin_api.get(f"/audit?limit=200&before={first['next_before']}").get_json()["items"]
    assert rest and all(e["id"] < first["next_before"] for e in rest)


def test_csv_export_filters_zh_and_injection(admin_api: Api, client: FlaskClient, tenant: Tenant) -> None:
    install(admin_api, books_app())
    admin_api.post(INVOICES, json={"name": "=HYPERLINK(\"http://evil\")", "region": "华东"})
    admin_api.post(INVOICES, json={"name": "@SUM(A1)", "region": "+华南"})
    admin_api.patch(f"/users/{tenant.rep.id}", json={"name": "-李四"})

    rows = _rows(_get(admin_api, "/audit.csv?app=books", "en"))
    assert rows[0][:3] == ["time", "actor", "app"]
    assert len(rows) == 3 and all(r[2] == "books" for r in rows[1:])
    changes = " ".join(r[9] for r in rows[1:])
    assert "华东" in changes  # Chinese survives (UTF-8 with BOM)
    # The changes cell is JSON (starts with "{"), so a formula inside is inert; any cell that
    # would start a formula gets a leading apostrophe.
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    zh = _rows(_get(admin_api, "/audit.csv?entity=user", "zh-CN"))
    assert zh[0][0] == "时间" and len(zh) == 2
    # The user's new name is in the changes; the actor's name column is escaped if needed.
    assert "-李四" in zh[1][9]

    sign_in_as(client, tenant.admin)
    page = client.get("/admin/audit?entity=user")
    assert page.status_code == 200 and "user.update" in text_of(page)
    assert 'href="/admin/audit.csv?entity=user"' in page.get_data(as_text=True)
    export = client.get("/admin/audit.csv?entity=user")
    assert export.mimetype == "text/csv" and len(_rows(export)) == 2
    refused = client.get("/admin/audit?since=nope&entity=user")
    assert refused.status_code == 422 and "YYYY-MM-DD" in text_of(refused)
    assert 'value="user"' in refused.get_data(as_text=True)  # the filters typed stay


def test_csv_cell_escapes_formula_starts() -> None:
    for raw in ("=1+1", "+86 138", "-5", "@cmd", "\tx", "\rx"):
        assert csv_cell(raw) == "'" + raw
    assert csv_cell("华东") == "华东" and csv_cell(5) == 5 and csv_cell(None) == ""


def test_actor_named_like_a_formula_is_escaped_in_the_csv(admin_api: Api, client: FlaskClient, tenant: Tenant) -> None:
    made = admin_api.post("/users", json={"username": "formula", "name": "=cmd|' /C calc'!A0", "role": "admin",
                                          "password": "long-enough"}).get_json()["user"]
    token = admin_api.post("/tokens", json={"user_id": made["id"], "name": "t"}).get_json()["secret"]
    Api(client, token).patch(f"/users/{tenant.rep.id}", json={"region": "X"})
    rows = _rows(admin_api.get(f"/audit.csv?actor={made['id']}&action=user.update"))
    assert len(rows) == 2 and rows[1][1] == "'=cmd|' /C calc'!A0"
