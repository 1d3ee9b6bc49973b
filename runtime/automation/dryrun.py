"""Dry run of a draft trigger (S16): would it have fired, and what would each action do.

:func:`dry_run_trigger` takes a trigger of the app's **draft** (or the definition the
designer is editing) and the records of the last ``days`` days (at most
:data:`MAX_DAYS`) or a list of record ids, newest first, at most :data:`MAX_RECORDS`
(``truncated`` says when there were more). Per record it answers whether the trigger would
have fired, why, and for each action what it would have done: the field's value before →
after, whom a message would reach (resolved like the real run: ``owner.manager`` on an
owner without a manager is ``would_skip`` with the cause ``missing_manager`` — skipped is
not success), the record it would create, the URL a webhook would post to (not called), the
user an assignment would pick and why.

**How "would have fired" is decided**, honestly per record (``basis``):

* record events (created, updated, field changed, stage changed, step completed) are
  replayed from the audit log: each write of the window is rebuilt as the change the engine
  saw (the record's values after that write are the current values with the later writes'
  changes undone) and matched with the engine's own :func:`~runtime.automation.engine.matches`;
  ``basis: "history"``. A record with no audited write in the window is evaluated on its
  current values (``basis: "current_values"``) and says so;
* ``elapsed``: whether the record became due inside the window (``since`` + ``after``) and
  the condition holds — on the current values, as said;
* ``event``: the record's posted events in the window contain the sequence;
* the staged rollout (``rollout``) is applied as the engine applies it.

**It changes nothing.** It only reads; assignment previews read the round-robin cursor
without taking or creating it; no action handler runs, no outbox row is added, nothing is
sent. And the whole evaluation runs in a transaction that is rolled back at the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from builder.drafts import check_draft
from builder.model import App, Entity, FieldType
from builder.repository import DefinitionRepository
from builder.triggers import (
    Assign,
    CreateRecord,
    HttpWebhook,
    Notify,
    OnCreated,
    OnDeleted,
    OnElapsed,
    OnEvent,
    OnSchedule,
    OnWebhook,
    PromptAction,
    Report,
    SendReport,
    SetField,
    Trigger,
    parse_duration,
)
from expressions import BOOLEAN, EvalContext, compile_expression
from runtime.automation.causes import cause as cause_of
from runtime.automation.causes import missing_recipient_cause
from runtime.automation.engine import matches
from runtime.automation.outbox import jsonable
from runtime.automation.rollout import describe as describe_rollout
from runtime.automation.rollout import rollout_member
from runtime.automation.templates import render
from runtime.changes import RecordChange
from runtime.context import CallContext
from runtime.errors import Forbidden, Invalid, NotFound
from runtime.models import AuditEvent, User
from runtime.tables import step_column

#: The longest window, in days.
MAX_DAYS = 90
#: The most records one dry run looks at.
MAX_RECORDS = 500
#: Record events replayed from the audit log (per dry run).
MAX_AUDIT_EVENTS = 20_000

RECORD_PATH = "/a/{app}/{entity}/{id}"


def _t(en: str, zh: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _show(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, datetime):
        return _aware(value).isoformat(timespec="minutes")
    return str(jsonable(value))


class _Evaluator:
    """Expressions of the draft definition, evaluated on the published app's records."""

    def __init__(self, definition: App, context: EvalContext) -> None:
        self.definition = definition
        self.context = context

    def value(self, entity: str, source: str, record: Mapping[str, Any]) -> Any:
        from builder.scope import scope_for

        return compile_expression(source, scope_for(self.definition, entity)).evaluate(record, self.context)

    def holds(self, entity: str, source: str | None, record: Mapping[str, Any]) -> bool:
        from builder.scope import scope_for

        if not source:
            return True
        compiled = compile_expression(source, scope_for(self.definition, entity), expect=BOOLEAN)
        return compiled.evaluate(record, self.context) is True


