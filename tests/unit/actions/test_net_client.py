"""The outbound HTTP client against local servers: pinning, limits, redirects."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from runtime.net.client import OutboundRequest, send
from runtime.net.errors import ConnectFailed, OutboundTimeout, ResponseTooLarge, UnsafeTarget
from runtime.net.guard import OutboundPolicy, check_url
from tests.unit.actions.servers import Answer, http_endpoint

LOCAL = OutboundPolicy(allowlist=("127.0.0.1", "::1"))


def post(url: str, **kwargs: object) -> OutboundRequest:
    return OutboundRequest("POST", url, {"Content-Type": "application/json"}, b'{"a":1}', **kwargs)  # type: ignore[arg-type]


def test_posts_to_an_allow_listed_local_server() -> None:
    with http_endpoint() as server:
        response = send(post(server.url("/in?x=1")), LOCAL)
    assert response.status == 200 and response.ok
    assert response.json() == {"errcode": 0, "errmsg": "ok"}
    (got,) = server.received
    assert got.method == "POST" and got.path == "/in?x=1" and got.body == b'{"a":1}'
    assert got.headers["host"] == f"127.0.0.1:{server.port}"


def test_ipv6_loopback_when_allow_listed() -> None:
    assert check_url("http://[::1]:8080/", LOCAL).addresses == ("::1",)
    try:
        ctx = http_endpoint("::1")
        server = ctx.__enter__()
    except OSError:  # no IPv6 loopback on this machine: the guard check above still ran
        return
    try:
        assert send(post(server.url()), LOCAL).status == 200
    finally:
        ctx.__exit__(None, None, None)


def test_refused_target_is_never_contacted() -> None:
    with http_endpoint() as server:
        with pytest.raises(UnsafeTarget):
            send(post(server.url()), OutboundPolicy())
    assert server.received == []


def test_connects_to_the_checked_address_and_sends_the_host_name() -> None:
    calls: list[str] = []

    def resolver(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return ["127.0.0.1"]

    policy = OutboundPolicy(allowlist=("hooks.test",), resolver=resolver)
    with http_endpoint() as server:
        send(post(f"http://hooks.test:{server.port}/pinned"), policy)
    assert calls == ["hooks.test"]  # resolved once, by the guard; the socket used that answer
    assert server.received[0].headers["host"] == f"hooks.test:{server.port}"


def test_declared_oversize_response_is_refused() -> None:
    with http_endpoint() as server:
        server.script(Answer(body=b"x" * 5000))
        with pytest.raises(ResponseTooLarge):
            send(post(server.url(), max_response_bytes=1000), LOCAL)


def test_undeclared_oversize_response_is_cut() -> None:
    with http_endpoint() as server:
        server.script(Answer(body=b"y" * 300_000, headers={"Connection": "close", "Content-Length": ""}))
        with pytest.raises(ResponseTooLarge):
            send(post(server.url(), max_response_bytes=100_000), LOCAL)


def test_slow_answer_times_out() -> None:
    # The answer would arrive complete after 1.5 s, so the timeout is the only way to get
    # OutboundTimeout: no wall-clock assertion is needed (the time is printed).
    with http_endpoint() as server:
        server.script(Answer(delay_s=1.5))
        started = time.monotonic()
        with pytest.raises(OutboundTimeout):
            send(post(server.url(), timeout_s=0.3), LOCAL)
        print(f"timed out after {time.monotonic() - started:.2f}s")


def test_dripping_answer_hits_the_overall_deadline() -> None:
    # Every byte arrives 0.05 s after the previous one, far inside the 0.5 s read timeout:
    # only the overall deadline (40 bytes take 2 s) can raise OutboundTimeout.
    with http_endpoint() as server:
        server.script(Answer(body=b"z" * 40, drip_s=0.05))
        started = time.monotonic()
        with pytest.raises(OutboundTimeout):
            send(post(server.url(), timeout_s=0.5), LOCAL)
        print(f"stopped after {time.monotonic() - started:.2f}s")


def test_closed_port_is_a_retryable_connect_failure() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(ConnectFailed) as info:
        send(post(f"http://127.0.0.1:{port}/"), LOCAL)
    assert info.value.retryable


def test_redirect_to_metadata_service_is_refused() -> None:
    with http_endpoint() as server:
        server.script(Answer(status=302, headers={"Location": "http://169.254.169.254/latest/"}))
        with pytest.raises(UnsafeTarget):
            send(post(server.url(), max_redirects=3), LOCAL)


def test_redirect_to_loopback_name_is_refused_even_from_an_allowed_host() -> None:
    from runtime.net.guard import system_resolver

    def resolver(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"] if host == "hooks.test" else system_resolver(host, port)

    # Only the name hooks.test is allowed; "localhost" resolves to loopback and is not.
    policy = OutboundPolicy(allowlist=("hooks.test",), resolver=resolver)
    with http_endpoint() as server:
        server.script(Answer(status=307, headers={"Location": f"http://localhost:{server.port}/x"}))
        with pytest.raises(UnsafeTarget):
            send(post(f"http://hooks.test:{server.port}/hook", max_redirects=3), policy)
    assert len(server.received) == 1


def test_safe_redirect_is_followed_and_303_becomes_get() -> None:
    with http_endpoint() as server:
        server.script(Answer(status=303, headers={"Location": "/next"}), Answer(body=b"done"))
        response = send(post(server.url(), max_redirects=2), LOCAL)
    assert response.body == b"done"
    assert [(r.method, r.path) for r in server.received] == [("POST", "/hook"), ("GET", "/next")]


def test_redirects_are_not_followed_by_default() -> None:
    with http_endpoint() as server:
        server.script(Answer(status=302, headers={"Location": "/elsewhere"}))
        response = send(post(server.url()), LOCAL)
    assert response.status == 302 and len(server.received) == 1


#: A test-only self-signed certificate (and its key) for ``hooks.test``, valid until 2126.
CERT = str(Path(__file__).with_name("data") / "hooks_test.pem")


def _trusting(cafile: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    return context


def _hooks_test(host: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"] if host in ("hooks.test", "other.test") else []


def test_https_connects_to_the_pinned_address_with_sni_and_verifies_the_name() -> None:
    policy = OutboundPolicy(allowlist=("hooks.test",), resolver=_hooks_test)
    with http_endpoint(tls_pem=CERT) as server:
        response = send(post(f"https://hooks.test:{server.port}/tls"), policy, tls_context=_trusting(CERT))
    assert response.status == 200
    assert server.received[0].headers["host"] == f"hooks.test:{server.port}"


def test_https_certificate_for_another_name_is_refused() -> None:
    policy = OutboundPolicy(allowlist=("other.test",), resolver=_hooks_test)
    with http_endpoint(tls_pem=CERT) as server:
        with pytest.raises(ConnectFailed, match="certificate|hostname"):
            send(post(f"https://other.test:{server.port}/tls"), policy, tls_context=_trusting(CERT))
    assert server.received == []
