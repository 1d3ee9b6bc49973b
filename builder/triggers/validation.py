"""Validation of loaded triggers and assignment rules against their app.

References (entities, fields, steps, stages, roles, rules, fallback chains) and every
expression (checked with :mod:`builder.triggers.expressions` in the scope of its entity)
give :class:`~builder.errors.Problem` objects with JSON paths; nothing is raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from builder.errors import ROOT, Problem, join_path, problem
from builder.model import App, Entity, FieldType
from builder.triggers.actions import (
    Assign,
    CreateRecord,
    HttpWebhook,
    Notify,
    PromptAction,
    Report,
    SendReport,
    SetField,
)
from builder.triggers.events import (
    OnCreated,
    OnElapsed,
    OnFieldChanged,
    OnStageChanged,
    OnStepCompleted,
    OnUpdated,
    OnWebhook,
)
from builder.triggers.expressions import check_expression
from builder.triggers.rules import AssignmentRule
from builder.triggers.trigger import Trigger

#: System timestamp columns an elapsed trigger may count from.
SYSTEM_TIMESTAMPS = ("created_at", "updated_at", "stage_entered_at")
_TIME_TYPES = frozenset({FieldType.DATETIME, FieldType.DATE})


def _unknown(path: str, reason: str, reason_zh: str) -> Problem:
    return problem(path, "unknown_reference", reason=reason, reason_zh=reason_zh)


def _invalid(path: str, reason: str, reason_zh: str) -> Problem:
    return problem(path, "invalid_option", reason=reason, reason_zh=reason_zh)


def _field_exists(entity: Entity, key: str) -> bool:
    return entity.field(key) is not None or key in {"owner", "created_by", "id", "created_at", "updated_at"}


def validate_triggers(
    app: App, triggers: Sequence[Trigger | None] | None = None, *, path: str = join_path(ROOT, "triggers")
) -> list[Problem]:
    """Every reference and expression problem of the (loaded) triggers of ``app``.

    ``triggers`` may hold None where a trigger failed to load, so that paths keep the
    document's indexes."""
    problems: list[Problem] = []
    rule_keys = {getattr(r, "key", None) for r in app.assignment_rules}
    for index, trigger in enumerate(app.triggers if triggers is None else triggers):
        if not isinstance(trigger, Trigger):
            continue
        tpath = join_path(path, index)
        entity = app.entity(trigger.entity) if trigger.entity else None
        if trigger.entity and entity is None:
            problems.append(_unknown(join_path(tpath, "entity"), f"There is no entity {trigger.entity!r}.",
                                     f"没有实体 {trigger.entity}。"))
            continue
        problems.extend(_check_on(app, trigger, entity, join_path(tpath, "on")))
        if trigger.rollout is not None:
            for r_index, role in enumerate(trigger.rollout.roles):
                if role not in app.roles:
                    problems.append(_unknown(join_path(tpath, "rollout", "roles", r_index),
                                             f"There is no role {role!r}.", f"没有角色 {role}。"))
        if trigger.when and entity is not None:
            problems.extend(check_expression(app, entity.key, trigger.when, join_path(tpath, "when"),
                                             boolean=True))
        for a_index, action in enumerate(trigger.actions):
            problems.extend(
                _check_action(app, trigger, entity, action, join_path(tpath, "actions", a_index), rule_keys)
            )
    return problems


