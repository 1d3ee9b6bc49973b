"""Staged rollout: a trigger with a ``rollout`` fires only for a chosen group of users.

A trigger's optional ``rollout`` (``{"users": [ids]}``, ``{"roles": ["rep"]}`` or both)
limits it to records whose **owner** — or the user whose write fired it — is in the group;
without ``rollout`` it fires for everyone. Removing ``rollout`` (and publishing) rolls the
rule out to everyone.

The group is applied in one place, where a firing's job starts to run
(:func:`runtime.automation.jobs.run_job`): a firing outside the group ends as
``cancelled`` with the cause ``not_in_rollout``, so run history shows it and rule health
does not count it. The dry run (:mod:`runtime.automation.dryrun`) applies the same test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from builder.triggers import Rollout
from runtime.models import User


def _user_id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def rollout_member(
    session: Session, workspace_id: int, rollout: Rollout | None, people: Iterable[Any]
) -> int | None | bool:
    """Who of ``people`` (user ids: the owner, the actor) is in the group.

    ``True`` when there is no rollout (everyone), the first member's id when one is in it,
    ``None`` when nobody is.
    """
    if rollout is None:
        return True
    ids = [i for i in (_user_id(p) for p in people) if i is not None]
    for user_id in ids:
        if user_id in rollout.users:
            return user_id
    if rollout.roles and ids:
        rows = session.execute(
            sa.select(User.id, User.role).where(User.workspace_id == workspace_id, User.id.in_(set(ids)))
        ).all()
        roles = {row.id: row.role for row in rows}
        for user_id in ids:
            if roles.get(user_id) in rollout.roles:
                return user_id
    return None


def describe(rollout: Rollout | None) -> dict[str, str]:
    """The group in words, ``{"zh", "en"}``."""
    if rollout is None:
        return {"zh": "所有人", "en": "everyone"}
    parts_en: list[str] = []
    parts_zh: list[str] = []
    if rollout.users:
        ids = ", ".join(str(u) for u in rollout.users)
        parts_en.append(f"users {ids}")
        parts_zh.append(f"用户 {ids}")
    if rollout.roles:
        roles = ", ".join(rollout.roles)
        parts_en.append(f"roles {roles}")
        parts_zh.append(f"角色 {roles}")
    return {"zh": "、".join(parts_zh), "en": " and ".join(parts_en)}
