"""The designer's JSON endpoints, ``/design/api/...`` (see docs/api.md "Designer API").

Each is a thin wrapper over :class:`runtime.designer.DesignerService`: read the body
through its schema, call the service, answer JSON. The blueprint's guard lets in signed-in
workspace admins only; unsafe methods need the session's CSRF token in ``X-CSRFToken``.
Errors are problem+json through ``web/errors.py`` like everywhere.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from runtime.automation.dryrun import dry_run_trigger
from runtime.designer import DesignerService
from runtime.errors import Invalid
from web.api.body import json_body, load
from web.api.params import export_response, revision_number
from web.api.schemas import (
    AppCreateSchema,
    AppRenameSchema,
    AssignmentPreviewSchema,
    DashboardPreviewSchema,
    DraftPublishSchema,
    DraftSaveSchema,
    ExpressionCheckSchema,
    KeyRequestSchema,
    MessagePreviewSchema,
    RollbackSchema,
    ScheduleTimesSchema,
    TriggerDryRunRequestSchema,
)
from web.design import bp
from web.login import call_context


def service() -> DesignerService:
    """The designer service for the signed-in admin."""
    return DesignerService(call_context())


@bp.get("/api/apps")
def api_apps() -> Any:
    """The workspace's apps with their published revision and draft."""
    return jsonify(items=service().apps())


@bp.post("/api/apps")
def api_create_app() -> Any:
    """A new app from its label; its draft has no entities yet."""
    data = load(AppCreateSchema())
    designer = service()
    return jsonify(designer.app_with_draft(*designer.create_app(data["label"]))), 201


@bp.post("/api/apps/import")
def api_import_app() -> Any:
    """A definition stored as a new app's draft, problems and all."""
    designer = service()
    app, draft, _ = designer.import_app(json_body(definition=True))
    return jsonify(designer.app_with_draft(app, draft, diagnostics=True)), 201


@bp.patch("/api/apps/<int:app_id>")
def api_rename_app(app_id: int) -> Any:
    """Renames the app (and its draft)."""
    data = load(AppRenameSchema())
    designer = service()
    return jsonify(designer.app_with_draft(*designer.rename(app_id, data["label"])))


@bp.delete("/api/apps/<int:app_id>")
def api_delete_app(app_id: int) -> Any:
    """Deletes a never-published app."""
    service().delete(app_id)
    return Response(status=204)


@bp.get("/api/apps/<int:app_id>/export")
def api_export(app_id: int) -> Any:
    """The definition of a revision (default: the draft) as a download."""
    number = revision_number("revision", request.args.get("revision"))
    filename, definition = service().export(app_id, number if isinstance(number, int) else None)
    return export_response(filename, definition)


@bp.get("/api/apps/<int:app_id>/draft")
def api_draft(app_id: int) -> Any:
    """The draft with every problem and the keys ever published."""
    return jsonify(service().draft(app_id))


@bp.put("/api/apps/<int:app_id>/draft")
def api_save_draft(app_id: int) -> Any:
    """Saves the draft at the version read (409 draft_conflict otherwise)."""
    data = load(DraftSaveSchema())
    return jsonify(service().save_draft(app_id, data["definition"], data["version"]))


@bp.post("/api/keys")
def api_key() -> Any:
    """A key made from a label, not one of ``taken``."""
    data = load(KeyRequestSchema())
    return jsonify(key=service().generate_key(data["label"], data["taken"], data["kind"]))


@bp.post("/api/apps/<int:app_id>/expressions/check")
def api_check_expression(app_id: int) -> Any:
    """The checker's verdict, type, explanation and names in scope for one expression."""
    data = load(ExpressionCheckSchema())
    return jsonify(
        service().check_expression(app_id, data["entity"], data["expression"], data["kind"], data["definition"])
    )


@bp.post("/api/apps/<int:app_id>/assignment/<rule_key>/preview")
def api_preview_assignment(app_id: int, rule_key: str) -> Any:
    """Whom an assignment rule of the client's draft would pick for recent records, and why."""
    data = load(AssignmentPreviewSchema())
    return jsonify(service().preview_assignment(
        app_id, rule_key[:63], data["definition"], data["records"], data["limit"]
    ))
@bp.post("/api/apps/<int:app_id>/messages/preview")
def api_preview_message(app_id: int) -> Any:
    """A notify message template rendered on a sample record (see runtime/automation/templates.py)."""
    data = load(MessagePreviewSchema())
    return jsonify(
        service().preview_message(app_id, data["entity"], data["template"], data["definition"], data["record_id"])
    )


@bp.post("/api/apps/<int:app_id>/dashboards/preview")
def api_preview_widget(app_id: int) -> Any:
    """A dashboard widget of the draft run on the published app's data (nothing is stored)."""
    data = load(DashboardPreviewSchema())
    return jsonify(service().preview_widget(app_id, data["widget"]))


@bp.post("/api/schedules/next")
def api_schedule_times() -> Any:
    """The next times a cron expression fires in a time zone (default: the workspace's)."""
    data = load(ScheduleTimesSchema())
    return jsonify(service().schedule_times(data["cron"], data["timezone"]))


@bp.post("/api/apps/<int:app_id>/plan")
def api_plan(app_id: int) -> Any:
    """What publishing the draft would do."""
    data = load(DraftPublishSchema())
    return jsonify(service().plan(app_id, data["version"], data["confirm_drops"]))


@bp.post("/api/apps/<int:app_id>/publish")
def api_publish(app_id: int) -> Any:
    """Publishes the draft (refused with every problem when it has any)."""
    data = load(DraftPublishSchema())
    return jsonify(service().publish(app_id, data["version"], data["confirm_drops"]))


@bp.get("/api/apps/<int:app_id>/revisions")
def api_revisions(app_id: int) -> Any:
    """The app's revisions, newest first."""
    return jsonify(items=service().revisions(app_id))


@bp.get("/api/apps/<int:app_id>/diff")
def api_diff(app_id: int) -> Any:
    """The readable changes between two revisions (``to`` may be ``draft``)."""
    old = revision_number("from", request.args.get("from"), allow_draft=True)
    new = revision_number("to", request.args.get("to"), allow_draft=True)
    if old is None:
        raise Invalid("Say which revision to compare from (?from=<number>).", message_zh="请指定比较的起始版本(?from=<版本号>)。",
                      errors={"from": ["required"]})
    return jsonify(changes=service().diff(app_id, old, new if new is not None else "draft"))


@bp.post("/api/apps/<int:app_id>/revisions/<int:number>/rollback")
def api_rollback(app_id: int, number: int) -> Any:
    """Publishes revision ``number``'s definition again as a new revision."""
    data = load(RollbackSchema())
    return jsonify(service().rollback(app_id, number, data["confirm_drops"]))


@bp.post("/api/apps/<int:app_id>/triggers/<trigger_key>/dry-run")
def api_trigger_dry_run(app_id: int, trigger_key: str) -> Any:
    """Would the draft's trigger have fired on recent (or chosen) records, and what would
    each action have done; nothing is changed."""
    data = load(TriggerDryRunRequestSchema())
    designer = service()
    return jsonify(dry_run_trigger(designer.ctx, app_id, trigger_key[:63], days=data.get("days"),
                                   record_ids=data.get("records"), definition=data.get("definition")))


@bp.get("/api/apps/<int:app_id>/people")
def api_people(app_id: int) -> Any:
    """The active users and the app's roles, for a trigger's "Roll out to"."""
    return jsonify(service().people(app_id))
