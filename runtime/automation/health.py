"""Rule health: success rate per trigger over a window, and alerts below a threshold (S11, S34).

A run counts when it finished in the window: ``succeeded`` and ``skipped`` are successes;
``failed`` and ``cut`` (stopped by the loop cut) are failures; runs still retrying are not
counted yet. A trigger whose rate falls below the threshold (default 99.5 %) — or that
failed :data:`REPEATED_FAILURES` times in a row — gets an open :class:`RuleAlert` and an
inbox message to the workspace's admins; the alert clears when the rate recovers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.automation.models import InboxNotification, RuleAlert, TriggerRun
from runtime.clock import from_naive_utc, to_naive_utc
from runtime.models import User

DEFAULT_THRESHOLD = 0.995
DEFAULT_WINDOW = timedelta(days=7)
REPEATED_FAILURES = 3
SUCCESS = ("succeeded", "skipped")
FAILURE = ("failed", "cut")


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

    def as_json(self) -> dict[str, Any]:
        """The JSON form of the rule-health board."""
        return {
            "trigger": self.trigger_key,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "success_rate": self.success_rate,
            "last_error": self.last_error,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "flagged": self.flagged,
        }


def rule_health(
    session: Session,
    workspace_id: int,
    app_id: int,
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[RuleHealth]:
    """Health of every trigger of the app that ran in ``window`` before ``now``."""
    since = to_naive_utc(now - window)
    ok = sa.func.sum(sa.case((TriggerRun.status.in_(SUCCESS), 1), else_=0))
    bad = sa.func.sum(sa.case((TriggerRun.status.in_(FAILURE), 1), else_=0))
    rows = session.execute(
        sa.select(TriggerRun.trigger_key, ok, bad, sa.func.max(TriggerRun.finished_at))
        .where(
            TriggerRun.workspace_id == workspace_id,
            TriggerRun.app_id == app_id,
            TriggerRun.finished_at >= since,
            TriggerRun.status.in_(SUCCESS + FAILURE),
        )
        .group_by(TriggerRun.trigger_key)
        .order_by(TriggerRun.trigger_key)
    ).all()
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
                       TriggerRun.status.in_(FAILURE))
                .order_by(TriggerRun.finished_at.desc(), TriggerRun.id.desc())
                .limit(1)
            )
        rate = succeeded / runs if runs else None
        out.append(
            RuleHealth(
                trigger_key=key,
                runs=runs,
                succeeded=succeeded,
                failed=failed,
                success_rate=rate,
                last_error=last_error,
                last_run_at=from_naive_utc(last),
                flagged=key in open_alerts or (rate is not None and rate < threshold),
            )
        )
    return out


def _admins(session: Session, workspace_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(User.id).where(
                User.workspace_id == workspace_id, User.role == "admin", User.is_active.is_(True)
            )
        )
    )


def _raise_alert(
    session: Session, workspace_id: int, app_id: int, trigger_key: str, now: datetime,
    *, rate: float, runs: int, failures: int, reason: str,
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
    at = to_naive_utc(now)
    alert = RuleAlert(
        workspace_id=workspace_id, app_id=app_id, trigger_key=trigger_key,
        success_rate=rate, runs=runs, failures=failures, raised_at=at,
    )
    session.add(alert)
    session.flush()
    for user_id in _admins(session, workspace_id):
        session.add(
            InboxNotification(
                workspace_id=workspace_id,
                user_id=user_id,
                app_id=app_id,
                trigger_key=trigger_key,
                idempotency_key=f"alert:{alert.id}",
                title=f"规则健康告警 / Rule health alert: {trigger_key}"[:500],
                message=(
                    f"自动规则 {trigger_key} 成功率 {rate:.1%}({failures}/{runs} 次失败)。{reason}\n"
                    f"Automation rule {trigger_key} succeeded {rate:.1%} "
                    f"({failures} of {runs} runs failed). {reason}"
                ),
                level="warning",
                created_at=at,
            )
        )
    return alert


def check_health(
    session: Session,
    workspace_id: int,
    app_id: int,
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[RuleAlert]:
    """Raises alerts for triggers below ``threshold`` and clears recovered ones (no commit)."""
    raised: list[RuleAlert] = []
    for health in rule_health(session, workspace_id, app_id, now, window=window, threshold=threshold):
        if health.success_rate is None:
            continue
        if health.success_rate < threshold:
            alert = _raise_alert(
                session, workspace_id, app_id, health.trigger_key, now,
                rate=health.success_rate, runs=health.runs, failures=health.failed,
                reason=f"Last error: {health.last_error}" if health.last_error else "",
            )
            if alert is not None:
                raised.append(alert)
        else:
            session.execute(
                sa.update(RuleAlert)
                .where(RuleAlert.app_id == app_id, RuleAlert.trigger_key == health.trigger_key,
                       RuleAlert.cleared_at.is_(None))
                .values(cleared_at=to_naive_utc(now))
            )
    return raised


def flag_repeated_failures(
    session: Session, workspace_id: int, app_id: int, trigger_key: str, now: datetime
) -> RuleAlert | None:
    """Raises an alert when the trigger's last :data:`REPEATED_FAILURES` runs all failed."""
    last = list(
        session.scalars(
            sa.select(TriggerRun.status)
            .where(TriggerRun.app_id == app_id, TriggerRun.trigger_key == trigger_key,
                   TriggerRun.status.in_(SUCCESS + FAILURE))
            .order_by(TriggerRun.finished_at.desc(), TriggerRun.id.desc())
            .limit(REPEATED_FAILURES)
        )
    )
    if len(last) < REPEATED_FAILURES or any(s in SUCCESS for s in last):
        return None
    return _raise_alert(
        session, workspace_id, app_id, trigger_key, now, rate=0.0, runs=len(last),
        failures=len(last), reason=f"It failed {len(last)} times in a row.",
    )
