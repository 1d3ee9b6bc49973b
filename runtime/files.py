"""Uploaded files: a storage interface, the local-disk backend, and the checks on the way in.

A file's bytes live behind a :class:`FileStorage` under a key Cairn generates; the name
the client sent is kept only as a label. Before anything is stored, :class:`FileService`
refuses what it should not keep: names that try to climb out of a folder, files larger
than the limit, and content whose *bytes* are not of an accepted type (the client's
``Content-Type`` header and the name's extension are claims, not facts, so the type is
sniffed from the leading magic bytes).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.clock import Clock, to_naive_utc
from runtime.errors import Invalid, NotFound
from runtime.models import FileRow

__all__ = [
    "DEFAULT_ACCEPT",
    "PHOTO_ACCEPT",
    "FileRefused",
    "FileService",
    "FileStorage",
    "FileTooLarge",
    "LocalDiskStorage",
    "sniff_content_type",
]

CHUNK = 64 * 1024
_KEY = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
MAX_NAME_LENGTH = 200


class FileRefused(Invalid):
    """An upload that Cairn will not keep (its name or its content type)."""

    code = "file_refused"


class FileTooLarge(FileRefused):
    """An upload over the size limit."""

    code = "file_too_large"
    status = 413


# --------------------------------------------------------------------------- content types


@dataclass(frozen=True)
class _Kind:
    content_type: str
    extensions: tuple[str, ...]


_KINDS: dict[str, _Kind] = {
    k.content_type: k
    for k in (
        _Kind("image/jpeg", (".jpg", ".jpeg", ".jfif")),
        _Kind("image/png", (".png",)),
        _Kind("image/gif", (".gif",)),
        _Kind("image/webp", (".webp",)),
        _Kind("image/heic", (".heic", ".heif")),
        _Kind("application/pdf", (".pdf",)),
        _Kind("application/zip", (".zip", ".docx", ".xlsx", ".pptx")),
        _Kind("audio/mpeg", (".mp3",)),
        _Kind("audio/mp4", (".m4a", ".mp4")),
        _Kind("audio/wav", (".wav",)),
        _Kind("text/plain", (".txt", ".csv", ".md", ".log")),
    )
}

PHOTO_ACCEPT: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic")
DEFAULT_ACCEPT: tuple[str, ...] = (*PHOTO_ACCEPT, "application/pdf", "application/zip",
                                   "audio/mpeg", "audio/mp4", "audio/wav", "text/plain")


def sniff_content_type(head: bytes) -> str | None:
    """The content type the leading bytes show, or None when they show none we keep.

    Text is accepted only when the head decodes as UTF-8 and holds no NUL or other
    control bytes besides whitespace (so a binary cannot pass as ``.txt``).
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in {b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"}:
            return "image/heic"
        if brand in {b"M4A ", b"isom", b"mp42", b"mp41", b"M4B "}:
            return "audio/mp4"
        return None
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith(b"ID3") or head[:2] in {b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"}:
        return "audio/mpeg"
    if head and _looks_like_text(head):
        return "text/plain"
    return None


def _looks_like_text(head: bytes) -> bool:
    # The head may end inside a multi-byte character: ignore a truncated tail.
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data" or exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


def _accepts(accept: Iterable[str], content_type: str, extension: str) -> bool:
    for item in accept:
        item = item.strip().lower()
        if not item:
            continue
        if item == content_type or item == "*/*":
            return True
        if item.endswith("/*") and content_type.startswith(item[:-1]):
            return True
        if item.startswith(".") and item == extension:
            return True
    return False


# --------------------------------------------------------------------------- names


def check_filename(name: str) -> str:
    """The client's file name if it is a plain name, else :class:`FileRefused`.

    A name is refused (not silently cleaned) when it holds a path separator, a ``..``
    component, a NUL or other control character, or is empty, hidden or too long: such a
    name is either a mistake or an attempt to write outside the upload folder.
    """
    normalized = unicodedata.normalize("NFC", name or "").strip()
    bad = (
        not normalized
        or len(normalized) > MAX_NAME_LENGTH
        or "/" in normalized
        or "\\" in normalized
        or normalized.startswith(".")
        or ".." in normalized
        or any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in normalized)
        or ":" in normalized
    )
    if bad:
        raise FileRefused(
            "The file name is not allowed: use a plain name without folders, '..' or control characters.",
            message_zh="文件名不允许:请使用不含目录、'..' 或控制字符的普通文件名。",
            errors={"file": ["invalid_name"]},
        )
    return normalized


# --------------------------------------------------------------------------- storage


class FileStorage(Protocol):
    """Where file bytes live, by a key Cairn generated (never a client-given name)."""

    def save(self, key: str, source: IO[bytes]) -> None:
        """Stores the bytes of ``source`` (read to its end) under ``key``."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored bytes of ``key`` for reading (the caller closes it)."""
        ...

    def delete(self, key: str) -> None:
        """Removes ``key``; a missing key is not an error."""
        ...


class LocalDiskStorage:
    """Files in a folder on local disk; keys map to paths that can't leave the folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not _KEY.fullmatch(key) or any(p in {".", ".."} for p in parts):
            raise ValueError(f"bad storage key {key!r}")
        path = self.root.joinpath(*parts).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"bad storage key {key!r}")
        return path

    def save(self, key: str, source: IO[bytes]) -> None:
        """Writes to a temporary file first and renames it, so a key is whole or absent."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        """The file of ``key`` opened for binary reading."""
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        """Removes the file of ``key`` if it exists."""
        self._path(key).unlink(missing_ok=True)


# --------------------------------------------------------------------------- service


class FileService:
    """Checks, stores and finds the uploaded files of one workspace. Commits its own writes."""

    def __init__(
        self,
        session: Session,
        storage: FileStorage,
        clock: Clock,
        *,
        workspace_id: int,
        max_bytes: int,
    ) -> None:
        self.session = session
        self.storage = storage
        self.clock = clock
        self.workspace_id = workspace_id
        self.max_bytes = max_bytes

    def store(
        self,
        filename: str,
        stream: IO[bytes],
        *,
        actor_id: int | None,
        accept: Sequence[str] = DEFAULT_ACCEPT,
        max_bytes: int | None = None,
    ) -> FileRow:
        """Checks and keeps one upload; returns its row (``id`` is what fields store).

        ``accept`` lists content types (``image/*`` wildcards and ``.ext`` allowed) the
        caller takes, typically a field's ``accept`` option. Raises :class:`FileRefused`
        for a bad name or type and :class:`FileTooLarge` over ``max_bytes``.
        """
        name = check_filename(filename)
        limit = min(max_bytes or self.max_bytes, self.max_bytes)
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
            size, digest, head = _copy_limited(stream, spool, limit)
            content_type = sniff_content_type(head)
            extension = PurePosixPath(name).suffix.lower()
            kind = _KINDS.get(content_type or "")
            if (
                content_type is None
                or kind is None
                or not _accepts(accept, content_type, extension)
                or (extension and extension not in kind.extensions)
            ):
                raise FileRefused(
                    "This kind of file is not accepted here"
                    + (f" (its content is {content_type})." if content_type else "."),
                    message_zh="此处不接受该类型的文件。",
                    errors={"file": ["content_type"]},
                    detail={"content_type": content_type, "accept": list(accept)},
                )
            now = to_naive_utc(self.clock.now())
            key = f"w{self.workspace_id}/{now:%Y/%m}/{secrets.token_hex(16)}{kind.extensions[0]}"
            spool.seek(0)
            self.storage.save(key, spool)
        row = FileRow(
            workspace_id=self.workspace_id,
            storage_key=key,
            filename=name,
            content_type=content_type,
            size=size,
            sha256=digest,
            created_by=actor_id,
            created_at=now,
        )
        self.session.add(row)
        try:
            self.session.commit()
        except BaseException:
            self.session.rollback()
            self.storage.delete(key)
            raise
        return row

    def get(self, file_id: int) -> FileRow:
        """The file ``file_id`` of this workspace, or NotFound (also for other workspaces')."""
        row = self.session.scalars(
            sa.select(FileRow).where(FileRow.workspace_id == self.workspace_id, FileRow.id == file_id)
        ).one_or_none()
        if row is None:
            raise NotFound("No such file.", message_zh="文件不存在。")
        return row

    def many(self, file_ids: Iterable[int]) -> list[FileRow]:
        """The files of this workspace among ``file_ids``, in the order given."""
        ids = [int(i) for i in file_ids]
        if not ids:
            return []
        rows = {
            r.id: r
            for r in self.session.scalars(
                sa.select(FileRow).where(FileRow.workspace_id == self.workspace_id, FileRow.id.in_(ids))
            )
        }
        return [rows[i] for i in ids if i in rows]

    def open(self, row: FileRow) -> BinaryIO:
        """The bytes of a file row (the caller closes the stream)."""
        return self.storage.open(row.storage_key)


def _copy_limited(source: IO[bytes], target: IO[bytes], limit: int) -> tuple[int, str, bytes]:
    """Copies at most ``limit`` bytes; returns size, SHA-256 and the first 64 bytes."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(
                f"The file is larger than {limit // (1024 * 1024) or 1} MB.",
                message_zh=f"文件超过 {limit // (1024 * 1024) or 1} MB 上限。",
                errors={"file": ["too_large"]},
                detail={"limit_bytes": limit},
            )
        if len(head) < 64:
            head += chunk[: 64 - len(head)]
        digest.update(chunk)
        target.write(chunk)
    if size == 0:
        raise FileRefused("The file is empty.", message_zh="文件为空。", errors={"file": ["empty"]})
    return size, digest.hexdigest(), head


UNATTACHED_GRACE = timedelta(hours=24)
PURGE_BATCH = 500


def purge_unattached(
    session: Session,
    storage: FileStorage,
    now: datetime,
    *,
    grace: timedelta = UNATTACHED_GRACE,
    limit: int = PURGE_BATCH,
) -> int:
    """Deletes uploads no record ever referred to, ``grace`` after they were uploaded.

    A form uploads a photo before the record is saved; when the record is never saved the
    file would stay forever. The rows go first (committed), then the bytes: a failed
    delete of bytes leaves an unreferenced object behind, never a row without its bytes.
    Returns how many files were purged; reads an index, not the whole table.
    """
    cutoff = to_naive_utc(now - grace)
    rows = list(
        session.scalars(
            sa.select(FileRow)
            .where(FileRow.attached_at.is_(None), FileRow.created_at < cutoff)
            .order_by(FileRow.created_at)
            .limit(limit)
        )
    )
    if not rows:
        return 0
    keys = [row.storage_key for row in rows]
    session.execute(sa.delete(FileRow).where(FileRow.id.in_([row.id for row in rows])))
    session.commit()
    for key in keys:
        try:
            storage.delete(key)
        except OSError:  # already gone, or the disk refused: the row is gone either way
            continue
    return len(rows)
