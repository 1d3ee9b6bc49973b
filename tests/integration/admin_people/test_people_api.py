"""The people-and-access REST API: users, managers, roles, passwords and tokens, with their errors."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from runtime.models import ApiToken, AuditEvent
from runtime.platform import Platform
from tests.integration.admin_people.support import books_app
from tests.integration.conftest import Api, Tenant, install


def test_only_admins_manage_people(rep_api: Api, client: FlaskClient, tenant: Tenant) -> None:
    manager = Api(client, tenant.manager_token)
    for api in (rep_api, manager):
        assert api.get("/users").status_code == 403
        assert api.post("/users", json={"username": "x"}).status_code == 403
        assert api.patch(f"/users/{tenant.rep.id}", json={"region": "x"}).status_code == 403
        assert api.get("/tokens").status_code == 403
        assert api.get("/audit").status_code == 403


def test_create_user_with_manager_and_generated_password(admin_api: Api, client: FlaskClient, tenant: Tenant) -> None:
    answer = admin_api.post("/users", json={"username": "zhao", "name": "赵六", "manager": tenant.manager.id, "region": "华南"})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["user"]["role"] == "rep" and body["user"]["manager_name"] == tenant.manager.name
    password = body["password"]
    assert password and len(password) >= 12
    # The generated password signs in.
    from tests.integration.browser_session import sign_in

    assert sign_in(client, "zhao", password).status_code == 302
    listed = {u["username"]: u for u in admin_api.get("/users").get_json()["items"]}
    assert listed["zhao"]["region"] == "华南" and "password_hash" not in listed["zhao"]


def test_duplicate_username_is_refused(admin_api: Api, tenant: Tenant, other_tenant: Tenant) -> None:
    # Usernames are unique across workspaces (they sign in without naming one).
    answer = admin_api.post("/users", json={"username": other_tenant.rep.username, "password": "long-enough"})
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["code"] == "username_taken" and "taken" in body["detail"] and "已被使用" in body["detail_zh"]


def test_other_workspace_users_are_not_found(admin_api: Api, other_tenant: Tenant) -> None:
    theirs = other_tenant.rep.id
    assert admin_api.get(f"/users/{theirs}").status_code == 404
    assert admin_api.patch(f"/users/{theirs}", json={"region": "x"}).status_code == 404
    assert admin_api.post(f"/users/{theirs}/password", json={}).status_code == 404
    assert admin_api.post("/tokens", json={"user_id": theirs, "name": "x"}).status_code == 404
    assert admin_api.get(f"/tokens?user_id={theirs}").status_code == 404


def test_manager_rules(admin_api: Api, tenant: Tenant, other_tenant: Tenant) -> None:
    # A manager of another workspace is refused, with what to do.
    other = admin_api.patch(f"/users/{tenant.rep.id}", json={"manager": other_tenant.manager.id})
    assert other.status_code == 422
    assert other.get_json()["errors"]["manager"] == ["The manager must be a user of this workspace."]
    # A cycle: the rep reports to the manager, so the manager can't report to the rep.
    cycle = admin_api.patch(f"/users/{tenant.manager.id}", json={"manager": tenant.rep.id})
    assert cycle.status_code == 422 and "cycle" in cycle.get_json()["detail"]
    itself = admin_api.patch(f"/users/{tenant.rep.id}", json={"manager": tenant.rep.id})
    assert itself.status_code == 422
    # Allowed: the rep reports to the admin; then removing the manager.
    moved = admin_api.patch(f"/users/{tenant.rep.id}", json={"manager": tenant.admin.id})
    assert moved.status_code == 200 and moved.get_json()["manager"] == tenant.admin.id
    assert admin_api.patch(f"/users/{tenant.rep.id}", json={"manager": None}).get_json()["manager"] is None
    # A deactivated manager is refused.
    admin_api.patch(f"/users/{tenant.manager.id}", json={"active": False})
    dead = admin_api.patch(f"/users/{tenant.rep.id}", json={"manager": tenant.manager.id})
    assert dead.status_code == 422 and "deactivated" in dead.get_json()["detail"]


def test_admin_cannot_lock_themselves_out(admin_api: Api, tenant: Tenant) -> None:
    off = admin_api.patch(f"/users/{tenant.admin.id}", json={"active": False})
    assert off.status_code == 422 and "yourself" in off.get_json()["detail"] and "自己" in off.get_json()["detail_zh"]
    demote = admin_api.patch(f"/users/{tenant.admin.id}", json={"role": "rep"})
    assert demote.status_code == 422
    assert admin_api.get(f"/users/{tenant.admin.id}").get_json()["role"] == "admin"


def test_role_not_declared_is_refused_with_the_choices(admin_api: Api, tenant: Tenant) -> None:
    refused = admin_api.patch(f"/users/{tenant.rep.id}", json={"role": "auditor"})
    assert refused.status_code == 422
    body = refused.get_json()
    assert "auditor" in body["detail"] and "admin, manager, rep" in body["detail"] and "publish" in body["detail"]
    assert "声明" in body["detail_zh"]
    install(admin_api, books_app())
    roles = admin_api.get("/roles").get_json()["items"]
    assert {"key": "auditor", "built_in": False, "apps": ["books"]} in roles
    given = admin_api.patch(f"/users/{tenant.rep.id}", json={"role": "auditor"})
    assert given.status_code == 200 and given.get_json()["role"] == "auditor"


def test_deactivated_user_tokens_stop_and_reactivation_restores(admin_api: Api, rep_api: Api, tenant: Tenant) -> None:
    assert rep_api.get("/inbox").status_code == 200
    assert admin_api.patch(f"/users/{tenant.rep.id}", json={"active": False}).status_code == 200
    assert rep_api.get("/inbox").status_code == 401
    assert admin_api.patch(f"/users/{tenant.rep.id}", json={"active": True}).status_code == 200
    assert rep_api.get("/inbox").status_code == 200


def test_reset_password(admin_api: Api, client: FlaskClient, tenant: Tenant) -> None:
    from tests.integration.browser_session import sign_in

    short = admin_api.post(f"/users/{tenant.rep.id}/password", json={"password": "short"})
    assert short.status_code == 422 and "8" in short.get_json()["detail"]
    chosen = admin_api.post(f"/users/{tenant.rep.id}/password", json={"password": "a-new-password"})
    assert chosen.status_code == 200 and chosen.get_json()["password"] == "a-new-password"
    assert sign_in(client, tenant.rep.username, "rep-password").status_code == 401
    assert sign_in(client, tenant.rep.username, "a-new-password").status_code == 302


def test_token_issue_shown_once_revoke_takes_effect_and_last_used(
    admin_api: Api, client: FlaskClient, tenant: Tenant, platform: Platform, clock
) -> None:
    issued = admin_api.post("/tokens", json={"user_id": tenant.rep.id, "name": "ERP 同步"})
    assert issued.status_code == 201
    body = issued.get_json()
    secret, token_id = body["secret"], body["token"]["id"]
    assert secret.startswith("cairn_") and body["token"]["last_used_at"] is None
    # Only the hash is stored; the list never shows the secret.
    listed = admin_api.get(f"/tokens?user_id={tenant.rep.id}").get_data(as_text=True)
    assert secret not in listed
    erp = Api(client, secret)
    assert erp.get("/inbox").status_code == 200
    used = {t["id"]: t for t in admin_api.get("/tokens").get_json()["items"]}[token_id]
    assert used["last_used_at"] == clock.now().replace(tzinfo=None).isoformat() + "Z"
    # Revoked: the very next request is refused.
    assert admin_api.delete(f"/tokens/{token_id}").status_code == 204
    assert erp.get("/inbox").status_code == 401
    assert admin_api.delete(f"/tokens/{token_id}").status_code == 204  # idempotent
    # The token of the request itself can't be revoked by it.
    with platform.session() as session:
        own = session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == tenant.admin.id)).first()
    in_use = admin_api.delete(f"/tokens/{own}")
    assert in_use.status_code == 409 and in_use.get_json()["code"] == "token_in_use"
    # Issue and revoke are audited.
    with platform.session() as session:
        actions = set(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_key == "api_token")))
    assert actions == {"token.issue", "token.revoke"}


def test_own_password_for_every_user(rep_api: Api, client: FlaskClient, tenant: Tenant) -> None:
    from tests.integration.browser_session import sign_in

    wrong = rep_api.post("/account/password", json={"current_password": "nope", "new_password": "another-one"})
    assert wrong.status_code == 422 and wrong.get_json()["errors"]["current_password"]
    short = rep_api.post("/account/password", json={"current_password": "rep-password", "new_password": "short"})
    assert short.status_code == 422 and short.get_json()["errors"]["new_password"]
    done = rep_api.post("/account/password", json={"current_password": "rep-password", "new_password": "another-one"})
    assert done.status_code == 204
    assert sign_in(client, tenant.rep.username, "another-one").status_code == 302
