"""Marshmallow schemas of the REST API's requests and responses.

Requests are loaded through these schemas (unknown keys refused), and the OpenAPI document
is generated from the very same classes, so the document can't drift from the code.
"""

from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, fields, validate


class StrictSchema(Schema):
    """Refuses unknown keys."""

    class Meta:
        unknown = RAISE


class DefinitionProblemSchema(Schema):
    """One problem of an app definition (or of a migration plan), with its JSON path."""

    path = fields.String(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    message_zh = fields.String(required=True)
    detail = fields.Dict(keys=fields.String())


class ProblemSchema(Schema):
    """An ``application/problem+json`` error body (RFC 9457) with Cairn's stable ``code``."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"description": "Stable error code, e.g. step_locked"})
    detail = fields.String(required=True)
    detail_zh = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "Messages per field key (or JSON path, for definitions)"},
    )
    detail_data = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "Machine-readable details of some codes: `linked_from` (record_in_use), "
            "`step` (step_locked), `stage` and `exit.parts` (stage_exit_refused), `rules` (rule_violated), "
            "`diagnostics` (invalid_expression), `plan` (publish_refused), `rows` (conversion_failed) …"
        },
    )
    problems = fields.List(
        fields.Nested(DefinitionProblemSchema),
        metadata={"description": "Every problem of the definition (code definition_invalid)"},
    )
    lang = fields.String(metadata={"description": "The caller's language: zh or en"})
    message = fields.String(metadata={"description": "The summary in the caller's language"})
    fields_ = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        data_key="fields",
        metadata={"description": "Per field key: code, params, label {en, zh}, message, message_zh, text (in lang)"},
    )
    current = fields.Dict(
        keys=fields.String(),
        metadata={"description": "draft_conflict: the stored draft's version, updated_by (a name) and updated_at"},
    )
    diagnostics = fields.List(
        fields.Nested(DefinitionProblemSchema),
        metadata={"description": "draft_invalid: every problem of the draft (nothing was published)"},
    )
    unconfirmed = fields.List(
        fields.String(), metadata={"description": "confirmation_required: confirmed drops the plan no longer has"}
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


class RecordUpdateSchema(Schema):
    """The body of a record update: changed field values by key, plus the version you read."""

    class Meta:
        unknown = INCLUDE

    version = fields.Integer(
        metadata={"description": "The `version` you read (or send `If-Match`); a stale one answers 409 version_conflict"}
    )


class RecordCreateSchema(Schema):
    """The body of a record create: field values by key (the entity's fields)."""

    class Meta:
        unknown = INCLUDE


class EventRequestSchema(StrictSchema):
    """A named event posted to a record (S13)."""

    name = fields.String(required=True, metadata={"description": "The event's key, e.g. pricing_exit"})
    data = fields.Raw(metadata={"description": "Any JSON the event carries"})


class DryRunRequestSchema(StrictSchema):
    """The rule sandbox: a trigger to try, or an entity and a condition expression."""

    trigger = fields.String()
    entity = fields.String()
    expression = fields.String()
    revision_id = fields.Integer(allow_none=True, metadata={"description": "A draft revision to try (default: the published one)"})
    record_ids = fields.List(fields.Integer())
    limit = fields.Integer()


# -- responses: every shape is closed (additionalProperties false) except a record's fields --

LABEL = {"description": "A label: {zh, en} (or a plain string where the definition gave one)"}
ID = {"description": "Assigned by the server"}


class AppSummarySchema(Schema):
    """An app of the workspace."""

    id = fields.Integer(dump_only=True, required=True, metadata=ID)
    key = fields.String(required=True)
    label = fields.Raw(required=True, metadata=LABEL)
    published_revision_id = fields.Integer(dump_only=True, allow_none=True, required=True)
    published_revision_number = fields.Integer(dump_only=True, allow_none=True, required=True)
    created_at = fields.String(dump_only=True, required=True)


class PlanStepSchema(Schema):
    """One step of a migration plan."""

    kind = fields.String(required=True, metadata={"description": "create_entity, add_field, drop_field, change_type …"})
    entity = fields.String(required=True)
    field = fields.String()
    step = fields.String()
    unique = fields.Boolean()
    old_type = fields.String()
    new_type = fields.String()
    needs_conversion_check = fields.Boolean()
    message = fields.String(required=True)
    message_zh = fields.String(required=True)
    destructive = fields.Boolean(required=True, metadata={"description": "Drops data (a column or a table)"})


class RevisionSchema(Schema):
    """A revision of an app definition."""

    id = fields.Integer(dump_only=True, required=True, metadata=ID)
    app_id = fields.Integer(dump_only=True, required=True)
    number = fields.Integer(dump_only=True, required=True)
    status = fields.String(dump_only=True, required=True, metadata={"description": "draft, published or superseded"})
    created_at = fields.String(dump_only=True, required=True)
    published_at = fields.String(dump_only=True, allow_none=True, required=True)
    plan = fields.List(fields.Nested(PlanStepSchema), dump_only=True, allow_none=True, required=True,
                       metadata={"description": "The steps applied when it was published"})


class AppListSchema(Schema):
    """The workspace's apps."""

    items = fields.List(fields.Nested(AppSummarySchema), required=True)


class ValidationResultSchema(Schema):
    """A definition that validates."""

    ok = fields.Boolean(required=True)
    key = fields.String(required=True)
    entities = fields.List(fields.String(), required=True)


class ImportResultSchema(Schema):
    """An imported definition: the app and its new draft revision."""

    app = fields.Nested(AppSummarySchema, required=True)
    revision = fields.Nested(RevisionSchema, required=True)


class AppDetailSchema(Schema):
    """An app with its revisions."""

    app = fields.Nested(AppSummarySchema, required=True)
    revisions = fields.List(fields.Nested(RevisionSchema), required=True)


class RevisionDetailSchema(Schema):
    """A revision with the definition document it holds."""

    revision = fields.Nested(RevisionSchema, required=True)
    definition = fields.Dict(keys=fields.String(), required=True, metadata={"description": "The app definition (see AppDefinition)"})


class PlanSchema(Schema):
    """A migration plan: previewed, or applied by publishing."""

    steps = fields.List(fields.Nested(PlanStepSchema), required=True)
    problems = fields.List(fields.Nested(DefinitionProblemSchema), required=True)
    is_empty = fields.Boolean(required=True, metadata={"description": "Nothing to change in the tables"})
    destructive = fields.Boolean(required=True, metadata={"description": "Some step drops data"})
    revision = fields.Nested(RevisionSchema, required=True)


class RecordSchema(Schema):
    """A record: its field values by key plus system fields (id, version, owner …).

    Field values are extra properties (their types are those of the app's fields, see docs/api.md).
    """

    class Meta:
        unknown = INCLUDE

    id = fields.Integer(dump_only=True, required=True, metadata=ID)
    version = fields.Integer(dump_only=True, required=True, metadata={"description": "Bumped by every write; send it back to update"})
    created_at = fields.String(dump_only=True, required=True)
    updated_at = fields.String(dump_only=True, required=True)
    created_by = fields.Integer(dump_only=True, allow_none=True, required=True)
    owner = fields.Integer(allow_none=True, required=True)
    stage = fields.String(allow_none=True, metadata={"description": "Entities with stages; move it with …/stage"})
    stage_entered_at = fields.String(dump_only=True, allow_none=True, metadata={"description": "Entities with stages"})
    steps_done_at = fields.Dict(
        keys=fields.String(),
        values=fields.String(allow_none=True),
        dump_only=True,
        metadata={"description": "Entities with steps: when each step was completed (null: not done)"},
    )


class RecordEnvelopeSchema(Schema):
    """One record."""

    record = fields.Nested(RecordSchema, required=True)


class PromptSchema(Schema):
    """A suggestion a trigger's prompt action returns to the writer (S8)."""

    trigger = fields.String(required=True)
    title = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    message = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    level = fields.String(required=True)


class WriteResultSchema(Schema):
    """A committed write."""

    record = fields.Nested(RecordSchema, required=True)
    prompts = fields.List(fields.Nested(PromptSchema), required=True)
    completed_steps = fields.List(fields.String(), required=True)


class RecordPageSchema(Schema):
    """One page of records (keyset pagination: pass ``next_cursor`` as ``after``)."""

    items = fields.List(fields.Nested(RecordSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)



class StepStateSchema(Schema):
    """A step of a record."""

    key = fields.String(required=True)
    label = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    unlocked = fields.Boolean(required=True)
    done = fields.Boolean(required=True)
    done_at = fields.String(allow_none=True, required=True)
    locked_message = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True, required=True)
    fields_ = fields.List(fields.String(), data_key="fields", required=True)


class StepListSchema(Schema):
    """A record's steps."""

    steps = fields.List(fields.Nested(StepStateSchema), required=True)


class AuditEventSchema(Schema):
    """One write attempt on a record."""

    id = fields.Integer(required=True)
    entity = fields.String(required=True)
    record_id = fields.Integer(allow_none=True, required=True)
    action = fields.String(required=True)
    outcome = fields.String(required=True, metadata={"description": "ok or refused"})
    error_code = fields.String(allow_none=True, required=True)
    message = fields.String(allow_none=True, required=True, metadata={"description": "A refusal's message in English"})
    message_zh = fields.String(allow_none=True, required=True, metadata={"description": "A refusal's message in Chinese"})
    text = fields.String(allow_none=True, required=True, metadata={"description": "A refusal's message in the caller's language"})
    changes = fields.Dict(keys=fields.String(), required=True, metadata={"description": "field key: [before, after]"})
    actor_id = fields.Integer(allow_none=True, required=True)
    at = fields.String(required=True)


class TimelineEventSchema(AuditEventSchema):
    """An event of the record or of a related record, with the actor's name."""

    actor_name = fields.String(allow_none=True, required=True)


class HistorySchema(Schema):
    """A record's audit trail, oldest first."""

    items = fields.List(fields.Nested(AuditEventSchema), required=True)


class TimelineSchema(Schema):
    """Events of a record and its related records in time order."""

    items = fields.List(fields.Nested(TimelineEventSchema), required=True)


class FieldStateSchema(Schema):
    """Whether a field is shown, required and read-only for the values given."""

    visible = fields.Boolean(required=True)
    required = fields.Boolean(required=True)
    read_only = fields.Boolean(required=True)


class ExitPartSchema(Schema):
    """One top-level part of an exit condition and whether it holds."""

    source = fields.String(required=True)
    held = fields.Boolean(required=True)
    label = fields.String(
        allow_none=True, required=True,
        metadata={"description": "The comment ending the part's line (its Chinese text when it reads `中文 | English`)"},
    )
    label_en = fields.String(
        allow_none=True, required=True,
        metadata={"description": "The label's English text (the same text when the comment gives one language)"},
    )


class ExitExplanationSchema(Schema):
    """Whether a stage's exit criteria hold, part by part."""

    ok = fields.Boolean(required=True)
    parts = fields.List(fields.Nested(ExitPartSchema), required=True)


class StageInfoSchema(Schema):
    """A stage of the entity."""

    key = fields.String(required=True)
    label = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    guidance = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True, required=True)


class StageStateSchema(Schema):
    """Where the record stands in its stages."""

    current = fields.String(allow_none=True, required=True)
    entered_at = fields.String(allow_none=True, required=True)
    stages = fields.List(fields.Nested(StageInfoSchema), required=True)
    exit = fields.Nested(ExitExplanationSchema, required=True)


class FormStateSchema(Schema):
    """Steps, field states, stage and formulas for (unsaved) values."""

    steps = fields.List(fields.Nested(StepStateSchema), required=True)
    fields_ = fields.Dict(keys=fields.String(), values=fields.Nested(FieldStateSchema), data_key="fields", required=True)
    stage = fields.Nested(StageStateSchema, allow_none=True, required=True, metadata={"description": "null for entities without stages"})
    formulas = fields.Dict(keys=fields.String(), required=True, metadata={"description": "Formula values by field key"})


class EventPostedSchema(Schema):
    """A stored event and the triggers it fired."""

    event_id = fields.Integer(required=True)
    fired = fields.List(fields.String(), required=True)


class WebhookResultSchema(Schema):
    """The record an inbound webhook created or updated."""

    record = fields.Nested(RecordSchema, required=True)
    created = fields.Boolean(required=True)


class FieldChangeSchema(Schema):
    """A field an action changed: before → after (before is null for a created record)."""

    entity = fields.String(allow_none=True, required=True)
    record_id = fields.Integer(allow_none=True, required=True)
    field = fields.String(required=True)
    before = fields.Raw(allow_none=True, required=True)
    after = fields.Raw(allow_none=True, required=True)


CAUSE = {"description": "Why it did not succeed: missing_manager, no_recipient, nobody_to_assign, invalid_write, "
                        "record_missing, delivery_failed, loop_cut, unpublished, not_in_rollout, error"}


class ActionRunSchema(Schema):
    """One action of a trigger run."""

    id = fields.Integer(required=True, metadata=ID)
    index = fields.Integer(required=True)
    type = fields.String(required=True)
    idempotency_key = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "done, skipped, failed, retrying"})
    attempts = fields.Integer(required=True)
    duration_ms = fields.Integer(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    detail = fields.Dict(keys=fields.String(), allow_none=True, required=True)
    changes = fields.List(fields.Nested(FieldChangeSchema), required=True)
    retryable = fields.Boolean(required=True, metadata={"description": "A failed action not retried yet"})
    retried_by = fields.Integer(allow_none=True, required=True, metadata={"description": "The outbox job of its retry"})
    cause = fields.String(metadata=CAUSE)
    reason = fields.String()
    reason_zh = fields.String()


class TriggerRunSchema(Schema):
    """A trigger run with its action runs."""

    id = fields.Integer(required=True)
    outbox_id = fields.Integer(required=True)
    trigger = fields.String(required=True)
    kind = fields.String(required=True)
    entity = fields.String(allow_none=True, required=True)
    record_id = fields.Integer(allow_none=True, required=True)
    status = fields.String(required=True, metadata={
        "description": "succeeded; failed, skipped (an action had nobody to notify or assign), cut — failures; "
                       "running, retrying; cancelled (the rule was unpublished, or the record was outside its rollout group)"})
    success = fields.Boolean(required=True)
    attempts = fields.Integer(required=True)
    started_at = fields.String(allow_none=True, required=True)
    finished_at = fields.String(allow_none=True, required=True)
    duration_ms = fields.Integer(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    cause = fields.String(allow_none=True, required=True, metadata=CAUSE)
    reason = fields.String(allow_none=True, required=True)
    reason_zh = fields.String(allow_none=True, required=True)
    actions = fields.List(fields.Nested(ActionRunSchema), required=True)


class RunListSchema(Schema):
    """Trigger runs, newest first; ``next_before`` asks for the next page (null: the last)."""

    items = fields.List(fields.Nested(TriggerRunSchema), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class RetriedSchema(Schema):
    """A failed action queued again."""

    outbox_id = fields.Integer(required=True)
    action_run_id = fields.Integer(required=True)
    message = fields.String(required=True)
    message_zh = fields.String(required=True)


class RuleHealthSchema(Schema):
    """The success rate of one trigger."""

    trigger = fields.String(required=True)
    runs = fields.Integer(required=True)
    succeeded = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    success_rate = fields.Float(allow_none=True, required=True)
    threshold = fields.Float(required=True)
    own_threshold = fields.Boolean(required=True)
    last_error = fields.String(allow_none=True, required=True)
    last_run_at = fields.String(allow_none=True, required=True)
    flagged = fields.Boolean(required=True)


class FailureCauseSchema(Schema):
    """Failures of one rule with one cause."""

    trigger = fields.String(required=True)
    cause = fields.String(required=True, metadata=CAUSE)
    reason = fields.String(required=True)
    reason_zh = fields.String(required=True)
    count = fields.Integer(required=True)
    last_at = fields.String(required=True)


class DailyRateSchema(Schema):
    """One rule's runs on one day (the workspace's time zone)."""

    day = fields.String(required=True)
    succeeded = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    success_rate = fields.Float(allow_none=True, required=True)


class HealthSchema(Schema):
    """Rule health over a window."""

    window_days = fields.Integer(required=True)
    threshold = fields.Float(required=True, metadata={"description": "The workspace's threshold (a fraction), or the one asked for"})
    items = fields.List(fields.Nested(RuleHealthSchema), required=True)
    causes = fields.List(fields.Nested(FailureCauseSchema), required=True)
    daily = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(DailyRateSchema)), required=True)


class ThresholdRequestSchema(StrictSchema):
    """A new alert threshold."""

    threshold_percent = fields.Float(required=True, allow_none=True, validate=lambda v: 0 <= v <= 100,
                                     metadata={"description": "0–100 (e.g. 99.5); null removes a rule's own threshold"})
    trigger = fields.String(allow_none=True, metadata={"description": "A rule's key (default: the workspace's threshold)"})


class ThresholdSchema(Schema):
    """The stored threshold."""

    trigger = fields.String(allow_none=True, required=True)
    threshold = fields.Float(required=True)
    threshold_percent = fields.Float(required=True)
    own = fields.Boolean(required=True)


class TriggerDryRunSchema(Schema):
    """What a trigger would do on existing records."""

    trigger = fields.String(required=True)
    revision_id = fields.Integer(allow_none=True, required=True)
    on = fields.String(required=True)
    records = fields.Integer(required=True)
    would_fire = fields.Integer(required=True)
    results = fields.List(fields.Dict(keys=fields.String()), required=True,
                          metadata={"description": "Per record: record_id, would_fire, reason, actions"})


class ConditionDryRunSchema(Schema):
    """On which existing records a condition holds."""

    entity = fields.String(required=True)
    revision_id = fields.Integer(allow_none=True, required=True)
    records = fields.Integer(required=True)
    holds = fields.Integer(required=True)
    fails = fields.Integer(required=True)
    holds_for = fields.List(fields.Integer(), required=True)
    fails_for = fields.List(fields.Integer(), required=True)


class NotificationSchema(Schema):
    """An in-app notification."""

    id = fields.Integer(required=True)
    title = fields.String(allow_none=True, required=True)
    message = fields.String(required=True)
    level = fields.String(required=True)
    app_id = fields.Integer(allow_none=True, required=True)
    app = fields.String(allow_none=True, required=True, metadata={"description": "The app's key (for a link to the record)"})
    entity = fields.String(allow_none=True, required=True)
    record_id = fields.Integer(allow_none=True, required=True)
    trigger = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True)
    read_at = fields.String(allow_none=True, required=True)


