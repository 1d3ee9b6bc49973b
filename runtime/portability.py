"""Moving a workspace between Cairn instances: a versioned archive, exported and imported.

:func:`export_workspace` writes one zip file holding everything a workspace is made of:
the workspace, its users (roles, regions, managers), every app with all its revisions
(draft, published, superseded), every record of every published entity (ids kept, so links
stay intact), stage history, audit events, file bytes (read from the storage backend), and
the automation state that keeps rules from firing again (elapsed marks, schedule state,
inbound-webhook keys, assignment cursors and log, rule thresholds) plus the users' inbox.
API tokens are never exported; password hashes only when asked for.

:func:`import_workspace` treats the archive as untrusted input. Before it writes anything
it checks the archive's size, member count and names (no absolute paths, no ``..``, no
links, nothing unlisted), the format version, and every member's SHA-256 and size against
the manifest. Then it writes the workspace in one database transaction (tables are created
in it too: PostgreSQL and SQLite both roll DDL back), and removes the file bytes it stored
if that transaction fails. Users, apps, revisions and files get new ids in the target
(other workspaces may hold the old ones); every reference to them (record owners, user
and file fields, actors, revision authors, a trigger's rollout users) is rewritten.
Record ids are kept. See "Moving a workspace" in docs/deploy.md.

Archive layout (``format`` ``cairn.workspace``, ``version`` 1)::

    manifest.json                 format, version, counts, {member: {sha256, size}}
    workspace.json                the workspace row
    tables/<table>.jsonl          platform rows of the workspace, one JSON object a line
    records/<app id>/<entity>.jsonl
    files/<file id>               the bytes of each file
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from builder import load_definition
from builder.model import App, Entity, FieldType
from builder.plan import plan_migration
from builder.repository import AppRow, RevisionRow
from expressions import types as t
from runtime.apps import formula_types
from runtime.clock import to_naive_utc
from runtime.errors import CairnError, Conflict, Invalid, NotFound
from runtime.files import FileStorage, LocalDiskStorage
from runtime.models import EntityTableRow, FileRow, PlatformBase, User, Workspace
from runtime.platform import Platform
from runtime.schema_apply import PlanApplier, TableState
from runtime.tables import build_table, new_metadata, table_name_for

FORMAT = "cairn.workspace"
VERSION = 1
MANIFEST = "manifest.json"

#: The platform tables exported per workspace, in insert order, with how their columns
#: are rewritten on import: ``user`` / ``app`` / ``file`` / ``revision`` columns hold ids
#: that change; ``id`` is dropped (new ids) unless another table refers to it.
TABLES: dict[str, dict[str, str]] = {
    "stage_history": {"app_id": "app", "actor_id": "user"},
    "audit_events": {"app_id": "app", "actor_id": "user"},
    "automation_elapsed_marks": {"app_id": "app"},
    "automation_schedule_state": {"app_id": "app"},
    "automation_webhook_keys": {"app_id": "app"},
    "automation_rule_thresholds": {"app_id": "app", "updated_by": "user"},
    "assignment_cursors": {"app_id": "app", "last_user_id": "user"},
    "assignment_log": {"app_id": "app", "assignee_id": "user"},
    "notifications": {"user_id": "user", "app_id": "app"},
}
USER_COLUMNS = {"manager": "user"}
REVISION_COLUMNS = {"app_id": "app", "created_by": "user", "published_by": "user", "updated_by": "user"}
FILE_COLUMNS = {"created_by": "user"}

_MEMBER = re.compile(r"(?:workspace\.json|tables/[a-z_]+\.jsonl|records/[0-9]{1,19}/[a-z][a-z0-9_]{0,62}\.jsonl"
                     r"|files/[0-9]{1,19})")
_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")


class ArchiveRefused(Invalid):
    """An archive that is not imported (malformed, tampered with, too large)."""

    code = "archive_refused"


@dataclass(frozen=True)
class Limits:
    """What an archive may hold before it is refused unread."""

    max_archive_bytes: int = 4 * 1024**3
    max_members: int = 200_000
    max_member_bytes: int = 1024**3
    max_total_bytes: int = 16 * 1024**3
    max_manifest_bytes: int = 64 * 1024**2
    max_ratio: int = 200  # uncompressed / compressed, per member over 1 MiB


@dataclass
class Report:
    """What an export wrote or an import created."""

    workspace_key: str
    counts: dict[str, int] = field(default_factory=dict)
    workspace_id: int | None = None


def _refuse(message: str, message_zh: str, **detail: Any) -> ArchiveRefused:
    return ArchiveRefused(message, message_zh=message_zh, detail=detail)


# --------------------------------------------------------------------------- values


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, bytes):
        raise TypeError("binary columns are not exported")
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, inner),) = value.items()
        try:
            if tag == "$dt":
                return datetime.fromisoformat(inner)
            if tag == "$date":
                return date.fromisoformat(inner)
            if tag == "$dec":
                return Decimal(inner)
            if tag == "$td":
                return timedelta(seconds=float(inner))
        except (TypeError, ValueError) as error:
            raise _refuse(f"A value in the archive is malformed: {value!r}.", "归档中有格式错误的值。") from error
    return value


def _row_json(row: Mapping[Any, Any]) -> str:
    return json.dumps({str(k): _encode(v) for k, v in row.items()}, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- export


class _Writer:
    """Zip members with their hashes and sizes for the manifest."""

    def __init__(self, target: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)
        self.members: dict[str, dict[str, Any]] = {}

    def write_bytes(self, name: str, chunks: Iterable[bytes]) -> None:
        digest, size = hashlib.sha256(), 0
        with self.zip.open(name, "w", force_zip64=True) as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        self.members[name] = {"sha256": digest.hexdigest(), "size": size}

    def write_lines(self, name: str, lines: Iterable[str]) -> int:
        count = 0

        def chunks() -> Iterator[bytes]:
            nonlocal count
            for line in lines:
                count += 1
                yield (line + "\n").encode()

        self.write_bytes(name, chunks())
        return count


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(64 * 1024):
            yield chunk


def _published_entities(definition: App) -> list[Entity]:
    return list(definition.entities)


def export_workspace(
    platform: Platform,
    key: str,
    out: Path,
    *,
    include_password_hashes: bool = False,
    storage: FileStorage | None = None,
) -> Report:
    """Writes workspace ``key`` to the archive ``out`` (replaced if it exists)."""
    storage = storage or LocalDiskStorage(Path(platform.settings.upload_dir))
    report = Report(key)
    tmp = out.with_name(out.name + ".partial")
    try:
        _export(platform, key, tmp, report, include_password_hashes, storage)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return report


def _export(
    platform: Platform, key: str, tmp: Path, report: Report, include_password_hashes: bool, storage: FileStorage
) -> None:
    with platform.session() as session:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        workspace = session.scalars(sa.select(Workspace).where(Workspace.key == key)).one_or_none()
        if workspace is None:
            raise NotFound(f"There is no workspace {key!r}.", message_zh=f"工作区 {key!r} 不存在。")
        ws_id = workspace.id
        with tmp.open("wb") as target:
            writer = _Writer(target)
            writer.write_bytes("workspace.json", [json.dumps({
                "key": workspace.key, "name": workspace.name, "timezone": workspace.timezone,
                "created_at": _encode(workspace.created_at), "id": workspace.id,
            }, ensure_ascii=False).encode()])
            tables = PlatformBase.metadata.tables

            def rows(table_name: str, drop: Iterable[str] = ()) -> Iterator[str]:
                table = tables[table_name]
                skip = set(drop)
                result = connection.execution_options(yield_per=1000).execute(
                    sa.select(table).where(table.c.workspace_id == ws_id).order_by(table.c.id)
                )
                for row in result.mappings():
                    yield _row_json({k: v for k, v in row.items() if k not in skip})

            drop_users = () if include_password_hashes else ("password_hash",)
            report.counts["users"] = writer.write_lines("tables/users.jsonl", rows("users", drop_users))
            report.counts["apps"] = writer.write_lines("tables/apps.jsonl", rows("apps"))
            report.counts["app_revisions"] = writer.write_lines("tables/app_revisions.jsonl", rows("app_revisions"))
            report.counts["files"] = writer.write_lines("tables/files.jsonl", rows("files"))
            for name in TABLES:
                report.counts[name] = writer.write_lines(f"tables/{name}.jsonl", rows(name))

            for file_row in session.scalars(sa.select(FileRow).where(FileRow.workspace_id == ws_id).order_by(FileRow.id)):
                try:
                    stream = storage.open(file_row.storage_key)
                except (OSError, ValueError) as error:
                    raise CairnError(
                        f"The bytes of file {file_row.id} ({file_row.filename}) can't be read from storage: {error}.",
                        message_zh=f"无法从存储中读取文件 {file_row.id}({file_row.filename})的内容。",
                        code="file_missing",
                    ) from error
                writer.write_bytes(f"files/{file_row.id}", _read_chunks(stream))

            apps = session.scalars(sa.select(AppRow).where(AppRow.workspace_id == ws_id).order_by(AppRow.id)).all()
            records = 0
            for app in apps:
                if app.published_revision_id is None:
                    continue
                revision = session.get(RevisionRow, app.published_revision_id)
                assert revision is not None
                definition = load_definition(revision.definition)
                table_rows = {
                    r.entity_key: r for r in session.scalars(
                        sa.select(EntityTableRow).where(EntityTableRow.app_id == app.id)
                    )
                }
                for entity in _published_entities(definition):
                    row = table_rows.get(entity.key)
                    if row is None:
                        continue
                    table = build_table(new_metadata(), row.table_name, entity, formula_types(definition, entity))
                    result = connection.execution_options(yield_per=1000).execute(
                        sa.select(table).order_by(table.c.id)
                    )
                    count = writer.write_lines(
                        f"records/{app.id}/{entity.key}.jsonl",
                        (_row_json(r) for r in result.mappings()),
                    )
                    report.counts[f"records:{app.key}.{entity.key}"] = count
                    records += count
            report.counts["records"] = records
            report.counts["file_bytes"] = sum(
                m["size"] for n, m in writer.members.items() if n.startswith("files/")
            )
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "exported_at": to_naive_utc(platform.clock.now()).isoformat() + "Z",
                "source_database": connection.dialect.name,
                "workspace": key,
                "password_hashes": include_password_hashes,
                "counts": report.counts,
                "members": writer.members,
            }
            writer.zip.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
            writer.zip.close()
        session.rollback()


# --------------------------------------------------------------------------- validation


class Archive:
    """An opened archive whose structure, sizes and hashes were checked."""

    def __init__(self, zf: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
        self.zip = zf
        self.manifest = manifest

    def lines(self, name: str) -> Iterator[dict[str, Any]]:
        """The JSON objects of member ``name`` (none when it is absent)."""
        if name not in self.manifest["members"]:
            return
        with self.zip.open(name) as raw:
            for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError as error:
                    raise _refuse(f"{name} line {number} is not JSON.", f"{name} 第 {number} 行不是 JSON。") from error
                if not isinstance(item, dict):
                    raise _refuse(f"{name} line {number} is not an object.", f"{name} 第 {number} 行不是对象。")
                yield {k: _decode(v) for k, v in item.items()}

    def json(self, name: str) -> Any:
        """The JSON document of member ``name``."""
        with self.zip.open(name) as raw:
            try:
                return json.load(raw)
            except ValueError as error:
                raise _refuse(f"{name} is not JSON.", f"{name} 不是 JSON。") from error

    def open(self, name: str) -> IO[bytes]:
        """The bytes of member ``name``."""
        return self.zip.open(name)


def open_archive(path: Path, limits: Limits = Limits()) -> Archive:
    """Opens ``path`` and checks it entirely (nothing is written); raises ArchiveRefused."""
    size = path.stat().st_size
    if size > limits.max_archive_bytes:
        raise _refuse(f"The archive is larger than {limits.max_archive_bytes} bytes.",
                      f"归档超过 {limits.max_archive_bytes} 字节。", size=size)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise _refuse("The file is not a zip archive.", "该文件不是 zip 归档。") from error
    try:
        return _check(zf, limits)
    except BaseException:
        zf.close()
        raise


def _check(zf: zipfile.ZipFile, limits: Limits) -> Archive:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise _refuse(f"The archive has more than {limits.max_members} members.",
                      f"归档成员超过 {limits.max_members} 个。")
    names: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        mode = info.external_attr >> 16
        is_link = (mode & 0o170000) == 0o120000
        unsafe = (
            name.startswith(("/", "\\")) or "\\" in name or ".." in PurePosixPath(name).parts
            or ":" in name or info.is_dir() or is_link or "\x00" in name
        )
        if unsafe:
            raise _refuse(f"The archive holds an unsafe member name {name!r}.", f"归档中有不安全的成员名 {name!r}。",
                          member=name)
        if name in names:
            raise _refuse(f"The archive holds {name!r} twice.", f"归档中 {name!r} 出现了两次。", member=name)
        if info.file_size > limits.max_member_bytes:
            raise _refuse(f"{name} is larger than {limits.max_member_bytes} bytes.",
                          f"{name} 超过 {limits.max_member_bytes} 字节。", member=name)
        if info.file_size > 1024**2 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _refuse(f"{name} expands suspiciously much.", f"{name} 的压缩比异常。", member=name)
        total += info.file_size
        names[name] = info
    if total > limits.max_total_bytes:
        raise _refuse(f"The archive expands to more than {limits.max_total_bytes} bytes.",
                      f"归档解压后超过 {limits.max_total_bytes} 字节。")
    if MANIFEST not in names:
        raise _refuse("The archive has no manifest.json.", "归档缺少 manifest.json。")
    if names[MANIFEST].file_size > limits.max_manifest_bytes:
        raise _refuse("manifest.json is too large.", "manifest.json 过大。")
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except ValueError as error:
        raise _refuse("manifest.json is not JSON.", "manifest.json 不是 JSON。") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse("This is not a Cairn workspace archive.", "这不是 Cairn 工作区归档。")
    version = manifest.get("version")
    if version != VERSION:
        raise _refuse(f"Archive format version {version!r} is not supported (this Cairn reads {VERSION}).",
                      f"不支持归档格式版本 {version!r}(当前支持 {VERSION})。")
    members = manifest.get("members")
    if not isinstance(members, dict):
        raise _refuse("manifest.json lists no members.", "manifest.json 没有列出成员。")
    listed, present = set(members), set(names) - {MANIFEST}
    if listed != present:
        extra, missing = sorted(present - listed), sorted(listed - present)
        raise _refuse("The archive's members differ from its manifest.", "归档成员与清单不一致。",
                      unlisted=extra[:20], missing=missing[:20])
    for name in sorted(listed):
        meta = members[name]
        if not _MEMBER.fullmatch(name):
            raise _refuse(f"The archive holds an unexpected member {name!r}.", f"归档中有意外的成员 {name!r}。",
                          member=name)
        if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str) or meta.get("size") != names[name].file_size:
            raise _refuse(f"The manifest entry of {name} does not match it.", f"清单中 {name} 的记录与其不符。",
                          member=name)
        digest = hashlib.sha256()
        read = 0
        with zf.open(name) as stream:
            while chunk := stream.read(64 * 1024):
                read += len(chunk)
                if read > meta["size"]:
                    break
                digest.update(chunk)
        if read != meta["size"] or digest.hexdigest() != meta["sha256"]:
            raise _refuse(f"{name} does not match its hash in the manifest (damaged or altered).",
                          f"{name} 与清单中的哈希不符(已损坏或被修改)。", member=name)
    if "workspace.json" not in listed:
        raise _refuse("The archive has no workspace.json.", "归档缺少 workspace.json。")
    return Archive(zf, manifest)


# --------------------------------------------------------------------------- import


class _Ids:
    """Old id → new id, per kind."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[int, int]] = {"user": {}, "app": {}, "file": {}, "revision": {}}

    def get(self, kind: str, old: Any) -> Any:
        if old is None:
            return None
        mapped = self.maps[kind].get(old) if isinstance(old, int) else None
        if mapped is None:
            # A reference to something outside the workspace (or deleted): keep no dangling id.
            return None
        return mapped


