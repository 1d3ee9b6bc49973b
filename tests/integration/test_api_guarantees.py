"""API guarantees: optimistic locking, malformed definitions, workspace isolation."""

from __future__ import annotations

import json
import threading
from typing import Any

import sqlalchemy as sa
from flask import Flask

from runtime.platform import Platform
from tests.integration.conftest import Api, Tenant, install
from tests.unit.builder.fixtures import visit_app_definition
from tests.unit.builder.malformed_cases import MALFORMED_CASES

CUSTOMERS = "/apps/store_visits/entities/customer/records"


def test_two_concurrent_updates_with_the_same_version(app: Flask, admin_api: Api, tenant: Tenant) -> None:
    install(admin_api, visit_app_definition())
    record = admin_api.post(CUSTOMERS, json={"name": "华联超市"}).get_json()["record"]
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def update(name: str) -> None:
        client = Api(app.test_client(), tenant.admin_token)
        barrier.wait()
        response = client.patch(f"{CUSTOMERS}/{record['id']}", json={"version": 1, "name": name})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=update, args=(n,)) for n in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    loser = next(body for status, body in results if status == 409)
    assert loser["code"] == "version_conflict"
    winner = next(body for status, body in results if status == 200)
    final = admin_api.get(f"{CUSTOMERS}/{record['id']}").get_json()["record"]
    assert final["version"] == 2
    assert final["name"] == winner["record"]["name"]


def test_stale_version_and_missing_version(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    record = admin_api.post(CUSTOMERS, json={"name": "A"}).get_json()["record"]
    assert admin_api.patch(f"{CUSTOMERS}/{record['id']}", json={"version": 1, "name": "B"}).status_code == 200
    stale = admin_api.patch(f"{CUSTOMERS}/{record['id']}", json={"version": 1, "name": "C"})
    assert stale.status_code == 409
    missing = admin_api.patch(f"{CUSTOMERS}/{record['id']}", json={"name": "C"})
    assert missing.status_code == 422 and "version" in missing.get_json()["errors"]
    assert admin_api.get(f"{CUSTOMERS}/{record['id']}").get_json()["record"]["name"] == "B"


def test_malformed_definitions_are_refused_with_every_problem(admin_api: Api, platform: Platform) -> None:
    assert len(MALFORMED_CASES) >= 50
    before = sa.inspect(platform.engine).get_table_names()
    sent = 0
    for name, document, expected in MALFORMED_CASES:
        try:
            raw = json.dumps(document)
        except TypeError:  # Python-only values (sets …) can't travel as JSON; unit-tested
            continue
        except RecursionError:  # nested deeper than a JSON encoder goes: write the text out
            depth = 100_000
            raw = '{"format": "cairn.app/1", "key": "demo", "entities": ' + "[" * depth + "]" * depth + "}"
            expected = set()
        except ValueError:  # an integer too long for JSON text: the server must refuse it too
            raw = '{"format": "cairn.app/1", "key": "demo", "entities": [], "n": ' + "9" * 5000 + "}"
            expected = {"invalid_json"}
        else:
            if json.loads(raw) != document:  # e.g. non-string keys: JSON text can't carry them
                expected = {"definition_invalid"}
        response = admin_api.client.post(
            "/api/v1/apps",
            data=raw,
            headers={"Authorization": f"Bearer {admin_api.token}", "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (name, response.status_code, response.get_json())
        body = response.get_json()
        assert response.mimetype == "application/problem+json", name
        codes = {p["code"] for p in body.get("problems", [])} | {body["code"]}
        assert expected <= codes, (name, expected, codes)
        assert all(p["path"].startswith("$") for p in body.get("problems", [])), name
        sent += 1
    assert sent >= 50
    assert admin_api.get("/apps").get_json()["items"] == []
    assert sa.inspect(platform.engine).get_table_names() == before


def test_garbage_bodies_never_500(admin_api: Api) -> None:
    for raw in (b"", b"{", b"[1,2", b"\xff\xfe", b"[" * 100_000, b'"just a string"', b"null", b"12"):
        response = admin_api.client.post(
            "/api/v1/apps", data=raw, headers={"Authorization": f"Bearer {admin_api.token}", "Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), (raw[:20], response.status_code)
        assert response.mimetype == "application/problem+json"


def test_workspace_a_gets_404_for_everything_of_workspace_b(client: Any, tenant: Tenant, other_tenant: Tenant) -> None:
    a = Api(client, tenant.admin_token)
    b = Api(client, other_tenant.admin_token)
    install(a, visit_app_definition())
    install(b, visit_app_definition())
    b_app = b.get("/apps/store_visits").get_json()
    b_app_id = b_app["app"]["id"]
    b_revision = b_app["revisions"][0]["id"]
    a_app_id = a.get("/apps/store_visits").get_json()["app"]["id"]
    b_records = [b.post(CUSTOMERS, json={"name": f"B{i}"}).get_json()["record"]["id"] for i in range(3)]
    assert a_app_id != b_app_id
    paths = [f"/apps/{b_app_id}", f"/apps/{b_app_id}/revisions/{b_revision}", f"/apps/{a_app_id}/revisions/{b_revision}"]
    for record_id in b_records:
        base = f"/apps/{b_app_id}/entities/customer/records/{record_id}"
        paths += [base, base + "/history", base + "/timeline", base + "/steps"]
        assert a.patch(base, json={"version": 1, "name": "x"}).status_code == 404
        assert a.delete(base).status_code == 404
    for path in paths:
        response = a.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["code"] == "not_found"
    assert a.post(f"/apps/{b_app_id}/revisions/{b_revision}/publish", json={}).status_code == 404
    assert a.post(f"/apps/{b_app_id}/revisions/{b_revision}/plan", json={}).status_code == 404
    # B's data is untouched.
    assert all(b.get(f"{CUSTOMERS}/{rid}").get_json()["record"]["version"] == 1 for rid in b_records)


def test_requests_without_a_valid_token_get_401(client: Any, tenant: Tenant) -> None:
    assert client.get("/api/v1/apps").status_code == 401
    response = client.get("/api/v1/apps", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_rep_may_not_import_apps(rep_api: Api) -> None:
    response = rep_api.post("/apps", json=visit_app_definition())
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
