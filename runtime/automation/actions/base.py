"""The contract every action type implements, and the registry they join.

An action runs inside a job taken from the outbox. It gets an :class:`ActionContext` and
its validated configuration (the dataclass that ``builder.triggers`` loaded for that action
type) and returns an :class:`ActionOutcome`. It raises :class:`TransientActionError` for a
failure worth retrying (timeouts, 5xx) and :class:`PermanentActionError` otherwise. The
``idempotency_key`` is unique per (outbox job, action index): an action with an external
effect records it so that a redelivered job does not repeat the effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runtime.apps import PublishedApp
    from runtime.context import CallContext
    from runtime.settings import Settings


@dataclass(frozen=True)
class ActionContext:
    """Everything one action run may use; the session belongs to the job's transaction."""

    call: CallContext
    app: PublishedApp
    settings: Settings
    trigger_key: str
    entity: str
    record_id: int | None
    record: Mapping[str, Any] | None
    idempotency_key: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionOutcome:
    """What an action did: ``status`` ok / skipped, and a JSON-able ``detail``."""

    status: str = "ok"
    detail: Mapping[str, Any] = field(default_factory=dict)


class ActionError(Exception):
    """Root of action failures."""

    code = "action_failed"


class TransientActionError(ActionError):
    """Worth retrying later with backoff."""

    code = "action_transient"


class PermanentActionError(ActionError):
    """Retrying won't help; recorded as failed."""

    code = "action_permanent"


class ActionHandler(Protocol):
    """One action type (``set_field``, ``notify`` ...)."""

    type: str

    def run(self, ctx: ActionContext, config: Any) -> ActionOutcome:
        """Performs the action once."""
        ...


_REGISTRY: dict[str, ActionHandler] = {}


def register(handler: ActionHandler) -> ActionHandler:
    """Adds ``handler`` to the registry under its ``type``."""
    _REGISTRY[handler.type] = handler
    return handler


def handler_for(action_type: str) -> ActionHandler:
    """The handler of ``action_type``; KeyError if none registered."""
    return _REGISTRY[action_type]


def registered_types() -> tuple[str, ...]:
    """Every registered action type."""
    return tuple(sorted(_REGISTRY))