class InboxSchema(Schema):
    """The caller's notifications, newest first."""

    items = fields.List(fields.Nested(NotificationSchema), required=True)


class MarkedReadSchema(Schema):
    """A notification marked read."""

    id = fields.Integer(required=True)
    read = fields.Boolean(required=True)


# -- the designer (docs/api.md "Designer API") ---------------------------------------------

KEY_KINDS = ("app", "entity", "field", "step", "stage", "role", "rule", "trigger")
EXPRESSION_KINDS = ("condition", "row_condition", "formula", "value", "candidate_condition", "candidate_value")
LABEL_IN = {"description": "A label: {zh, en} or a text"}


class AppCreateSchema(StrictSchema):
    """A new app, named; its key is generated from the label."""

    label = fields.Raw(required=True, metadata=LABEL_IN)


class AppRenameSchema(StrictSchema):
    """A new label for an app (and its draft)."""

    label = fields.Raw(required=True, metadata=LABEL_IN)


class DraftSaveSchema(StrictSchema):
    """Saving the draft: the whole definition and the version it was read at."""

    definition = fields.Dict(keys=fields.String(), required=True, metadata={"description": "The draft definition (may have problems)"})
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1),
                             metadata={"description": "The draft version you read; a stale one answers 409 draft_conflict"})


