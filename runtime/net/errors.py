"""Errors of outbound requests, each with a stable ``code``.

``retryable`` tells an action whether trying again later may succeed (a timeout, a
refused connection) or cannot (a refused target, a response that is too large).
"""

from __future__ import annotations


class OutboundError(Exception):
    """Root of every outbound-request failure."""

    code = "outbound_failed"
    retryable = False


class UnsafeTarget(OutboundError):
    """The URL's scheme or resolved address is not allowed (SSRF protection)."""

    code = "unsafe_target"


class InvalidUrl(UnsafeTarget):
    """The URL can't be parsed into scheme, host and port."""

    code = "invalid_url"


class ResolveFailed(OutboundError):
    """The host name did not resolve (DNS may recover: retryable)."""

    code = "resolve_failed"
    retryable = True


class ConnectFailed(OutboundError):
    """The connection was refused, reset or failed TLS (retryable)."""

    code = "connect_failed"
    retryable = True


class OutboundTimeout(OutboundError):
    """Connecting or reading took longer than the request's time limit (retryable)."""

    code = "timeout"
    retryable = True


class ResponseTooLarge(OutboundError):
    """The response body exceeded the size cap."""

    code = "response_too_large"


class TooManyRedirects(OutboundError):
    """More redirects than allowed."""

    code = "too_many_redirects"
