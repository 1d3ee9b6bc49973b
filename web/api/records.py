"""API: records of any entity of a published app, their steps, stages and history."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from runtime.apps import load_published
from runtime.errors import Invalid
from runtime.records import RecordService, WriteResult, record_json
from web.api import bp
from web.api.auth import call_context, published_state
from web.api.body import json_body, load
from web.api.schemas import FormStateRequestSchema, StageMoveSchema, StepCompleteSchema
from web.db import platform
from web.i18n import language

RECORDS = "/apps/<app_ref>/entities/<entity>/records"


def _service(app_ref: str) -> RecordService:
    ctx = call_context()
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    g.published_app = app
    return RecordService(ctx, app, listeners=platform().listeners)


def _write_json(result: WriteResult) -> dict[str, Any]:
    return {
        "record": record_json(result.record),
        "prompts": [p.as_json() for p in result.prompts],
        "completed_steps": result.completed_steps,
    }


def _version(body: dict[str, Any]) -> int | None:
    version = body.pop("version", None)
    if version is None and request.headers.get("If-Match"):
        version = request.headers["If-Match"].strip('W/"')
    if version is None:
        return None
    try:
        if isinstance(version, bool):
            raise ValueError
        return int(version)
    except (TypeError, ValueError, OverflowError):
        raise Invalid("The version must be a whole number.", message_zh="版本号必须是整数。", errors={"version": ["expected an integer"]}) from None


def _object_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("Send the record's fields as a JSON object.", message_zh="请以 JSON 对象提交记录字段。", code="invalid_json")
    return body


@bp.get(RECORDS)
def list_records(app_ref: str, entity: str) -> Any:
    """A page of records. Query: where, search, order_by, after, limit, filter.<field>."""
    service = _service(app_ref)
    args = request.args
    filters = {k[len("filter.") :]: v for k, v in args.items() if k.startswith("filter.")}
    try:
        limit = int(args.get("limit", 50))
    except ValueError:
        raise Invalid("limit must be a number.", message_zh="limit 必须是数字。", errors={"limit": ["expected an integer"]}) from None
    page = service.list(
        entity,
        where=args.get("where") or None,
        search=args.get("search") or None,
        filters=filters,
        order_by=args.get("order_by", "-created_at"),
        after=args.get("after") or None,
        limit=limit,
    )
    return jsonify(items=[record_json(r) for r in page.items], next_cursor=page.next_cursor)


@bp.post(RECORDS)
def create_record(app_ref: str, entity: str) -> Any:
    """Creates a record; the response carries prompts from triggers (S8)."""
    service = _service(app_ref)
    result = service.create(entity, _object_body())
    return jsonify(_write_json(result)), 201


@bp.get(RECORDS + "/<int:record_id>")
def get_record(app_ref: str, entity: str, record_id: int) -> Any:
    """One record."""
    service = _service(app_ref)
    return jsonify(record=record_json(service.get(entity, record_id)))


@bp.patch(RECORDS + "/<int:record_id>")
def update_record(app_ref: str, entity: str, record_id: int) -> Any:
    """Updates fields; send the ``version`` you read (or If-Match). Stale → 409."""
    service = _service(app_ref)
    body = _object_body()
    version = _version(body)
    result = service.update(entity, record_id, body, version=version)
    return jsonify(_write_json(result))


@bp.delete(RECORDS + "/<int:record_id>")
def delete_record(app_ref: str, entity: str, record_id: int) -> Any:
    """Deletes a record (``?version=`` makes the delete conditional)."""
    service = _service(app_ref)
    version = request.args.get("version")
    service.delete(entity, record_id, version=int(version) if version and version.isdigit() else None)
    return "", 204


@bp.get(RECORDS + "/<int:record_id>/steps")
def record_steps(app_ref: str, entity: str, record_id: int) -> Any:
    """The record's steps: unlocked, done, done_at and locked message."""
    service = _service(app_ref)
    return jsonify(steps=service.step_states(entity, record_id))


@bp.post(RECORDS + "/<int:record_id>/steps/<step>/complete")
def complete_step(app_ref: str, entity: str, record_id: int, step: str) -> Any:
    """Writes a step's fields and requires the step to be done afterwards (else 422)."""
    service = _service(app_ref)
    data = load(StepCompleteSchema())
    result = service.complete_step(entity, record_id, step, data["values"], version=data["version"])
    return jsonify(_write_json(result))


@bp.post(RECORDS + "/<int:record_id>/stage")
def move_stage(app_ref: str, entity: str, record_id: int) -> Any:
    """Moves the record to another stage (exit criteria of the current stage must hold)."""
    service = _service(app_ref)
    data = load(StageMoveSchema())
    result = service.move_stage(entity, record_id, data["stage"], version=data["version"])
    return jsonify(_write_json(result))


@bp.get(RECORDS + "/<int:record_id>/history")
def record_history(app_ref: str, entity: str, record_id: int) -> Any:
    """The audit trail: every write attempt with its outcome."""
    service = _service(app_ref)
    service.get(entity, record_id)
    return jsonify(items=_with_text(service.history(entity, record_id)))


@bp.get(RECORDS + "/<int:record_id>/assignment")
def record_assignment(app_ref: str, entity: str, record_id: int) -> Any:
    """"Why this rep": the record's latest assignment with its zh/en explanation, for the
    assignee, admins and managers (``assignment`` is null for others and when none)."""
    from runtime.assignment import why_assigned

    service = _service(app_ref)
    service.get(entity, record_id)
    ctx = call_context()
    why = why_assigned(
        ctx.session, ctx.workspace_id, app_id=service.app.app_id, entity=entity, record_id=record_id,
        actor_id=ctx.actor.id, actor_role=ctx.actor.role,
    )
    if why is not None:
        why["text"] = why["explanation"]["zh" if language() == "zh" else "en"]
    return jsonify(assignment=why)


@bp.get(RECORDS + "/<int:record_id>/timeline")
def record_timeline(app_ref: str, entity: str, record_id: int) -> Any:
    """Events of the record and its related records in time order (S24)."""
    service = _service(app_ref)
    return jsonify(items=_with_text(service.timeline(entity, record_id)))


def _with_text(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with ``text``: a refusal's message in the caller's language (None when ok)."""
    lang = language()
    for event in events:
        message = event.get("message")
        event["text"] = None if message is None else (event.get("message_zh") or message if lang == "zh" else message)
    return events


@bp.post("/apps/<app_ref>/entities/<entity>/form-state")
def form_state_new(app_ref: str, entity: str) -> Any:
    """Steps / fields / stage state of a new record with unsaved values."""
    service = _service(app_ref)
    data = load(FormStateRequestSchema())
    return jsonify(service.form_state(entity, None, data["values"]))


@bp.post(RECORDS + "/<int:record_id>/form-state")
def form_state(app_ref: str, entity: str, record_id: int) -> Any:
    """Steps / fields / stage state of a record with unsaved values applied."""
    service = _service(app_ref)
    data = load(FormStateRequestSchema())
    return jsonify(service.form_state(entity, record_id, data["values"]))