def _insert_returning(connection: Connection, table: sa.Table, values: dict[str, Any]) -> int:
    return int(connection.execute(sa.insert(table).values(values).returning(table.c.id)).scalar_one())


def _known_columns(table: sa.Table, row: Mapping[str, Any], name: str) -> None:
    unknown = set(row) - set(table.c.keys())
    if unknown:
        raise _refuse(f"{name} has columns this Cairn does not know: {sorted(unknown)}.",
                      f"{name} 含有当前版本未知的列:{sorted(unknown)}。")


def _remap(row: dict[str, Any], spec: Mapping[str, str], ids: _Ids) -> dict[str, Any]:
    for column, kind in spec.items():
        if column in row:
            row[column] = ids.get(kind, row[column])
    return row


def _remap_definition(definition: Any, ids: _Ids) -> Any:
    triggers = definition.get("triggers") if isinstance(definition, dict) else None
    for trigger in triggers if isinstance(triggers, list) else []:
        rollout = trigger.get("rollout") if isinstance(trigger, dict) else None
        if not isinstance(rollout, dict):
            continue
        users = rollout.get("users")
        if isinstance(users, list):
            rollout["users"] = [
                ids.maps["user"].get(u, u) if isinstance(u, int) and not isinstance(u, bool) else u for u in users
            ]
    return definition


