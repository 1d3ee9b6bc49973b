"""API: app definitions — import, validate, revisions, plan preview, publish."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from builder import load_definition
from builder.repository import DefinitionRepository
from runtime.apps import AppService, app_json, revision_json
from runtime.errors import NotFound
from web.api import bp
from web.api.auth import call_context
from web.api.body import json_body, load
from web.api.schemas import PublishRequestSchema


def _revision_of(service: AppService, app_ref: str, revision_id: int) -> Any:
    app = service.app(app_ref)
    revision = service.revision(revision_id)
    if revision.app_id != app.id:
        raise NotFound("No such revision of this app.", message_zh="该应用没有这个版本。")
    return revision


@bp.get("/apps")
def list_apps() -> Any:
    """The workspace's apps."""
    ctx = call_context()
    repo = DefinitionRepository(ctx.session, ctx.workspace_id)
    return jsonify(items=[app_json(a, repo.published(a)) for a in repo.apps()])


@bp.post("/apps/validate")
def validate_app() -> Any:
    """Validates a definition without storing it: 200, or 422 listing every problem."""
    call_context()
    definition = load_definition(json_body(definition=True))
    return jsonify(ok=True, key=definition.key, entities=[e.key for e in definition.entities])


@bp.post("/apps")
def import_app() -> Any:
    """Imports a definition as a new draft revision (creating the app on first import)."""
    service = AppService(call_context())
    revision = service.import_definition(json_body(definition=True))
    app = service.app(revision.app_id)
    return jsonify(app=app_json(app), revision=revision_json(revision)), 201


@bp.get("/apps/<app_ref>")
def get_app(app_ref: str) -> Any:
    """An app with its revisions."""
    service = AppService(call_context())
    app = service.app(app_ref)
    revisions = service.repo.revisions(app.id)
    return jsonify(app=app_json(app, service.repo.published(app)), revisions=[revision_json(r) for r in revisions])


@bp.get("/apps/<app_ref>/revisions/<int:revision_id>")
def get_revision(app_ref: str, revision_id: int) -> Any:
    """A revision with its definition document."""
    service = AppService(call_context())
    revision = _revision_of(service, app_ref, revision_id)
    return jsonify(revision=revision_json(revision), definition=revision.definition)


@bp.post("/apps/<app_ref>/revisions/<int:revision_id>/plan")
def plan_revision(app_ref: str, revision_id: int) -> Any:
    """The migration plan publishing this revision would apply (changes nothing)."""
    service = AppService(call_context())
    _revision_of(service, app_ref, revision_id)
    request_data = load(PublishRequestSchema())
    return jsonify(service.plan(revision_id, request_data["confirm_drops"]))


@bp.post("/apps/<app_ref>/revisions/<int:revision_id>/publish")
def publish_revision(app_ref: str, revision_id: int) -> Any:
    """Publishes the revision: validates, plans and applies the plan in one transaction."""
    service = AppService(call_context())
    _revision_of(service, app_ref, revision_id)
    request_data = load(PublishRequestSchema())
    return jsonify(service.publish(revision_id, request_data["confirm_drops"]))
