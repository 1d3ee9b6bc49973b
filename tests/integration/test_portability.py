"""Workspace export → import into a fresh instance on the other database, and hostile archives.

A workspace on SQLite (PostgreSQL) is exported and imported into a new instance on
PostgreSQL (SQLite) that already has a workspace of its own, so the imported users, apps
and files get new ids there. The import must reproduce the apps with all revisions, every
record (ids kept, links intact, users and files re-pointed), the files' bytes, stage
history and the elapsed marks (the time rule does not fire again). Archives that climb
out of a folder, were altered after export or are too large are refused before anything
is written.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from runtime.apps import AppService, load_published
from runtime.automation.engine import install
from runtime.automation.models import ElapsedMark, OutboxJob
from runtime.automation.sweeps import run_sweeps
from runtime.clock import FrozenClock
from runtime.context import Actor, CallContext
from runtime.errors import Conflict
from runtime.files import FileService, LocalDiskStorage
from runtime.migrate import upgrade
from runtime.models import FileRow, StageHistory, User, Workspace
from runtime.platform import Platform
from runtime.portability import ArchiveRefused, Limits, export_workspace, import_workspace
from runtime.records import RecordService
from runtime.settings import Settings
from runtime.workspaces import IdentityService
from tests.integration.browser_session import sign_in
from tests.integration.conftest import Tenant

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
PDF = b"%PDF-1.4\n" + b"portable " * 20

APP: dict[str, Any] = {
    "format": "cairn.app/1",
    "key": "crm",
    "label": "CRM",
    "entities": [
        {"key": "company", "label": "Company",
         "stages": [{"key": "lead", "label": "Lead"}, {"key": "won", "label": "Won"}],
         "fields": [
             {"key": "name", "type": "text", "label": "Name"},
             {"key": "revenue", "type": "money", "label": "Revenue"},
             {"key": "founded", "type": "date", "label": "Founded"},
             {"key": "met_at", "type": "datetime", "label": "Met"},
             {"key": "active", "type": "boolean", "label": "Active"},
             {"key": "manager", "type": "user", "label": "Manager"},
             {"key": "docs", "type": "file", "multiple": True, "label": "Docs"},
             {"key": "flagged", "type": "boolean", "label": "Flagged"},
         ]},
        {"key": "contact", "label": "Contact", "fields": [
            {"key": "name", "type": "text", "label": "Name"},
            {"key": "company", "type": "link", "target": "company", "label": "Company"},
        ]},
    ],
    "triggers": [
        {"key": "stale", "label": "stale", "entity": "company",
         "on": {"type": "elapsed", "condition": 'stage == "lead"', "since": "created_at", "after": "1h"},
         "actions": [{"type": "set_field", "field": "flagged", "value": "true"}]},
    ],
}


def _settings(url: str, instance: Path) -> Settings:
    return Settings(database_url=url, secret_key="portability", instance_path=instance,
                    upload_dir=instance / "uploads", testing=True, embedded_worker=False)


def _platform(url: str, instance: Path) -> Platform:
    platform = Platform.from_settings(_settings(url, instance), clock=FrozenClock(START))
    upgrade(platform.engine)
    install(platform)
    return platform


@pytest.fixture
def pg_schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{base}?options=-csearch_path%3D{schema}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _ctx(platform: Platform, session: Any, workspace: Workspace, user: User | None) -> CallContext:
    actor = Actor.of(user) if user else Actor.system(workspace.id)
    return CallContext(session=session, workspace=workspace, actor=actor, clock=platform.clock)


def _build_source(platform: Platform) -> dict[str, Any]:
    """A workspace with an app (published + a draft), records, files, stage moves, marks."""
    storage = LocalDiskStorage(Path(platform.settings.upload_dir))
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        ws = identity.create_workspace("acme", "Acme 公司", "Asia/Shanghai")
        admin = identity.create_user(ws, "acme-admin", role="admin", password="correct horse battery")
        boss = identity.create_user(ws, "acme-boss", role="manager", region="华东")
        rep = identity.create_user(ws, "acme-rep", role="rep", region="华东", manager=boss.id)
        identity.issue_token(admin, "cli")
    with platform.session() as session:
        service = AppService(_ctx(platform, session, ws, admin))
        revision = service.import_definition(APP)
        service.publish(revision.id)
    with platform.session() as session:
        files = FileService(session, storage, platform.clock, workspace_id=ws.id, max_bytes=10**6)
        png = files.store("logo.png", io.BytesIO(PNG), actor_id=rep.id).id
        pdf = files.store("deck.pdf", io.BytesIO(PDF), actor_id=rep.id).id
    created = []
    for n in range(3):
        with platform.session() as session:
            app = load_published(session, ws.id, "crm")
            records = RecordService(_ctx(platform, session, ws, rep), app, listeners=platform.listeners)
            company = records.create("company", {
                "name": f"公司 {n}", "revenue": "1234.56", "founded": "2001-02-03",
                "met_at": "2026-11-20T08:30:00Z", "active": n % 2 == 0, "manager": boss.id,
                "docs": [png, pdf] if n == 0 else [],
            }).record
            records.create("contact", {"name": f"联系人 {n}", "company": company["id"]})
            created.append(company["id"])
    with platform.session() as session:
        app = load_published(session, ws.id, "crm")
        records = RecordService(_ctx(platform, session, ws, rep), app, listeners=platform.listeners)
        current = records.get("company", created[1])
        records.move_stage("company", created[1], "won", version=current["version"])
    platform.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    run_sweeps(platform)
    from runtime.automation.embedded import EmbeddedWorker

    EmbeddedWorker(platform).drain()
    with platform.session() as session:  # a draft revision beside the published one
        draft = dict(APP, label="CRM v2")
        AppService(_ctx(platform, session, ws, admin)).import_definition(draft)
    return {"workspace": ws, "companies": created}


def _snapshot(platform: Platform, key: str) -> dict[str, Any]:
    """Everything the round trip must keep, with user and file ids replaced by names."""
    storage = LocalDiskStorage(Path(platform.settings.upload_dir))
    with platform.session() as session:
        ws = session.scalars(sa.select(Workspace).where(Workspace.key == key)).one()
        usernames = dict(session.execute(sa.select(User.id, User.username).where(User.workspace_id == ws.id)).all())
        file_rows = session.scalars(sa.select(FileRow).where(FileRow.workspace_id == ws.id)).all()
        files = {}
        for row in file_rows:
            with storage.open(row.storage_key) as stream:
                files[row.id] = (row.filename, row.sha256, hashlib.sha256(stream.read()).hexdigest())
        app = load_published(session, ws.id, "crm")
        revisions = AppService(_ctx(platform, session, ws, None)).repo.revisions(app.app_id)
        records: dict[str, list[dict[str, Any]]] = {}
        for entity in ("company", "contact"):
            table = app.table(entity)
            rows = []
            for row in session.execute(sa.select(table).order_by(table.c.id)).mappings():
                item = dict(row)
                for column in ("owner", "created_by", "manager"):
                    if column in item:
                        item[column] = usernames.get(item[column])
                if "docs" in item:
                    item["docs"] = [files[f] for f in item["docs"] or []]
                rows.append(item)
            records[entity] = rows
        stages = [
            (r.record_id, r.from_stage, r.stage, r.entered_at, r.left_at, usernames.get(r.actor_id))
            for r in session.scalars(
                sa.select(StageHistory).where(StageHistory.workspace_id == ws.id).order_by(StageHistory.id))
        ]
        marks = sorted(
            (m.trigger_key, m.record_id, m.since) for m in session.scalars(
                sa.select(ElapsedMark).where(ElapsedMark.workspace_id == ws.id))
        )
        users = sorted(
            (u.username, u.role, u.region, usernames.get(u.manager)) for u in session.scalars(
                sa.select(User).where(User.workspace_id == ws.id))
        )
    return {
        "name": ws.name, "timezone": ws.timezone, "users": users,
        "revisions": [(r.number, r.status, r.definition) for r in revisions],
        "records": records, "stages": stages, "marks": marks, "files": sorted(files.values()),
    }


@pytest.mark.postgres
@pytest.mark.parametrize("direction", ["sqlite_to_postgresql", "postgresql_to_sqlite"])
def test_a_workspace_moves_to_a_fresh_instance_on_the_other_database(
    direction: str, pg_schema_url: str, tmp_path: Path
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'cairn.db'}"
    source_url, target_url = (sqlite_url, pg_schema_url) if direction == "sqlite_to_postgresql" else (pg_schema_url, sqlite_url)
    source = _platform(source_url, tmp_path / "source")
    target = _platform(target_url, tmp_path / "target")
    try:
        built = _build_source(source)
        with target.session() as session:  # the fresh instance's own first workspace takes the low ids
            identity = IdentityService(session, target.clock)
            own = identity.create_workspace("default", "Default")
            identity.create_user(own, "admin", role="admin")
        archive = tmp_path / "acme.zip"
        exported = export_workspace(source, "acme", archive)
        assert exported.counts["records"] == 6 and exported.counts["files"] == 2
        assert exported.counts["stage_history"] >= 4 and exported.counts["automation_elapsed_marks"] == 2

        imported = import_workspace(target, archive)
        assert imported.counts["records"] == 6

        before, after = _snapshot(source, "acme"), _snapshot(target, "acme")
        assert after == before
        assert len(before["revisions"]) == 2 and {s for _, s, _ in before["revisions"]} == {"published", "draft"}
        assert before["records"]["contact"][0]["company"] == built["companies"][0]  # links kept their ids
        assert before["records"]["company"][0]["docs"] and before["stages"] and len(before["marks"]) == 2

        with target.session() as session:
            ws = session.scalars(sa.select(Workspace).where(Workspace.key == "acme")).one()
            users = session.scalars(sa.select(User).where(User.workspace_id == ws.id)).all()
            assert all(u.password_hash is None for u in users), "password hashes are not exported by default"
            jobs_before = session.scalar(sa.select(sa.func.count()).select_from(OutboxJob))
        target.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
        run_sweeps(target)
        with target.session() as session:  # the marks came along: the time rule does not fire again
            assert session.scalar(sa.select(sa.func.count()).select_from(OutboxJob)) == jobs_before

        # New records continue after the imported ids.
        with target.session() as session:
            app = load_published(session, ws.id, "crm")
            rep = session.scalars(sa.select(User).where(User.username == "acme-rep")).one()
            record = RecordService(_ctx(target, session, ws, rep), app).create("contact", {"name": "新"}).record
            assert record["id"] > max(r["id"] for r in before["records"]["contact"])

        # The same archive again: refused under the existing key, accepted under another
        # key only once its usernames are free (they are unique per instance).
        with pytest.raises(Conflict) as exists:
            import_workspace(target, archive)
        assert exists.value.code == "workspace_exists"
        with pytest.raises(Conflict) as taken:
            import_workspace(target, archive, key="acme2")
        assert taken.value.code == "usernames_taken"
    finally:
        source.dispose()
        target.dispose()


def test_password_hashes_travel_only_when_asked(tmp_path: Path) -> None:
    source = _platform(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a")
    target = _platform(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b")
    try:
        _build_source(source)
        archive = tmp_path / "with-hashes.zip"
        export_workspace(source, "acme", archive, include_password_hashes=True)
        import_workspace(target, archive, key="acme-copy")
        with target.session() as session:
            admin = session.scalars(sa.select(User).where(User.username == "acme-admin")).one()
            assert admin.password_hash
            assert session.scalar(sa.select(Workspace.key).where(Workspace.id == admin.workspace_id)) == "acme-copy"
    finally:
        source.dispose()
        target.dispose()


# --------------------------------------------------------------------------- hostile archives


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[tuple[Path, Platform]]:
    source = _platform(f"sqlite:///{tmp_path / 'src.db'}", tmp_path / "src")
    target = _platform(f"sqlite:///{tmp_path / 'dst.db'}", tmp_path / "dst")
    try:
        _build_source(source)
        archive = tmp_path / "good.zip"
        export_workspace(source, "acme", archive)
        yield archive, target
    finally:
        source.dispose()
        target.dispose()


def _rewrite(archive: Path, out: Path, change: Any) -> Path:
    """A copy of ``archive`` whose members (name → bytes) went through ``change``."""
    with zipfile.ZipFile(archive) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    change(members)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def _relist(members: dict[str, bytes]) -> None:
    """Makes the manifest describe the members as they now are (a forger's manifest)."""
    manifest = json.loads(members["manifest.json"])
    manifest["members"] = {
        n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in members.items() if n != "manifest.json"
    }
    members["manifest.json"] = json.dumps(manifest).encode()


def _nothing_written(target: Platform) -> None:
    with target.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Workspace)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    uploads = Path(target.settings.upload_dir)
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_path_traversal_is_refused(exported: tuple[Path, Platform], tmp_path: Path) -> None:
    archive, target = exported

    def climb(members: dict[str, bytes]) -> None:
        members["../../outside.txt"] = b"escaped"
        _relist(members)

    with pytest.raises(ArchiveRefused, match="unsafe member name") as refused:
        import_workspace(target, _rewrite(archive, tmp_path / "climb.zip", climb))
    assert refused.value.message_zh
    assert not (tmp_path / "outside.txt").exists()
    _nothing_written(target)