# -- the request -------------------------------------------------------------------------


def _app_row(repo: DefinitionRepository, app_id: int | str) -> Any:
    ref = str(app_id)
    row = (repo.app(int(ref)) if int(ref) < 2**63 else None) if ref.isdigit() else repo.app_by_key(ref[:63])
    if row is None:
        raise NotFound(f"No app {app_id} in this workspace.", message_zh=f"工作区中没有应用 {app_id}。")
    return row


def _draft_trigger(definition: Any, trigger_key: str) -> tuple[App, Trigger]:
    """The draft's trigger ``trigger_key``, refused while it has problems of its own."""
    outcome = check_draft(definition)
    raw = definition.get("triggers") if isinstance(definition, Mapping) else None
    index = next((i for i, item in enumerate(raw if isinstance(raw, list) else [])
                  if isinstance(item, Mapping) and item.get("key") == trigger_key), None)
    if index is None:
        raise NotFound(f"The draft has no trigger {trigger_key!r}.", message_zh=f"草稿中没有触发器 {trigger_key}。")
    prefix = f"$.triggers[{index}]"
    problems = [p for p in outcome.problems
                if p.path == prefix or p.path.startswith((prefix + ".", prefix + "["))]
    trigger = None if outcome.app is None else next(
        (t for t in outcome.app.triggers if isinstance(t, Trigger) and t.key == trigger_key), None)
    if problems or trigger is None or outcome.app is None:
        raise Invalid(
            f"Trigger {trigger_key!r} has problems; fix them before a dry run.",
            message_zh=f"触发器 {trigger_key} 有错误,请先修正再试运行。",
            errors={p.path: [p.message] for p in problems} or {"trigger": ["the draft can't be read yet"]},
            code="trigger_invalid",
        )
    return outcome.app, trigger


def dry_run_trigger(
    ctx: CallContext,
    app_id: int | str,
    trigger_key: str,
    *,
    days: int | None = None,
    record_ids: Sequence[int] | None = None,
    definition: Any = None,
) -> dict[str, Any]:
    """What trigger ``trigger_key`` of the app's draft (or ``definition``) would have done
    over the last ``days`` days (default 7) or on ``record_ids``; changes nothing."""
    from runtime.apps import load_published

    if ctx.actor.role != "admin":
        raise Forbidden("Only workspace admins can dry-run rules.", message_zh="只有工作区管理员可以试运行规则。")
    if record_ids is not None and days is not None:
        raise Invalid("Give either days or records, not both.", message_zh="请只提供天数或记录之一。",
                      errors={"records": ["exclusive"]})
    if record_ids is not None and not 0 < len(record_ids) <= MAX_RECORDS:
        raise Invalid(f"Give 1 to {MAX_RECORDS} record ids.", message_zh=f"请提供 1 到 {MAX_RECORDS} 个记录编号。",
                      errors={"records": ["size"]})
    if record_ids is None:
        days = 7 if days is None else days
        if not 1 <= days <= MAX_DAYS:
            raise Invalid(f"days is 1 to {MAX_DAYS}.", message_zh=f"天数应为 1 到 {MAX_DAYS}。",
                          errors={"days": ["range"]})
    try:
        repo = DefinitionRepository(ctx.session, ctx.workspace_id)
        row = _app_row(repo, app_id)
        if definition is None:
            revision = repo.draft(row.id) or repo.published(row)
            definition = revision.definition if revision is not None else {}
        draft, trigger = _draft_trigger(definition, trigger_key)
        if isinstance(trigger.on, OnSchedule | OnDeleted) or trigger.entity is None:
            raise Invalid(
                f"A {trigger.on.type} trigger has no existing records to be tried on.",
                message_zh=f"{trigger.on.type} 类触发器没有可试运行的现有记录。",
                code="not_dry_runnable",
            )
        try:
            app = load_published(ctx.session, ctx.workspace_id, row.id)
            entity = app.entity(trigger.entity)
        except NotFound:
            raise Invalid(
                f"There are no {trigger.entity} records yet: publish the entity once, then dry-run.",
                message_zh=f"还没有 {trigger.entity} 记录:请先发布该实体,再试运行。",
                code="no_records",
            ) from None
        return _Run(ctx, app, draft, trigger, entity).run(days, record_ids)
    finally:
        ctx.session.rollback()


