"""Uploads a record refers to are kept; uploads no record used are purged a day later."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from runtime.clock import FrozenClock
from runtime.files import FileService, LocalDiskStorage, purge_unattached
from runtime.models import FileRow
from runtime.platform import Platform
from tests.integration.conftest import Api, Tenant, install
from tests.unit.builder.fixtures import visit_app_definition

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _upload(platform: Platform, tenant: Tenant, storage: LocalDiskStorage, name: str) -> int:
    with platform.session() as session:
        service = FileService(session, storage, platform.clock, workspace_id=tenant.workspace.id, max_bytes=10**6)
        row = service.store(name, io.BytesIO(PNG), actor_id=tenant.rep.id)
        return row.id


def test_unattached_uploads_are_purged_after_a_day(admin_api: Api, rep_api: Api, tenant: Tenant, platform: Platform, clock: FrozenClock, tmp_path: Path) -> None:
    storage = LocalDiskStorage(tmp_path / "uploads")
    install(admin_api, visit_app_definition())
    kept = _upload(platform, tenant, storage, "shelf.png")
    dropped = _upload(platform, tenant, storage, "abandoned.png")
    customer = rep_api.post("/apps/store_visits/entities/customer/records", json={"name": "华联"}).get_json()["record"]
    visit = rep_api.post("/apps/store_visits/entities/visit/records", json={"customer": customer["id"], "shelf_photos": [kept]})
    assert visit.status_code == 201, visit.get_json()

    with platform.session() as session:
        assert purge_unattached(session, storage, clock.now()) == 0  # not a day old yet
    clock.advance(timedelta(hours=25))
    with platform.session() as session:
        assert purge_unattached(session, storage, clock.now()) == 1
        remaining = {row.id: row.storage_key for row in session.scalars(sa.select(FileRow))}
    assert set(remaining) == {kept} and dropped not in remaining
    with storage.open(remaining[kept]) as stored:
        assert stored.read() == PNG