def test_an_altered_member_is_refused_by_its_hash(exported: tuple[Path, Platform], tmp_path: Path) -> None:
    archive, target = exported

    def tamper(members: dict[str, bytes]) -> None:
        name = next(n for n in members if n.startswith("files/"))
        members[name] = members[name][:-1] + b"!"

    with pytest.raises(ArchiveRefused, match="does not match its hash"):
        import_workspace(target, _rewrite(archive, tmp_path / "tampered.zip", tamper))
    _nothing_written(target)


def test_an_unlisted_member_is_refused(exported: tuple[Path, Platform], tmp_path: Path) -> None:
    archive, target = exported

    def smuggle(members: dict[str, bytes]) -> None:
        members["files/999"] = b"not in the manifest"

    with pytest.raises(ArchiveRefused, match="differ from its manifest"):
        import_workspace(target, _rewrite(archive, tmp_path / "smuggled.zip", smuggle))
    _nothing_written(target)


def test_oversize_archives_and_members_are_refused(exported: tuple[Path, Platform], tmp_path: Path) -> None:
    archive, target = exported
    with pytest.raises(ArchiveRefused, match="larger than"):
        import_workspace(target, archive, limits=Limits(max_archive_bytes=archive.stat().st_size - 1))
    with pytest.raises(ArchiveRefused, match="larger than"):
        import_workspace(target, archive, limits=Limits(max_member_bytes=16))
    with pytest.raises(ArchiveRefused, match="more than"):
        import_workspace(target, archive, limits=Limits(max_members=2))

    def bomb(members: dict[str, bytes]) -> None:
        members["files/424242"] = b"\0" * (8 * 1024**2)
        _relist(members)

    bombed = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    bomb(members)
    with zipfile.ZipFile(bombed, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ArchiveRefused, match="expands suspiciously"):
        import_workspace(target, bombed)
    _nothing_written(target)


