"""Building blocks of the web tests: a configured app, a workspace with users, published apps.

Unit tests seed through the runtime services directly (fast); the browser tests seed
through the REST API (see ``tests/e2e``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from runtime.apps import AppService, PublishedApp, load_published
from runtime.clock import Clock
from runtime.context import Actor, CallContext
from runtime.migrate import upgrade
from runtime.models import User, Workspace
from runtime.platform import Platform
from runtime.settings import Settings
from runtime.workspaces import IdentityService
from tests.unit.builder.fixtures import visit_app_definition
from web import create_app

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"
S8_WORDS = ["项目启动", "领导重视", "时间紧迫"]
S8_MESSAGE = {
    "zh": "客户提到了关键信号,建议探询预算:“这个项目今年的预算大概在什么范围?”",
    "en": "The customer gave a buying signal; probe the budget: “What budget range is planned this year?”",
}


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of a throw-away installation in ``tmp_path`` (SQLite file, local uploads)."""
    base = Settings(
        database_url=f"sqlite:///{tmp_path / 'cairn.sqlite3'}",
        secret_key="test-secret-key-not-for-production",
        instance_path=tmp_path,
        upload_dir=tmp_path / "uploads",
        max_upload_mb=2,
        testing=True,
    )
    return base.with_overrides(**overrides) if overrides else base


def make_app(tmp_path: Path, *, clock: Clock | None = None, **overrides: Any) -> Flask:
    """A Cairn app on a fresh, migrated database (on ``clock`` when given)."""
    app = create_app(settings_for(tmp_path, **overrides), clock=clock)
    upgrade(platform_of(app).engine)
    return app


def platform_of(app: Flask) -> Platform:
    """The app's platform."""
    return app.extensions["cairn"]  # type: ignore[no-any-return]


@dataclass
class Tenant:
    """A workspace with an admin, a manager and two reps."""

    workspace: Workspace
    admin: User
    manager: User
    rep: User
    rep2: User


def make_tenant(app: Flask, key: str = "acme") -> Tenant:
    """Creates workspace ``key`` and its users (usernames ``<key>-admin`` ...)."""
    platform = platform_of(app)
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        ws = identity.create_workspace(key, f"{key} Ltd")
        admin = identity.create_user(ws, f"{key}-admin", name="管理员", password=PASSWORD, role="admin")
        manager = identity.create_user(ws, f"{key}-manager", name="王经理", password=PASSWORD, role="manager")
        rep = identity.create_user(ws, f"{key}-rep", name="李销售", password=PASSWORD, role="rep", manager=manager.id)
        rep2 = identity.create_user(ws, f"{key}-rep2", name="赵销售", password=PASSWORD, role="rep", manager=manager.id)
        return Tenant(ws, admin, manager, rep, rep2)


def context(session: Any, platform: Platform, workspace: Workspace, user: User) -> CallContext:
    """A call context acting as ``user``."""
    return CallContext(session=session, workspace=workspace, actor=Actor.of(user), clock=platform.clock)


def publish(app: Flask, tenant: Tenant, definition: dict[str, Any]) -> None:
    """Imports and publishes ``definition`` as the tenant's admin."""
    platform = platform_of(app)
    with platform.session() as session:
        ws = session.get(Workspace, tenant.workspace.id)
        admin = session.get(User, tenant.admin.id)
        assert ws is not None and admin is not None
        service = AppService(context(session, platform, ws, admin))
        revision = service.import_definition(definition)
        service.publish(revision.id)


def published(app: Flask, tenant: Tenant, key: str) -> PublishedApp:
    """The published app ``key`` of the tenant."""
    with platform_of(app).session() as session:
        return load_published(session, tenant.workspace.id, key)


def s8_trigger() -> dict[str, Any]:
    """The S8 keyword prompt: a transcript mentioning a buying signal suggests a budget probe."""
    return {
        "key": "budget_probe",
        "label": {"zh": "预算探询提示", "en": "Budget probe prompt"},
        "entity": "visit",
        "on": {"type": "field_changed", "field": "transcript"},
        "when": 'contains_any(transcript, ["项目启动", "领导重视", "时间紧迫"])',
        "actions": [
            {
                "type": "prompt",
                "title": {"zh": "探询预算", "en": "Probe the budget"},
                "message": S8_MESSAGE,
                "level": "info",
            }
        ],
    }


