"""What the cheaper per-request work must keep: revocation, fresh publications, free reads.

* a token is authenticated in one query, yet a revoked token (or a deactivated user) fails
  on the very next request, whichever process revoked it;
* the published app is taken from the process cache after a revision check, yet a
  publish — made through another Platform on the same database, as another process
  would — is seen by the next request, re-publishing an older revision included;
* on SQLite a read-only transaction doesn't take the write lock, so a long read doesn't
  hold up a writer, while writers still take it up front and queue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from runtime.clock import FrozenClock
from runtime.models import ApiToken, User
from runtime.platform import Platform
from runtime.settings import Settings
from runtime.workspaces import IdentityService
from tests.integration.conftest import Api, Tenant, install, make_settings
from tests.integration.test_write_round_trips import DEALS, perf_app
from web import create_app

RECORD = "/apps/perf/entities/deal/records"


@pytest.fixture
def second_app(database_url: str, tmp_path: Path, clock: FrozenClock, app: Flask) -> Iterator[Flask]:
    """Another Cairn app (its own Platform, engine and pool) on the same database."""
    other = create_app(make_settings(database_url, tmp_path / "instance-2"), clock=clock)
    try:
        yield other
    finally:
        other.extensions["cairn"].dispose()


def _token_id(platform: Platform, token_user: User) -> int:
    with platform.session() as session:
        return session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == token_user.id)).one()


def test_revoked_token_fails_on_the_next_request(
    rep_api: Api, admin_api: Api, tenant: Tenant, second_app: Flask
) -> None:
    install(admin_api, perf_app())
    assert rep_api.get(DEALS).status_code == 200
    assert rep_api.post(DEALS, json={"name": "before"}).status_code == 201

    # Revoked by another process (its own Platform on the same database).
    other: Platform = second_app.extensions["cairn"]
    with other.session() as session:
        IdentityService(session, other.clock).revoke_token(tenant.workspace.id, _token_id(other, tenant.rep))

    for response in (rep_api.get(DEALS), rep_api.post(DEALS, json={"name": "after"})):
        assert response.status_code == 401, response.get_json()
        assert response.get_json()["code"] == "unauthenticated"
    # Other tokens are untouched.
    assert admin_api.get(DEALS).status_code == 200


def test_deactivated_user_fails_on_the_next_request(
    rep_api: Api, admin_api: Api, tenant: Tenant, platform: Platform
) -> None:
    install(admin_api, perf_app())
    assert rep_api.get(DEALS).status_code == 200
    with platform.session() as session:
        session.get(User, tenant.rep.id).is_active = False  # type: ignore[union-attr]
        session.commit()
    assert rep_api.get(DEALS).status_code == 401


def test_token_of_another_workspace_user_pair_is_refused(
    rep_api: Api, admin_api: Api, tenant: Tenant, other_tenant: Tenant, platform: Platform
) -> None:
    install(admin_api, perf_app())
    # A token row pointing at a user of another workspace authenticates nobody.
    with platform.session() as session:
        row = session.scalars(sa.select(ApiToken).where(ApiToken.user_id == tenant.rep.id)).one()
        row.user_id = other_tenant.rep.id
        session.commit()
    assert rep_api.get(DEALS).status_code == 401


def _with_field(key: str) -> dict:
    definition = perf_app()
    definition["entities"][0]["fields"].append(
        {"key": key, "type": "text", "label": {"zh": key, "en": key}}
    )
    return definition


def _publish(api: Api, definition: dict, revision: int | None = None, drops: list[str] | None = None) -> int:
    if revision is None:
        created = api.post("/apps", json=definition)
        assert created.status_code == 201, created.get_json()
        revision = created.get_json()["revision"]["id"]
    published = api.post(f"/apps/perf/revisions/{revision}/publish", json={"confirm_drops": drops or []})
    assert published.status_code == 200, published.get_json()
    return revision


def test_publish_is_seen_by_the_next_request_of_another_process(
    rep_api: Api, admin_api: Api, tenant: Tenant, second_app: Flask
) -> None:
    first = _publish(admin_api, perf_app())
    created = rep_api.post(DEALS, json={"name": "a"})
    assert created.status_code == 201
    record_id = created.get_json()["record"]["id"]
    assert "region" not in rep_api.get(f"{RECORD}/{record_id}").get_json()["record"]  # cached now

    # Another process publishes a revision with a new field (same frozen clock tick).
    other = Api(second_app.test_client(), tenant.admin_token)
    _publish(other, _with_field("region"))
    written = rep_api.post(DEALS, json={"name": "b", "region": "华东"})
    assert written.status_code == 201, written.get_json()
    assert written.get_json()["record"]["region"] == "华东"
    assert rep_api.get(f"{RECORD}/{record_id}").get_json()["record"]["region"] is None

    # Re-publishing the older revision, still within the same clock tick, is seen too.
    _publish(other, perf_app(), revision=first, drops=["deal.region"])
    after = rep_api.get(f"{RECORD}/{record_id}")
    assert after.status_code == 200
    assert "region" not in after.get_json()["record"]
    refused = rep_api.post(DEALS, json={"name": "c", "region": "华南"})
    assert refused.status_code in (400, 422), refused.get_json()


# -- SQLite: reads don't take the write lock ---------------------------------------------------


@pytest.fixture
def sqlite_platform(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Platform, str]]:
    platform = Platform.from_settings(
        Settings(database_url=sqlite_url, secret_key="x", instance_path=tmp_path, testing=True)
    )
    with platform.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('a')")
    try:
        yield platform, sqlite_url.removeprefix("sqlite:///")
    finally:
        platform.dispose()


def _writer(path: str) -> sqlite3.Connection:
    """A second connection to the file that gives up on a lock after 0.2 s."""
    return sqlite3.connect(path, timeout=0.2, isolation_level=None)


def test_long_read_does_not_block_a_write(sqlite_platform: tuple[Platform, str]) -> None:
    platform, path = sqlite_platform
    with platform.read_session() as reader:
        assert reader.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 1  # transaction open
        writer = _writer(path)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO t (v) VALUES ('b')")
            writer.execute("COMMIT")
        finally:
            writer.close()
        # The reader still sees its snapshot, and is not in the writer's way.
        assert reader.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 1
    with platform.read_session() as fresh:
        assert fresh.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2


def test_a_write_transaction_still_takes_the_lock_up_front(sqlite_platform: tuple[Platform, str]) -> None:
    platform, path = sqlite_platform
    with platform.session() as session:
        session.execute(sa.text("SELECT count(*) FROM t"))  # only read so far, yet it holds the lock
        writer = _writer(path)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                writer.execute("BEGIN IMMEDIATE")
        finally:
            writer.close()
        session.rollback()
