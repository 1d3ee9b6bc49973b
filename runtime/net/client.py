"""Sends one outbound HTTP request safely (standard library only).

The request goes to an address :func:`runtime.net.guard.check_url` accepted: the socket
connects to that IP while the ``Host`` header and TLS SNI/certificate check use the URL's
host name. One deadline bounds connecting, sending and reading; the body is read up to a
cap; redirects are followed only when asked and each new location is checked again.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from runtime.net.errors import (
    ConnectFailed,
    OutboundError,
    OutboundTimeout,
    ResponseTooLarge,
    TooManyRedirects,
)
from runtime.net.guard import OutboundPolicy, Target, check_url

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
USER_AGENT = "Cairn-Outbound/1"
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class OutboundRequest:
    """One request: method, URL, headers, body and its limits."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = 0


@dataclass(frozen=True)
class OutboundResponse:
    """A response read within the limits; header names are lower-case."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def text(self, limit: int = 500) -> str:
        """The start of the body as text (for error messages)."""
        return self.body[:limit].decode("utf-8", errors="replace")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed, already-checked address."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a fixed address, verifying the certificate of the host name."""

    def __init__(
        self, target: Target, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def send(
    request: OutboundRequest,
    policy: OutboundPolicy,
    *,
    tls_context: ssl.SSLContext | None = None,
) -> OutboundResponse:
    """Sends ``request`` if ``policy`` allows its target (and every redirect's target).

    Raises :class:`~runtime.net.errors.UnsafeTarget` for a refused target,
    :class:`OutboundTimeout` past ``timeout_s``, :class:`ConnectFailed` when no checked
    address accepts a connection, :class:`ResponseTooLarge` past the size cap and
    :class:`TooManyRedirects`. A non-2xx status is returned, not raised.
    """
    deadline = time.monotonic() + request.timeout_s
    method, url, body = request.method.upper(), request.url, request.body
    for _hop in range(request.max_redirects + 1):
        target = check_url(url, policy)
        response = _send_once(target, method, request, body, deadline, tls_context)
        location = response.headers.get("location")
        if response.status not in _REDIRECTS or not location or request.max_redirects == 0:
            return response
        url = urljoin(url, location)
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, body = "GET", None
    raise TooManyRedirects(f"more than {request.max_redirects} redirects from {request.url}")


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise OutboundTimeout("the request took longer than its time limit")
    return left


def _send_once(
    target: Target,
    method: str,
    request: OutboundRequest,
    body: bytes | None,
    deadline: float,
    tls_context: ssl.SSLContext | None,
) -> OutboundResponse:
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
    headers.update(request.headers)
    headers["Host"] = target.host_header
    last_error: OutboundError | None = None
    for address in target.addresses:
        conn: http.client.HTTPConnection
        if target.scheme == "https":
            context = tls_context or ssl.create_default_context()
            conn = _PinnedHTTPSConnection(target, address, _remaining(deadline), context)
        else:
            conn = _PinnedHTTPConnection(target, address, _remaining(deadline))
        try:
            try:
                conn.connect()
            except TimeoutError as exc:
                last_error = OutboundTimeout(f"connecting to {target.host} ({address}) timed out")
                last_error.__cause__ = exc
                continue
            except (OSError, ssl.SSLError) as exc:
                last_error = ConnectFailed(f"could not connect to {target.host} ({address}): {exc}")
                last_error.__cause__ = exc
                continue
            return _exchange(conn, target, method, headers, body, request, deadline)
        finally:
            conn.close()
    assert last_error is not None  # the guard never returns a target without addresses
    raise last_error


def _exchange(
    conn: http.client.HTTPConnection,
    target: Target,
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    request: OutboundRequest,
    deadline: float,
) -> OutboundResponse:
    try:
        conn.putrequest(method, target.request_path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        # getresponse() hands the socket to the response (conn.sock becomes None on
        # "Connection: close"), so keep our own reference to adjust its timeout.
        sock = conn.sock
        assert sock is not None
        sock.settimeout(_remaining(deadline))
        response = conn.getresponse()
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        declared = response_headers.get("content-length", "")
        if declared.isdigit() and int(declared) > request.max_response_bytes:
            raise ResponseTooLarge(
                f"response of {declared} bytes exceeds the {request.max_response_bytes}-byte cap"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            sock.settimeout(_remaining(deadline))
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > request.max_response_bytes:
                raise ResponseTooLarge(
                    f"response exceeds the {request.max_response_bytes}-byte cap"
                )
            chunks.append(chunk)
    except TimeoutError as exc:
        raise OutboundTimeout(f"{target.host} did not answer in time") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectFailed(f"request to {target.host} failed: {exc}") from exc
    return OutboundResponse(
        status=response.status, headers=response_headers, body=b"".join(chunks), url=target.url
    )
