"""Hostile: a rep tries to read what their role's row conditions hide.

The app: reps read only the customers of their own region and only their own visits.
Rep 2 (same region) records a visit with a secret note, transcript and photo on a shared
customer; the attacker (rep) may read the customer but not the visit. A second customer
belongs to another region, so the attacker may not read it at all. Every test is the
attacker's request through the API and, where a page exists, the HTML page; each one
answered with the hidden data before row conditions were applied on every read path.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.platform import Platform
from runtime.workspaces import IdentityService
from tests.integration.conftest import Api, Tenant, install
from tests.integration.hostile.pages import browser, csrf
from tests.unit.web.support import tiny_png

SECRET_NOTE = "secret-note-7f3a"
SECRET_TRANSCRIPT = "secret-transcript-91c2"
HIDDEN_CUSTOMER = "Hidden-Co-5d1e"
SHARED_CUSTOMER = "Shared-Co"
REP2_PASSWORD = "rep2-password"

APP: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "field",
    "label": "Field sales",
    "entities": [
        {
            "key": "customer",
            "label": {"zh": "客户", "en": "Customer"},
            "title_field": "name",
            "fields": [
                {"key": "name", "type": "text", "label": "Name"},
                {"key": "region", "type": "text", "label": "Region"},
                {"key": "source_id", "type": "text", "label": "Source id"},
            ],
            "permissions": [
                {"role": "rep", "delete": False, "read_when": "region == me().region"},
                {"role": "manager"},
            ],
        },
        {
            "key": "visit",
            "label": {"zh": "拜访", "en": "Visit"},
            "fields": [
                {"key": "customer", "type": "link", "target": "customer", "related_name": "visits",
                 "label": {"zh": "客户", "en": "Customer"}},
                {"key": "note", "type": "long_text", "label": "Note"},
                {"key": "transcript", "type": "long_text", "label": "Transcript"},
                {"key": "photos", "type": "photo", "multiple": True, "label": "Photos"},
                {"key": "customer_name", "type": "formula", "formula": "customer.name", "label": "Customer name"},
            ],
            "permissions": [
                {"role": "rep", "delete": False, "read_when": "owner == me()", "write_when": "owner == me()"},
                {"role": "manager"},
            ],
        },
        {
            "key": "memo",
            "label": {"zh": "备忘", "en": "Memo"},
            "fields": [
                {"key": "customer", "type": "link", "target": "customer", "related_name": "memos", "label": "Customer"},
                {"key": "body", "type": "text", "label": "Body"},
            ],
            "permissions": [{"role": "manager"}],
        },
    ],
    "triggers": [
        {"key": "intake", "label": "Intake", "entity": "customer",
         "on": {"type": "webhook", "dedup_key": "source_id", "fields": {"id": "source_id", "company": "name", "region": "region"}},
         "actions": [{"type": "notify", "channel": "inbox", "to_role": "manager", "message": "{name}"}]},
    ],
}  # fmt: skip

CUSTOMERS = "/apps/field/entities/customer/records"
VISITS = "/apps/field/entities/visit/records"
MEMOS = "/apps/field/entities/memo/records"
def _status(client: FlaskClient, path: str) -> int:
    """The status of GET ``path`` (the response, a file stream maybe, is closed)."""
    response = client.get(path)
    response.close()
    return response.status_code


class World:
    """The seeded app and the ids the attacker goes after."""

    def __init__(self, app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, rep_api: Api) -> None:
        self.flask = app
        self.tenant = tenant
        self.admin = admin_api
        self.rep = rep_api
        install(admin_api, APP)
        with platform.session() as session:
            identity = IdentityService(session, platform.clock)
            from runtime.models import Workspace

            ws = session.get(Workspace, tenant.workspace.id)
            assert ws is not None
            rep2 = identity.create_user(ws, "alpha-rep2", password=REP2_PASSWORD, role="rep", region="华东", manager=tenant.manager.id)
            self.rep2_id = rep2.id
            self.rep2 = Api(app.test_client(), identity.issue_token(rep2).token)
        self.shared = self._create(admin_api, CUSTOMERS, {"name": SHARED_CUSTOMER, "region": "华东"})
        self.hidden_customer = self._create(admin_api, CUSTOMERS, {"name": HIDDEN_CUSTOMER, "region": "华南"})
        # Rep 2 uploads a photo through the form's upload endpoint and records the visit.
        self.rep2_web = browser(app, "alpha-rep2", REP2_PASSWORD)
        token = csrf(self.rep2_web, "/a/")
        uploaded = self.rep2_web.post(
            "/a/field/visit/upload/photos",
            data={"file": (io.BytesIO(tiny_png()), "shop.png")},
            headers={"X-CSRFToken": token},
        )
        assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
        self.photo_id = uploaded.get_json()["id"]
        self.secret_visit = self._create(
            self.rep2, VISITS,
            {"customer": self.shared, "note": SECRET_NOTE, "transcript": SECRET_TRANSCRIPT, "photos": [self.photo_id]},
        )
        self.rep_web = browser(app, "alpha-rep", "rep-password")

    @staticmethod
    def _create(api: Api, path: str, values: dict[str, Any]) -> int:
        response = api.post(path, json=values)
        assert response.status_code == 201, response.get_json()
        return int(response.get_json()["record"]["id"])


@pytest.fixture
def world(app: Flask, platform: Platform, tenant: Tenant, admin_api: Api, rep_api: Api) -> World:
    """The app, its users and the records above."""
    return World(app, platform, tenant, admin_api, rep_api)


def test_the_hidden_visit_is_hidden_from_the_attacker(world: World) -> None:
    """Sanity: the direct read is already 404, and rep 2 sees their own visit."""
    assert world.rep.get(f"{VISITS}/{world.secret_visit}").status_code == 404
    assert world.rep2.get(f"{VISITS}/{world.secret_visit}").status_code == 200
    assert world.rep.get(f"{CUSTOMERS}/{world.shared}").status_code == 200


def test_customer_timeline_and_page_hide_the_hidden_visits_notes_and_photos(world: World) -> None:
    timeline = world.rep.get(f"{CUSTOMERS}/{world.shared}/timeline")
    assert timeline.status_code == 200
    body = timeline.get_data(as_text=True)
    assert SECRET_NOTE not in body and SECRET_TRANSCRIPT not in body
    assert all(item["entity"] != "visit" for item in timeline.get_json()["items"])
    page = world.rep_web.get(f"/a/field/customer/{world.shared}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert SECRET_NOTE not in html and SECRET_TRANSCRIPT not in html
    assert f"/a/files/{world.photo_id}" not in html
    # Rep 2, who may read the visit, does see it on the same customer's timeline.
    own = world.rep2_web.get(f"/a/field/customer/{world.shared}").get_data(as_text=True)
    assert SECRET_NOTE in own and f"/a/files/{world.photo_id}" in own


def test_the_hidden_visits_photo_cannot_be_downloaded_by_id(world: World) -> None:
    assert _status(world.rep_web, f"/a/files/{world.photo_id}") == 404
    assert _status(world.rep2_web, f"/a/files/{world.photo_id}") == 200
    # Naming the hidden visit (or a readable customer) as the page the photo is on changes nothing.
    for near in (f"app=field&entity=visit&record={world.secret_visit}", f"app=field&entity=customer&record={world.shared}"):
        assert _status(world.rep_web, f"/a/files/{world.photo_id}?{near}") == 404
    assert _status(world.rep2_web, f"/a/files/{world.photo_id}?app=field&entity=visit&record={world.secret_visit}") == 200
    # The attacker's own, not yet attached upload is theirs to see; rep 2's is not.
    token = csrf(world.rep_web, "/a/")
    mine = world.rep_web.post(
        "/a/field/visit/upload/photos", data={"file": (io.BytesIO(tiny_png()), "mine.png")}, headers={"X-CSRFToken": token}
    ).get_json()["id"]
    assert _status(world.rep_web, f"/a/files/{mine}") == 200
    assert _status(world.rep2_web, f"/a/files/{mine}") == 404


def test_attaching_the_hidden_photo_to_an_own_visit_is_refused_like_an_unknown_file(world: World) -> None:
    stolen = world.rep.post(VISITS, json={"customer": world.shared, "photos": [world.photo_id]})
    unknown = world.rep.post(VISITS, json={"customer": world.shared, "photos": [987654321]})
    assert stolen.status_code == unknown.status_code == 422
    assert stolen.get_json()["errors"].keys() == unknown.get_json()["errors"].keys() == {"photos"}
    assert _status(world.rep_web, f"/a/files/{world.photo_id}") == 404


@pytest.mark.parametrize(
    "where",
    [
        'any(visits where note == "{note}")',
        'count(visits where contains(transcript, "{transcript}")) > 0',
        'not all(visits where note != "{note}")',
    ],
)
def test_collection_filters_do_not_reveal_hidden_values(world: World, where: str) -> None:
    def rows(note: str, transcript: str) -> list[int]:
        expression = where.format(note=note, transcript=transcript)
        response = world.rep.get(CUSTOMERS, query_string={"where": expression})
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert rows(SECRET_NOTE, SECRET_TRANSCRIPT) == rows("no-such-note", "no-such-transcript") == []
    # The manager reads every visit, so the same filter finds the customer for them.
    manager = Api(world.rep.client, world.tenant.manager_token)
    found = manager.get(CUSTOMERS, query_string={"where": where.format(note=SECRET_NOTE, transcript=SECRET_TRANSCRIPT)})
    assert [item["id"] for item in found.get_json()["items"]] == [world.shared]


def test_link_traversal_in_a_filter_does_not_reveal_a_hidden_customer(world: World) -> None:
    # An admin files a visit for the attacker on the other region's customer.
    own = world._create(world.admin, VISITS, {"customer": world.hidden_customer, "owner": world.tenant.rep.id})
    assert world.rep.get(f"{VISITS}/{own}").status_code == 200

    def rows(name: str) -> list[int]:
        response = world.rep.get(VISITS, query_string={"where": f'customer.name == "{name}"'})
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert rows(HIDDEN_CUSTOMER) == rows("no-such-customer") == []
    # Its page shows no title for the customer the attacker may not read (the admin's does).
    link = re.compile(rf'href="/a/field/customer/{world.hidden_customer}">([^<]*)</a>')
    shown = link.search(world.rep_web.get(f"/a/field/visit/{own}").get_data(as_text=True))
    assert shown is not None and HIDDEN_CUSTOMER not in shown.group(1)
    admin_web = browser(world.flask, "alpha-admin", "admin-password")
    shown = link.search(admin_web.get(f"/a/field/visit/{own}").get_data(as_text=True))
    assert shown is not None and HIDDEN_CUSTOMER in shown.group(1)


def test_lookup_search_and_form_state_do_not_reveal_a_hidden_customer(world: World) -> None:
    lookup = world.rep_web.get("/a/field/customer/lookup", query_string={"q": "Co"})
    assert lookup.status_code == 200
    assert [item["id"] for item in lookup.get_json()["items"]] == [world.shared]
    search = world.rep.get(CUSTOMERS, query_string={"search": HIDDEN_CUSTOMER})
    assert search.get_json()["items"] == []
    # A draft linking the hidden customer: the form's formulas must not read its name.
    state = world.rep.post("/apps/field/entities/visit/form-state", json={"values": {"customer": world.hidden_customer}})
    assert state.status_code == 200
    assert HIDDEN_CUSTOMER not in state.get_data(as_text=True)
    token = csrf(world.rep_web, "/a/field/visit/new")
    page_state = world.rep_web.post(
        "/a/field/visit/state", data={"v-customer": str(world.hidden_customer)}, headers={"X-CSRFToken": token}
    )
    assert page_state.status_code == 200
    assert HIDDEN_CUSTOMER not in page_state.get_data(as_text=True)
    prefilled = world.rep_web.get("/a/field/visit/new", query_string={"customer": world.hidden_customer})
    assert HIDDEN_CUSTOMER not in prefilled.get_data(as_text=True)


def test_linking_a_hidden_customer_is_refused_as_if_it_did_not_exist(world: World) -> None:
    missing = 987654321
    hidden = world.rep.post(VISITS, json={"customer": world.hidden_customer, "note": "x"})
    absent = world.rep.post(VISITS, json={"customer": missing, "note": "x"})
    assert hidden.status_code == absent.status_code == 422
    hidden_body, absent_body = hidden.get_json(), absent.get_json()
    assert hidden_body["code"] == absent_body["code"]
    assert hidden_body["errors"]["customer"] == [m.replace(str(missing), str(world.hidden_customer)) for m in absent_body["errors"]["customer"]]
    # The same through the HTML form.
    token = csrf(world.rep_web, "/a/field/visit/new")
    form = world.rep_web.post("/a/field/visit/new", data={"v-csrf_token": token, "v-customer": str(world.hidden_customer), "v-note": "x"})
    assert form.status_code == 422
    assert HIDDEN_CUSTOMER not in form.get_data(as_text=True)
    assert world.admin.get(VISITS).get_json()["items"][0]["id"] == world.secret_visit


def test_the_record_page_renders_with_an_owner_change_in_its_timeline(world: World) -> None:
    moved = world.admin.patch(f"{VISITS}/{world.secret_visit}", json={"owner": world.tenant.rep.id, "version": 1})
    assert moved.status_code == 200, moved.get_json()
    admin_web = browser(world.flask, "alpha-admin", "admin-password")
    page = admin_web.get(f"/a/field/customer/{world.shared}")
    assert page.status_code == 200
    visit_page = admin_web.get(f"/a/field/visit/{world.secret_visit}")
    assert visit_page.status_code == 200
    assert "alpha-rep" in visit_page.get_data(as_text=True)
    # Now the attacker owns the visit and may see it; rep 2 no longer may.
    assert _status(world.rep_web, f"/a/files/{world.photo_id}") == 200
    assert _status(world.rep2_web, f"/a/files/{world.photo_id}") == 404


def test_an_inbound_hooks_dedup_does_not_reveal_or_touch_a_hidden_record(world: World) -> None:
    """Posting the hidden customer's dedup value neither names it nor changes it."""
    created = world.admin.post("/hooks/field/intake", json={"id": "S-9", "company": HIDDEN_CUSTOMER, "region": "华南"})
    assert created.status_code == 201, created.get_json()
    hidden = created.get_json()["record"]["id"]
    assert world.rep.get(f"{CUSTOMERS}/{hidden}").status_code == 404
    hit = world.rep.post("/hooks/field/intake", json={"id": "S-9", "company": "Renamed", "region": "华东"})
    assert hit.status_code == 409, hit.get_json()
    assert hit.get_json()["code"] == "dedup_conflict"
    body = hit.get_data(as_text=True)
    assert HIDDEN_CUSTOMER not in body and f"record {hidden}" not in body
    assert world.admin.get(f"{CUSTOMERS}/{hidden}").get_json()["record"]["name"] == HIDDEN_CUSTOMER
    # A value nobody used yet creates the record, as before.
    fresh = world.rep.post("/hooks/field/intake", json={"id": "S-10", "company": "New-Co", "region": "华东"})
    assert fresh.status_code in (200, 201), fresh.get_json()


def test_a_collection_of_an_entity_the_role_may_not_read_is_empty_in_filters(world: World) -> None:
    """Reps have no permission on memos at all: in a filter, every customer has none."""
    world._create(world.admin, MEMOS, {"customer": world.shared, "body": SECRET_NOTE})
    assert world.rep.get(MEMOS).status_code == 403
    manager = Api(world.rep.client, world.tenant.manager_token)

    def rows(api: Api, where: str) -> list[int]:
        response = api.get(CUSTOMERS, query_string={"where": where})
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert rows(world.rep, f'any(memos where body == "{SECRET_NOTE}")') == []
    assert rows(world.rep, "count(memos) == 0") == [world.shared]
    assert rows(manager, f'any(memos where body == "{SECRET_NOTE}")') == [world.shared]
    assert world.shared not in rows(manager, "count(memos) == 0")
