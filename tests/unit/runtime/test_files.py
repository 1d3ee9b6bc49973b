"""FileService: uploads are checked by name, size and sniffed content before being kept."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.clock import FrozenClock
from runtime.errors import NotFound
from runtime.files import (
    PHOTO_ACCEPT,
    FileRefused,
    FileService,
    FileTooLarge,
    LocalDiskStorage,
    check_filename,
    sniff_content_type,
)
from runtime.models import FileRow, PlatformBase, Workspace
from tests.unit.web.support import tiny_png

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
PNG = tiny_png()


@pytest.fixture
def session() -> Iterator[Session]:
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    PlatformBase.metadata.create_all(engine)
    s = Session(engine)
    for key in ("acme", "globex"):
        s.add(Workspace(key=key, name=key, timezone="Asia/Shanghai", created_at=datetime(2026, 1, 1)))
    s.commit()
    yield s
    s.close()
    engine.dispose()


def _service(session: Session, tmp_path: Path, workspace_id: int = 1, max_bytes: int = 1024 * 1024) -> FileService:
    clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    return FileService(session, LocalDiskStorage(tmp_path / "uploads"), clock, workspace_id=workspace_id, max_bytes=max_bytes)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (PDF, "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        ("竞品陈列笔记\n第二行".encode(), "text/plain"),
        (b"\x7fELF\x02\x01\x01", None),
        (b"MZ\x90\x00\x03", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "text/plain"),
        (b"text with a NUL \x00 byte", None),
    ],
)
def test_content_types_are_sniffed_from_the_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_content_type(head[:64]) == expected


def test_a_photo_is_kept_under_a_generated_key(session: Session, tmp_path: Path) -> None:
    service = _service(session, tmp_path)
    row = service.store("货架 全景.PNG", io.BytesIO(PNG), actor_id=7, accept=PHOTO_ACCEPT)
    assert (row.filename, row.content_type, row.size, row.created_by) == ("货架 全景.PNG", "image/png", len(PNG), 7)
    assert row.storage_key.startswith("w1/2026/11/") and "货架" not in row.storage_key
    with service.open(service.get(row.id)) as stream:
        assert stream.read() == PNG
    assert [r.id for r in service.many([row.id, 999])] == [row.id]


@pytest.mark.parametrize(
    ("name", "data", "accept"),
    [
        ("shelf.png", b"just some text", PHOTO_ACCEPT),  # text posing as a photo
        ("shelf.png", PDF, PHOTO_ACCEPT),  # a PDF renamed .png
        ("report.pdf", PNG, ("application/pdf",)),  # a PNG renamed .pdf
        ("run.exe", b"MZ\x90\x00\x03\x00\x00\x00", ("*/*",)),  # nothing we keep
        ("shelf.jpg", PNG, PHOTO_ACCEPT),  # the extension lies about the content
    ],
)
def test_wrong_content_types_are_refused(session: Session, tmp_path: Path, name: str, data: bytes, accept: tuple[str, ...]) -> None:
    with pytest.raises(FileRefused) as info:
        _service(session, tmp_path).store(name, io.BytesIO(data), actor_id=1, accept=accept)
    assert info.value.code == "file_refused"
    assert session.scalar(sa.select(sa.func.count()).select_from(FileRow)) == 0
    assert not any((tmp_path / "uploads").rglob("*.*"))


def test_oversized_files_are_refused_without_keeping_anything(session: Session, tmp_path: Path) -> None:
    big = PNG + b"\x00" * 5000
    with pytest.raises(FileTooLarge) as info:
        _service(session, tmp_path, max_bytes=4096).store("big.png", io.BytesIO(big), actor_id=1, accept=PHOTO_ACCEPT)
    assert info.value.status == 413
    with pytest.raises(FileTooLarge):  # a field's own limit is smaller than the platform's
        _service(session, tmp_path).store("big.png", io.BytesIO(big), actor_id=1, accept=PHOTO_ACCEPT, max_bytes=1000)
    assert not any((tmp_path / "uploads").rglob("*.*"))
    with pytest.raises(FileRefused):
        _service(session, tmp_path).store("empty.txt", io.BytesIO(b""), actor_id=1)


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.png", "..\\..\\boot.ini", "/etc/shadow", "a/../../b.png", "..", ".htaccess",
     "C:evil.png", "shelf\x00.png", "shelf\n.png", "x" * 300 + ".png", "", "   ", "shelf\u202egnp.exe"],
)  # fmt: skip
def test_path_traversal_and_odd_names_are_refused(session: Session, tmp_path: Path, name: str) -> None:
    with pytest.raises(FileRefused):
        check_filename(name)
    with pytest.raises(FileRefused):
        _service(session, tmp_path).store(name, io.BytesIO(PNG), actor_id=1, accept=PHOTO_ACCEPT)


def test_the_storage_never_leaves_its_folder(tmp_path: Path) -> None:
    storage = LocalDiskStorage(tmp_path / "uploads")
    for key in ("../x", "/etc/passwd", "a/../../x", "a//b"):
        with pytest.raises(ValueError):
            storage.save(key, io.BytesIO(b"x"))


def test_files_of_another_workspace_are_not_found(session: Session, tmp_path: Path) -> None:
    row = _service(session, tmp_path, workspace_id=1).store("a.png", io.BytesIO(PNG), actor_id=1, accept=PHOTO_ACCEPT)
    other = _service(session, tmp_path, workspace_id=2)
    with pytest.raises(NotFound):
        other.get(row.id)
    assert other.many([row.id]) == []