class KeyRequestSchema(StrictSchema):
    """Asking for a key made from a label."""

    label = fields.Raw(required=True, metadata=LABEL_IN)
    taken = fields.List(fields.String(validate=validate.Length(max=63)), load_default=list, validate=validate.Length(max=2000))
    kind = fields.String(load_default="field", validate=validate.OneOf(KEY_KINDS))


class ExpressionCheckSchema(StrictSchema):
    """An expression to check on an entity of the draft (or of a posted definition)."""

    entity = fields.String(required=True, validate=validate.Length(min=1, max=63))
    expression = fields.String(required=True, validate=validate.Length(max=20_000))
    kind = fields.String(load_default="condition", validate=validate.OneOf(EXPRESSION_KINDS))
    definition = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                             metadata={"description": "The client's current draft (default: the stored draft)"})


class AssignmentPreviewSchema(StrictSchema):
    """Which records to preview an assignment rule of the draft (or a posted definition) on."""

    definition = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                             metadata={"description": "The client's current draft (default: the stored draft)"})
    records = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1)),
                          load_default=None, allow_none=True, validate=validate.Length(max=50),
                          metadata={"description": "Record ids (default: the most recent `limit` records)"})
    limit = fields.Integer(load_default=10, strict=True, validate=validate.Range(min=1, max=50))
