"""The JSON form of triggers and assignment rules (what :mod:`builder.triggers` loads)."""

from __future__ import annotations

from typing import Any

from builder.model import App, LocalizedText
from builder.triggers.actions import ActionConfig, ReportQuery
from builder.triggers.events import (
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
from builder.triggers.rules import AssignmentRule, Candidates
from builder.triggers.trigger import Trigger


def _dump_label(text: LocalizedText | None) -> Any:
    from builder.schemas import dump_label

    return None if text is None else dump_label(text)


def dump_on(on: TriggerOn) -> Any:
    """The JSON form of a trigger's ``on``."""
    if isinstance(on, OnCreated | OnDeleted):
        return on.type
    out: dict[str, Any] = {"type": on.type}
    if isinstance(on, OnUpdated):
        if on.fields:
            out["fields"] = list(on.fields)
    elif isinstance(on, OnFieldChanged):
        out["field"] = on.field
        if on.has_from:
            out["from"] = list(on.from_) if isinstance(on.from_, tuple) else on.from_
        if on.has_to:
            out["to"] = list(on.to) if isinstance(on.to, tuple) else on.to
    elif isinstance(on, OnStepCompleted):
        out["step"] = on.step
    elif isinstance(on, OnStageChanged):
        if on.from_ is not None:
            out["from"] = on.from_
        if on.to is not None:
            out["to"] = on.to
    elif isinstance(on, OnSchedule):
        out["cron"] = on.cron
        if on.timezone:
            out["timezone"] = on.timezone
    elif isinstance(on, OnElapsed):
        out.update(condition=on.condition, since=on.since, after=on.after)
    elif isinstance(on, OnEvent):
        out.update(sequence=list(on.sequence), within=on.within)
        if not on.ordered:
            out["ordered"] = False
    elif isinstance(on, OnWebhook):
        if on.dedup_key:
            out["dedup_key"] = on.dedup_key
        if on.fields:
            out["fields"] = dict(on.fields)
    return out


def dump_action(action: ActionConfig) -> dict[str, Any]:
    """The JSON form of one action."""
    out: dict[str, Any] = {"type": action.type}
    for name in action.__dataclass_fields__:
        value = getattr(action, name)
        default = action.__dataclass_fields__[name].default
        if value == default and name not in {"field", "entity", "url", "channel", "rule", "value"}:
            continue
        if isinstance(value, LocalizedText):
            value = _dump_label(value)
        elif isinstance(value, ReportQuery):
            value = {k: v for k, v in (("entity", value.entity), ("where", value.where),
                                       ("group_by", list(value.group_by)), ("limit", value.limit)) if v}
        elif name == "values":
            value = dict(value)
        out[name] = value
    return out


def dump_trigger(trigger: Trigger) -> dict[str, Any]:
    """The JSON form of ``trigger``; :func:`load_triggers` reads it back equal."""
    out: dict[str, Any] = {"key": trigger.key, "label": _dump_label(trigger.label)}
    if trigger.description is not None:
        out["description"] = _dump_label(trigger.description)
    if trigger.entity is not None:
        out["entity"] = trigger.entity
    out["on"] = dump_on(trigger.on)
    if trigger.when:
        out["when"] = trigger.when
    if not trigger.enabled:
        out["enabled"] = False
    if trigger.rollout is not None:
        rollout: dict[str, Any] = {}
        if trigger.rollout.users:
            rollout["users"] = list(trigger.rollout.users)
        if trigger.rollout.roles:
            rollout["roles"] = list(trigger.rollout.roles)
        out["rollout"] = rollout
    out["actions"] = [dump_action(a) for a in trigger.actions]
    return out


def dump_assignment_rule(rule: AssignmentRule) -> dict[str, Any]:
    """The JSON form of ``rule``; :func:`load_assignment_rules` reads it back equal."""
    out: dict[str, Any] = {
        "key": rule.key, "label": _dump_label(rule.label), "entity": rule.entity,
        "field": rule.field, "strategy": rule.strategy,
    }
    if rule.candidates != Candidates():
        out["candidates"] = {"role": rule.candidates.role, **({"region": rule.candidates.region}
                                                             if rule.candidates.region else {})}
    if rule.expression:
        out["expression"] = rule.expression
    if rule.history is not None:
        out["history"] = {"entity": rule.history.entity, "user_field": rule.history.user_field,
                          **({"where": rule.history.where} if rule.history.where else {}),
                          **({"same": dict(rule.history.same)} if rule.history.same else {})}
    if rule.load_where:
        out["load_where"] = rule.load_where
    if rule.weights:
        out["weights"] = [{"key": w.key, "label": _dump_label(w.label), "expression": w.expression,
                           "weight": w.weight} for w in rule.weights]
    if rule.fallback:
        out["fallback"] = list(rule.fallback)
    return out


def dump_automation(app: App) -> dict[str, Any]:
    """The ``triggers`` / ``assignment_rules`` sections of ``app``'s document (non-empty ones)."""
    out: dict[str, Any] = {}
    if app.triggers:
        out["triggers"] = [dump_trigger(t) if isinstance(t, Trigger) else dict(t) for t in app.triggers]
    if app.assignment_rules:
        out["assignment_rules"] = [
            dump_assignment_rule(r) if isinstance(r, AssignmentRule) else dict(r)
            for r in app.assignment_rules
        ]
    return out