def _check_on(app: App, trigger: Trigger, entity: Entity | None, path: str) -> list[Problem]:
    on = trigger.on
    out: list[Problem] = []
    if entity is None:
        return out
    if isinstance(on, OnUpdated):
        for i, key in enumerate(on.fields):
            if not _field_exists(entity, key):
                out.append(_unknown(join_path(path, "fields", i), f"{entity.key} has no field {key!r}.",
                                    f"{entity.key} 没有字段 {key}。"))
    elif isinstance(on, OnFieldChanged):
        if not _field_exists(entity, on.field):
            out.append(_unknown(join_path(path, "field"), f"{entity.key} has no field {on.field!r}.",
                                f"{entity.key} 没有字段 {on.field}。"))
    elif isinstance(on, OnStepCompleted):
        if entity.step(on.step) is None:
            out.append(_unknown(join_path(path, "step"), f"{entity.key} has no step {on.step!r}.",
                                f"{entity.key} 没有步骤 {on.step}。"))
    elif isinstance(on, OnStageChanged):
        if not entity.stages:
            out.append(_invalid(path, f"{entity.key} has no stages.", f"{entity.key} 没有阶段。"))
        for name, value in (("from", on.from_), ("to", on.to)):
            if value is not None and entity.stages and entity.stage(value) is None:
                out.append(_unknown(join_path(path, name), f"{entity.key} has no stage {value!r}.",
                                    f"{entity.key} 没有阶段 {value}。"))
    elif isinstance(on, OnElapsed):
        out.extend(_check_since(entity, on.since, join_path(path, "since")))
        out.extend(check_expression(app, entity.key, on.condition, join_path(path, "condition"),
                                    boolean=True, sql=True))
        if trigger.when:
            out.extend(check_expression(app, entity.key, trigger.when, join_path(path, "when"),
                                        boolean=True, sql=True, report_other=False))
    elif isinstance(on, OnWebhook):
        if on.dedup_key and entity.field(on.dedup_key) is None:
            out.append(_unknown(join_path(path, "dedup_key"), f"{entity.key} has no field {on.dedup_key!r}.",
                                f"{entity.key} 没有字段 {on.dedup_key}。"))
        for payload_key, field_key in on.fields:
            if entity.field(field_key) is None:
                out.append(_unknown(join_path(path, "fields", payload_key),
                                    f"{entity.key} has no field {field_key!r}.",
                                    f"{entity.key} 没有字段 {field_key}。"))
    return out


def _check_since(entity: Entity, since: str, path: str) -> list[Problem]:
    if since == "stage_entered_at":
        if not entity.stages:
            return [_invalid(path, f"{entity.key} has no stages, so no stage_entered_at.",
                             f"{entity.key} 没有阶段,因此没有 stage_entered_at。")]
        return []
    if since in SYSTEM_TIMESTAMPS:
        return []
    if since.startswith("steps.") and since.endswith(".done_at"):
        step = since[len("steps."):-len(".done_at")]
        if entity.step(step) is None:
            return [_unknown(path, f"{entity.key} has no step {step!r}.", f"{entity.key} 没有步骤 {step}。")]
        return []
    spec = entity.field(since)
    if spec is None:
        return [_unknown(path, f"{entity.key} has no field {since!r}.", f"{entity.key} 没有字段 {since}。")]
    if spec.type not in _TIME_TYPES:
        return [_invalid(path, f"{since!r} is not a date or datetime field.",
                         f"{since} 不是日期或日期时间字段。")]
    return []