class MessagePreviewSchema(StrictSchema):
    """A message template to render on a sample record of an entity of the draft."""

    entity = fields.String(required=True, validate=validate.Length(min=1, max=63))
    template = fields.String(required=True, validate=validate.Length(max=20_000))
    record_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                               validate=validate.Range(min=1, max=2**63 - 1),
                               metadata={"description": "The sample record (default: the newest one, else an empty one)"})
    definition = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                             metadata={"description": "The client's current draft (default: the stored draft)"})


class DashboardPreviewSchema(StrictSchema):
    """A dashboard widget as drafted in the designer, to run on the published app's data."""

    widget = fields.Dict(keys=fields.String(), required=True,
                         metadata={"description": "The widget's JSON (docs/dashboards.md); its layout is ignored"})


class ScheduleTimesSchema(StrictSchema):
    """A schedule trigger's cron and time zone, to list its next times."""

    cron = fields.String(required=True, validate=validate.Length(min=1, max=200))
    timezone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class DraftPublishSchema(StrictSchema):
    """Planning or publishing the draft at the version read."""

    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1))
    confirm_drops = fields.List(
        fields.String(validate=validate.Length(max=130)),
        load_default=list,
        validate=validate.Length(max=500),
        metadata={"description": "`entity.field` keys whose columns may really be dropped (else archived)"},
    )


