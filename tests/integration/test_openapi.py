"""The OpenAPI document describes every API route, with schemas from the marshmallow classes."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from runtime.settings import Settings
from web import create_app


@pytest.fixture
def app(tmp_path) -> Flask:
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", secret_key="k", instance_path=tmp_path, testing=True, embedded_worker=False))


def test_every_api_route_is_documented(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1") :])
        for name, short in (("app_ref", "app"), ("record_id", "record"), ("revision_id", "revision"), ("trigger_key", "trigger"), ("notification_id", "notification")):
            path = path.replace("{" + name + "}", "{" + short + "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (path, method.lower()) not in documented:
                missing.append(f"{method} {path}")
    assert missing == [], missing


def test_schemas_come_from_marshmallow(app: Flask) -> None:
    schemas = app.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {"Problem", "AppDefinition", "Record", "WriteResult", "RecordPage", "PublishRequest"} <= set(schemas)
    assert "entities" in schemas["AppDefinition"]["properties"]
    assert schemas["StageMove"]["required"] == ["stage", "version"]
