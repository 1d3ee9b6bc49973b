"""The http_webhook action against a local server: body, HMAC headers, retries, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from builder.triggers import HttpWebhook
from runtime.automation.actions.base import (
    ActionContext,
    PermanentActionError,
    TransientActionError,
    handler_for,
)
from runtime.automation.actions.http_webhook import HttpWebhookHandler
from runtime.net.signing import signature, verify
from runtime.settings import Settings
from tests.unit.actions.servers import Answer, http_endpoint

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "whsec_test"


def action_context(allow: tuple[str, ...] = ("127.0.0.1",), key: str = "41:2") -> ActionContext:
    settings = Settings(
        database_url="sqlite://", secret_key="k", instance_path=Path("/tmp"), webhook_allowlist=allow
    )
    call: Any = SimpleNamespace(now=lambda: NOW)
    app: Any = SimpleNamespace(key="sales")
    return ActionContext(
        call=call, app=app, settings=settings, trigger_key="lead_won", entity="lead", record_id=7,
        record={"id": 7, "name": "华联超市", "amount": Decimal("1200.50"), "closed_at": NOW},
        idempotency_key=key, payload={"change": "updated"},
    )


def handler() -> HttpWebhookHandler:
    return HttpWebhookHandler()


def test_registered_under_its_type() -> None:
    assert handler_for("http_webhook").type == "http_webhook"


def test_signed_post_with_idempotency_key() -> None:
    with http_endpoint() as server:
        outcome = handler().run(action_context(), HttpWebhook(url=server.url("/in"), secret=SECRET))
    assert outcome.status == "ok" and outcome.detail["status"] == 200
    (got,) = server.received
    body = json.loads(got.body)
    assert body == {
        "id": "41:2", "event": "lead_won", "app": "sales", "entity": "lead", "record_id": 7,
        "record": {"id": 7, "name": "华联超市", "amount": "1200.50", "closed_at": "2026-11-23T09:00:00+00:00"},
        "payload": {"change": "updated"}, "sent_at": "2026-11-23T09:00:00+00:00",
    }
    assert got.headers["idempotency-key"] == "41:2"
    assert got.headers["x-cairn-event"] == "lead_won"
    timestamp = got.headers["x-cairn-timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    assert got.headers["x-cairn-signature"] == signature(SECRET, int(timestamp), got.body)
    assert verify(SECRET, timestamp, got.body, got.headers["x-cairn-signature"], now=int(NOW.timestamp()))
    assert not verify("wrong", timestamp, got.body, got.headers["x-cairn-signature"], now=int(NOW.timestamp()))


def test_signature_known_vector() -> None:
    # HMAC-SHA256(key="whsec", "1700000000.{\"a\":1}"), computed with openssl.
    assert signature("whsec", 1700000000, b'{"a":1}') == (
        "sha256=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032"
    )


def test_verify_rejects_stale_timestamps() -> None:
    sig = signature(SECRET, 1000, b"x")
    assert not verify(SECRET, "1000", b"x", sig, now=1000 + 301)


def test_unsigned_without_secret() -> None:
    with http_endpoint() as server:
        handler().run(action_context(), HttpWebhook(url=server.url()))
    assert "x-cairn-signature" not in server.received[0].headers


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_retryable_statuses_are_transient(status: int) -> None:
    with http_endpoint() as server:
        server.script(Answer(status=status, headers={"Retry-After": "30"}))
        with pytest.raises(TransientActionError, match=f"HTTP {status}"):
            handler().run(action_context(), HttpWebhook(url=server.url(), retries=2))
    assert len(server.received) == 1  # one attempt per run; the engine retries with backoff


def test_a_retried_run_sends_the_same_idempotency_key_and_body() -> None:
    with http_endpoint() as server:
        server.script(Answer(status=503), Answer(status=200, body=b"ok"))
        with pytest.raises(TransientActionError):
            handler().run(action_context(), HttpWebhook(url=server.url(), secret=SECRET))
        outcome = handler().run(action_context(), HttpWebhook(url=server.url(), secret=SECRET))
    assert outcome.status == "ok"
    first, second = server.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "41:2"


def test_closed_port_is_transient() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TransientActionError, match="connect_failed"):
        handler().run(action_context(), HttpWebhook(url=f"http://127.0.0.1:{port}/"))


def test_timeout_is_transient() -> None:
    with http_endpoint() as server:
        server.script(Answer(delay_s=1.2))
        with pytest.raises(TransientActionError, match="timeout"):
            handler().run(action_context(), HttpWebhook(url=server.url(), timeout_s=1, retries=0))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_is_permanent(status: int) -> None:
    with http_endpoint() as server:
        server.script(Answer(status=status, body=b'{"error":"bad"}'))
        with pytest.raises(PermanentActionError, match=str(status)):
            handler().run(action_context(), HttpWebhook(url=server.url(), retries=3))


def test_oversize_response_is_permanent() -> None:
    with http_endpoint() as server:
        server.script(Answer(body=b"x" * 400_000))
        with pytest.raises(PermanentActionError, match="response_too_large"):
            handler().run(action_context(), HttpWebhook(url=server.url(), retries=0))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/", "http://localhost/", "http://169.254.169.254/", "http://10.0.0.1/",
     "http://[::ffff:127.0.0.1]/", "http://2130706433/"],
)
def test_unsafe_targets_are_refused_permanently(url: str) -> None:
    with pytest.raises(PermanentActionError, match="unsafe_target"):
        handler().run(action_context(allow=()), HttpWebhook(url=url, retries=3))


def test_redirect_to_an_internal_address_is_refused() -> None:
    with http_endpoint() as server:
        server.script(Answer(status=307, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
        with pytest.raises(PermanentActionError, match="unsafe_target"):
            handler().run(action_context(), HttpWebhook(url=server.url(), retries=0))