class RollbackSchema(StrictSchema):
    """Publishing an earlier revision again."""

    confirm_drops = fields.List(fields.String(validate=validate.Length(max=130)), load_default=list,
                                validate=validate.Length(max=500))


class DraftRefSchema(Schema):
    """An app's draft revision in short."""

    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    version = fields.Integer(required=True)


class PublishedRefSchema(Schema):
    """An app's published revision in short."""

    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    published_at = fields.String(allow_none=True, required=True)


class DesignAppSchema(Schema):
    """An app as the designer lists it."""

    id = fields.Integer(required=True)
    key = fields.String(required=True)
    label = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    published = fields.Nested(PublishedRefSchema, allow_none=True, required=True)
    draft = fields.Nested(DraftRefSchema, allow_none=True, required=True)


class DesignAppListSchema(Schema):
    """The workspace's apps for the designer."""

    items = fields.List(fields.Nested(DesignAppSchema), required=True)


class DesignRevisionSchema(Schema):
    """A revision with its save version and who made, saved and published it (names)."""

    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "draft, published or superseded"})
    created_at = fields.String(allow_none=True, required=True)
    created_by = fields.String(allow_none=True, required=True)
    updated_at = fields.String(allow_none=True, required=True)
    updated_by = fields.String(allow_none=True, required=True)
    published_at = fields.String(allow_none=True, required=True)
    published_by = fields.String(allow_none=True, required=True)