def test_a_failure_midway_leaves_nothing_behind(exported: tuple[Path, Platform], tmp_path: Path) -> None:
    archive, target = exported

    def break_records(members: dict[str, bytes]) -> None:
        name = next(n for n in members if n.endswith("/contact.jsonl"))
        members[name] = members[name] + b'{"id": "not a number"}\n'
        _relist(members)

    with pytest.raises(ArchiveRefused, match="has no id"):
        import_workspace(target, _rewrite(archive, tmp_path / "broken.zip", break_records))
    _nothing_written(target)


def test_not_an_archive_and_wrong_version_are_refused(exported: tuple[Path, Platform], tmp_path: Path) -> None:
    archive, target = exported
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"definitely not a zip")
    with pytest.raises(ArchiveRefused, match="not a zip"):
        import_workspace(target, junk)

    def future(members: dict[str, bytes]) -> None:
        manifest = json.loads(members["manifest.json"])
        manifest["version"] = 99
        members["manifest.json"] = json.dumps(manifest).encode()

    with pytest.raises(ArchiveRefused, match="version 99"):
        import_workspace(target, _rewrite(archive, tmp_path / "future.zip", future))
    _nothing_written(target)


def test_values_survive_their_encoding() -> None:
    from runtime.portability import _decode, _encode

    for value in (Decimal("1234.5600"), datetime(2026, 1, 2, 3, 4, 5), timedelta(hours=3, seconds=1), "x", 3, None, [1, 2]):
        assert _decode(json.loads(json.dumps(_encode(value)))) == value


