"""Triggers, their actions, and assignment rules: schemas, frozen models and validation.

The app schema keeps ``triggers`` and ``assignment_rules`` as raw keyed objects; this package
loads them into frozen dataclasses (:func:`load_triggers`, :func:`load_assignment_rules`)
and checks their references and expressions against the loaded app
(:func:`validate_triggers`). A trigger looks like::

    {"key": "need_timeout", "label": "需求确认超时", "entity": "customer",
     "on": {"type": "elapsed", "condition": "stage == \\"need\\"",
            "since": "stage_entered_at", "after": "48h"},
     "when": "region != null",
     "actions": [{"type": "notify", "channel": "wecom", "webhook_url": "https://...",
                  "message": "客户 {name} 的需求确认已超时"},
                 {"type": "set_field", "field": "status", "value": "\\"待激活\\""}]}

``on`` is an object with a ``type`` (or just the type name for ``created``, ``updated``
and ``deleted``); every action is an object with a ``type`` and that type's options.
See ``docs/automation.md`` for the reference.

The modules, each importable on its own (this one re-exports their public names):

* :mod:`~builder.triggers.durations` — ``48h``-style durations;
* :mod:`~builder.triggers.fields` — the custom marshmallow fields;
* :mod:`~builder.triggers.events` — what a trigger fires on (``on``);
* :mod:`~builder.triggers.actions` — what a trigger does (``actions``);
* :mod:`~builder.triggers.trigger` — the trigger itself and its schema;
* :mod:`~builder.triggers.rules` — assignment rules;
* :mod:`~builder.triggers.expressions` — checking their expressions in scope;
* :mod:`~builder.triggers.validation` — references and expressions against the app;
* :mod:`~builder.triggers.loading` — raw objects to frozen models, with problems;
* :mod:`~builder.triggers.dump` — the JSON form (what loading reads back).
"""

from builder.triggers.actions import (
    ACTION_SCHEMAS,
    INLINE_ACTIONS,
    NOTIFY_CHANNELS,
    ROBOT_CHANNELS,
    ActionConfig,
    Assign,
    CreateRecord,
    HttpWebhook,
    Notify,
    PromptAction,
    Report,
    ReportQuery,
    SendReport,
    SetField,
)
from builder.triggers.dump import dump_assignment_rule, dump_automation, dump_trigger
from builder.triggers.durations import MAX_DURATION, parse_duration
from builder.triggers.events import (
    ON_SCHEMAS,
    WRITE_KINDS,
    OnCreated,
    OnDeleted,
    OnElapsed,
    OnEvent,
    OnFieldChanged,
    OnSchedule,
    OnStageChanged,
    OnStepCompleted,
    OnUpdated,
    OnWebhook,
    TriggerOn,
)
from builder.triggers.fields import (
    Cron,
    Duration,
    ExpressionMap,
    HttpUrl,
    LiteralValue,
    Polymorphic,
    TimeZoneName,
)
from builder.triggers.loading import (
    load_assignment_rules,
    load_automation,
    load_triggers,
    problems_from_messages,
)
from builder.triggers.rules import (
    ASSIGNMENT_RULE_SCHEMA,
    STRATEGIES,
    AssignmentRule,
    AssignmentRuleSchema,
    Candidates,
    HistoryMatch,
    Weight,
)
from builder.triggers.trigger import MAX_ROLLOUT, TRIGGER_SCHEMA, Rollout, Trigger, TriggerSchema
from builder.triggers.validation import validate_assignment_rules, validate_triggers

__all__ = [
    "ACTION_SCHEMAS",
    "ASSIGNMENT_RULE_SCHEMA",
    "INLINE_ACTIONS",
    "MAX_DURATION",
    "MAX_ROLLOUT",
    "NOTIFY_CHANNELS",
    "ON_SCHEMAS",
    "ROBOT_CHANNELS",
    "STRATEGIES",
    "TRIGGER_SCHEMA",
    "WRITE_KINDS",
    "ActionConfig",
    "Assign",
    "AssignmentRule",
    "AssignmentRuleSchema",
    "Candidates",
    "CreateRecord",
    "Cron",
    "Duration",
    "ExpressionMap",
    "HistoryMatch",
    "HttpUrl",
    "HttpWebhook",
    "LiteralValue",
    "Notify",
    "OnCreated",
    "OnDeleted",
    "OnElapsed",
    "OnEvent",
    "OnFieldChanged",
    "OnSchedule",
    "OnStageChanged",
    "OnStepCompleted",
    "OnUpdated",
    "OnWebhook",
    "Polymorphic",
    "PromptAction",
    "Report",
    "Rollout",
    "ReportQuery",
    "SendReport",
    "SetField",
    "TimeZoneName",
    "Trigger",
    "TriggerOn",
    "TriggerSchema",
    "Weight",
    "dump_assignment_rule",
    "dump_automation",
    "dump_trigger",
    "load_assignment_rules",
    "load_automation",
    "load_triggers",
    "parse_duration",
    "problems_from_messages",
    "validate_assignment_rules",
    "validate_triggers",
]