def _record_remapper(definition: App, entity: Entity, ids: _Ids) -> Callable[[dict[str, Any]], dict[str, Any]]:
    types = formula_types(definition, entity)
    users = ["owner", "created_by"] + [
        f.key for f in entity.fields
        if f.type is FieldType.USER or (f.type is FieldType.FORMULA and types.get(f.key) == t.USER)
    ]
    files = [f.key for f in entity.fields if f.type in (FieldType.PHOTO, FieldType.FILE)]
    file_map = ids.maps["file"]

    def remap(row: dict[str, Any]) -> dict[str, Any]:
        for key in users:
            if key in row:
                row[key] = ids.get("user", row[key])
        for key in files:
            value = row.get(key)
            if isinstance(value, list):
                row[key] = [file_map[v] for v in value if isinstance(v, int) and v in file_map]
        return row

    return remap


def import_workspace(
    platform: Platform,
    path: Path,
    *,
    key: str | None = None,
    storage: FileStorage | None = None,
    limits: Limits = Limits(),
) -> Report:
    """Imports the archive ``path`` as a new workspace (``key``, default: the archive's)."""
    storage = storage or LocalDiskStorage(Path(platform.settings.upload_dir))
    archive = open_archive(path, limits)
    stored: list[str] = []
    try:
        with platform.session() as session:
            try:
                report = _import(session.connection(), archive, key, storage, stored, platform)
                session.commit()
            except BaseException:
                session.rollback()
                raise
    except BaseException:
        for storage_key in stored:
            storage.delete(storage_key)
        raise
    finally:
        archive.zip.close()
    return report


