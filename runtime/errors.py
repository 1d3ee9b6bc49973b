"""The runtime's errors: one root, a stable ``code`` each, and the details a client needs.

The web layer maps these to HTTP in one place (``web/errors.py``); nothing here knows
about HTTP except the ``status`` hint each class carries for that mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class CairnError(Exception):
    """Root of every error the runtime raises on purpose."""

    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        message_zh: str | None = None,
        errors: Mapping[str, Sequence[str]] | None = None,
        detail: Mapping[str, Any] | None = None,
        code: str | None = None,
        fields: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}
        self.detail: dict[str, Any] = dict(detail or {})
        # Per field: {code, params, label, message, message_zh} (see runtime.field_messages).
        self.fields: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (fields or {}).items()}
        if code is not None:
            self.code = code


class NotFound(CairnError):
    """The thing does not exist in this workspace (or the caller may not know it does)."""

    code = "not_found"
    status = 404


class Forbidden(CairnError):
    """The actor's role may not do this."""

    code = "forbidden"
    status = 403


class Invalid(CairnError):
    """The input is wrong; ``errors`` maps field keys to short English reasons.

    ``fields`` carries the labelled messages in both languages (runtime.field_messages).
    """

    code = "validation_failed"
    status = 422


class StepLocked(Invalid):
    """A field of a locked step was written."""

    code = "step_locked"


class StageExitRefused(Invalid):
    """The record may not leave its stage: the exit criteria failed."""

    code = "stage_exit_refused"


class StageMoveRefused(Invalid):
    """The move goes back (or nowhere allowed) and the stage being left does not permit it."""

    code = "stage_move_refused"


class RuleViolated(Invalid):
    """A validation rule of the entity failed."""

    code = "rule_violated"


class Conflict(CairnError):
    """The record changed since the caller read it (stale ``version``) or a key is taken."""

    code = "conflict"
    status = 409


class PublishRefused(CairnError):
    """A revision can't be published as it is (e.g. values that can't be converted)."""

    code = "publish_refused"
    status = 422


class TooManyAttempts(CairnError):
    """Too many failed authentications from this caller; ``detail["retry_after"]`` seconds."""

    code = "too_many_attempts"
    status = 429


class PayloadTooLarge(CairnError):
    """A request body over the size the server accepts; nothing of it was looked at."""

    code = "payload_too_large"
    status = 413


class Unauthenticated(CairnError):
    """No valid credentials."""

    code = "unauthenticated"
    status = 401