class DesignRevisionListSchema(Schema):
    """An app's revisions, newest first."""

    items = fields.List(fields.Nested(DesignRevisionSchema), required=True)


class DesignAppCreatedSchema(Schema):
    """A new app and its draft."""

    app = fields.Nested(DesignAppSchema, required=True)
    draft = fields.Nested(DesignRevisionSchema, required=True)


class DesignAppImportedSchema(DesignAppCreatedSchema):
    """An imported app, its draft, and every problem of the draft."""

    diagnostics = fields.List(fields.Nested(DefinitionProblemSchema), required=True)


class DesignAppRenamedSchema(Schema):
    """A renamed app and its draft (saved again: a new version)."""

    app = fields.Nested(DesignAppSchema, required=True)
    draft = fields.Nested(DesignRevisionSchema, required=True)


class PublishedKeysSchema(Schema):
    """Keys that were ever published (they can't change any more)."""

    entities = fields.List(fields.String(), required=True)
    fields_ = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), data_key="fields", required=True)
    steps = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    stages = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class DraftSchema(Schema):
    """The draft with every problem and the keys ever published."""

    revision = fields.Nested(DesignRevisionSchema, required=True)
    definition = fields.Dict(keys=fields.String(), required=True)
    diagnostics = fields.List(fields.Nested(DefinitionProblemSchema), required=True)
    published_keys = fields.Nested(PublishedKeysSchema, required=True)


class DraftSavedSchema(Schema):
    """A saved draft: its new version and every problem."""

    revision = fields.Nested(DesignRevisionSchema, required=True)
    diagnostics = fields.List(fields.Nested(DefinitionProblemSchema), required=True)


class KeySchema(Schema):
    """A generated key."""

    key = fields.String(required=True)


