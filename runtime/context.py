"""What every runtime service call is handed explicitly: session, workspace, actor, clock.

There are no request globals below ``web``: a view builds a :class:`CallContext` from its
request and passes it down; the worker builds one per job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from runtime.clock import Clock
from runtime.models import User, Workspace


@dataclass(frozen=True)
class Actor:
    """Who acts: a user of the workspace, or the system (automation) when ``id`` is None."""

    id: int | None
    workspace_id: int
    role: str = "system"
    name: str = "system"
    region: str | None = None
    manager: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        """The actor for a signed-in user."""
        return cls(
            id=user.id,
            workspace_id=user.workspace_id,
            role=user.role,
            name=user.name,
            region=user.region,
            manager=user.manager,
        )

    @classmethod
    def system(cls, workspace_id: int) -> Actor:
        """The automation actor of a workspace."""
        return cls(id=None, workspace_id=workspace_id)

    def attributes(self) -> dict[str, Any]:
        """What ``me()`` shows to expressions."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "region": self.region,
            "manager": self.manager,
        }


@dataclass
class CallContext:
    """One service call's explicit inputs. ``depth`` counts trigger-caused writes."""

    session: Session
    workspace: Workspace
    actor: Actor
    clock: Clock
    depth: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def workspace_id(self) -> int:
        """The tenant every query of this call is restricted to."""
        return self.workspace.id

    @property
    def tz(self) -> tzinfo:
        """The workspace's time zone."""
        return ZoneInfo(self.workspace.timezone)

    def now(self) -> datetime:
        """The current time from the call's clock (aware UTC)."""
        return self.clock.now()