def test_the_commands(app: Flask, client: FlaskClient, tenant: Tenant, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    archive = tmp_path / "alpha.zip"
    exported = runner.invoke(args=["export-workspace", "alpha", "--out", str(archive)])
    assert exported.exit_code == 0, exported.output
    assert "users: 3" in exported.output and archive.exists()
    again = runner.invoke(args=["import-workspace", str(archive)])
    assert again.exit_code != 0 and "exists already" in again.output and "已存在" in again.output
    renamed = runner.invoke(args=["import-workspace", str(archive), "--key", "gamma"])
    assert renamed.exit_code != 0 and "Usernames exist already" in renamed.output
    missing = runner.invoke(args=["export-workspace", "nope", "--out", str(tmp_path / "x.zip")])
    assert missing.exit_code != 0 and "no workspace" in missing.output

    reset = runner.invoke(args=["reset-password", tenant.admin.username, "--workspace", "alpha"])
    assert reset.exit_code == 0, reset.output
    password = reset.output.rsplit(": ", 1)[1].strip()
    assert sign_in(client, tenant.admin.username, password).status_code == 302


def test_a_time_rule_still_due_when_exported_fires_once_after_import(tmp_path: Path) -> None:
    source = _platform(f"sqlite:///{tmp_path / 'source.db'}", tmp_path / "source")
    target = _platform(f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target")
    try:
        built = _build_source(source)
        ws = built["workspace"]
        with source.session() as session:  # created after the last sweep: its 1 h is still running
            rep = session.scalars(sa.select(User).where(User.username == "acme-rep")).one()
            app = load_published(session, ws.id, "crm")
            pending = RecordService(_ctx(source, session, ws, rep), app, listeners=source.listeners).create(
                "company", {"name": "新客户"}
            ).record["id"]
        archive = tmp_path / "acme.zip"
        export_workspace(source, "acme", archive)
        import_workspace(target, archive)
        with target.session() as session:
            last_job = session.scalar(sa.select(sa.func.max(OutboxJob.id))) or 0
        target.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
        run_sweeps(target)
        run_sweeps(target)
        with target.session() as session:  # the pending record fires, once; the others not again
            jobs = session.execute(sa.select(OutboxJob.record_id).where(OutboxJob.id > last_job)).scalars().all()
        assert jobs == [pending]
    finally:
        source.dispose()
        target.dispose()