# -- the run -----------------------------------------------------------------------------


class _Run:
    def __init__(self, ctx: CallContext, app: Any, draft: App, trigger: Trigger, entity: Entity) -> None:
        from runtime.evaluation import RecordEvaluator, RecordResolver

        self.ctx = ctx
        self.app = app
        self.draft = draft
        self.trigger = trigger
        self.entity = entity
        self.now = ctx.now()
        resolver = RecordResolver(ctx.session, app, RecordEvaluator(ctx, app))
        self.ev = _Evaluator(draft, EvalContext(now=self.now, tz=ctx.tz, actor=ctx.actor.attributes(),
                                                resolver=resolver))
        self.names: dict[int, str] = {}

    # records

    def _candidates(self, start: datetime | None, record_ids: Sequence[int] | None) -> tuple[list[dict[str, Any]], bool]:
        from runtime.automation.models import RecordEvent
        from runtime.automation.sweeps import since_column
        from runtime.evaluation import record_from_row

        table = self.app.table(self.entity.key)
        query = sa.select(table)
        on = self.trigger.on
        if record_ids is not None:
            query = query.where(table.c.id.in_({int(i) for i in record_ids}))
        else:
            assert start is not None
            if isinstance(on, OnElapsed):
                since = since_column(self.app, table, self.entity.key, on.since)
                after = on.after_delta
                lower, upper = _naive(start - after), _naive(self.now - after)
                if isinstance(since.type, sa.Date):
                    query = query.where(since >= lower.date(), since <= upper.date())
                else:
                    query = query.where(since >= lower, since <= upper)
            elif isinstance(on, OnEvent):
                query = query.where(table.c.id.in_(
                    sa.select(RecordEvent.record_id).where(
                        RecordEvent.app_id == self.app.app_id, RecordEvent.entity == self.entity.key,
                        RecordEvent.at >= _naive(start))))
            elif isinstance(on, OnCreated | OnWebhook):
                query = query.where(table.c.created_at >= _naive(start))
            else:
                query = query.where(table.c.updated_at >= _naive(start))
        if isinstance(on, OnWebhook) and on.dedup_key:
            # Records the hook made are the ones its dedup keys point at.
            from runtime.automation.models import WebhookKey

            query = query.where(table.c.id.in_(sa.select(WebhookKey.record_id).where(
                WebhookKey.app_id == self.app.app_id, WebhookKey.trigger_key == self.trigger.key)))
        rows = self.ctx.session.execute(query.order_by(table.c.id.desc()).limit(MAX_RECORDS + 1)).mappings().all()
        records = [record_from_row(self.entity, r) for r in rows[:MAX_RECORDS]]
        return records, len(rows) > MAX_RECORDS

    def run(self, days: int | None, record_ids: Sequence[int] | None) -> dict[str, Any]:
        start = self.now - timedelta(days=days) if days is not None else None
        records, truncated = self._candidates(start, record_ids)
        missing = sorted(set(record_ids or ()) - {r["id"] for r in records})
        history = self._audit_history([r["id"] for r in records], start)
        window: dict[str, Any] = (
            {"days": days, "from": start.isoformat(), "to": self.now.isoformat()} if start is not None
            else {"records": list(record_ids or ()), "missing": missing}
        )
        results = [self._record(r, history.get(r["id"], []), start) for r in records]
        fired = sum(1 for r in results if r["would_fire"])
        return {
            "trigger": self.trigger.key,
            "on": self.trigger.on.type,
            "enabled": self.trigger.enabled,
            "rollout": describe_rollout(self.trigger.rollout),
            "window": window,
            "truncated": truncated,
            "limit": MAX_RECORDS,
            "records": results,
            "summary": {
                "checked": len(results),
                "would_fire": fired,
                "would_skip": sum(1 for r in results if r["would_fire"]
                                  and any(a["outcome"] == "would_skip" for a in r["actions"])),
            },
        }

    # history

    def _audit_history(self, ids: list[int], start: datetime | None) -> dict[int, list[AuditEvent]]:
        if not ids or isinstance(self.trigger.on, OnElapsed | OnEvent):
            return {}
        query = sa.select(AuditEvent).where(
            AuditEvent.workspace_id == self.ctx.workspace_id, AuditEvent.app_id == self.app.app_id,
            AuditEvent.entity_key == self.entity.key, AuditEvent.record_id.in_(ids),
            AuditEvent.outcome == "ok", AuditEvent.action.in_(("create", "update")),
        )
        if start is not None:
            query = query.where(AuditEvent.at >= _naive(start))
        out: dict[int, list[AuditEvent]] = {}
        for event in self.ctx.session.scalars(query.order_by(AuditEvent.at, AuditEvent.id).limit(MAX_AUDIT_EVENTS)):
            out.setdefault(int(event.record_id or 0), []).append(event)
        return out

    def _decode(self, key: str, value: Any) -> Any:
        """An audited JSON value as the record holds it (dates and times parsed)."""
        if not isinstance(value, str):
            return value
        spec = self.entity.field(key)
        is_time = key in ("created_at", "updated_at", "stage_entered_at") or key.startswith("_done_")
        try:
            if is_time or (spec is not None and spec.type == FieldType.DATETIME):
                return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
            if spec is not None and spec.type == FieldType.DATE:
                return date.fromisoformat(value[:10])
        except ValueError:
            return value
        return value

    def _replay(self, record: dict[str, Any], events: list[AuditEvent]) -> list[tuple[AuditEvent, RecordChange]]:
        """The changes the engine saw for each audited write, oldest first."""
        states: list[tuple[dict[str, Any], dict[str, Any]]] = []
        state = dict(record)
        for event in reversed(events):
            after = dict(state)
            for key, pair in (event.changes or {}).items():
                if isinstance(pair, list) and len(pair) == 2:
                    state[key] = self._decode(key, pair[0])
            before = dict(state)
            states.append((before, after))
        states.reverse()
        out: list[tuple[AuditEvent, RecordChange]] = []
        app_id, app_key, entity, rid = self.app.app_id, self.app.key, self.entity.key, int(record["id"])
        for event, (before, after) in zip(events, states, strict=True):
            at = _aware(event.at)
            pairs = {k: v for k, v in (event.changes or {}).items() if isinstance(v, list) and len(v) == 2}
            changed = frozenset(pairs)
            if event.action == "create":
                out.append((event, RecordChange("created", app_id, app_key, entity, rid, at, after=after, changed=changed)))
                continue
            out.append((event, RecordChange("updated", app_id, app_key, entity, rid, at, before=before, after=after,
                                            changed=changed)))
            if "stage" in pairs and pairs["stage"][0] != pairs["stage"][1]:
                out.append((event, RecordChange("stage_changed", app_id, app_key, entity, rid, at, before=before,
                                                after=after, changed=changed, stage_from=pairs["stage"][0],
                                                stage_to=pairs["stage"][1])))
            for step in self.entity.steps:
                pair = pairs.get(step_column(step.key))
                if pair is not None and pair[0] is None and pair[1] is not None:
                    out.append((event, RecordChange("step_completed", app_id, app_key, entity, rid, at,
                                                    before=before, after=after, changed=changed, step=step.key)))
        return out

    # verdicts

    def _in_rollout(self, record: Mapping[str, Any], actor: Any = None) -> bool:
        member = rollout_member(self.ctx.session, self.ctx.workspace_id, self.trigger.rollout,
                                (record.get("owner"), actor))
        return member is not None

    def _when(self, record: Mapping[str, Any]) -> bool:
        return self.ev.holds(self.entity.key, self.trigger.when, record)

    def _verdict(self, record: dict[str, Any], events: list[AuditEvent],
                 start: datetime | None) -> tuple[bool, dict[str, str], str, dict[str, Any]]:
        """(would fire, why, basis, the record the actions would see)."""
        on = self.trigger.on
        trigger = dataclasses.replace(self.trigger, enabled=True)
        if isinstance(on, OnWebhook):  # a webhook fires on the record its request creates
            trigger = dataclasses.replace(trigger, on=OnCreated())
        rollout_why = _t(f"not in the rollout group ({describe_rollout(self.trigger.rollout)['en']})",
                         f"不在灰度发布范围内({describe_rollout(self.trigger.rollout)['zh']})")
        if isinstance(on, OnElapsed):
            return self._elapsed(record, on, start, rollout_why)
        if isinstance(on, OnEvent):
            return self._event(record, on, start, rollout_why)
        replay = self._replay(record, events)
        seen_match = False
        for event, change in replay:
            if not matches(trigger, change):
                continue
            seen_match = True
            state = dict(change.after or {})
            if not self._when(state):
                continue
            if not self._in_rollout(state, event.actor_id):
                return False, rollout_why, "history", state
            when = _aware(event.at).astimezone(self.ctx.tz).strftime("%Y-%m-%d %H:%M")
            what = {"created": ("creation", "创建"), "updated": ("update", "更新"),
                    "stage_changed": ("stage change", "阶段变更"),
                    "step_completed": ("step completion", "步骤完成")}[change.kind]
            fields = ", ".join(sorted(k for k in change.changed if not k.startswith("_"))[:6])
            return True, _t(
                f"would have fired on the {what[0]} at {when}" + (f" (changed: {fields})" if fields else "")
                + "; evaluated on the values after that write, rebuilt from the audit log",
                f"会在 {when} 的{what[1]}时触发" + (f"(修改了:{fields})" if fields else "")
                + ";按审计日志还原的该次写入后的值判断",
            ), "history", state
        if replay:
            if seen_match:
                return False, _t("a write matched the event, but the condition (when) did not hold then",
                                 "有写入符合触发事件,但当时条件(when)不成立"), "history", record
            return False, _t("no write in the window matched the event", "窗口内没有符合触发事件的写入"), "history", record
        # No audited write to replay: the current values are all there is.
        if isinstance(on, OnCreated | OnWebhook):
            created = _aware(record.get("created_at"))
            if start is not None and isinstance(created, datetime) and created < start:
                return False, _t("created before the window", "在窗口开始前创建"), "current_values", record
        holds = self._when(record)
        if holds and not self._in_rollout(record):
            return False, rollout_why, "current_values", record
        if isinstance(on, OnCreated | OnWebhook):
            return holds, (_t("created in the window; the condition holds on the current values (no audit "
                              "entry to replay)", "在窗口内创建;按当前值条件成立(没有可回放的审计记录)") if holds else
                           _t("the condition does not hold on the current values", "按当前值条件不成立")), \
                "current_values", record
        return holds, (_t("no write of this record can be replayed from the audit log: evaluated on the "
                          "current values — the condition holds", "审计日志中没有可回放的写入:按当前值判断——条件成立")
                       if holds else
                       _t("no write of this record can be replayed from the audit log: evaluated on the "
                          "current values — the condition does not hold",
                          "审计日志中没有可回放的写入:按当前值判断——条件不成立")), "current_values", record

    def _elapsed(self, record: dict[str, Any], on: OnElapsed, start: datetime | None,
                 rollout_why: dict[str, str]) -> tuple[bool, dict[str, str], str, dict[str, Any]]:
        key = step_column(on.since[len("steps."):-len(".done_at")]) if on.since.startswith("steps.") else on.since
        since = record.get(key)
        if isinstance(since, date) and not isinstance(since, datetime):
            since = datetime(since.year, since.month, since.day, tzinfo=self.ctx.tz)
        since = _aware(since)
        if not isinstance(since, datetime):
            return False, _t(f"{on.since} is empty", f"{on.since} 为空"), "current_values", record
        due = since + on.after_delta
        due_text = due.astimezone(self.ctx.tz).strftime("%Y-%m-%d %H:%M")
        if due > self.now:
            return False, _t(f"not due yet: due at {due_text}", f"尚未到期:{due_text} 到期"), "current_values", record
        if start is not None and due < start:
            return False, _t(f"became due at {due_text}, before the window", f"于 {due_text} 到期,早于窗口"), \
                "current_values", record
        if not self.ev.holds(self.entity.key, on.condition, record):
            return False, _t(f"due at {due_text}, but the condition does not hold on the current values",
                             f"{due_text} 到期,但按当前值条件不成立"), "current_values", record
        if not self._when(record):
            return False, _t(f"due at {due_text}, but the when condition does not hold on the current values",
                             f"{due_text} 到期,但按当前值 when 条件不成立"), "current_values", record
        if not self._in_rollout(record):
            return False, rollout_why, "current_values", record
        return True, _t(
            f"due at {due_text} ({on.after} after {on.since}) and the condition still holds — evaluated on the "
            "current values (whether it held the whole time is not recorded)",
            f"{due_text} 到期({on.since} 之后 {on.after}),条件仍成立——按当前值判断(期间是否一直成立无记录)",
        ), "current_values", record

    def _event(self, record: dict[str, Any], on: OnEvent, start: datetime | None,
               rollout_why: dict[str, str]) -> tuple[bool, dict[str, str], str, dict[str, Any]]:
        from runtime.automation.events import _sequence_met
        from runtime.automation.models import RecordEvent

        query = sa.select(RecordEvent.name).where(
            RecordEvent.app_id == self.app.app_id, RecordEvent.entity == self.entity.key,
            RecordEvent.record_id == record["id"], RecordEvent.name.in_(on.sequence))
        if start is not None:
            query = query.where(RecordEvent.at >= _naive(start))
        names = list(self.ctx.session.scalars(query.order_by(RecordEvent.at, RecordEvent.id)))
        if not _sequence_met(names, on):
            return False, _t("the posted events do not contain the sequence", "已发布的事件不包含该序列"), "history", record
        if not self._when(record):
            return False, _t("the sequence happened, but the condition does not hold on the current values",
                             "序列已出现,但按当前值条件不成立"), "current_values", record
        if not self._in_rollout(record):
            return False, rollout_why, "history", record
        return True, _t("the posted events contain the sequence; the condition holds on the current values",
                        "已发布的事件包含该序列;按当前值条件成立"), "history", record

    # one record

    def _title(self, record: Mapping[str, Any]) -> str:
        key = getattr(self.entity, "title_field", None)
        if key and record.get(key) not in (None, ""):
            return str(record.get(key))
        for f in self.entity.fields:
            if f.type == FieldType.TEXT and record.get(f.key) not in (None, ""):
                return str(record.get(f.key))
        return f"#{record['id']}"

    def _record(self, record: dict[str, Any], events: list[AuditEvent], start: datetime | None) -> dict[str, Any]:
        try:
            fires, why, basis, state = self._verdict(record, events, start)
        except Exception as exc:  # a draft may name what the published table lacks
            fires, why, basis, state = False, _t(f"could not be evaluated: {exc}", f"无法判断:{exc}"), \
                "current_values", record
        out: dict[str, Any] = {
            "id": record["id"],
            "title": self._title(record),
            "url": RECORD_PATH.format(app=self.app.key, entity=self.entity.key, id=record["id"]),
            "would_fire": fires,
            "why": why,
            "basis": basis,
            "actions": [],
        }
        if fires:
            out["actions"] = [self._action(a, state) for a in self.trigger.actions]
        return out

    # actions

    def _user_names(self, ids: Sequence[int]) -> dict[int, str]:
        wanted = {i for i in ids if i not in self.names}
        if wanted:
            for uid, name in self.ctx.session.execute(
                sa.select(User.id, User.name).where(User.workspace_id == self.ctx.workspace_id, User.id.in_(wanted))
            ).all():
                self.names[uid] = name
        return {i: self.names.get(i, f"#{i}") for i in ids}

    def _action(self, action: Any, record: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": action.type, "outcome": "would_run"}
        try:
            out.update(self._describe(action, record))
        except Exception as exc:
            out.update(outcome="would_skip", cause="error",
                       summary=_t(f"could not be evaluated: {exc}", f"无法计算:{exc}"))
        if out.get("cause"):
            reason = cause_of(out["cause"])
            out["cause_text"] = {"zh": reason.zh, "en": reason.en}
        return out

    def _describe(self, action: Any, record: Mapping[str, Any]) -> dict[str, Any]:
        entity = self.entity.key
        tz = self.ctx.tz
        if isinstance(action, SetField):
            before = record.get(action.field)
            after = self.ev.value(entity, action.value, record)
            if jsonable(before) == jsonable(after):
                return {"summary": _t(f"set {action.field}: already {_show(after)}, nothing to do",
                                      f"设置 {action.field}:已是 {_show(after)},无需修改"), "changes": []}
            return {"summary": _t(f"set {action.field}: {_show(before)} → {_show(after)}",
                                  f"设置 {action.field}:{_show(before)} → {_show(after)}"),
                    "changes": [{"field": action.field, "before": jsonable(before), "after": jsonable(after)}]}
        if isinstance(action, CreateRecord):
            values = {k: self.ev.value(entity, src, record) for k, src in action.values}
            if action.due_in and action.due_field:
                values[action.due_field] = self.now + parse_duration(action.due_in)
            listed = ", ".join(f"{k} = {_show(v)}" for k, v in values.items())
            return {"summary": _t(f"create a {action.entity} record: {listed}", f"创建 {action.entity} 记录:{listed}"),
                    "changes": [{"field": k, "before": None, "after": jsonable(v)} for k, v in values.items()]}
        if isinstance(action, Notify):
            return self._notify(action, record)
        if isinstance(action, Assign):
            return self._assign(action, record)
        if isinstance(action, HttpWebhook):
            return {"summary": _t(f"POST the record to {action.url} (not called in a dry run)",
                                  f"将记录 POST 到 {action.url}(试运行不会调用)")}
        if isinstance(action, PromptAction):
            zh = render(action.message.zh or action.message.en or "", record, tz)
            en = render(action.message.en or action.message.zh or "", record, tz)
            return {"summary": _t(f"show the writer: {en}", f"提示写入人:{zh}")}
        if isinstance(action, Report):
            return {"summary": _t(f"send a report of {action.query.entity} by {action.channel}",
                                  f"通过 {action.channel} 发送 {action.query.entity} 报表")}
        if isinstance(action, SendReport):
            what = f"{action.dashboard}.{action.widget}" if action.widget else action.dashboard
            return {"summary": _t(f"send the dashboard report {what} by {action.channel}",
                                  f"通过 {action.channel} 发送仪表盘报表 {what}")}
        return {"summary": _t(f"{action.type}", f"{action.type}")}

    def _action_context(self, record: Mapping[str, Any]) -> Any:
        from runtime.automation.actions.base import ActionContext

        return ActionContext(
            call=self.ctx, app=self.app, settings=cast(Any, self.ctx.extras.get("settings")),
            trigger_key=self.trigger.key, entity=self.entity.key, record_id=record.get("id"),
            record=record, idempotency_key="dry-run",
        )

    def _notify(self, action: Notify, record: Mapping[str, Any]) -> dict[str, Any]:
        from runtime.automation.actions.notify import PEOPLE_CHANNELS, resolve_audience

        tz = self.ctx.tz
        message = {loc: render(getattr(action.message, loc) or action.message.zh or action.message.en or "", record, tz)
                   for loc in ("zh", "en")}
        out: dict[str, Any] = {"message": message}
        if action.channel not in PEOPLE_CHANNELS:
            out["summary"] = _t(f"post to the {action.channel} group robot: {message['en']}",
                                f"发送到 {action.channel} 群机器人:{message['zh']}")
            return out
        audience = resolve_audience(self._action_context(record), to=action.to, to_role=action.to_role,
                                    same_region=action.same_region)
        people = audience.recipients
        names = self._user_names(list(people.user_ids))
        who = [names[i] for i in people.user_ids] + list(people.addresses)
        out["recipients"] = [{"id": i, "name": names[i]} for i in people.user_ids] + [
            {"address": a} for a in people.addresses]
        target = action.to or action.to_role or ""
        if not who:
            cause = missing_recipient_cause(action.to, audience.notes)
            reason = cause_of(cause)
            out.update(outcome="would_skip", cause=cause, summary=_t(
                f"notify {target} by {action.channel}: skipped — {reason.en}",
                f"通过 {action.channel} 通知 {target}:跳过——{reason.zh}"))
            return out
        listed = ", ".join(who)
        out["summary"] = _t(f"notify {listed} ({target}) by {action.channel}: {message['en']}",
                            f"通过 {action.channel} 通知 {listed}({target}):{message['zh']}")
        return out

    def _assign(self, action: Assign, record: Mapping[str, Any]) -> dict[str, Any]:
        from runtime.assignment.app_expressions import AppExpressions
        from runtime.assignment.models import AssignmentCursor
        from runtime.assignment.service import AssignmentService
        from runtime.assignment.strategies import round_robin

        service = AssignmentService(  # the draft's rules, on the published records
            self.ctx.session, workspace_id=self.ctx.workspace_id, app_id=self.app.app_id,
            rules=[r for r in self.draft.assignment_rules if hasattr(r, "strategy")],
            table_for=self.app.table, expressions=AppExpressions(self.ctx, self.app), now=self.now,
        )
        steps: list[str] = []
        for rule in service.chain(action.rule):
            candidates, note = service.candidates(rule, record)
            if not candidates:
                steps.append(f"{rule.key}: {note or 'no candidates'}")
                continue
            if rule.strategy == "round_robin":  # read the cursor; never take or create it
                last = self.ctx.session.scalar(sa.select(AssignmentCursor.last_user_id).where(
                    AssignmentCursor.app_id == self.app.app_id, AssignmentCursor.rule_key == rule.key))
                pick = round_robin(candidates, last)
            else:
                pick = service._pick(rule, record, candidates)
            if pick.user_id is None:
                steps.append(f"{rule.key}: {pick.note}")
                continue
            name = self._user_names([pick.user_id])[pick.user_id]
            before = record.get(rule.field)
            why = "; ".join([*steps, f"{rule.key} ({rule.strategy}): {pick.note}"])
            return {"summary": _t(f"assign {rule.field} to {name} — {why}", f"将 {rule.field} 分配给 {name}——{why}"),
                    "changes": [{"field": rule.field, "before": jsonable(before), "after": pick.user_id}]}
        why = "; ".join(steps)
        reason = cause_of("nobody_to_assign")
        return {"outcome": "would_skip", "cause": "nobody_to_assign",
                "summary": _t(f"assign by {action.rule}: skipped — {reason.en} ({why})",
                              f"按 {action.rule} 分配:跳过——{reason.zh}({why})")}
