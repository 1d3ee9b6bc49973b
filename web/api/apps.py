"""API: app definitions — import, validate, revisions, plan preview, publish."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from builder import load_definition
from builder.repository import DefinitionRepository
from runtime.apps import AppService, app_json, revision_json
from runtime.designer import DesignerService
from runtime.errors import Invalid, NotFound
from web.api import bp
from web.api.auth import call_context
from web.api.body import json_body, load
from web.api.params import export_response, revision_number
from web.api.schemas import (
    AppCreateSchema,
    AppRenameSchema,
    AssignmentPreviewSchema,
    DraftPublishSchema,
    DraftSaveSchema,
    ExpressionCheckSchema,
    KeyRequestSchema,
    PublishRequestSchema,
    RollbackSchema,
)


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


# -- the designer's operations for API-token users (docs/api.md "Designer API") ----------


def _designer() -> DesignerService:
    return DesignerService(call_context())


@bp.post("/apps/new")
def designer_create_app() -> Any:
    """A new app from its label, with an empty draft (its key made from the label)."""
    data = load(AppCreateSchema())
    designer = _designer()
    return jsonify(designer.app_with_draft(*designer.create_app(data["label"]))), 201


@bp.post("/apps/import")
def designer_import_app() -> Any:
    """A definition stored as a new app's draft, problems and all (with its diagnostics)."""
    designer = _designer()
    app, draft, _ = designer.import_app(json_body(definition=True))
    return jsonify(designer.app_with_draft(app, draft, diagnostics=True)), 201


@bp.patch("/apps/<app_ref>")
def designer_rename_app(app_ref: str) -> Any:
    """Renames an app and its draft."""
    data = load(AppRenameSchema())
    designer = _designer()
    return jsonify(designer.app_with_draft(*designer.rename(app_ref, data["label"])))


@bp.delete("/apps/<app_ref>")
def designer_delete_app(app_ref: str) -> Any:
    """Deletes an app that was never published."""
    _designer().delete(app_ref)
    return Response(status=204)


@bp.get("/apps/<app_ref>/export")
def designer_export(app_ref: str) -> Any:
    """A revision's definition as a JSON file (default: the draft, else the published one)."""
    number = revision_number("revision", request.args.get("revision"))
    filename, definition = _designer().export(app_ref, number if isinstance(number, int) else None)
    return export_response(filename, definition)


@bp.get("/apps/<app_ref>/draft")
def designer_draft(app_ref: str) -> Any:
    """The draft (made from the published revision if there is none) with every problem."""
    return jsonify(_designer().draft(app_ref))


@bp.put("/apps/<app_ref>/draft")
def designer_save_draft(app_ref: str) -> Any:
    """Saves the draft at the version read; 409 draft_conflict when someone saved meanwhile."""
    data = load(DraftSaveSchema())
    return jsonify(_designer().save_draft(app_ref, data["definition"], data["version"]))


@bp.post("/apps/<app_ref>/draft/plan")
def designer_plan(app_ref: str) -> Any:
    """What publishing the draft would do, in words and numbers."""
    data = load(DraftPublishSchema())
    return jsonify(_designer().plan(app_ref, data["version"], data["confirm_drops"]))


@bp.post("/apps/<app_ref>/draft/publish")
def designer_publish(app_ref: str) -> Any:
    """Publishes the draft (422 draft_invalid with every problem when it has any)."""
    data = load(DraftPublishSchema())
    return jsonify(_designer().publish(app_ref, data["version"], data["confirm_drops"]))


@bp.post("/apps/<app_ref>/expressions/check")
def designer_check_expression(app_ref: str) -> Any:
    """Checks one expression on an entity of the draft (or of a posted definition)."""
    data = load(ExpressionCheckSchema())
    return jsonify(_designer().check_expression(app_ref, data["entity"], data["expression"], data["kind"], data["definition"]))


@bp.post("/apps/<app_ref>/assignment/<rule>/preview")
def designer_preview_assignment(app_ref: str, rule: str) -> Any:
    """Whom an assignment rule of the draft would pick for recent records, and why."""
    data = load(AssignmentPreviewSchema())
    return jsonify(_designer().preview_assignment(
        app_ref, rule[:63], data["definition"], data["records"], data["limit"]
    ))


@bp.get("/apps/<app_ref>/history")
def designer_history(app_ref: str) -> Any:
    """The app's revisions with who made, saved and published them."""
    return jsonify(items=_designer().revisions(app_ref))


@bp.get("/apps/<app_ref>/diff")
def designer_diff(app_ref: str) -> Any:
    """The readable changes between two revision numbers (``to`` may be ``draft``)."""
    old = revision_number("from", request.args.get("from"), allow_draft=True)
    new = revision_number("to", request.args.get("to"), allow_draft=True)
    if old is None:
        raise Invalid("Say which revision to compare from (?from=<number>).", message_zh="请指定比较的起始版本(?from=<版本号>)。",
                      errors={"from": ["required"]})
    return jsonify(changes=_designer().diff(app_ref, old, new if new is not None else "draft"))


@bp.post("/apps/<app_ref>/revisions/<int:revision_id>/rollback")
def designer_rollback(app_ref: str, revision_id: int) -> Any:
    """Publishes an earlier revision's definition again, as a new revision."""
    data = load(RollbackSchema())
    designer = _designer()
    revision = _revision_of(AppService(designer.ctx), app_ref, revision_id)
    return jsonify(designer.rollback(app_ref, revision.number, data["confirm_drops"]))


@bp.post("/keys")
def designer_key() -> Any:
    """A key made from a label (pinyin for Chinese), not one of ``taken``."""
    data = load(KeyRequestSchema())
    return jsonify(key=_designer().generate_key(data["label"], data["taken"], data["kind"]))
