"""What a record write tells the rest of the runtime, inside the write's transaction.

The record service calls every :class:`WriteListener` after a write and before commit; the
trigger engine is one: it matches triggers and writes outbox rows in the same transaction
(transactional outbox), and may return :class:`Prompt` suggestions for the client (S8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runtime.apps import PublishedApp
    from runtime.context import CallContext


@dataclass(frozen=True)
class RecordChange:
    """One committed-to-be change of a record.

    ``kind`` is created, updated, deleted, stage_changed or step_completed. ``before`` and
    ``after`` are the record's values (field key → Python value, system fields included);
    ``changed`` the keys whose value differs.
    """

    kind: str
    app_id: int
    app_key: str
    entity: str
    record_id: int
    at: datetime
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    changed: frozenset[str] = frozenset()
    stage_from: str | None = None
    stage_to: str | None = None
    step: str | None = None


@dataclass(frozen=True)
class Prompt:
    """A suggestion shown to the person whose write caused it (the ``prompt`` action)."""

    trigger: str
    message: Mapping[str, str]
    title: Mapping[str, str] = field(default_factory=dict)
    level: str = "info"

    def as_json(self) -> dict[str, Any]:
        """The JSON form returned by the API and rendered by the form."""
        return {
            "trigger": self.trigger,
            "title": dict(self.title),
            "message": dict(self.message),
            "level": self.level,
        }


class WriteListener(Protocol):
    """Told about every change inside the write's transaction; may return prompts."""

    def on_change(
        self, ctx: CallContext, app: PublishedApp, changes: Sequence[RecordChange]
    ) -> Sequence[Prompt]:
        """Reacts to the changes of one write (never commits)."""
        ...
