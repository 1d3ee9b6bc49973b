"""The OpenAPI 3 document, generated from the API's marshmallow schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from builder.schemas import AppSchema
from web.api import bp
from web.api import schemas as s

RECORDS = "/apps/{app}/entities/{entity}/records"


def _json(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": "Problem"}}}


def _params(*names: str) -> list[dict[str, Any]]:
    kinds = {"record": "integer", "revision": "integer"}
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": kinds.get(n, "string")}} for n in names
    ]


ERRORS = {
    "401": _problem("Missing or invalid API token (code unauthenticated)"),
    "404": _problem("Not found in this workspace (code not_found)"),
    "422": _problem("Invalid input: definition_invalid, validation_failed, step_locked, stage_exit_refused, rule_violated, conversion_failed …"),
}


def _op(summary: str, ok: dict[str, Any], *, body: str | None = None, params: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {**ok, **ERRORS, **(extra or {})}}
    if body:
        operation["requestBody"] = {"required": True, **_json(body)}
    if params:
        operation["parameters"] = params
    return operation


@cache
def build_spec() -> dict[str, Any]:
    """The OpenAPI document (built once per process)."""
    spec = APISpec(
        title="Cairn API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Apps, revisions and records of a Cairn workspace. Authenticate with `Authorization: Bearer <token>`."},
        servers=[{"url": "/api/v1"}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in {
        "Problem": s.ProblemSchema,
        "AppDefinition": AppSchema,
        "PublishRequest": s.PublishRequestSchema,
        "StageMove": s.StageMoveSchema,
        "StepComplete": s.StepCompleteSchema,
        "FormStateRequest": s.FormStateRequestSchema,
        "AppSummary": s.AppSummarySchema,
        "Revision": s.RevisionSchema,
        "Plan": s.PlanSchema,
        "Record": s.RecordSchema,
        "WriteResult": s.WriteResultSchema,
        "RecordPage": s.RecordPageSchema,
        "StepState": s.StepStateSchema,
        "AuditEvent": s.AuditEventSchema,
    }.items():
        spec.components.schema(name, schema=schema)
    app_p = _params("app")
    rev_p = _params("app", "revision")
    ent_p = _params("app", "entity")
    rec_p = _params("app", "entity", "record")
    spec.path("/apps", operations={
        "get": _op("List the workspace's apps", {"200": {"description": "Apps"}}),
        "post": _op("Import a definition as a draft revision", {"201": {"description": "Created draft revision"}}, body="AppDefinition"),
    })
    spec.path("/apps/validate", operations={"post": _op("Validate a definition (stores nothing)", {"200": {"description": "Valid"}}, body="AppDefinition")})
    spec.path("/apps/{app}", operations={"get": _op("An app and its revisions", {"200": {"description": "App"}}, params=app_p)})
    spec.path("/apps/{app}/revisions/{revision}", operations={"get": _op("A revision and its definition", {"200": {"description": "Revision"}}, params=rev_p)})
    spec.path("/apps/{app}/revisions/{revision}/plan", operations={"post": _op("Preview the migration plan", {"200": {"description": "Plan", **_json("Plan")}}, body="PublishRequest", params=rev_p)})
    spec.path("/apps/{app}/revisions/{revision}/publish", operations={"post": _op("Publish: validate, plan and apply in one transaction", {"200": {"description": "Applied plan", **_json("Plan")}}, body="PublishRequest", params=rev_p)})
    query = [
        {"name": n, "in": "query", "required": False, "schema": {"type": "integer" if n == "limit" else "string"}, "description": d}
        for n, d in {
            "where": "An expression filter, e.g. `amount >= 100000 and region == \"华东\"`",
            "search": "Text to find in text fields",
            "order_by": "A field key, `-` prefix for descending (default -id)",
            "after": "The next_cursor of the previous page",
            "limit": "Page size (≤ 200)",
        }.items()
    ]
    spec.path(RECORDS, operations={
        "get": _op("List records (keyset pagination)", {"200": {"description": "Page", **_json("RecordPage")}}, params=ent_p + query),
        "post": _op("Create a record", {"201": {"description": "Created", **_json("WriteResult")}}, body="Record", params=ent_p),
    })
    spec.path(RECORDS + "/{record}", operations={
        "get": _op("Get a record", {"200": {"description": "Record"}}, params=rec_p),
        "patch": _op("Update a record (send `version`)", {"200": {"description": "Updated", **_json("WriteResult")}}, body="Record", params=rec_p, extra={"409": _problem("Stale version (code version_conflict)")}),
        "delete": _op("Delete a record", {"204": {"description": "Deleted"}}, params=rec_p),
    })
    spec.path(RECORDS + "/{record}/steps", operations={"get": _op("Step states", {"200": {"description": "Steps"}}, params=rec_p)})
    spec.path(RECORDS + "/{record}/steps/{step}/complete", operations={"post": _op("Write a step's fields and complete it", {"200": {"description": "Completed", **_json("WriteResult")}}, body="StepComplete", params=rec_p + _params("step"))})
    spec.path(RECORDS + "/{record}/stage", operations={"post": _op("Move to another stage", {"200": {"description": "Moved", **_json("WriteResult")}}, body="StageMove", params=rec_p)})
    spec.path(RECORDS + "/{record}/history", operations={"get": _op("Audit trail", {"200": {"description": "Events"}}, params=rec_p)})
    spec.path(RECORDS + "/{record}/timeline", operations={"get": _op("Timeline with related records (S24)", {"200": {"description": "Events"}}, params=rec_p)})
    spec.path(RECORDS + "/{record}/form-state", operations={"post": _op("Evaluate steps, fields and stage for unsaved values", {"200": {"description": "Form state"}}, body="FormStateRequest", params=rec_p)})
    spec.path("/apps/{app}/entities/{entity}/form-state", operations={"post": _op("Form state of a new record", {"200": {"description": "Form state"}}, body="FormStateRequest", params=ent_p)})
    _automation_paths(spec, app_p, rec_p)
    return spec.to_dict()


def _automation_paths(spec: APISpec, app_p: list[dict[str, Any]], rec_p: list[dict[str, Any]]) -> None:
    """Events, inbound webhooks, run history, rule health, the sandbox and the inbox."""
    obj = {"type": "object"}
    spec.path(RECORDS + "/{record}/events", operations={"post": _op("Post a named event to a record (S13)", {"202": {"description": "Event stored; matching triggers queued"}}, params=rec_p)})
    spec.path("/hooks/{app}/{trigger}", operations={"post": {**_op("Inbound webhook: create or update a record by its dedup key (S10)", {"200": {"description": "Updated"}, "201": {"description": "Created"}}, params=_params("app", "trigger")), "requestBody": {"required": True, "content": {"application/json": {"schema": obj}}}}})
    spec.path("/apps/{app}/automation/runs", operations={"get": _op("Trigger runs with their action runs (S34)", {"200": {"description": "Runs"}}, params=app_p)})
    spec.path("/apps/{app}/automation/health", operations={"get": _op("Success rate per trigger; flagged below the threshold (S11)", {"200": {"description": "Health"}}, params=app_p)})
    spec.path("/apps/{app}/automation/dry-run", operations={"post": {**_op("Rule sandbox: what a trigger would do on existing records, changing nothing (S16)", {"200": {"description": "Would-be effects"}}, params=app_p), "requestBody": {"required": True, "content": {"application/json": {"schema": obj}}}}})
    spec.path("/inbox", operations={"get": _op("The caller's in-app notifications", {"200": {"description": "Notifications"}})})
    spec.path("/inbox/{notification}/read", operations={"post": _op("Mark a notification read", {"200": {"description": "Marked"}}, params=_params("notification"))})


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3 document of this API."""
    return jsonify(build_spec())