def _import(
    connection: Connection,
    archive: Archive,
    key: str | None,
    storage: FileStorage,
    stored: list[str],
    platform: Platform,
) -> Report:
    tables = PlatformBase.metadata.tables
    source = archive.json("workspace.json")
    if not isinstance(source, dict) or not isinstance(source.get("key"), str):
        raise _refuse("workspace.json is malformed.", "workspace.json 格式错误。")
    new_key = key or source["key"]
    if connection.execute(sa.select(Workspace.id).where(Workspace.key == new_key)).first() is not None:
        raise Conflict(
            f"A workspace {new_key!r} exists already; import under another key with --key.",
            message_zh=f"工作区 {new_key!r} 已存在;请用 --key 指定新的标识导入。",
            code="workspace_exists",
        )
    users = list(archive.lines("tables/users.jsonl"))
    taken = set(connection.scalars(
        sa.select(User.username).where(User.username.in_([u.get("username") for u in users]))
    )) if users else set()
    if taken:
        raise Conflict(
            f"Usernames exist already in this instance: {sorted(taken)[:20]}.",
            message_zh=f"以下用户名在此实例中已存在:{sorted(taken)[:20]}。",
            code="usernames_taken", detail={"usernames": sorted(taken)},
        )
    now = to_naive_utc(platform.clock.now())
    ws_table = tables["workspaces"]
    created_at = _decode(source.get("created_at")) or now
    ws_id = _insert_returning(connection, ws_table, {
        "key": new_key, "name": str(source.get("name") or new_key),
        "timezone": str(source.get("timezone") or platform.settings.default_timezone), "created_at": created_at,
    })
    tz = ZoneInfo(str(source.get("timezone") or platform.settings.default_timezone))
    report = Report(new_key, workspace_id=ws_id)
    ids = _Ids()

    def prepare(row: dict[str, Any], table: sa.Table, name: str, spec: Mapping[str, str]) -> tuple[Any, dict[str, Any]]:
        _known_columns(table, row, name)
        old_id = row.pop("id", None)
        row["workspace_id"] = ws_id
        return old_id, _remap(row, spec, ids)

    # Users (managers after all exist), files, apps, revisions.
    managers: dict[int, Any] = {}
    for row in users:
        old_id, row = prepare(row, tables["users"], "users", {})
        managers[old_id] = row.pop("manager", None)
        ids.maps["user"][old_id] = _insert_returning(connection, tables["users"], row)
    for old_id, manager in managers.items():
        if manager is not None:
            connection.execute(sa.update(tables["users"]).where(tables["users"].c.id == ids.maps["user"][old_id])
                               .values(manager=ids.get("user", manager)))
    report.counts["users"] = len(users)

    files = 0
    for row in archive.lines("tables/files.jsonl"):
        old_id, row = prepare(row, tables["files"], "files", FILE_COLUMNS)
        member = f"files/{old_id}"
        if member not in archive.manifest["members"]:
            raise _refuse(f"The bytes of file {old_id} are missing.", f"文件 {old_id} 的内容缺失。")
        suffix = PurePosixPath(str(row.get("storage_key", ""))).suffix.lower()
        suffix = suffix if _EXTENSION.fullmatch(suffix) else ""
        storage_key = f"w{ws_id}/{now:%Y/%m}/{secrets.token_hex(16)}{suffix}"
        with archive.open(member) as stream:
            stored.append(storage_key)
            storage.save(storage_key, stream)
        row["storage_key"] = storage_key
        ids.maps["file"][old_id] = _insert_returning(connection, tables["files"], row)
        files += 1
    report.counts["files"] = files

    published: dict[int, Any] = {}
    apps = list(archive.lines("tables/apps.jsonl"))
    for row in apps:
        old_id, row = prepare(row, tables["apps"], "apps", {})
        published[old_id] = row.pop("published_revision_id", None)
        ids.maps["app"][old_id] = _insert_returning(connection, tables["apps"], row)
    revisions: dict[int, dict[str, Any]] = {}
    for row in archive.lines("tables/app_revisions.jsonl"):
        old_id, row = prepare(row, tables["app_revisions"], "app_revisions", REVISION_COLUMNS)
        if row.get("app_id") is None:
            raise _refuse("A revision names an app the archive does not hold.", "某个版本引用了归档中不存在的应用。")
        row["definition"] = _remap_definition(row.get("definition"), ids)
        ids.maps["revision"][old_id] = _insert_returning(connection, tables["app_revisions"], row)
        revisions[old_id] = row
    report.counts["apps"] = len(apps)
    report.counts["app_revisions"] = len(revisions)

    records = 0
    for old_app, old_revision in published.items():
        if old_revision is None:
            continue
        if old_revision not in revisions:
            raise _refuse("An app's published revision is missing.", "某个应用的已发布版本缺失。")
        app_id = ids.maps["app"][old_app]
        connection.execute(sa.update(tables["apps"]).where(tables["apps"].c.id == app_id)
                           .values(published_revision_id=ids.maps["revision"][old_revision]))
        records += _create_tables_and_records(connection, archive, revisions[old_revision], old_app, app_id,
                                              ws_id, ids, tz, now, report)
    report.counts["records"] = records

    for name, spec in TABLES.items():
        table = tables[name]
        count = 0
        for row in archive.lines(f"tables/{name}.jsonl"):
            _old, row = prepare(row, table, name, spec)
            if "app_id" in spec and row.get("app_id") is None and table.c.app_id.nullable is False:
                continue  # belonged to an app the archive does not hold
            if "user_id" in spec and row.get("user_id") is None and table.c.user_id.nullable is False:
                continue
            if name == "automation_schedule_state":
                # The elapsed due table is not carried: the first sweep builds it anew from the
                # records (the imported marks keep fired episodes from firing again).
                row.update(due_signature=None, catchup_from=None, catchup_until=None, swept_until=None)
            if name == "assignment_log" and row.get("idempotency_key"):
                # Unique across the instance; the imported entries are history no job re-runs.
                row["idempotency_key"] = _imported_key(ws_id, str(row["idempotency_key"]))
            connection.execute(sa.insert(table).values(row))
            count += 1
        report.counts[name] = count
    return report


