"""Marshmallow schemas of the REST API's requests and responses.

Requests are loaded through these schemas (unknown keys refused), and the OpenAPI document
is generated from the very same classes, so the document can't drift from the code.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class StrictSchema(Schema):
    """Refuses unknown keys."""

    class Meta:
        unknown = RAISE


class ProblemSchema(Schema):
    """An ``application/problem+json`` error body."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String(metadata={"description": "Stable error code, e.g. step_locked"})
    detail = fields.String()
    detail_zh = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Short English reasons per field key (for programs; show `fields`)"},
    )
    problems = fields.List(fields.Dict(), metadata={"description": "Definition problems with JSON paths"})
    lang = fields.String(metadata={"description": "The caller's language: zh or en"})
    message = fields.String(metadata={"description": "The summary in the caller's language"})
    fields_ = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        data_key="fields",
        metadata={"description": "Per field key: code, params, label {en, zh}, message, message_zh, text (in lang)"},
    )


class PublishRequestSchema(StrictSchema):
    """Publishing (or previewing) a revision."""

    confirm_drops = fields.List(
        fields.String(validate=validate.Length(max=130)),
        load_default=list,
        validate=validate.Length(max=500),
        metadata={"description": "`entity.field` keys whose columns may really be dropped"},
    )


class StageMoveSchema(StrictSchema):
    """Moving a record to another stage."""

    stage = fields.String(required=True, validate=validate.Length(min=1, max=63))
    version = fields.Integer(required=True, strict=True)


class StepCompleteSchema(StrictSchema):
    """Writing a step's fields and requiring the step to be done afterwards."""

    version = fields.Integer(required=True, strict=True)
    values = fields.Dict(keys=fields.String(), load_default=dict)


class FormStateRequestSchema(StrictSchema):
    """Unsaved form values to evaluate steps, visibility and stage criteria against."""

    values = fields.Dict(keys=fields.String(), load_default=dict)


class AppSummarySchema(Schema):
    """An app of the workspace."""

    id = fields.Integer()
    key = fields.String()
    label = fields.Dict()
    published_revision_id = fields.Integer(allow_none=True)
    published_revision_number = fields.Integer(allow_none=True)
    created_at = fields.String()


class RevisionSchema(Schema):
    """A revision of an app definition."""

    id = fields.Integer()
    app_id = fields.Integer()
    number = fields.Integer()
    status = fields.String(metadata={"description": "draft, published or superseded"})
    created_at = fields.String()
    published_at = fields.String(allow_none=True)
    plan = fields.List(fields.Dict(), allow_none=True)


class PlanSchema(Schema):
    """A migration plan preview."""

    steps = fields.List(fields.Dict())
    problems = fields.List(fields.Dict())
    revision = fields.Nested(RevisionSchema)


class RecordSchema(Schema):
    """A record: its field values by key plus system fields (id, version, owner …)."""

    class Meta:
        unknown = "include"

    id = fields.Integer()
    version = fields.Integer()
    created_at = fields.String()
    updated_at = fields.String()
    owner = fields.Integer(allow_none=True)
    created_by = fields.Integer(allow_none=True)


class PromptSchema(Schema):
    """A suggestion a trigger's prompt action returns to the writer (S8)."""

    trigger = fields.String()
    title = fields.Dict()
    message = fields.Dict()
    level = fields.String()


class WriteResultSchema(Schema):
    """A committed write."""

    record = fields.Nested(RecordSchema)
    prompts = fields.List(fields.Nested(PromptSchema))
    completed_steps = fields.List(fields.String())


class RecordPageSchema(Schema):
    """One page of records (keyset pagination: pass ``next_cursor`` as ``after``)."""

    items = fields.List(fields.Nested(RecordSchema))
    next_cursor = fields.String(allow_none=True)


class StepStateSchema(Schema):
    """A step of a record."""

    key = fields.String()
    label = fields.Dict()
    unlocked = fields.Boolean()
    done = fields.Boolean()
    done_at = fields.String(allow_none=True)
    locked_message = fields.Dict(allow_none=True)
    fields_ = fields.List(fields.String(), data_key="fields")


class AuditEventSchema(Schema):
    """One write attempt on a record."""

    id = fields.Integer()
    entity = fields.String()
    record_id = fields.Integer(allow_none=True)
    action = fields.String()
    outcome = fields.String(metadata={"description": "ok or refused"})
    error_code = fields.String(allow_none=True)
    message = fields.String(allow_none=True, metadata={"description": "A refusal's message in English"})
    message_zh = fields.String(allow_none=True, metadata={"description": "A refusal's message in Chinese"})
    text = fields.String(allow_none=True, metadata={"description": "A refusal's message in the caller's language"})
    changes = fields.Dict()
    actor_id = fields.Integer(allow_none=True)
    at = fields.String()
