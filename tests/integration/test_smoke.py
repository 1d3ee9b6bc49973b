"""Smoke: the app imports, publishes, and writes a record on both databases."""

from __future__ import annotations

from tests.integration.conftest import Api, install
from tests.unit.builder.fixtures import visit_app_definition


def test_import_publish_create(admin_api: Api) -> None:
    install(admin_api, visit_app_definition())
    created = admin_api.post("/apps/store_visits/entities/customer/records", json={"name": "华联超市", "region": "华东"})
    assert created.status_code == 201, created.get_json()
    record = created.get_json()["record"]
    assert record["name"] == "华联超市" and record["version"] == 1