def visit_app(*, with_trigger: bool = True) -> dict[str, Any]:
    """The S1 store-visit app, with the S8 prompt trigger."""
    definition = copy.deepcopy(visit_app_definition())
    if with_trigger:
        definition["triggers"] = [s8_trigger()]
    return definition


def xss_app() -> dict[str, Any]:
    """An app whose every human text is an HTML injection attempt."""
    label = {"zh": XSS, "en": XSS}
    return {
        "format": "cairn.app/1",
        "key": "xss",
        "label": label,
        "entities": [
            {
                "key": "thing",
                "label": label,
                "title_field": "name",
                "fields": [
                    {"key": "name", "type": "text", "label": label, "help": label},
                    {"key": "kind", "type": "choice", "label": label, "help": label,
                     "options": [{"value": XSS, "label": label}, "plain"]},
                    {"key": "tags", "type": "multi_choice", "label": label,
                     "options": [{"value": "a", "label": label}]},
                    {"key": "note", "type": "long_text", "label": label},
                ],
                "steps": [
                    {"key": "first", "label": label, "fields": ["name", "kind"]},
                    {"key": "second", "label": label, "fields": ["tags", "note"],
                     "unlock_when": "steps.first.done", "locked_message": label,
                     "description": label},
                ],
            }
        ],
    }  # fmt: skip


def every_type_app() -> dict[str, Any]:
    """One entity with a field of every type (for widget coverage)."""
    fields: list[dict[str, Any]] = [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
        {"key": "notes", "type": "long_text", "label": "Notes"},
        {"key": "qty", "type": "number", "label": "Qty"},
        {"key": "count", "type": "integer", "label": "Count"},
        {"key": "price", "type": "money", "label": "Price"},
        {"key": "share", "type": "percent", "label": "Share"},
        {"key": "active", "type": "boolean", "label": "Active"},
        {"key": "day", "type": "date", "label": "Day"},
        {"key": "at", "type": "datetime", "label": "At"},
        {"key": "took", "type": "duration", "label": "Took"},
        {"key": "size", "type": "choice", "label": "Size", "options": ["S", "M", "L"]},
        {"key": "tags", "type": "multi_choice", "label": "Tags", "options": ["x", "y"]},
        {"key": "upper", "type": "link", "target": "item", "label": "Upper"},
        {"key": "assignee", "type": "user", "label": "Assignee"},
        {"key": "place", "type": "location", "label": "Place"},
        {"key": "pics", "type": "photo", "multiple": True, "label": "Pictures"},
        {"key": "doc", "type": "file", "label": "Document"},
        {"key": "tel", "type": "phone", "label": "Phone"},
        {"key": "mail", "type": "email", "label": "Mail"},
        {"key": "site", "type": "url", "label": "Site"},
        {"key": "stars", "type": "rating", "label": "Stars"},
        {"key": "total", "type": "formula", "formula": "coalesce(qty, 0) * 2", "label": "Total"},
    ]
    return {
        "format": "cairn.app/1",
        "key": "kitchen",
        "label": "Kitchen sink",
        "entities": [{"key": "item", "label": "Item", "title_field": "name", "fields": fields}],
    }


def restricted_app() -> dict[str, Any]:
    """An app whose ``salary`` entity reps may not use at all."""
    return {
        "format": "cairn.app/1",
        "key": "hr",
        "label": "HR",
        "entities": [
            {
                "key": "salary",
                "label": {"zh": "薪资", "en": "Salary"},
                "fields": [{"key": "amount", "type": "money", "label": "Amount"}],
                "permissions": [{"role": "manager"}],
            }
        ],
    }


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid PNG image of a few pixels (made here, so no binary sits in the repo)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x2a\x80\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