def _check_action(
    app: App, trigger: Trigger, entity: Entity | None, action: Any, path: str, rule_keys: set[Any]
) -> list[Problem]:
    out: list[Problem] = []
    needs_record = not isinstance(action, Report | Notify | HttpWebhook | SendReport)
    if entity is None and needs_record:
        return [_invalid(path, f"A {action.type} action needs a trigger on an entity's records.",
                         f"{action.type} 动作需要作用于实体记录的触发器。")]
    ekey = entity.key if entity is not None else None
    if isinstance(action, SetField) and entity is not None:
        spec = entity.field(action.field)
        if spec is None and action.field != "owner":
            out.append(_unknown(join_path(path, "field"), f"{entity.key} has no field {action.field!r}.",
                                f"{entity.key} 没有字段 {action.field}。"))
        elif spec is not None and spec.type == FieldType.FORMULA:
            out.append(_invalid(join_path(path, "field"), f"{action.field!r} is a formula and can't be set.",
                                f"{action.field} 是公式字段,不能赋值。"))
        out.extend(check_expression(app, entity.key, action.value, join_path(path, "value")))
    elif isinstance(action, CreateRecord):
        target = app.entity(action.entity)
        if target is None:
            out.append(_unknown(join_path(path, "entity"), f"There is no entity {action.entity!r}.",
                                f"没有实体 {action.entity}。"))
        else:
            for key, source in action.values:
                if not _field_exists(target, key):
                    out.append(_unknown(join_path(path, "values", key),
                                        f"{target.key} has no field {key!r}.", f"{target.key} 没有字段 {key}。"))
                elif ekey is not None:
                    out.extend(check_expression(app, ekey, source, join_path(path, "values", key)))
            if action.due_field:
                spec = target.field(action.due_field)
                if spec is None or spec.type not in _TIME_TYPES:
                    out.append(_invalid(join_path(path, "due_field"),
                                        f"{action.due_field!r} is not a date or datetime field of {target.key}.",
                                        f"{action.due_field} 不是 {target.key} 的日期或日期时间字段。"))
    elif isinstance(action, Notify | Report):
        if action.to and ekey is not None:
            out.extend(check_expression(app, ekey, action.to, join_path(path, "to")))
        if action.to_role and action.to_role not in app.roles:
            out.append(_unknown(join_path(path, "to_role"), f"There is no role {action.to_role!r}.",
                                f"没有角色 {action.to_role}。"))
        if isinstance(action, Report):
            target = app.entity(action.query.entity)
            qpath = join_path(path, "query")
            if target is None:
                out.append(_unknown(join_path(qpath, "entity"), f"There is no entity {action.query.entity!r}.",
                                    f"没有实体 {action.query.entity}。"))
            else:
                if action.query.where:
                    out.extend(check_expression(app, target.key, action.query.where, join_path(qpath, "where"),
                                                boolean=True, sql=True))
                for i, key in enumerate(action.query.group_by):
                    if not _field_exists(target, key) and key != "stage":
                        out.append(_unknown(join_path(qpath, "group_by", i),
                                            f"{target.key} has no field {key!r}.", f"{target.key} 没有字段 {key}。"))
    elif isinstance(action, SendReport):
        out.extend(_check_send_report(app, ekey, action, path))
    elif isinstance(action, Assign):
        if action.rule not in rule_keys:
            out.append(_unknown(join_path(path, "rule"), f"There is no assignment rule {action.rule!r}.",
                                f"没有分配规则 {action.rule}。"))
        else:
            rule = next(r for r in app.assignment_rules if getattr(r, "key", None) == action.rule)
            if isinstance(rule, AssignmentRule) and rule.entity != ekey:
                out.append(_invalid(join_path(path, "rule"),
                                    f"Assignment rule {rule.key!r} assigns {rule.entity}, not {ekey}.",
                                    f"分配规则 {rule.key} 作用于 {rule.entity},而不是 {ekey}。"))
    elif isinstance(action, PromptAction):
        if not isinstance(trigger.on, OnCreated | OnUpdated | OnFieldChanged | OnStepCompleted | OnStageChanged):
            out.append(_invalid(path, "A prompt can only answer a person's write (created, updated, "
                                "field_changed, step_completed or stage_changed).",
                                "提示只能用于由人的写入触发的触发器(创建、更新、字段变化、步骤完成或阶段变化)。"))
    return out


def _key_of(item: Any) -> Any:
    """The ``key`` of a dashboard or widget, loaded (an object) or still raw (a mapping)."""
    return item.get("key") if isinstance(item, Mapping) else getattr(item, "key", None)


def _widgets_of(dashboard: Any) -> Sequence[Any]:
    widgets = dashboard.get("widgets") if isinstance(dashboard, Mapping) else getattr(dashboard, "widgets", ())
    return widgets if isinstance(widgets, Sequence) and not isinstance(widgets, str) else ()


def _check_send_report(app: App, ekey: str | None, action: SendReport, path: str) -> list[Problem]:
    out: list[Problem] = []
    if action.to and ekey is not None:
        out.extend(check_expression(app, ekey, action.to, join_path(path, "to")))
    for name in ("to_role", "as_role"):
        role = getattr(action, name)
        if role and role not in app.roles:
            out.append(_unknown(join_path(path, name), f"There is no role {role!r}.", f"没有角色 {role}。"))
    dashboard = next((d for d in app.dashboards if _key_of(d) == action.dashboard), None)
    if dashboard is None:
        out.append(_unknown(join_path(path, "dashboard"), f"There is no dashboard {action.dashboard!r}.",
                            f"没有仪表盘 {action.dashboard}。"))
    elif action.widget and not any(_key_of(w) == action.widget for w in _widgets_of(dashboard)):
        out.append(_unknown(join_path(path, "widget"),
                            f"Dashboard {action.dashboard!r} has no widget {action.widget!r}.",
                            f"仪表盘 {action.dashboard} 没有组件 {action.widget}。"))
    return out


