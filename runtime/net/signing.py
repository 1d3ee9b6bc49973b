"""HMAC-SHA256 signatures of Cairn's outbound webhooks (and how a receiver checks them).

A request carries ``X-Cairn-Timestamp: <unix seconds>`` and
``X-Cairn-Signature: sha256=<hex>``, the HMAC-SHA256 with the webhook's secret over
``<timestamp>.<raw body>``. A receiver recomputes it over the bytes it received, compares
in constant time and rejects timestamps older than a few minutes (replay window).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Cairn-Signature"
TIMESTAMP_HEADER = "X-Cairn-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Cairn-Event"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Cairn-Signature`` value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    received: str,
    *,
    now: int,
    tolerance_s: int = 300,
) -> bool:
    """True when ``received`` signs ``body`` at ``timestamp`` and it is within the window."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), received)