class ExpressionDiagnosticSchema(Schema):
    """One problem of an expression, at its 1-based position."""

    line = fields.Integer(allow_none=True, required=True)
    column = fields.Integer(allow_none=True, required=True)
    end_line = fields.Integer(allow_none=True, required=True)
    end_column = fields.Integer(allow_none=True, required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    message_zh = fields.String(required=True)
    suggestion = fields.String(allow_none=True, required=True, metadata={"description": "The name meant, for a misspelt one"})


class ScopeNameSchema(Schema):
    """A name an expression may use here."""

    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "field, step, collection, function, keyword or variable"})
    type = fields.String(allow_none=True, required=True)
    label = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    signature = fields.String()
    doc = fields.String()


class ExpressionCheckResultSchema(Schema):
    """The checker's answer for the expression editor."""

    ok = fields.Boolean(required=True)
    type = fields.String(allow_none=True, required=True)
    diagnostics = fields.List(fields.Nested(ExpressionDiagnosticSchema), required=True)
    explanation = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True, required=True)
    names = fields.List(fields.Nested(ScopeNameSchema), required=True)


class PreviewUserSchema(Schema):
    """A user of the preview's pool, or one it filtered out (with ``why``, zh/en)."""

    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(allow_none=True, required=True)
    region = fields.String(allow_none=True, required=True)
    why = fields.Dict(keys=fields.String(), values=fields.String())


class AssignmentPreviewItemSchema(Schema):
    """Whom the rule would assign one record to, and why (the reason as the log keeps it)."""

    record_id = fields.Integer(required=True)
    title = fields.String(required=True)
    current = fields.Raw(allow_none=True, required=True, metadata={"description": "The field's value today"})
    created_at = fields.Raw(allow_none=True, required=True)
    user_id = fields.Integer(allow_none=True, required=True, metadata={"description": "The user it would assign"})
    user_name = fields.String(allow_none=True, required=True)
    decided_by = fields.String(allow_none=True, required=True, metadata={"description": "The rule of the chain that decided"})
    strategy = fields.String(allow_none=True, required=True)
    steps = fields.List(fields.Dict(), required=True,
                        metadata={"description": "The chain as tried; weighted steps carry every candidate's score parts"})
    fallbacks_tried = fields.List(fields.String(), required=True)
    summary = fields.String(required=True)
    explanation = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                              metadata={"description": "Why this user, in zh and en"})
    pool = fields.List(fields.Nested(PreviewUserSchema), required=True)
    filtered_out = fields.List(fields.Nested(PreviewUserSchema), required=True)


class WhyAssignedSchema(Schema):
    """The record's latest assignment and why (zh/en)."""

    assignee_id = fields.Integer(required=True)
    assignee_name = fields.String(allow_none=True, required=True)
    field = fields.String(required=True)
    rule = fields.String(required=True)
    decided_by = fields.String(allow_none=True, required=True)
    strategy = fields.String(allow_none=True, required=True)
    explanation = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    text = fields.String(required=True, metadata={"description": "The explanation in the caller's language"})
    summary = fields.String(required=True)
    at = fields.String(required=True)


class RecordAssignmentSchema(Schema):
    """``assignment``: null when the record was never assigned or the caller may not see why."""

    assignment = fields.Nested(WhyAssignedSchema, allow_none=True, required=True)


class AssignmentPreviewResultSchema(Schema):
    """The preview of one assignment rule over records (nothing written)."""

    rule = fields.String(required=True)
    entity = fields.String(required=True)
    field = fields.String(required=True)
    strategy = fields.String(required=True)
    users = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    diagnostics = fields.List(fields.Dict(), required=True)
    items = fields.List(fields.Nested(AssignmentPreviewItemSchema), required=True)


class DesignPlanStepSchema(Schema):
    """One step of publishing the draft, in words and numbers."""

    kind = fields.String(required=True)
    message = fields.String(required=True)
    message_zh = fields.String(required=True)
    destructive = fields.Boolean(required=True)
    rows = fields.Integer(allow_none=True, required=True, metadata={"description": "Existing rows affected"})
    entity = fields.String(required=True)
    field = fields.String(allow_none=True, required=True)


class PlanSummarySchema(Schema):
    """How many steps of each sort the plan has."""

    created = fields.Integer(required=True)
    relabelled = fields.Integer(required=True)
    converted = fields.Integer(required=True)
    archived = fields.Integer(required=True)
    dropped = fields.Integer(required=True)


