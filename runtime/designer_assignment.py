"""The designer's assignment preview: who a draft's rule would pick for recent records, and why.

:func:`preview_assignment` loads the assignment rules of a definition (the designer's draft
as posted, or the stored draft) and runs one rule's chain for the N most recent records of
its entity (or chosen ones) with the real :class:`~runtime.assignment.AssignmentService`
in **dry-run** mode: the same candidates, loads, history counts, strategies and fallbacks
as the ``assign`` action, but no assignment log row, no outbox message, no record write
and no round-robin cursor moved (turns advance in memory from the stored cursor, so ten
records show the rotation they would get). The records and users are those of the
published app; a rule whose entity or fields are not published yet can't be previewed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from builder.drafts import check_draft, content_digest
from builder.errors import join_path
from expressions.errors import ExpressionError
from runtime.apps import load_published
from runtime.assignment import AppExpressions, AssignmentError, AssignmentService
from runtime.context import CallContext
from runtime.errors import Invalid, NotFound
from runtime.models import User

#: The most records one preview runs over.
MAX_PREVIEW = 50


def _problems_of(outcome: Any, index: int | None) -> list[dict[str, Any]]:
    if index is None:
        return []
    prefix = join_path(join_path("$", "assignment_rules"), index)
    return [
        p.as_dict() for p in outcome.problems
        if p.path == prefix or p.path.startswith(prefix + ".") or p.path.startswith(prefix + "[")
    ]


def _raw_index(definition: Any, rule_key: str) -> int | None:
    rules = definition.get("assignment_rules") if isinstance(definition, Mapping) else None
    if not isinstance(rules, list):
        return None
    for i, raw in enumerate(rules):
        if isinstance(raw, Mapping) and raw.get("key") == rule_key:
            return i
    return None


def _pool(
    session: Any, workspace_id: int, rule: Any, record: Mapping[str, Any], runner: AppExpressions
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rule's candidates and the active users it filtered out, with why (zh/en)."""
    users = list(session.scalars(
        sa.select(User).where(User.workspace_id == workspace_id, User.is_active.is_(True)).order_by(User.id)
    ))
    spec = rule.candidates
    role = getattr(spec, "role", None)
    region_source = getattr(spec, "region", None)
    region = runner.evaluate(rule.entity, region_source, record, None) if region_source else None
    kept: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for user in users:
        who = {"user_id": user.id, "name": user.name, "role": user.role, "region": user.region}
        if role and user.role != role:
            out.append({**who, "why": {"zh": f"角色是 {user.role},不是 {role}",
                                       "en": f"role is {user.role}, not {role}"}})
        elif region_source and (region in (None, "") or user.region != str(region)):
            out.append({**who, "why": {
                "zh": f"区域 {user.region or '(空)'} 与记录的区域 {region or '(空)'} 不同",
                "en": f"region {user.region or '(empty)'} is not the record's {region or '(empty)'}",
            }})
        else:
            kept.append(who)
    return kept, out


def preview_assignment(
    ctx: CallContext,
    app_id: int,
    definition: Any,
    rule_key: str,
    *,
    record_ids: Sequence[int] | None = None,
    limit: int = 10,
) -> dict[str, Any]:
    """Per record, whom ``rule_key`` of ``definition`` would assign and why; writes nothing."""
    outcome = check_draft(definition, content_digest(definition))
    index = _raw_index(definition, rule_key)
    rules = [r for r in (outcome.app.assignment_rules if outcome.app is not None else ()) if hasattr(r, "strategy")]
    rule = next((r for r in rules if r.key == rule_key), None)
    if rule is None:
        if index is not None:
            raise Invalid(
                f"The assignment rule {rule_key!r} has problems; fix them to preview it.",
                message_zh=f"分配规则 {rule_key} 有问题,修正后才能预览。",
                errors={join_path(join_path("$", "assignment_rules"), index): ["invalid"]},
                code="rule_invalid",
            )
        raise NotFound(
            f"The draft has no assignment rule {rule_key!r}.",
            message_zh=f"草稿中没有分配规则 {rule_key}。",
        )
    published = load_published(ctx.session, ctx.workspace_id, app_id)
    for r in rules:
        if r.entity not in published.tables or published.definition.entity(r.entity) is None:
            raise Invalid(
                f"Entity {r.entity!r} of rule {r.key!r} is not published yet; publish it to preview.",
                message_zh=f"规则 {r.key} 的实体 {r.entity} 尚未发布,发布后才能预览。",
                errors={"rule": ["entity_not_published"]},
                code="not_published",
            )
    runner = AppExpressions(ctx, published)
    service = AssignmentService(
        ctx.session,
        workspace_id=ctx.workspace_id,
        app_id=published.app_id,
        rules=rules,
        table_for=published.table,
        expressions=runner,
        now=ctx.now(),
        dry_run=True,
    )
    from runtime.records import RecordService

    records = RecordService(ctx, published)
    table = published.table(rule.entity)
    limit = max(1, min(int(limit), MAX_PREVIEW))
    if record_ids:
        ids = [int(i) for i in list(dict.fromkeys(record_ids))[:MAX_PREVIEW]]
    else:
        ids = [int(i) for i in ctx.session.scalars(
            sa.select(table.c.id).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)
        )]
    entity = published.entity(rule.entity)
    title_key = entity.fields[0].key if entity.fields else None
    items: list[dict[str, Any]] = []
    names: dict[int, str] = {}
    try:
        for record_id in ids:
            record = records.get(rule.entity, record_id)
            decision = service.preview(rule_key, record)
            kept, filtered = _pool(ctx.session, ctx.workspace_id, rule, record, runner)
            names.update({c["user_id"]: c["name"] for c in kept + filtered})
            items.append({
                "record_id": record_id,
                "title": str(record.get(title_key) or "") if title_key else "",
                "current": record.get(rule.field),
                "created_at": record.get("created_at"),
                "pool": kept,
                "filtered_out": filtered,
                **decision,
            })
    except (AssignmentError, ExpressionError) as exc:
        # e.g. an expression naming a field the draft adds but the published app lacks
        raise Invalid(
            f"The rule can't run as configured: {exc}",
            message_zh=f"规则无法按当前配置运行:{exc}",
            errors={"rule": ["invalid"]},
            code="rule_invalid",
        ) from exc
    finally:
        ctx.session.rollback()  # nothing was written; release what the reads hold
    return {
        "rule": rule_key,
        "entity": rule.entity,
        "field": rule.field,
        "strategy": rule.strategy,
        "users": {str(k): v for k, v in names.items()},
        "diagnostics": _problems_of(outcome, index),
        "items": items,
    }
