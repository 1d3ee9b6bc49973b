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
from flask.testing import FlaskClient

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


# -- the token query also reads the app: only ever in the token's workspace --------------------


def test_app_read_with_the_token_is_the_token_workspace_s(
    admin_api: Api, rep_api: Api, client: FlaskClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    other_admin = Api(client, other_tenant.admin_token)
    published = install(other_admin, perf_app())  # "perf" exists in workspace B only
    app_id = published["revision"]["app_id"]
    for path in (DEALS, f"/apps/{app_id}/entities/deal/records"):
        refused = rep_api.post(path, json={"name": "x"})
        assert refused.status_code == 404, refused.get_json()
        assert refused.get_json()["code"] == "not_found"
        assert rep_api.get(path).status_code == 404
    # Workspace A gets its own app of the same key, unpublished first: still not found.
    created = admin_api.post("/apps", json=perf_app())
    assert created.status_code == 201
    unpublished = rep_api.post(DEALS, json={"name": "x"})
    assert unpublished.status_code == 404
    assert "尚未发布" in unpublished.get_json()["message"]  # the rep's language
    # Published: each workspace writes to its own table.
    revision = created.get_json()["revision"]["id"]
    assert admin_api.post(f"/apps/perf/revisions/{revision}/publish", json={}).status_code == 200
    mine = rep_api.post(DEALS, json={"name": "mine"})
    theirs = Api(client, other_tenant.rep_token).post(DEALS, json={"name": "theirs"})
    assert mine.status_code == theirs.status_code == 201
    assert [r["name"] for r in rep_api.get(DEALS).get_json()["items"]] == ["mine"]
    by_id = rep_api.get(f"/apps/{app_id}/entities/deal/records")  # B's app id, from A
    assert by_id.status_code == 404


def test_unknown_token_on_an_app_route_is_unauthenticated(rep_api: Api, admin_api: Api, client: FlaskClient) -> None:
    install(admin_api, perf_app())
    stranger = Api(client, "cairn_not-a-token")
    for response in (stranger.get(DEALS), stranger.post(DEALS, json={"name": "x"})):
        assert response.status_code == 401
        assert response.get_json()["code"] == "unauthenticated"


# -- pooled connections: pinged when idle, not on every checkout ---------------------------------


def _backend_pid(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_idle_connection_is_pinged_and_replaced_if_dead(postgres_url: str) -> None:
    from runtime.db import make_engine

    engine = make_engine(postgres_url)
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pid = _backend_pid(conn)
        with admin.connect() as conn:  # the server drops the pooled connection
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # Checked in just now: handed out unpinged, so this one request fails …
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            _backend_pid(conn)
        # … and SQLAlchemy drops the dead connection; the next request works.
        with engine.connect() as conn:
            fresh = _backend_pid(conn)
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": fresh})
        # Idle longer than IDLE_PING_SECONDS: pinged at checkout and replaced, no failure.
        for record in engine.pool._pool.queue:  # type: ignore[attr-defined]
            record.info["cairn_checked_in_at"] -= 60
        with engine.connect() as conn:
            assert _backend_pid(conn) not in (pid, fresh)
    finally:
        engine.dispose()
        admin.dispose()


def test_busy_connection_is_not_pinged(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.db import make_engine

    engine = make_engine(postgres_url)
    pings: list[object] = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real(c))
    try:
        for _ in range(5):
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        assert pings == []  # new, then reused within the second: no extra round trip
        for record in engine.pool._pool.queue:  # type: ignore[attr-defined]
            record.info["cairn_checked_in_at"] -= 60
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert len(pings) == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("app_ref", ["99999999999999999999", "9223372036854775808", "²", "١٢"])
def test_app_reference_the_database_cannot_hold_is_not_found(admin_api: Api, rep_api: Api, app_ref: str) -> None:
    install(admin_api, perf_app())
    for response in (
        rep_api.get(f"/apps/{app_ref}/entities/deal/records"),
        rep_api.post(f"/apps/{app_ref}/entities/deal/records", json={"name": "x"}),
        admin_api.get(f"/apps/{app_ref}"),
    ):
        assert response.status_code == 404, response.get_json()
        assert response.get_json()["code"] == "not_found"