def _create_tables_and_records(
    connection: Connection,
    archive: Archive,
    revision: Mapping[str, Any],
    old_app: int,
    app_id: int,
    ws_id: int,
    ids: _Ids,
    tz: ZoneInfo,
    now: datetime,
    report: Report,
) -> int:
    try:
        definition = load_definition(revision["definition"])
    except Exception as error:
        raise _refuse("A published revision's definition is invalid.", "某个已发布版本的定义无效。") from error
    states = {e.key: TableState(table_name_for(app_id, e.key)) for e in definition.entities}
    entity_tables = PlatformBase.metadata.tables["entity_tables"]
    for entity in definition.entities:
        connection.execute(sa.insert(entity_tables).values(
            workspace_id=ws_id, app_id=app_id, entity_key=entity.key,
            table_name=states[entity.key].table_name, archived_columns=[], created_at=now,
        ))
    types = {e.key: formula_types(definition, e) for e in definition.entities}
    plan = plan_migration(None, definition)
    PlanApplier(connection, None, definition, states, types, tz, int(revision.get("number") or 1)).apply(plan.steps)
    total = 0
    app_key = definition.key
    for entity in definition.entities:
        table = build_table(new_metadata(), states[entity.key].table_name, entity, types[entity.key])
        remap = _record_remapper(definition, entity, ids)
        member = f"records/{old_app}/{entity.key}.jsonl"
        batch: list[dict[str, Any]] = []
        highest = 0
        count = 0
        for row in archive.lines(member):
            _known_columns(table, row, member)
            if not isinstance(row.get("id"), int):
                raise _refuse(f"A record in {member} has no id.", f"{member} 中有记录缺少 id。")
            highest = max(highest, row["id"])
            batch.append(remap(row))
            if len(batch) >= 500:
                connection.execute(sa.insert(table), _complete(table, batch))
                count += len(batch)
                batch = []
        if batch:
            connection.execute(sa.insert(table), _complete(table, batch))
            count += len(batch)
        if highest:
            _advance_ids(connection, table.name, highest)
        report.counts[f"records:{app_key}.{entity.key}"] = count
        total += count
    return total


def _imported_key(ws_id: int, key: str) -> str:
    """An idempotency key that can't collide with the target instance's own (≤ 100 chars)."""
    marked = f"imported:{ws_id}:{key}"
    return marked if len(marked) <= 100 else f"imported:{ws_id}:" + hashlib.sha256(key.encode()).hexdigest()


def _complete(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with every column of ``table`` (an executemany needs the same keys in each)."""
    keys = [c.name for c in table.columns]
    return [{k: row.get(k) for k in keys} for row in rows]


def _advance_ids(connection: Connection, table_name: str, highest: int) -> None:
    """Makes the table hand out ids above the imported ones."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)"), {"t": table_name, "n": highest}
        )
    else:
        from runtime.table_ids import seed_sequence

        seed_sequence(connection, table_name, highest)


__all__ = [
    "FORMAT",
    "VERSION",
    "Archive",
    "ArchiveRefused",
    "CairnError",
    "Limits",
    "Report",
    "export_workspace",
    "import_workspace",
    "open_archive",
]
