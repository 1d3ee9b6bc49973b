"""The runtime services a page request uses, built from the signed-in user explicitly."""

from __future__ import annotations

from pathlib import Path

from runtime.apps import PublishedApp, load_published
from runtime.files import FileService, LocalDiskStorage
from runtime.reads import RecordReads
from runtime.records import RecordService
from runtime.workspaces import IdentityService
from web import db
from web.login import call_context, signed_in


def published(app_key: str) -> PublishedApp:
    """The published app ``app_key`` of the user's workspace (NotFound in any other case)."""
    return load_published(db.session(), signed_in().workspace.id, app_key)


def records(app: PublishedApp) -> RecordService:
    """The record service for this request, with the platform's write listeners."""
    return RecordService(call_context(), app, listeners=db.platform().listeners)


def reads(app: PublishedApp | None = None) -> RecordReads:
    """Link titles, user names and files as the signed-in user may read them."""
    return RecordReads(call_context(), app)


def files() -> FileService:
    """The file service of the user's workspace, storing on local disk."""
    settings = db.platform().settings
    return FileService(
        db.session(),
        LocalDiskStorage(Path(settings.upload_dir)),
        db.platform().clock,
        workspace_id=signed_in().workspace.id,
        max_bytes=settings.max_upload_mb * 1024 * 1024,
    )


def workspace_users() -> list[tuple[int, str]]:
    """The active users of the signed-in user's workspace (id, name), for user pickers."""
    identity = IdentityService(db.session(), db.platform().clock)
    return [(u.id, u.name) for u in identity.users(signed_in().workspace.id) if u.is_active]
