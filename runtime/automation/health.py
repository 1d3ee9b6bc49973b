"""Rule health (S11, S34): success rate per rule over time, thresholds, causes and alerts.

A run counts when it finished in the window (runs whose detail retention purged are counted
from :mod:`runtime.automation.rollups`, by whole UTC days): ``succeeded`` is a success; ``failed``,
``skipped`` (an action had nobody to notify or assign — **skipped is not success**) and
``cut`` (the loop cut) are failures; runs still retrying, and ``cancelled`` ones (the rule
was unpublished), are not counted. Rule-health alerts' own delivery jobs are left out.

The threshold (default 99.5 %) is stored per workspace, and optionally per rule
(:class:`~runtime.automation.models.RuleThreshold`). A rule whose rate falls below its
threshold — or that failed :data:`REPEATED_FAILURES` times in a row — gets one open
:class:`~runtime.automation.models.RuleAlert`, and an outbox job (kind ``health_alert``)
that puts a warning in every active admin's inbox: **once per crossing**, not once per run.
When the rate is back at or above the threshold the alert is cleared and the admins get a
recovery notice the same way. :func:`check_health` runs with the sweeps (every 30 s) and when a threshold changes;
:func:`check_rule` (repeated failures only) right after a run of the rule failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.automation.causes import cause
from runtime.automation.history import FAILURE_STATUSES, HEALTH_ALERT_KIND, SUCCESS_STATUSES
from runtime.automation.models import OutboxJob, RuleAlert, RuleThreshold, TriggerRun
from runtime.automation.rollups import rollup_counts
from runtime.clock import from_naive_utc, to_naive_utc
from runtime.context import CallContext
from runtime.errors import Forbidden, Invalid
from runtime.models import User

DEFAULT_THRESHOLD = 0.995
DEFAULT_WINDOW = timedelta(days=7)
REPEATED_FAILURES = 3
SUCCESS = SUCCESS_STATUSES
FAILURE = FAILURE_STATUSES
WORKSPACE_SCOPE = "*"
#: Where the run history of a rule is served (the admin console), linked from alerts.
RUNS_PATH = "/admin/runs?app={app}&rule={rule}&outcome=failure"


@dataclass(frozen=True)
class RuleHealth:
    """The health of one trigger over a window."""

    trigger_key: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    last_error: str | None
    last_run_at: datetime | None
    flagged: bool
    threshold: float = DEFAULT_THRESHOLD

    def as_json(self) -> dict[str, Any]:
        """The JSON form of the rule-health board."""
        return {
            "trigger": self.trigger_key,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "success_rate": self.success_rate,
            "threshold": self.threshold,
            "last_error": self.last_error,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "flagged": self.flagged,
        }


# --------------------------------------------------------------------------- thresholds


def _scope(app_id: int, trigger_key: str) -> str:
    return f"{app_id}:{trigger_key}"


@dataclass(frozen=True)
class Thresholds:
    """A workspace's default threshold and its rules' own ones."""

    default: float = DEFAULT_THRESHOLD
    rules: dict[tuple[int, str], float] = field(default_factory=dict)
    stored_default: bool = False

    def of(self, app_id: int, trigger_key: str) -> float:
        """The threshold of one rule (its own, else the workspace's)."""
        return self.rules.get((app_id, trigger_key), self.default)


def thresholds(session: Session, workspace_id: int) -> Thresholds:
    """The stored thresholds of a workspace (one small indexed query)."""
    default, stored, rules = DEFAULT_THRESHOLD, False, {}
    for row in session.scalars(sa.select(RuleThreshold).where(RuleThreshold.workspace_id == workspace_id)):
        if row.scope == WORKSPACE_SCOPE:
            default, stored = row.threshold, True
        elif row.app_id is not None and row.trigger_key is not None:
            rules[(row.app_id, row.trigger_key)] = row.threshold
    return Thresholds(default, rules, stored)


def parse_percent(value: Any, name: str = "threshold") -> float:
    """A threshold given as a percentage (0–100, e.g. ``99.5`` or ``"99.5"``) as a fraction."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip().rstrip("%").strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not 0 <= number <= 100:
        raise Invalid(
            "The threshold must be a percentage between 0 and 100, e.g. 99.5.",
            message_zh="阈值必须是 0 到 100 之间的百分比,例如 99.5。",
            errors={name: ["must be a number from 0 to 100"]},
        )
    return round(number / 100, 6)


# --------------------------------------------------------------------------- measuring


def _counted(workspace_id: int, app_id: int, since: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        TriggerRun.app_id == app_id,
        TriggerRun.finished_at >= to_naive_utc(since),
        TriggerRun.workspace_id == workspace_id,
        TriggerRun.status.in_(SUCCESS + FAILURE),
        TriggerRun.kind != HEALTH_ALERT_KIND,
    ]


def rule_health(
    session: Session,
    workspace_id: int,
    app_id: int,
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    threshold: float | None = None,
    trigger_key: str | None = None,
) -> list[RuleHealth]:
    """Health of every trigger of the app that ran in ``window`` before ``now`` (or of one).

    ``threshold`` overrides the stored thresholds (the workspace's, or the rule's own)."""
    ok = sa.func.sum(sa.case((TriggerRun.status.in_(SUCCESS), 1), else_=0))
    bad = sa.func.sum(sa.case((TriggerRun.status.in_(FAILURE), 1), else_=0))
    query = (
        sa.select(TriggerRun.trigger_key, ok, bad, sa.func.max(TriggerRun.finished_at))
        .where(*_counted(workspace_id, app_id, now - window))
        .group_by(TriggerRun.trigger_key)
        .order_by(TriggerRun.trigger_key)
    )
    if trigger_key is not None:
        query = query.where(TriggerRun.trigger_key == trigger_key)
    counts: dict[str, list[Any]] = {key: [int(ok or 0), int(bad or 0), last] for key, ok, bad, last in session.execute(query)}
    # Runs whose detail retention purged are counted from the daily rollups.
    for key, _day, status, _cause, runs, last in _rolled_up(session, workspace_id, app_id, now - window, now):
        if trigger_key is None or key == trigger_key:
            slot = counts.setdefault(key, [0, 0, None])
            slot[0 if status in SUCCESS else 1] += runs
            slot[2] = last if slot[2] is None or (last is not None and last > slot[2]) else slot[2]
    rows = [(key, *counts[key]) for key in sorted(counts)]
    stored = thresholds(session, workspace_id) if threshold is None else None
    open_alerts = set(
        session.scalars(
            sa.select(RuleAlert.trigger_key).where(
                RuleAlert.app_id == app_id, RuleAlert.cleared_at.is_(None)
            )
        )
    )
    out: list[RuleHealth] = []
    for key, succeeded, failed, last in rows:
        succeeded, failed = int(succeeded or 0), int(failed or 0)
        runs = succeeded + failed
        last_error = None
        if failed:
            last_error = session.scalar(
                sa.select(TriggerRun.error)
                .where(TriggerRun.app_id == app_id, TriggerRun.trigger_key == key,
                       TriggerRun.status.in_(FAILURE), TriggerRun.kind != HEALTH_ALERT_KIND)
                .order_by(TriggerRun.id.desc())
                .limit(1)
            )
        rate = succeeded / runs if runs else None
        limit = threshold if threshold is not None else stored.of(app_id, key)  # type: ignore[union-attr]
        out.append(
            RuleHealth(
                trigger_key=key,
                runs=runs,
                succeeded=succeeded,
                failed=failed,
                success_rate=rate,
                last_error=last_error,
                last_run_at=from_naive_utc(last),
                flagged=key in open_alerts or (rate is not None and rate < limit),
                threshold=limit,
            )
        )
    return out


def _rolled_up(session: Session, workspace_id: int, app_id: int, since: datetime, until: datetime) -> list[Any]:
    """Counted runs of whole UTC days in [since, until) that retention moved to the rollups."""
    return rollup_counts(session, workspace_id, app_id, to_naive_utc(since), to_naive_utc(until),
                         statuses=SUCCESS + FAILURE, exclude_kind=HEALTH_ALERT_KIND)


def _local_day(session: Session, column: Any, tz: tzinfo, now: datetime) -> Any:
    """SQL for the workspace-local calendar day of a naive-UTC timestamp column."""
    if session.get_bind().dialect.name == "postgresql":
        name = getattr(tz, "key", None) or "UTC"
        return sa.func.date(sa.func.timezone(name, sa.func.timezone("UTC", column)))
    offset = now.astimezone(tz).utcoffset() or timedelta()
    return sa.func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def daily_rates(
    session: Session, workspace_id: int, app_id: int, now: datetime, tz: tzinfo, *, days: int = 14
) -> dict[str, list[tuple[date, int, int]]]:
    """Per rule, per local day of the last ``days`` days that had runs: (day, successes, failures)."""
    start_day = now.astimezone(tz).date() - timedelta(days=days - 1)
    since = datetime.combine(start_day, datetime.min.time(), tz)
    day = _local_day(session, TriggerRun.finished_at, tz, now).label("day")
    ok = sa.func.sum(sa.case((TriggerRun.status.in_(SUCCESS), 1), else_=0))
    bad = sa.func.sum(sa.case((TriggerRun.status.in_(FAILURE), 1), else_=0))
    rows = session.execute(
        sa.select(TriggerRun.trigger_key, day, ok, bad)
        .where(*_counted(workspace_id, app_id, since))
        .group_by(TriggerRun.trigger_key, day)
        .order_by(TriggerRun.trigger_key, day)
    ).all()
    days_of: dict[str, dict[date, list[int]]] = {}
    for key, when, succeeded, failed in rows:
        value = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        days_of.setdefault(key, {})[value] = [int(succeeded or 0), int(failed or 0)]
    # Purged runs: a rolled-up UTC day is shown on the local day its middle falls on.
    for key, day, status, _cause, runs, _last in _rolled_up(session, workspace_id, app_id, since, now):
        local = (datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)).astimezone(tz).date()
        slot = days_of.setdefault(key, {}).setdefault(local, [0, 0])
        slot[0 if status in SUCCESS else 1] += runs
    return {key: [(d, ok, bad) for d, (ok, bad) in sorted(points.items())] for key, points in sorted(days_of.items())}


def _cause_column() -> Any:
    # A literal, not a bound parameter: PostgreSQL must see the same expression in the
    # select list and in GROUP BY.
    return sa.func.coalesce(TriggerRun.cause, sa.literal_column("'error'"))


def failure_causes(
    session: Session, workspace_id: int, app_id: int, now: datetime, *, window: timedelta = DEFAULT_WINDOW
) -> list[dict[str, Any]]:
    """Failures in the window grouped by rule and cause, most frequent first, each with its
    readable reason (zh, en), count and latest run."""
    label = _cause_column()
    rows = session.execute(
        sa.select(TriggerRun.trigger_key, label, sa.func.count(), sa.func.max(TriggerRun.finished_at))
        .where(*_counted(workspace_id, app_id, now - window), TriggerRun.status.in_(FAILURE))
        .group_by(TriggerRun.trigger_key, label)
    ).all()
    grouped: dict[tuple[str, str], list[Any]] = {(k, str(c)): [int(n), last] for k, c, n, last in rows}
    for key, _day, status, why, runs, last in _rolled_up(session, workspace_id, app_id, now - window, now):
        if status in FAILURE:
            slot = grouped.setdefault((key, why or "error"), [0, None])
            slot[0] += runs
            slot[1] = last if slot[1] is None or (last is not None and last > slot[1]) else slot[1]
    out: list[dict[str, Any]] = [
        {"trigger": key, "count": count, "last_at": (from_naive_utc(last) or now).isoformat(),
         **cause(key_cause).as_json()}
        for (key, key_cause), (count, last) in grouped.items()
    ]
    out.sort(key=lambda c: (-c["count"], c["trigger"], c["cause"]))
    return out


# --------------------------------------------------------------------------- alerts


def _admins(session: Session, workspace_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(User.id).where(
                User.workspace_id == workspace_id, User.role == "admin", User.is_active.is_(True)
            ).order_by(User.id)
        )
    )


def _main_cause(session: Session, app_id: int, trigger_key: str, since: datetime) -> str | None:
    label = _cause_column()
    row = session.execute(
        sa.select(label, sa.func.count())
        .where(TriggerRun.app_id == app_id, TriggerRun.trigger_key == trigger_key,
               TriggerRun.finished_at >= to_naive_utc(since), TriggerRun.status.in_(FAILURE),
               TriggerRun.kind != HEALTH_ALERT_KIND)
        .group_by(label)
        .order_by(sa.func.count().desc())
        .limit(1)
    ).first()
    return str(row[0]) if row else None


def _queue_notice(
    session: Session, alert: RuleAlert, app_key: str, event: str, now: datetime, **payload: Any
) -> None:
    from runtime.automation.outbox import enqueue

    enqueue(
        session,
        workspace_id=alert.workspace_id, app_id=alert.app_id, app_key=app_key,
        trigger_key=alert.trigger_key, kind=HEALTH_ALERT_KIND, entity=None, record_id=None,
        now=now, payload={"alert_id": alert.id, "event": event, **payload},
        dedup_key=f"{HEALTH_ALERT_KIND}:{alert.id}:{event}",
    )


def _app_key(session: Session, app_id: int) -> str:
    from builder.repository import AppRow

    return str(session.scalar(sa.select(AppRow.key).where(AppRow.id == app_id)) or app_id)


def _raise_alert(
    session: Session, workspace_id: int, app_id: int, trigger_key: str, now: datetime,
    *, rate: float, runs: int, failures: int, threshold: float, window: timedelta,
    repeated: bool = False,
) -> RuleAlert | None:
    existing = session.scalars(
        sa.select(RuleAlert).where(
            RuleAlert.app_id == app_id, RuleAlert.trigger_key == trigger_key,
            RuleAlert.cleared_at.is_(None),
        )
    ).first()
    if existing is not None:
        existing.success_rate, existing.runs, existing.failures = rate, runs, failures
        return None
    alert = RuleAlert(
        workspace_id=workspace_id, app_id=app_id, trigger_key=trigger_key,
        success_rate=rate, runs=runs, failures=failures, raised_at=to_naive_utc(now),
    )
    session.add(alert)
    session.flush()
    _queue_notice(
        session, alert, _app_key(session, app_id), "raised", now,
        rate=rate, runs=runs, failures=failures, threshold=threshold, repeated=repeated,
        cause=_main_cause(session, app_id, trigger_key, now - window),
    )
    return alert


def _clear_alerts(
    session: Session, app_id: int, trigger_key: str, now: datetime, *, rate: float, threshold: float
) -> int:
    cleared = 0
    for alert in session.scalars(
        sa.select(RuleAlert).where(RuleAlert.app_id == app_id, RuleAlert.trigger_key == trigger_key,
                                   RuleAlert.cleared_at.is_(None))
    ):
        alert.cleared_at = to_naive_utc(now)
        _queue_notice(session, alert, _app_key(session, app_id), "recovered", now,
                      rate=rate, threshold=threshold)
        cleared += 1
    return cleared


def _judge(
    session: Session, workspace_id: int, app_id: int, health: RuleHealth, now: datetime, window: timedelta
) -> RuleAlert | None:
    if health.success_rate is None:
        return None
    if health.success_rate < health.threshold:
        return _raise_alert(
            session, workspace_id, app_id, health.trigger_key, now,
            rate=health.success_rate, runs=health.runs, failures=health.failed,
            threshold=health.threshold, window=window,
        )
    _clear_alerts(session, app_id, health.trigger_key, now, rate=health.success_rate,
                  threshold=health.threshold)
    return None


def check_health(
    session: Session,
    workspace_id: int,
    app_id: int,
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    threshold: float | None = None,
) -> list[RuleAlert]:
    """Raises alerts for rules below their threshold and clears recovered ones (no commit).

    Each crossing queues one notice (raised or recovered) through the outbox."""
    raised: list[RuleAlert] = []
    for health in rule_health(session, workspace_id, app_id, now, window=window, threshold=threshold):
        alert = _judge(session, workspace_id, app_id, health, now, window)
        if alert is not None:
            raised.append(alert)
    return raised


def check_rule(
    session: Session, workspace_id: int, app_id: int, trigger_key: str, now: datetime,
) -> RuleAlert | None:
    """Right after a failed run of one rule: :data:`REPEATED_FAILURES` failures in a row →
    the alert (once; no commit). Cheap on purpose — an indexed look at the rule's last runs —
    since it runs after every failure; the success rate against the threshold is checked for
    every rule by :func:`check_health` with the sweeps."""
    already = session.scalar(
        sa.select(RuleAlert.id).where(RuleAlert.app_id == app_id, RuleAlert.trigger_key == trigger_key,
                                      RuleAlert.cleared_at.is_(None)).limit(1)
    )
    if already is not None:
        return None
    return flag_repeated_failures(session, workspace_id, app_id, trigger_key, now)


def flag_repeated_failures(
    session: Session, workspace_id: int, app_id: int, trigger_key: str, now: datetime
) -> RuleAlert | None:
    """Raises an alert when the trigger's last :data:`REPEATED_FAILURES` runs all failed."""
    last = list(
        session.scalars(
            sa.select(TriggerRun.status)
            .where(TriggerRun.app_id == app_id, TriggerRun.trigger_key == trigger_key,
                   TriggerRun.status.in_(SUCCESS + FAILURE), TriggerRun.kind != HEALTH_ALERT_KIND)
            .order_by(TriggerRun.id.desc())
            .limit(REPEATED_FAILURES)
        )
    )
    if len(last) < REPEATED_FAILURES or any(s in SUCCESS for s in last):
        return None
    return _raise_alert(
        session, workspace_id, app_id, trigger_key, now, rate=0.0, runs=len(last),
        failures=len(last), threshold=thresholds(session, workspace_id).of(app_id, trigger_key),
        window=DEFAULT_WINDOW, repeated=True,
    )


def alert_message(payload: dict[str, Any], trigger_key: str, app_key: str) -> tuple[str, str, str, str]:
    """(title, text, level, link) of an alert notice, in Chinese and English."""
    link = RUNS_PATH.format(app=app_key, rule=trigger_key)
    threshold = float(payload.get("threshold") or DEFAULT_THRESHOLD)
    rate = float(payload.get("rate") or 0.0)
    if payload.get("event") == "recovered":
        title = f"规则已恢复 / Rule recovered: {trigger_key}"
        text = (
            f"自动规则 {trigger_key} 的成功率回到 {rate:.1%}(阈值 {threshold:.1%})。\n"
            f"Automation rule {trigger_key} is back at {rate:.1%} (threshold {threshold:.1%})."
        )
        return title, text, "info", link
    runs, failures = int(payload.get("runs") or 0), int(payload.get("failures") or 0)
    why = cause(payload.get("cause")) if payload.get("cause") else None
    title = f"规则健康告警 / Rule health alert: {trigger_key}"
    zh = f"自动规则 {trigger_key} 成功率 {rate:.1%},低于阈值 {threshold:.1%}({failures}/{runs} 次失败)。"
    en = (f"Automation rule {trigger_key} succeeded {rate:.1%}, below the {threshold:.1%} threshold "
          f"({failures} of {runs} runs failed).")
    if payload.get("repeated"):
        zh += f" 已连续失败 {failures} 次。"
        en += f" It failed {failures} times in a row."
    if why is not None:
        zh += f" 主要原因:{why.zh}"
        en += f" Main cause: {why.en}"
    return title, f"{zh}\n{en}", "warning", link


def deliver_alert(session: Session, settings: Any, job: OutboxJob, key: str, now: datetime) -> dict[str, Any]:
    """Runs a ``health_alert`` job: the notice in every active admin's inbox (in the
    caller's transaction; the inbox channel writes each admin's row once per ``key``)."""
    from runtime.automation.channels.base import DeliveryContext, Message, Recipients, channel_for
    from runtime.net.guard import OutboundPolicy

    payload = dict(job.payload or {})
    title, text, level, link = alert_message(payload, job.trigger_key, job.app_key)
    admins = _admins(session, job.workspace_id)
    delivery = channel_for("inbox").deliver(
        DeliveryContext(
            settings=settings, policy=OutboundPolicy.from_settings(settings), idempotency_key=key,
            now=now, workspace_id=job.workspace_id, session=session, app_id=job.app_id,
            trigger_key=job.trigger_key, extra={"level": level},
        ),
        Message(title=title[:500], text=text, link=link),
        Recipients(user_ids=tuple(admins)),
    )
    return {"event": payload.get("event"), "alert_id": payload.get("alert_id"), "channel": "inbox",
            "recipients": admins, **delivery.as_json()}


# --------------------------------------------------------------------------- the board service


class RuleHealthBoard:
    """The rule-health board of one app for the acting user (admins and managers read;
    admins change thresholds). Services own their transactions."""

    def __init__(self, ctx: CallContext, app_id: int) -> None:
        if ctx.actor.role not in ("admin", "manager"):
            raise Forbidden("Only admins and managers may see rule health.",
                            message_zh="只有管理员和经理可以查看规则健康。")
        self.ctx = ctx
        self.app_id = app_id

    def board(self, *, days: int = 14, window: timedelta = DEFAULT_WINDOW) -> dict[str, Any]:
        """Rules with rate, threshold and flag over ``window``; daily rates over ``days``;
        failures by cause; the thresholds."""
        ctx = self.ctx
        now = ctx.now()
        stored = thresholds(ctx.session, ctx.workspace_id)
        rules = rule_health(ctx.session, ctx.workspace_id, self.app_id, now, window=window)
        series = daily_rates(ctx.session, ctx.workspace_id, self.app_id, now, ctx.tz, days=days)
        return {
            "window_days": window.days,
            "days": days,
            "threshold": stored.default,
            "threshold_stored": stored.stored_default,
            "items": [
                {**h.as_json(), "own_threshold": (self.app_id, h.trigger_key) in stored.rules}
                for h in rules
            ],
            "daily": {
                key: [{"day": d.isoformat(), "succeeded": ok, "failed": bad,
                       "success_rate": ok / (ok + bad) if ok + bad else None} for d, ok, bad in points]
                for key, points in series.items()
            },
            "causes": failure_causes(ctx.session, ctx.workspace_id, self.app_id, now, window=window),
        }

    def set_threshold(self, value: Any, *, trigger_key: str | None = None, name: str = "threshold") -> float:
        """Stores the workspace's threshold (or one rule's) from a percentage (0–100);
        ``None`` for a rule removes its own one. Commits; returns the fraction (or the
        workspace's default when a rule's own was removed)."""
        ctx = self.ctx
        if ctx.actor.role != "admin":
            raise Forbidden("Only workspace admins may change the alert threshold.",
                            message_zh="只有工作区管理员可以修改告警阈值。")
        scope = WORKSPACE_SCOPE if trigger_key is None else _scope(self.app_id, trigger_key)
        row = ctx.session.scalars(
            sa.select(RuleThreshold).where(RuleThreshold.workspace_id == ctx.workspace_id,
                                           RuleThreshold.scope == scope)
        ).one_or_none()
        if value is None and trigger_key is not None:
            if row is not None:
                ctx.session.delete(row)
            ctx.session.flush()
            check_health(ctx.session, ctx.workspace_id, self.app_id, ctx.now())
            ctx.session.commit()
            return thresholds(ctx.session, ctx.workspace_id).default
        fraction = parse_percent(value, name)
        if row is None:
            row = RuleThreshold(
                workspace_id=ctx.workspace_id, scope=scope,
                app_id=None if trigger_key is None else self.app_id, trigger_key=trigger_key,
            )
            ctx.session.add(row)
        row.threshold = fraction
        row.updated_at = to_naive_utc(ctx.now())
        row.updated_by = ctx.actor.id
        ctx.session.flush()
        # The new threshold takes effect at once for this app (the sweeps do the others).
        check_health(ctx.session, ctx.workspace_id, self.app_id, ctx.now())
        ctx.session.commit()
        return fraction