class DesignPlanSchema(Schema):
    """The plan of publishing the draft (empty steps when the draft has problems)."""

    ok = fields.Boolean(required=True)
    diagnostics = fields.List(fields.Nested(DefinitionProblemSchema), required=True)
    steps = fields.List(fields.Nested(DesignPlanStepSchema), required=True)
    destructive = fields.Boolean(required=True)
    summary = fields.Nested(PlanSummarySchema, required=True)


class DesignPublishedSchema(Schema):
    """The revision published and the plan applied."""

    revision = fields.Nested(DesignRevisionSchema, required=True)
    plan = fields.Nested(DesignPlanSchema, required=True)


class ChangeTextSchema(Schema):
    """A sentence in both languages."""

    zh = fields.String(required=True)
    en = fields.String(required=True)


class ChangeSchema(Schema):
    """One change between two revisions."""

    path = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "added, removed or changed"})
    what = fields.Nested(ChangeTextSchema, required=True)
    before = fields.Raw(allow_none=True, required=True)
    after = fields.Raw(allow_none=True, required=True)


class DiffSchema(Schema):
    """The readable changes between two revisions."""

    changes = fields.List(fields.Nested(ChangeSchema), required=True)


# -- dry run of a draft trigger (docs/automation.md "Dry run and staged rollout") -------------


class TriggerDryRunRequestSchema(StrictSchema):
    """Which records to dry-run a draft trigger on: the last ``days`` days or ``records``."""

    days = fields.Integer(strict=True, validate=validate.Range(min=1, max=90),
                          metadata={"description": "The last N days (1-90; default 7)"})
    records = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1)),
                          validate=validate.Length(min=1, max=500),
                          metadata={"description": "Record ids to try instead of a window"})
    definition = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                             metadata={"description": "The client's current draft (default: the stored draft)"})


class BilingualSchema(Schema):
    """A text in Chinese and English."""

    zh = fields.String(required=True)
    en = fields.String(required=True)


class DryRunChangeSchema(Schema):
    """A field an action would change: before → after (before is null for a created record)."""

    field = fields.String(required=True)
    before = fields.Raw(allow_none=True, required=True)
    after = fields.Raw(allow_none=True, required=True)


class DryRunActionSchema(Schema):
    """What one action would have done."""

    kind = fields.String(required=True, metadata={"description": "The action type"})
    summary = fields.Nested(BilingualSchema, required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(["would_run", "would_skip"]))
    cause = fields.String(metadata={"description": "Why it would be skipped (a cause key, as in run history)"})
    cause_text = fields.Nested(BilingualSchema)
    changes = fields.List(fields.Nested(DryRunChangeSchema))
    message = fields.Nested(BilingualSchema, metadata={"description": "A notify action's rendered message"})
    recipients = fields.List(fields.Dict(keys=fields.String()),
                             metadata={"description": "A notify action's resolved recipients ({id, name} or {address})"})


class DryRunRecordSchema(Schema):
    """One record of a dry run."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    url = fields.String(required=True)
    would_fire = fields.Boolean(required=True)
    why = fields.Nested(BilingualSchema, required=True)
    basis = fields.String(required=True, validate=validate.OneOf(["history", "current_values"]),
                          metadata={"description": "Replayed from history, or evaluated on the current values"})
    actions = fields.List(fields.Nested(DryRunActionSchema), required=True)


class DryRunWindowSchema(Schema):
    """The window or the records a dry run looked at."""

    days = fields.Integer()
    from_ = fields.String(data_key="from")
    to = fields.String()
    records = fields.List(fields.Integer())
    missing = fields.List(fields.Integer(), metadata={"description": "Asked-for ids that do not exist"})


class DryRunSummarySchema(Schema):
    """Counts of a dry run."""

    checked = fields.Integer(required=True)
    would_fire = fields.Integer(required=True)
    would_skip = fields.Integer(required=True, metadata={"description": "Records that would fire with a skipped action"})


class TriggerDryRunReportSchema(Schema):
    """Per record: would a draft trigger have fired, why, and what each action would do."""

    trigger = fields.String(required=True)
    on = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    rollout = fields.Nested(BilingualSchema, required=True, metadata={"description": "Who the trigger fires for"})
    window = fields.Nested(DryRunWindowSchema, required=True)
    truncated = fields.Boolean(required=True, metadata={"description": "More records matched than the limit"})
    limit = fields.Integer(required=True)
    records = fields.List(fields.Nested(DryRunRecordSchema), required=True)
    summary = fields.Nested(DryRunSummarySchema, required=True)