def validate_assignment_rules(
    app: App, rules: Sequence[AssignmentRule | None] | None = None,
    *, path: str = join_path(ROOT, "assignment_rules"),
) -> list[Problem]:
    """Every reference and expression problem of the (loaded) assignment rules of ``app``."""
    problems: list[Problem] = []
    # ``rules`` may hold None where a rule failed to load: indexes stay those of the document.
    source = list(app.assignment_rules if rules is None else rules)
    items = [r if isinstance(r, AssignmentRule) else None for r in source]
    keys = {r.key for r in items if r is not None}
    for index, rule in enumerate(items):
        if rule is None:
            continue
        rpath = join_path(path, index)
        entity = app.entity(rule.entity)
        if entity is None:
            problems.append(_unknown(join_path(rpath, "entity"), f"There is no entity {rule.entity!r}.",
                                     f"没有实体 {rule.entity}。"))
            continue
        spec = entity.field(rule.field)
        if rule.field != "owner" and (spec is None or spec.type != FieldType.USER):
            problems.append(_invalid(join_path(rpath, "field"), f"{rule.field!r} is not a user field of {entity.key}.",
                                     f"{rule.field} 不是 {entity.key} 的用户字段。"))
        if rule.candidates.role and rule.candidates.role not in app.roles:
            problems.append(_unknown(join_path(rpath, "candidates", "role"), f"There is no role {rule.candidates.role!r}.",
                                     f"没有角色 {rule.candidates.role}。"))
        if rule.candidates.region:
            problems.extend(check_expression(app, entity.key, rule.candidates.region,
                                             join_path(rpath, "candidates", "region")))
        if rule.expression:
            problems.extend(check_expression(app, entity.key, rule.expression, join_path(rpath, "expression"),
                                             boolean=True, candidate=True))
        if rule.load_where:
            problems.extend(check_expression(app, entity.key, rule.load_where, join_path(rpath, "load_where"),
                                             boolean=True, sql=True))
        for w_index, weight in enumerate(rule.weights):
            problems.extend(check_expression(app, entity.key, weight.expression,
                                             join_path(rpath, "weights", w_index, "expression"), candidate=True))
        if rule.history is not None:
            hpath = join_path(rpath, "history")
            hist = app.entity(rule.history.entity)
            if hist is None:
                problems.append(_unknown(join_path(hpath, "entity"), f"There is no entity {rule.history.entity!r}.",
                                         f"没有实体 {rule.history.entity}。"))
            else:
                if rule.history.where:
                    problems.extend(check_expression(app, hist.key, rule.history.where, join_path(hpath, "where"),
                                                     boolean=True, sql=True))
                for theirs, ours in rule.history.same:
                    if not _field_exists(hist, theirs):
                        problems.append(_unknown(join_path(hpath, "same", theirs),
                                                 f"{hist.key} has no field {theirs!r}.", f"{hist.key} 没有字段 {theirs}。"))
                    if not _field_exists(entity, ours):
                        problems.append(_unknown(join_path(hpath, "same", theirs),
                                                 f"{entity.key} has no field {ours!r}.", f"{entity.key} 没有字段 {ours}。"))
        for f_index, key in enumerate(rule.fallback):
            if key not in keys or key == rule.key:
                problems.append(_unknown(join_path(rpath, "fallback", f_index),
                                         f"There is no other assignment rule {key!r}.", f"没有其他分配规则 {key}。"))
    problems.extend(_fallback_cycles(items, path))
    return problems


def _fallback_cycles(rules: Sequence[AssignmentRule | None], path: str) -> list[Problem]:
    by_key = {r.key: r for r in rules if r is not None}
    out: list[Problem] = []
    for index, rule in enumerate(rules):
        if rule is None:
            continue
        stack: list[tuple[str, tuple[str, ...]]] = [(rule.key, (rule.key,))]
        while stack:
            key, trail = stack.pop()
            for nxt in by_key[key].fallback if key in by_key else ():
                if nxt == rule.key and len(trail) > 1:
                    out.append(problem(join_path(path, index, "fallback"), "dependency_cycle",
                                       cycle=" → ".join((*trail, nxt))))
                    stack.clear()
                    break
                if nxt not in trail and nxt in by_key:
                    stack.append((nxt, (*trail, nxt)))
    return out
