"""E-mail over SMTP against a local SMTP sink."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from runtime.automation.channels.base import (
    DeliveryContext,
    DeliveryError,
    Message,
    Recipients,
    channel_for,
)
from runtime.automation.channels.email import message_id, parse_smtp_url
from runtime.net.guard import OutboundPolicy
from runtime.settings import Settings
from tests.unit.actions.servers import smtp_sink

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MESSAGE = Message(title="需求确认超时 / Need confirmation overdue", text="客户 华联超市 已超时", link="https://cairn.test/r/1")


def context(smtp_url: str | None, key: str = "12:1") -> DeliveryContext:
    settings = Settings(
        database_url="sqlite://", secret_key="k", instance_path=Path("/tmp"),
        smtp_url=smtp_url, mail_from="Cairn <cairn@acme.test>",
    )
    return DeliveryContext(
        settings=settings, policy=OutboundPolicy(), idempotency_key=key, now=NOW, workspace_id=1
    )


def test_parse_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.local:2525")
    assert (plain.host, plain.port, plain.starttls, plain.implicit_tls) == ("mail.local", 2525, False, False)
    tls = parse_smtp_url("smtps://bot%40acme.test:p%40ss@mail.acme.test")
    assert (tls.port, tls.implicit_tls, tls.username, tls.password) == (465, True, "bot@acme.test", "p@ss")
    assert parse_smtp_url("smtp://h?starttls=1").starttls
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.local")


def test_sends_one_utf8_message_with_a_stable_message_id() -> None:
    with smtp_sink() as sink:
        url = f"smtp://127.0.0.1:{sink.port}"
        delivery = channel_for("email").deliver(
            context(url), MESSAGE, Recipients(addresses=("ann@acme.test", "bob@acme.test"))
        )
    (mail,) = sink.messages
    assert mail.mail_from == "cairn@acme.test"
    assert mail.rcpt_to == ["ann@acme.test", "bob@acme.test"]
    parsed = message_from_bytes(mail.data, policy=policy.default)
    assert parsed["Subject"] == "需求确认超时 / Need confirmation overdue"
    assert parsed["To"] == "ann@acme.test, bob@acme.test"
    assert parsed["Message-ID"] == message_id("12:1", "cairn@acme.test")
    assert parsed["Auto-Submitted"] == "auto-generated"
    body = parsed.get_body().get_content()  # type: ignore[union-attr]
    assert "客户 华联超市 已超时" in body and "https://cairn.test/r/1" in body
    assert delivery.sent_to == ("ann@acme.test", "bob@acme.test")


def test_same_idempotency_key_same_message_id() -> None:
    assert message_id("12:1", "x@acme.test") == message_id("12:1", "x@acme.test")
    assert message_id("12:1", "x@acme.test") != message_id("12:2", "x@acme.test")


def test_login_when_the_url_has_credentials() -> None:
    with smtp_sink() as sink:
        channel_for("email").deliver(
            context(f"smtp://bot:secret@127.0.0.1:{sink.port}"), MESSAGE, Recipients(addresses=("a@acme.test",))
        )
    assert sink.messages[0].auth is not None and sink.messages[0].auth.startswith("AUTH PLAIN")


def test_partly_refused_recipients_are_reported() -> None:
    with smtp_sink() as sink:
        sink.reject_rcpt = {"gone@acme.test"}
        delivery = channel_for("email").deliver(
            context(f"smtp://127.0.0.1:{sink.port}"), MESSAGE,
            Recipients(addresses=("a@acme.test", "gone@acme.test")),
        )
    assert delivery.sent_to == ("a@acme.test",) and delivery.detail["refused"] == ["gone@acme.test"]


@pytest.mark.parametrize(("code", "retryable"), [(451, True), (554, False)])
def test_server_answers_map_to_retryable_or_not(code: int, retryable: bool) -> None:
    with smtp_sink() as sink:
        sink.fail_data = code
        with pytest.raises(DeliveryError) as info:
            channel_for("email").deliver(
                context(f"smtp://127.0.0.1:{sink.port}"), MESSAGE, Recipients(addresses=("a@acme.test",))
            )
    assert info.value.retryable is retryable


def test_unreachable_server_is_retryable() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(DeliveryError) as info:
        channel_for("email").deliver(
            context(f"smtp://127.0.0.1:{port}?timeout=2"), MESSAGE, Recipients(addresses=("a@acme.test",))
        )
    assert info.value.retryable


def test_not_configured_or_no_address_is_permanent() -> None:
    with pytest.raises(DeliveryError) as unset:
        channel_for("email").deliver(context(None), MESSAGE, Recipients(addresses=("a@acme.test",)))
    with pytest.raises(DeliveryError) as nobody:
        channel_for("email").deliver(context("smtp://127.0.0.1:1"), MESSAGE, Recipients(addresses=("not-an-address",)))
    assert not unset.value.retryable and not nobody.value.retryable
