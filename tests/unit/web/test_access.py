"""Tenancy and permissions as the pages show them: 404 across workspaces, 403 for a role."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from runtime.apps import load_published
from runtime.context import Actor, CallContext
from runtime.models import Workspace
from runtime.records import RecordService
from tests.unit.web.conftest import csrf_token
from tests.unit.web.support import (
    Tenant,
    make_tenant,
    platform_of,
    publish,
    restricted_app,
    tiny_png,
    visit_app,
)

JSON = {"Accept": "application/json"}


def _create(app: Flask, tenant: Tenant, key: str, entity: str, values: dict[str, Any]) -> dict[str, Any]:
    platform = platform_of(app)
    with platform.session() as session:
        ws = session.get(Workspace, tenant.workspace.id)
        assert ws is not None
        ctx = CallContext(session=session, workspace=ws, actor=Actor.of(tenant.rep), clock=platform.clock)
        return RecordService(ctx, load_published(session, ws.id, key)).create(entity, values).record


def test_another_workspaces_records_and_files_are_not_found(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    other = make_tenant(app, "globex")
    publish(app, tenant, visit_app())
    publish(app, other, visit_app())  # the same app key exists in both workspaces
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    owner = client_for("acme-rep")
    upload = owner.post(
        "/a/store_visits/visit/upload/shelf_photos",
        data={"file": (io.BytesIO(tiny_png()), "shelf.png")},
        headers={"X-CSRFToken": csrf_token(owner, "/a/"), **JSON},
    )
    assert upload.status_code == 201
    file_id = upload.get_json()["id"]
    download = owner.get(f"/a/files/{file_id}")
    assert download.status_code == 200 and download.data == tiny_png()
    download.close()

    intruder = client_for("globex-rep")
    base = f"/a/store_visits/customer/{customer['id']}"
    for path in (base, base + "/edit", f"/a/files/{file_id}"):
        assert intruder.get(path).status_code == 404, path
    token = csrf_token(intruder, "/a/")
    posted = intruder.post(base + "/edit", data={"v-csrf_token": token, "_version": "1", "v-name": "hijacked"})
    assert posted.status_code == 404
    state = intruder.post(f"/a/store_visits/customer/state?record={customer['id']}", data={}, headers={"X-CSRFToken": token, **JSON})
    assert state.status_code == 404
    stage = intruder.post(base + "/stage", data={"csrf_token": token, "stage": "x", "_version": "1"})
    assert stage.status_code == 404
    # The intruder's own list does not show it either.
    assert "华联" not in intruder.get("/a/store_visits/customer/").get_data(as_text=True)
    # And the owner's record is untouched.
    assert "华联" in owner.get(base).get_data(as_text=True)


def test_an_app_of_another_workspace_is_not_found(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    make_tenant(app, "globex")
    publish(app, tenant, visit_app())
    intruder = client_for("globex-rep")
    for path in ("/a/store_visits/customer/", "/a/store_visits/customer/new", "/a/store_visits/customer/lookup?q=a"):
        assert intruder.get(path).status_code == 404, path


def test_a_role_without_permission_gets_403(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, restricted_app())
    rep = client_for("acme-rep")
    for path in ("/a/hr/salary/", "/a/hr/salary/new", "/a/hr/salary/lookup?q=1"):
        response = rep.get(path)
        assert response.status_code == 403, path
        assert "无权" in response.get_data(as_text=True) or path.endswith("q=1")
    token = csrf_token(rep, "/a/")
    assert rep.post("/a/hr/salary/new", data={"v-csrf_token": token, "v-amount": "100"}).status_code == 403
    assert rep.post("/a/hr/salary/new", data={"v-csrf_token": token, "v-amount": "100"}, headers=JSON).status_code == 403
    manager = client_for("acme-manager")
    assert manager.get("/a/hr/salary/").status_code == 200
    token = csrf_token(manager, "/a/")
    created = manager.post("/a/hr/salary/new", data={"v-csrf_token": token, "v-amount": "100"})
    assert created.status_code == 302
    record_path = created.headers["Location"].removesuffix("/edit")
    assert rep.get(record_path).status_code == 403


def test_row_level_rules_hide_other_reps_records(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    visit = _create(app, tenant, "store_visits", "visit", {"customer": customer["id"]})
    other_rep = client_for("acme-rep2")  # visits: read_when owner == me()
    assert other_rep.get(f"/a/store_visits/visit/{visit['id']}").status_code == 404
    assert client_for("acme-manager").get(f"/a/store_visits/visit/{visit['id']}").status_code == 200


def test_the_new_button_shows_only_to_roles_that_may_create(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    doc = visit_app()
    for entity in doc["entities"]:
        if entity["key"] == "customer":
            entity["permissions"] = [{"role": "rep", "create": False, "delete": False}, {"role": "manager"}]
    publish(app, tenant, doc)
    rep_page = client_for("acme-rep").get("/a/store_visits/customer/").get_data(as_text=True)
    manager_page = client_for("acme-manager").get("/a/store_visits/customer/").get_data(as_text=True)
    assert 'data-testid="new-record"' not in rep_page
    assert 'data-testid="new-record"' in manager_page
