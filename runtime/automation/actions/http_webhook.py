"""The ``http_webhook`` action: POST the record as signed JSON to another system.

Configuration (``builder.triggers.HttpWebhook``): ``url``, optional ``secret``,
``timeout_s`` per attempt and ``retries``. Each run makes one attempt (a worker never
sleeps between tries): timeouts, connection errors, 408 / 425 / 429 and 5xx answers raise
:class:`TransientActionError`, and the engine runs the job again with its backoff, up to
``retries + 1`` attempts in all (``runtime.automation.jobs``). Other 4xx answers, refused
targets (SSRF guard) and over-large responses raise :class:`PermanentActionError`.

Every request carries ``Idempotency-Key`` (the action run's key: the same on every retry
and redelivery, so a receiver can drop duplicates), ``X-Cairn-Event`` (the trigger key)
and, with a secret, ``X-Cairn-Timestamp`` and ``X-Cairn-Signature: sha256=<hex>`` (HMAC-
SHA256 over ``<timestamp>.<body>``, see :mod:`runtime.net.signing`). Body::

    {"id": "<idempotency key>", "event": "<trigger>", "app": "<app key>",
     "entity": "lead", "record_id": 42, "record": {...}, "payload": {...},
     "sent_at": "2026-11-23T08:00:00+00:00"}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from runtime.automation.actions.base import (
    ActionContext,
    ActionOutcome,
    PermanentActionError,
    TransientActionError,
    register,
)
from runtime.net.client import OutboundRequest, OutboundResponse, send
from runtime.net.errors import OutboundError
from runtime.net.guard import OutboundPolicy
from runtime.net.signing import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from runtime.values import to_json

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RESPONSE_BYTES = 256 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "Cairn-Webhook/1"


class HttpWebhookConfig(Protocol):
    """What the action reads (``builder.triggers.HttpWebhook``)."""

    url: str
    secret: str | None
    timeout_s: int
    retries: int


Sender = Callable[[OutboundRequest, OutboundPolicy], OutboundResponse]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return to_json(value)


def webhook_body(ctx: ActionContext) -> bytes:
    """The JSON body sent for ``ctx`` (compact, UTF-8, keys sorted: stable for signing)."""
    document = {
        "id": ctx.idempotency_key,
        "event": ctx.trigger_key,
        "app": ctx.app.key,
        "entity": ctx.entity,
        "record_id": ctx.record_id,
        "record": _jsonable(ctx.record) if ctx.record is not None else None,
        "payload": _jsonable(ctx.payload),
        "sent_at": ctx.call.now().isoformat(),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def webhook_headers(ctx: ActionContext, body: bytes, secret: str | None) -> dict[str, str]:
    """The request headers, signed when ``secret`` is set."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: ctx.idempotency_key,
        EVENT_HEADER: ctx.trigger_key,
    }
    if secret:
        timestamp = int(ctx.call.now().timestamp())
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    return headers


class HttpWebhookHandler:
    """Runs ``http_webhook`` actions: one attempt per run; the engine retries."""

    type = "http_webhook"

    def __init__(self, send: Sender = send) -> None:
        self.send = send

    def run(self, ctx: ActionContext, config: Any) -> ActionOutcome:
        """POSTs the record once; a failure worth retrying raises TransientActionError."""
        cfg: HttpWebhookConfig = config
        policy = OutboundPolicy.from_settings(ctx.settings)
        body = webhook_body(ctx)
        request = OutboundRequest(
            method="POST",
            url=cfg.url,
            headers=webhook_headers(ctx, body, cfg.secret),
            body=body,
            timeout_s=float(cfg.timeout_s),
            max_response_bytes=MAX_RESPONSE_BYTES,
            max_redirects=MAX_REDIRECTS,
        )
        try:
            response = self.send(request, policy)
        except OutboundError as exc:
            error = TransientActionError if exc.retryable else PermanentActionError
            raise error(f"[{exc.code}] {exc}") from exc
        if response.ok:
            return ActionOutcome("ok", {"status": response.status, "response": response.text(200)})
        if response.status in RETRYABLE_STATUSES:
            retry_after = response.headers.get("retry-after")
            hint = f" (Retry-After: {retry_after})" if retry_after else ""
            raise TransientActionError(
                f"[webhook_unavailable] {cfg.url} answered HTTP {response.status}{hint}"
            )
        raise PermanentActionError(
            f"[webhook_rejected] {cfg.url} answered HTTP {response.status}: {response.text(200)}"
        )


register(HttpWebhookHandler())
