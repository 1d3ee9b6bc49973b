"""Acceptance: a role declared in an app is given to a user through the admin page, and then
governs what that user's API token can read and write; a role the app stops declaring grants
nothing and is flagged."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.integration.admin_people.support import books_app, post_form, text_of
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install

INVOICES = "/apps/books/entities/invoice/records"
PAYROLL = "/apps/books/entities/payroll/records"


def _seed(admin: Api) -> dict[str, int]:
    install(admin, books_app())
    east = admin.post(INVOICES, json={"name": "华东发票", "region": "华东"}).get_json()["record"]["id"]
    south = admin.post(INVOICES, json={"name": "华南发票", "region": "华南"}).get_json()["record"]["id"]
    admin.post(PAYROLL, json={"name": "十一月工资"})
    return {"east": east, "south": south}


def test_declared_role_given_through_the_page_governs_the_api(
    client: FlaskClient, admin_api: Api, rep_api: Api, tenant: Tenant
) -> None:
    ids = _seed(admin_api)
    # As a rep, the user may create invoices and read both regions.
    assert rep_api.post(INVOICES, json={"name": "rep's", "region": "华南"}).status_code == 201
    assert rep_api.get(f"{INVOICES}/{ids['south']}").status_code == 200

    sign_in_as(client, tenant.admin)
    page = client.get(f"/admin/people/{tenant.rep.id}").get_data(as_text=True)
    assert '<option value="auditor"' in page and "auditor (books)" in page
    saved = post_form(client, f"/admin/people/{tenant.rep.id}",
                      {"name": tenant.rep.name, "role": "auditor", "region": "华东", "manager": str(tenant.manager.id)})
    assert saved.status_code == 302, text_of(saved)
    assert admin_api.get(f"/users/{tenant.rep.id}").get_json()["role"] == "auditor"

    # Now the same token reads only what the auditor's permission allows ...
    listed = rep_api.get(INVOICES)
    assert listed.status_code == 200
    assert [r["name"] for r in listed.get_json()["items"]] == ["华东发票"]
    assert rep_api.get(f"{INVOICES}/{ids['east']}").status_code == 200
    assert rep_api.get(f"{INVOICES}/{ids['south']}").status_code == 404  # hidden like a missing record
    # ... writes nothing ...
    assert rep_api.post(INVOICES, json={"name": "x", "region": "华东"}).status_code == 403
    assert rep_api.patch(f"{INVOICES}/{ids['east']}", json={"name": "改", "version": 1}).status_code == 403
    assert rep_api.delete(f"{INVOICES}/{ids['east']}").status_code == 403
    # ... and sees nothing of an entity whose permissions don't name the role.
    assert rep_api.get(PAYROLL).status_code == 403


def test_role_the_app_stops_declaring_grants_nothing_and_is_flagged(
    client: FlaskClient, admin_api: Api, rep_api: Api, tenant: Tenant
) -> None:
    ids = _seed(admin_api)
    assert admin_api.patch(f"/users/{tenant.rep.id}", json={"role": "auditor"}).status_code == 200
    assert rep_api.get(f"{INVOICES}/{ids['east']}").status_code == 200
    install(admin_api, books_app(with_auditor=False))  # a new revision without the role

    user = admin_api.get(f"/users/{tenant.rep.id}").get_json()
    assert user["role"] == "auditor" and user["role_declared"] is False  # kept, flagged
    assert rep_api.get(INVOICES).status_code == 403  # but it grants nothing
    assert all(r["key"] != "auditor" for r in admin_api.get("/roles").get_json()["items"])
    sign_in_as(client, tenant.admin)
    people = client.get("/admin/people", headers={"Accept-Language": "en"})
    assert "role not declared" in text_of(people) and 'data-testid="undeclared-roles"' in people.get_data(as_text=True)
    # Other fields can still be saved with the held role; giving it anew is refused.
    assert admin_api.patch(f"/users/{tenant.rep.id}", json={"region": "华北"}).status_code == 200
    assert admin_api.patch(f"/users/{tenant.manager.id}", json={"role": "auditor"}).status_code == 422
