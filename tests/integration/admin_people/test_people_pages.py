"""The admin console's people pages: every form with its refusals (typed values kept, a message
per field in zh-CN and English), the guard, and workspace isolation."""

from __future__ import annotations

from flask.testing import FlaskClient

from runtime.platform import Platform
from tests.integration.admin_people.support import post_form, text_of
from tests.integration.browser_session import sign_in, sign_in_as
from tests.integration.conftest import Api, Tenant


def test_people_pages_are_for_admins_only(client: FlaskClient, tenant: Tenant) -> None:
    assert client.get("/admin/people").status_code == 302  # to the sign-in page
    sign_in_as(client, tenant.rep)
    for path in ("/admin/people", f"/admin/people/{tenant.rep.id}", "/admin/tokens", "/admin/audit", "/admin/audit.csv"):
        assert client.get(path).status_code == 403, path
    assert post_form(client, "/admin/people", {"username": "sneaky"}).status_code == 403


def test_other_workspace_person_is_not_found(client: FlaskClient, tenant: Tenant, other_tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    theirs = other_tenant.rep.id
    assert client.get(f"/admin/people/{theirs}").status_code == 404
    assert post_form(client, f"/admin/people/{theirs}", {"name": "x", "role": "rep"}).status_code == 404
    assert post_form(client, f"/admin/people/{theirs}/active", {"active": "0"}).status_code == 404
    assert post_form(client, f"/admin/people/{theirs}/password", {}).status_code == 404


def test_people_list_and_create(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    page = client.get("/admin/people")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert tenant.rep.username in html and 'data-testid="rail-people"' in html
    created = post_form(client, "/admin/people", {"username": "wang", "name": "王五", "role": "rep",
                                                   "manager": str(tenant.manager.id), "region": "华北"})
    assert created.status_code == 201
    secret = created.get_data(as_text=True).split('data-testid="secret">')[1].split("<")[0]
    client.post("/logout", data={"csrf_token": ""})
    other = client.application.test_client()
    assert sign_in(other, "wang", secret).status_code == 302


def test_duplicate_username_keeps_what_was_typed(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    typed = {"username": tenant.rep.username, "name": "重名的人", "role": "manager", "region": "西南", "password": "long-enough-1"}
    answer = post_form(client, "/admin/people", typed)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "is taken; choose another one" in text_of(answer)
    assert 'value="重名的人"' in html and 'value="西南"' in html and f'value="{tenant.rep.username}"' in html
    assert '<option value="manager" selected' in html
    assert "long-enough-1" not in html  # a password is never echoed
    zh = post_form(client, "/admin/people", typed, lang="zh-CN")
    assert "已被使用" in zh.get_data(as_text=True)


def test_deactivating_yourself_is_refused(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    answer = post_form(client, f"/admin/people/{tenant.admin.id}/active", {"active": "0"})
    assert answer.status_code == 422
    assert "You can't deactivate yourself; ask another admin." in text_of(answer)
    zh = post_form(client, f"/admin/people/{tenant.admin.id}/active", {"active": "0"}, lang="zh-CN")
    assert "不能停用自己" in text_of(zh)


def test_deactivate_and_reactivate_someone(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    off = post_form(client, f"/admin/people/{tenant.rep.id}/active", {"active": "0"})
    assert off.status_code == 302
    rep = client.application.test_client()
    assert sign_in(rep, tenant.rep.username, "rep-password").status_code == 401
    assert post_form(client, f"/admin/people/{tenant.rep.id}/active", {"active": "1"}).status_code == 302
    assert sign_in(rep, tenant.rep.username, "rep-password").status_code == 302


def test_manager_of_another_workspace_and_cycles_are_refused(client: FlaskClient, tenant: Tenant, other_tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    base = {"name": tenant.rep.name, "role": "rep", "region": "华东"}
    other = post_form(client, f"/admin/people/{tenant.rep.id}", {**base, "manager": str(other_tenant.manager.id)})
    assert other.status_code == 422
    assert "The manager must be a user of this workspace." in text_of(other)
    cycle = post_form(client, f"/admin/people/{tenant.manager.id}",
                      {"name": "经理改名", "role": "manager", "region": "", "manager": str(tenant.rep.id)})
    assert cycle.status_code == 422
    html = cycle.get_data(as_text=True)
    assert "cycle of managers" in html and 'value="经理改名"' in html  # what was typed stays
    zh = post_form(client, f"/admin/people/{tenant.manager.id}",
                   {"name": "经理", "role": "manager", "manager": str(tenant.rep.id)}, lang="zh-CN")
    assert "上级循环" in text_of(zh)


def test_set_manager_through_the_page(client: FlaskClient, tenant: Tenant, admin_api: Api) -> None:
    sign_in_as(client, tenant.admin)
    made = admin_api.post("/users", json={"username": "new-rep", "password": "long-enough"}).get_json()["user"]
    saved = post_form(client, f"/admin/people/{made['id']}",
                      {"name": "新人", "role": "rep", "region": "华东", "manager": str(tenant.manager.id)})
    assert saved.status_code == 302
    user = admin_api.get(f"/users/{made['id']}").get_json()
    assert user["manager"] == tenant.manager.id and user["name"] == "新人" and user["region"] == "华东"


def test_undeclared_role_is_refused_with_a_clear_message(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    answer = post_form(client, f"/admin/people/{tenant.rep.id}", {"name": "李", "role": "auditor", "region": "华东"})
    assert answer.status_code == 422
    assert "No published app of this workspace declares the role 'auditor'" in text_of(answer)
    zh = post_form(client, f"/admin/people/{tenant.rep.id}", {"name": "李", "role": "auditor"}, lang="zh-CN")
    assert "没有已发布的应用声明角色 auditor" in text_of(zh)


def test_reset_password_and_issue_token_on_the_page(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    short = post_form(client, f"/admin/people/{tenant.rep.id}/password", {"password": "short"})
    assert short.status_code == 422 and "at least 8 characters" in text_of(short)
    reset = post_form(client, f"/admin/people/{tenant.rep.id}/password", {"password": ""})
    assert reset.status_code == 200
    password = reset.get_data(as_text=True).split('data-testid="secret">')[1].split("<")[0]
    assert sign_in(client.application.test_client(), tenant.rep.username, password).status_code == 302
    unnamed = post_form(client, f"/admin/people/{tenant.rep.id}/tokens", {"name": ""})
    assert unnamed.status_code == 422 and "Name the token" in text_of(unnamed)
    issued = post_form(client, f"/admin/people/{tenant.rep.id}/tokens", {"name": "ERP"})
    assert issued.status_code == 201
    secret = issued.get_data(as_text=True).split('data-testid="secret">')[1].split("<")[0]
    api = Api(client.application.test_client(), secret)
    assert api.get("/inbox").status_code == 200
    # Revoked from the tokens page: the next request with it is refused.
    tokens = client.get("/admin/tokens").get_data(as_text=True)
    assert "ERP" in tokens and secret not in tokens
    token_id = tokens.split('data-testid="revoke-')[1].split('"')[0]
    revoked = post_form(client, f"/admin/tokens/{token_id}/revoke", {"back": "tokens"})
    assert revoked.status_code == 302
    assert api.get("/inbox").status_code == 401


def test_own_password_page_for_everyone(client: FlaskClient, tenant: Tenant, platform: Platform) -> None:
    sign_in_as(client, tenant.rep)
    assert client.get("/account/password").status_code == 200
    wrong = post_form(client, "/account/password", {"current_password": "nope", "new_password": "another-one", "confirm_password": "another-one"})
    assert wrong.status_code == 422 and "The current password is wrong." in text_of(wrong)
    differ = post_form(client, "/account/password", {"current_password": "rep-password", "new_password": "another-one", "confirm_password": "another-two"})
    assert differ.status_code == 422 and "differ" in text_of(differ)
    done = post_form(client, "/account/password", {"current_password": "rep-password", "new_password": "another-one", "confirm_password": "another-one"})
    assert done.status_code == 302
    assert sign_in(client.application.test_client(), tenant.rep.username, "another-one").status_code == 302


def test_forms_need_the_csrf_token(client: FlaskClient, tenant: Tenant) -> None:
    sign_in_as(client, tenant.admin)
    for path, data in (
        ("/admin/people", {"username": "forged"}),
        (f"/admin/people/{tenant.rep.id}", {"name": "x", "role": "admin"}),
        (f"/admin/people/{tenant.rep.id}/active", {"active": "0"}),
        (f"/admin/people/{tenant.rep.id}/password", {"password": "forged-password"}),
        (f"/admin/people/{tenant.rep.id}/tokens", {"name": "forged"}),
        ("/inbox/read-all", {}),
        ("/account/password", {"current_password": "admin-password", "new_password": "forged-pass"}),
    ):
        assert client.post(path, data=data).status_code == 400, path
    rep = client.application.test_client()
    assert sign_in(rep, tenant.rep.username, "rep-password").status_code == 302  # nothing changed
