"""The OpenAPI 3 document, generated from the API's marshmallow schemas.

Every operation lists the responses it really gives: its success body (a closed schema:
unknown members are not allowed, except a record's field values) and each error status
with the codes that lead to it, all as ``application/problem+json``. The integration tests
check real responses of every route against this document, and a schemathesis run fuzzes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from builder.schemas import AppSchema
from web.api import bp
from web.api import schemas as s

RECORDS = "/apps/{app}/entities/{entity}/records"

SCHEMAS: dict[str, Any] = {
    "Problem": s.ProblemSchema,
    "DefinitionProblem": s.DefinitionProblemSchema,
    "AppDefinition": AppSchema,
    "PublishRequest": s.PublishRequestSchema,
    "StageMove": s.StageMoveSchema,
    "StepComplete": s.StepCompleteSchema,
    "FormStateRequest": s.FormStateRequestSchema,
    "RecordCreate": s.RecordCreateSchema,
    "RecordUpdate": s.RecordUpdateSchema,
    "EventRequest": s.EventRequestSchema,
    "DryRunRequest": s.DryRunRequestSchema,
    "TriggerDryRunRequest": s.TriggerDryRunRequestSchema,
    "TriggerDryRunReport": s.TriggerDryRunReportSchema,
    "AppSummary": s.AppSummarySchema,
    "AppList": s.AppListSchema,
    "ValidationResult": s.ValidationResultSchema,
    "ImportResult": s.ImportResultSchema,
    "AppDetail": s.AppDetailSchema,
    "Revision": s.RevisionSchema,
    "RevisionDetail": s.RevisionDetailSchema,
    "PlanStep": s.PlanStepSchema,
    "Plan": s.PlanSchema,
    "Record": s.RecordSchema,
    "RecordEnvelope": s.RecordEnvelopeSchema,
    "Prompt": s.PromptSchema,
    "WriteResult": s.WriteResultSchema,
    "RecordPage": s.RecordPageSchema,
    "StepState": s.StepStateSchema,
    "StepList": s.StepListSchema,
    "AuditEvent": s.AuditEventSchema,
    "TimelineEvent": s.TimelineEventSchema,
    "History": s.HistorySchema,
    "Timeline": s.TimelineSchema,
    "FieldState": s.FieldStateSchema,
    "ExitPart": s.ExitPartSchema,
    "ExitExplanation": s.ExitExplanationSchema,
    "StageInfo": s.StageInfoSchema,
    "StageState": s.StageStateSchema,
    "FormState": s.FormStateSchema,
    "EventPosted": s.EventPostedSchema,
    "WebhookResult": s.WebhookResultSchema,
    "ActionRun": s.ActionRunSchema,
    "TriggerRun": s.TriggerRunSchema,
    "RunList": s.RunListSchema,
    "Retried": s.RetriedSchema,
    "ThresholdRequest": s.ThresholdRequestSchema,
    "Threshold": s.ThresholdSchema,
    "RuleHealth": s.RuleHealthSchema,
    "Health": s.HealthSchema,
    "TriggerDryRun": s.TriggerDryRunSchema,
    "ConditionDryRun": s.ConditionDryRunSchema,
    "Notification": s.NotificationSchema,
    "Inbox": s.InboxSchema,
    "MarkedRead": s.MarkedReadSchema,
    "AppCreate": s.AppCreateSchema,
    "AppRename": s.AppRenameSchema,
    "DraftSave": s.DraftSaveSchema,
    "KeyRequest": s.KeyRequestSchema,
    "ExpressionCheck": s.ExpressionCheckSchema,
    "AssignmentPreview": s.AssignmentPreviewSchema,
    "RecordAssignment": s.RecordAssignmentSchema,
    "AssignmentPreviewResult": s.AssignmentPreviewResultSchema,
    "DraftPublish": s.DraftPublishSchema,
    "Rollback": s.RollbackSchema,
    "DesignApp": s.DesignAppSchema,
    "DesignRevision": s.DesignRevisionSchema,
    "DesignRevisionList": s.DesignRevisionListSchema,
    "DesignAppCreated": s.DesignAppCreatedSchema,
    "DesignAppImported": s.DesignAppImportedSchema,
    "DesignAppRenamed": s.DesignAppRenamedSchema,
    "Draft": s.DraftSchema,
    "DraftSaved": s.DraftSavedSchema,
    "Key": s.KeySchema,
    "ExpressionCheckResult": s.ExpressionCheckResultSchema,
    "DesignPlan": s.DesignPlanSchema,
    "DesignPublished": s.DesignPublishedSchema,
    "Diff": s.DiffSchema,
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, schema: str | dict[str, Any] | None) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": _ref(schema) if isinstance(schema, str) else schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _params(*names: str) -> list[dict[str, Any]]:
    kinds = {"record": "integer", "revision": "integer", "notification": "integer", "run": "integer", "action_run": "integer"}
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": kinds.get(n, "string")}} for n in names
    ]


# The errors of every authenticated operation.
AUTH = {
    "401": _problem("Missing, unknown or revoked API token (unauthenticated)"),
    "429": _problem("Too many attempts with an unknown token or failed sign-ins from this address (too_many_attempts); see Retry-After"),
}
# The errors of every operation that reads a JSON body.
BODY = {
    "400": _problem("Malformed request (bad_request)"),
    "413": _problem("Request body too large (payload_too_large)"),
}
NOT_FOUND = _problem("Unknown app, entity, record or revision — or one of another workspace (not_found)")
FORBIDDEN = _problem("The caller's role may not do this (forbidden)")
INVALID_BODY = (
    "the body is not JSON or not an object (invalid_json), too deep or with too many members (payload_too_complex), "
    "text with NUL or lone surrogates (invalid_text), or a member is wrong (validation_failed)"
)
STALE = "The record changed since the version sent (version_conflict)"


def _op(
    summary: str,
    ok: dict[str, Any],
    errors: Mapping[str, Any],
    *,
    body: str | dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An operation with its success responses, its own errors, and the common ones."""
    responses: dict[str, Any] = {**ok, **AUTH}
    if body is not None:
        responses.update(BODY)
    for status, error in errors.items():
        responses[status] = _problem(error) if isinstance(error, str) else error
    operation: dict[str, Any] = {"summary": summary, "responses": dict(sorted(responses.items()))}
    if body is not None:
        schema = _ref(body) if isinstance(body, str) else body
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
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
        info={"description": "Apps, revisions and records of a Cairn workspace. Authenticate with `Authorization: Bearer <token>`. "
              "Every error is `application/problem+json` with a stable `code` (see docs/api.md)."},
        servers=[{"url": "/api/v1"}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in SCHEMAS.items():
        if name not in spec.components.schemas:  # nested schemas register themselves first
            spec.components.schema(name, schema=schema)
    _app_paths(spec)
    _record_paths(spec)
    _automation_paths(spec)
    _designer_paths(spec)
    from web.api.dashboard_export import export_paths

    export_paths(spec)
    from web.api.people_spec import people_paths, register_schemas

    spec.components.security_scheme("platform", {"type": "http", "scheme": "bearer",
                                                 "description": "The platform operator's CAIRN_PLATFORM_TOKEN"})
    register_schemas(spec)
    people_paths(spec)
    from web.api import dashboards_spec

    dashboards_spec.register_schemas(spec)
    dashboards_spec.dashboard_paths(spec)
    return _nullable_refs(spec.to_dict())


def _nullable_refs(node: Any) -> Any:
    """A nullable nested schema as ``allOf: [$ref], nullable: true``.

    apispec spells it ``anyOf: [$ref, {type: object, nullable: true}]``, whose second branch
    admits *any* object, so the nested schema would never really be checked.
    """
    if isinstance(node, list):
        return [_nullable_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_refs(value) for key, value in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and branches[1] == {"type": "object", "nullable": True}:
        del out["anyOf"]
        out.update(allOf=[branches[0]], nullable=True)
    return out


def _app_paths(spec: APISpec) -> None:
    """Definitions: import, validate, revisions, plan preview, publish."""
    app_p = _params("app")
    rev_p = _params("app", "revision")
    definition_invalid = "The definition has problems (definition_invalid, `problems` lists each with its path), or " + INVALID_BODY
    spec.path("/apps", operations={
        "get": _op("List the workspace's apps", {"200": _ok("Apps", "AppList")}, {}),
        "post": _op("Import a definition as a draft revision", {"201": _ok("Created draft revision", "ImportResult")},
                    {"403": _problem("Only an admin may change app definitions (forbidden)"), "422": definition_invalid},
                    body="AppDefinition"),
    })
    spec.path("/apps/validate", operations={
        "post": _op("Validate a definition (stores nothing)", {"200": _ok("Valid", "ValidationResult")},
                    {"422": definition_invalid}, body="AppDefinition"),
    })
    spec.path("/apps/{app}", operations={
        "get": _op("An app and its revisions", {"200": _ok("App", "AppDetail")}, {"404": NOT_FOUND}, params=app_p),
    })
    spec.path("/apps/{app}/revisions/{revision}", operations={
        "get": _op("A revision and its definition", {"200": _ok("Revision", "RevisionDetail")}, {"404": NOT_FOUND}, params=rev_p),
    })
    admin_only = _problem("Only an admin may plan or publish (forbidden)")
    spec.path("/apps/{app}/revisions/{revision}/plan", operations={
        "post": _op("Preview the migration plan", {"200": _ok("Plan", "Plan")},
                    {"403": admin_only, "404": NOT_FOUND, "422": "The body is wrong: " + INVALID_BODY},
                    body="PublishRequest", params=rev_p),
    })
    spec.path("/apps/{app}/revisions/{revision}/publish", operations={
        "post": _op("Publish: validate, plan and apply in one transaction", {"200": _ok("Applied plan", "Plan")},
                    {"403": admin_only, "404": NOT_FOUND,
                     "422": "The plan has problems (publish_refused, `detail_data.plan`), the revision is live (already_published), "
                            "existing values can't be converted (conversion_failed, `detail_data.rows`), or " + INVALID_BODY},
                    body="PublishRequest", params=rev_p),
    })


def _record_paths(spec: APISpec) -> None:
    """Records, their steps, stage, history, timeline and form state."""
    ent_p = _params("app", "entity")
    rec_p = _params("app", "entity", "record")
    may_not = _problem("The role may not do this to this entity or record (forbidden)")
    read_only = {"403": may_not, "404": NOT_FOUND}
    write_refused = (
        "Refused write, nothing stored: wrong values (validation_failed, `errors` per field), a field of a locked step "
        "(step_locked, `detail_data.step`), a failed validation rule (rule_violated, `detail_data.rules`), a value the "
        "database can't hold (value_out_of_range), or " + INVALID_BODY
    )
    query = [
        {"name": n, "in": "query", "required": False, "schema": {"type": "integer" if n == "limit" else "string"}, "description": d}
        for n, d in {
            "where": "An expression filter, e.g. `amount >= 100000 and region == \"华东\"`",
            "search": "Text to find in text fields",
            "order_by": "A field key, `-` prefix for descending (default -created_at)",
            "after": "The next_cursor of the previous page",
            "limit": "Page size (≤ 200)",
        }.items()
    ]
    spec.path(RECORDS, operations={
        "get": _op("List records (keyset pagination)", {"200": _ok("Page", "RecordPage")},
                   {**read_only, "422": "A `where` that does not check (invalid_expression, `detail_data.diagnostics`), "
                                        "a wrong limit, order_by or after (validation_failed), NUL in a parameter (invalid_text), "
                                        "a filter whose arithmetic the database can't compute (filter_out_of_range), "
                                        "or a sort by a field without an index on more than 10,000 records (sort_not_indexed)"},
                   params=ent_p + query),
        "post": _op("Create a record", {"201": _ok("Created", "WriteResult")},
                    {**read_only, "409": "A unique value is taken (value_taken)",
                     "422": write_refused + "; a stage set on create must pass the stages it skips (stage_exit_refused)"},
                    body="RecordCreate", params=ent_p),
    })
    version_query = {"name": "version", "in": "query", "required": False, "schema": {"type": "integer"},
                     "description": "Delete only if the record still has this version"}
    spec.path(RECORDS + "/{record}", operations={
        "get": _op("Get a record", {"200": _ok("Record", "RecordEnvelope")}, read_only, params=rec_p),
        "patch": _op("Update a record (send `version`)", {"200": _ok("Updated", "WriteResult")},
                     {**read_only, "409": STALE + ", or a unique value is taken (value_taken)",
                      "422": write_refused + "; stage changes go through …/stage (stage_exit_refused)"},
                     body="RecordUpdate", params=rec_p),
        "delete": _op("Delete a record", {"204": _ok("Deleted", None)},
                      {"403": _problem("The role may not delete records of this entity, or this record (forbidden)"),
                       "404": NOT_FOUND,
                       "409": "Other records still link to it (record_in_use, `detail_data.linked_from`), or " + STALE},
                      params=rec_p + [version_query]),
    })
    spec.path(RECORDS + "/{record}/steps", operations={
        "get": _op("Step states", {"200": _ok("Steps", "StepList")}, read_only, params=rec_p),
    })
    spec.path(RECORDS + "/{record}/steps/{step}/complete", operations={
        "post": _op("Write a step's fields and complete it", {"200": _ok("Completed", "WriteResult")},
                    {**read_only, "409": STALE,
                     "422": "The step is still not done (step_incomplete, `errors` names the fields), it is locked "
                            "(step_locked), or " + write_refused},
                    body="StepComplete", params=rec_p + _params("step")),
    })
    spec.path(RECORDS + "/{record}/stage", operations={
        "post": _op("Move to another stage", {"200": _ok("Moved", "WriteResult")},
                    {**read_only, "409": STALE,
                     "422": "The exit criteria of a stage it leaves fail (stage_exit_refused, `detail_data.exit.parts`), "
                            "a backward move from a stage without allow_back (stage_move_refused), an unknown stage (validation_failed), or "
                            + INVALID_BODY},
                    body="StageMove", params=rec_p),
    })
    spec.path(RECORDS + "/{record}/history", operations={
        "get": _op("Audit trail", {"200": _ok("Events", "History")}, read_only, params=rec_p),
    })
    spec.path(RECORDS + "/{record}/assignment", operations={
        "get": _op("Why this user was assigned (assignee, admins and managers)",
                   {"200": _ok("The latest assignment or null", "RecordAssignment")}, read_only, params=rec_p),
    })
    spec.path(RECORDS + "/{record}/timeline", operations={
        "get": _op("Timeline with related records (S24)", {"200": _ok("Events", "Timeline")}, read_only, params=rec_p),
    })
    form_state = {**read_only, "422": "Wrong values (validation_failed) or " + INVALID_BODY}
    spec.path(RECORDS + "/{record}/form-state", operations={
        "post": _op("Evaluate steps, fields and stage for unsaved values", {"200": _ok("Form state", "FormState")},
                    form_state, body="FormStateRequest", params=rec_p),
    })
    spec.path("/apps/{app}/entities/{entity}/form-state", operations={
        "post": _op("Form state of a new record", {"200": _ok("Form state", "FormState")},
                    form_state, body="FormStateRequest", params=ent_p),
    })


def _automation_paths(spec: APISpec) -> None:
    """Events, inbound webhooks, run history, rule health, the sandbox and the inbox."""
    app_p = _params("app")
    rec_p = _params("app", "entity", "record")
    managers = _problem("Only admins and managers may use this (forbidden)")
    spec.path(RECORDS + "/{record}/events", operations={
        "post": _op("Post a named event to a record (S13)", {"201": _ok("Event stored; matching triggers queued", "EventPosted")},
                    {"403": _problem("The role may not read this record (forbidden)"), "404": NOT_FOUND,
                     "422": "No or a malformed event name (validation_failed), or " + INVALID_BODY},
                    body="EventRequest", params=rec_p),
    })
    spec.path("/hooks/{app}/{trigger}", operations={
        "post": _op("Inbound webhook: create or update a record by its dedup key (S10)",
                    {"200": _ok("Updated", "WebhookResult"), "201": _ok("Created", "WebhookResult")},
                    {"403": _problem("The role may not write this entity (forbidden)"),
                     "404": _problem("Unknown app or webhook trigger (not_found)"),
                     "409": "A unique value is taken (value_taken), or the dedup value belongs to a record the caller may not read "
                            "(dedup_conflict)",
                     "422": "A missing dedup key or wrong mapped values (validation_failed, step_locked, rule_violated), or " + INVALID_BODY},
                    body={"type": "object", "additionalProperties": True, "description": "Any JSON object; the trigger maps its members to fields"},
                    params=_params("app", "trigger")),
    })
    limit = {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}
    query = [
        {"name": n, "in": "query", "required": False, "schema": {"type": t}, "description": d}
        for n, t, d in (
            ("trigger", "string", "A rule's key (alias `rule`)"),
            ("status", "string", "A status, `success` or `failure` (alias `outcome`)"),
            ("record_id", "integer", "Runs of this record (alias `record`)"),
            ("since", "string", "Runs started from this date (workspace time zone) or ISO time"),
            ("until", "string", "Runs started before the end of this date, or before this ISO time"),
            ("cause", "string", "Runs that failed for this cause (missing_manager, invalid_write …)"),
            ("before", "integer", "The `next_before` of the previous page"),
        )
    ]
    spec.path("/apps/{app}/automation/runs", operations={
        "get": _op("Trigger runs with their action runs, newest first, a page at a time (S34)", {"200": _ok("Runs", "RunList")},
                   {"403": managers, "404": NOT_FOUND,
                    "422": "A limit or before that is not a number, an unknown status or cause, a record_id that is not an id, or a "
                           "since/until that is not a date (validation_failed)"},
                   params=app_p + query + [limit]),
    })
    run_p = _params("app", "run")
    spec.path("/apps/{app}/automation/runs/{run}", operations={
        "get": _op("One trigger run with its action runs and the fields they changed", {"200": _ok("Run", "TriggerRun")},
                   {"403": managers, "404": _problem("Unknown app or run, or one of another app or workspace (not_found)")},
                   params=run_p),
    })
    spec.path("/apps/{app}/automation/action-runs/{action_run}/retry", operations={
        "post": _op("Queue a failed action again through the outbox", {"202": _ok("Queued", "Retried")},
                    {"403": _problem("Only an admin may retry actions (forbidden)"),
                     "404": _problem("Unknown app or action run, or one of another app or workspace (not_found)"),
                     "409": "The action did not fail (not_retryable) or was retried already (already_retried)"},
                    params=_params("app", "action_run")),
    })
    spec.path("/apps/{app}/automation/health", operations={
        "get": _op("Success rate per trigger, flagged below its threshold; failures by cause; daily rates (S11)",
                   {"200": _ok("Health", "Health")},
                   {"403": managers, "404": NOT_FOUND, "422": "A days or threshold that is not a number (validation_failed)"},
                   params=app_p + [
                       {"name": "days", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 90}},
                       {"name": "threshold", "in": "query", "required": False, "schema": {"type": "number", "minimum": 0, "maximum": 1}},
                   ]),
    })
    spec.path("/apps/{app}/automation/health/threshold", operations={
        "put": _op("Set the alert threshold of the workspace or of one rule", {"200": _ok("Stored", "Threshold")},
                   {"403": _problem("Only an admin may change the threshold (forbidden)"), "404": NOT_FOUND,
                    "422": "A threshold that is not a percentage from 0 to 100, an unknown rule or member (validation_failed), or "
                           + INVALID_BODY},
                   body="ThresholdRequest", params=app_p),
    })
    spec.path("/apps/{app}/automation/dry-run", operations={
        "post": _op("Rule sandbox: what a trigger would do on existing records, changing nothing (S16)",
                    {"200": _ok("Would-be effects", {"oneOf": [_ref("TriggerDryRun"), _ref("ConditionDryRun")]})},
                    {"403": managers, "404": NOT_FOUND,
                     "422": "Neither a trigger nor an entity and expression, an expression that does not check "
                            "(validation_failed), or " + INVALID_BODY},
                    body="DryRunRequest", params=app_p),
    })
    spec.path("/apps/{app}/triggers/{trigger}/dry-run", operations={
        "post": _op("Dry run of a draft trigger over the last N days or chosen records, changing nothing (S16)",
                    {"200": _ok("Per record: would it have fired, why, and each action's would-be effect",
                                "TriggerDryRunReport")},
                    {"403": _problem("Only workspace admins can dry-run rules (forbidden)"), "404": NOT_FOUND,
                     "422": "days out of 1-90, both days and records, a trigger with problems, a schedule or "
                            "deleted trigger, an entity never published (validation_failed), or " + INVALID_BODY},
                    body="TriggerDryRunRequest",
                    params=[*app_p, {"name": "trigger", "in": "path", "required": True,
                                     "schema": {"type": "string", "maxLength": 63}}]),
    })
    spec.path("/inbox", operations={
        "get": _op("The caller's in-app notifications", {"200": _ok("Notifications", "Inbox")},
                   {"422": "A limit that is not a number (validation_failed)"},
                   params=[{"name": "unread", "in": "query", "required": False, "schema": {"type": "string", "enum": ["1", "true"]}}, limit]),
    })
    spec.path("/inbox/{notification}/read", operations={
        "post": _op("Mark a notification read", {"200": _ok("Marked", "MarkedRead")},
                    {"404": _problem("Not one of the caller's notifications (not_found)")}, params=_params("notification")),
    })


def _designer_paths(spec: APISpec) -> None:
    """The designer's operations: apps, the draft, expression checks, publishing, history."""
    app_p = _params("app")
    admins = _problem("Only workspace admins can use the designer (forbidden)")
    stale = "Someone saved the draft meanwhile (draft_conflict, `current` says who and when)"
    label_invalid = "No label (validation_failed), or " + INVALID_BODY
    free_object = {"type": "object", "additionalProperties": True, "description": "An app definition (it may have problems)"}
    spec.path("/apps/new", operations={
        "post": _op("Create an app from its label, with an empty draft", {"201": _ok("Created", "DesignAppCreated")},
                    {"403": admins, "422": label_invalid}, body="AppCreate"),
    })
    spec.path("/apps/import", operations={
        "post": _op("Import a definition as a new app's draft, problems and all",
                    {"201": _ok("Imported; `diagnostics` lists every problem", "DesignAppImported")},
                    {"403": admins, "422": "Not a JSON object (invalid_json), or text that can't be stored (invalid_text)"},
                    body=free_object),
    })
    spec.path("/apps/{app}", operations={
        "patch": _op("Rename an app (and its draft)", {"200": _ok("Renamed", "DesignAppRenamed")},
                     {"403": admins, "404": NOT_FOUND, "422": label_invalid}, body="AppRename", params=app_p),
        "delete": _op("Delete a never-published app", {"204": _ok("Deleted", None)},
                      {"403": admins, "404": NOT_FOUND, "409": "The app was published (app_published)"}, params=app_p),
    })
    revision_query = {"name": "revision", "in": "query", "required": False, "schema": {"type": "integer"},
                      "description": "A revision number (default: the draft, else the published revision)"}
    spec.path("/apps/{app}/export", operations={
        "get": _op("A revision's definition as a JSON file", {"200": _ok("The definition", free_object)},
                   {"403": admins, "404": NOT_FOUND, "422": "A revision that is not a number (validation_failed)"},
                   params=app_p + [revision_query]),
    })
    spec.path("/apps/{app}/draft", operations={
        "get": _op("The draft with every problem and the keys ever published", {"200": _ok("Draft", "Draft")},
                   {"403": admins, "404": NOT_FOUND}, params=app_p),
        "put": _op("Save the draft (stored even with problems)", {"200": _ok("Saved; every problem", "DraftSaved")},
                   {"403": admins, "404": NOT_FOUND, "409": stale, "422": "No definition or version (validation_failed), or " + INVALID_BODY},
                   body="DraftSave", params=app_p),
    })
    publish_body = "No version (validation_failed), or " + INVALID_BODY
    no_draft = "No draft (no_draft), or " + stale
    spec.path("/apps/{app}/draft/plan", operations={
        "post": _op("What publishing the draft would do", {"200": _ok("Plan", "DesignPlan")},
                    {"403": admins, "404": NOT_FOUND, "409": no_draft, "422": publish_body}, body="DraftPublish", params=app_p),
    })
    spec.path("/apps/{app}/draft/publish", operations={
        "post": _op("Publish the draft", {"200": _ok("Published", "DesignPublished")},
                    {"403": admins, "404": NOT_FOUND,
                     "409": no_draft + ", or a confirmed drop the plan no longer has (confirmation_required, `unconfirmed`)",
                     "422": "The draft has problems (draft_invalid, `diagnostics`; nothing published), existing values can't be "
                            "converted (conversion_failed), or " + publish_body},
                    body="DraftPublish", params=app_p),
    })
    spec.path("/apps/{app}/expressions/check", operations={
        "post": _op("Check an expression on an entity of the draft", {"200": _ok("Verdict, type, explanation, names", "ExpressionCheckResult")},
                    {"403": admins, "404": _problem("Unknown app, or no such entity in the draft (not_found)"),
                     "422": "An unknown kind or a missing member (validation_failed), or " + INVALID_BODY},
                    body="ExpressionCheck", params=app_p),
    })
    spec.path("/apps/{app}/assignment/{rule}/preview", operations={
        "post": _op("Whom an assignment rule of the draft would pick for recent records, and why (writes nothing)",
                    {"200": _ok("Per record: the user, the chain tried, scores and the explanation", "AssignmentPreviewResult")},
                    {"403": admins, "404": _problem("Unknown app, no such rule in the draft, or an unknown record (not_found)"),
                     "422": "The rule has problems (rule_invalid), its entity is not published (not_published), "
                            "or a bad member (validation_failed), or " + INVALID_BODY},
                    body="AssignmentPreview", params=_params("app", "rule")),
    })
    spec.path("/apps/{app}/history", operations={
        "get": _op("The app's revisions with who made, saved and published them", {"200": _ok("Revisions", "DesignRevisionList")},
                   {"403": admins, "404": NOT_FOUND}, params=app_p),
    })
    diff_query = [
        {"name": "from", "in": "query", "required": True, "schema": {"type": "string"}, "description": "A revision number, `draft` or `published`"},
        {"name": "to", "in": "query", "required": False, "schema": {"type": "string"}, "description": "A revision number, `draft` (default) or `published`"},
    ]
    spec.path("/apps/{app}/diff", operations={
        "get": _op("The readable changes between two revisions", {"200": _ok("Changes", "Diff")},
                   {"403": admins, "404": NOT_FOUND, "422": "A from or to that is not a revision number (validation_failed)"},
                   params=app_p + diff_query),
    })
    spec.path("/apps/{app}/revisions/{revision}/rollback", operations={
        "post": _op("Publish an earlier revision again as a new revision", {"200": _ok("Published", "DesignPublished")},
                    {"403": admins, "404": NOT_FOUND,
                     "409": "A confirmed drop the plan does not have (confirmation_required)",
                     "422": "The revision was never published (not_published) or is the published one (already_published), "
                            "its definition no longer publishes (draft_invalid), or " + INVALID_BODY},
                    body="Rollback", params=_params("app", "revision")),
    })
    spec.path("/keys", operations={
        "post": _op("A key made from a label (pinyin for Chinese)", {"200": _ok("Key", "Key")},
                    {"403": admins, "422": "No label or an unknown kind (validation_failed), or " + INVALID_BODY}, body="KeyRequest"),
    })


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3 document of this API."""
    return jsonify(build_spec())
