"""Response headers every answer carries, cookie flags, proxies, and the failure throttle.

``init_app`` is called once by the app factory. The headers are set in an
``after_request`` hook, so pages, API answers, redirects and error pages (404, 429, 500)
all carry them; a view that needs a stricter policy (file downloads: ``sandbox``) sets
its own ``Content-Security-Policy`` first and keeps it. docs/web.md lists these headers.
"""

from __future__ import annotations

from flask import Flask, Request, Response, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from werkzeug.middleware.proxy_fix import ProxyFix

from runtime.settings import Settings

#: No inline script or style, nothing from another site, no plugins, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=()",
}
#: The same headers as pairs, and their names lowercased (see add_security_headers).
_HEADER_ITEMS = tuple(SECURITY_HEADERS.items())
_HEADER_NAMES = frozenset(name.lower() for name in SECURITY_HEADERS)

#: Requests under this path are the token-authenticated API: no session cookie.
API_PREFIX = "/api/"

#: Pages the designer shows in a frame of its own page (the phone preview) may be framed by
#: this site, and by no other: the same policy with ``frame-ancestors 'self'``.
SAME_ORIGIN_FRAMING = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'"),
    "X-Frame-Options": "SAMEORIGIN",
}


def allow_same_origin_framing(response: Response) -> Response:
    """Lets pages of this site (only) show ``response`` in a frame (see SAME_ORIGIN_FRAMING)."""
    for name, value in SAME_ORIGIN_FRAMING.items():
        response.headers[name] = value
    return response


class ApiSession(SecureCookieSession):
    """The empty session of an API request: never read from a cookie, never saved."""


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, ``Secure`` whenever the request came over HTTPS.

    ``SESSION_COOKIE_SECURE`` (``CAIRN_SECURE_COOKIES``) forces the flag on every answer;
    otherwise it follows ``request.is_secure``, which behind a reverse proxy is only true
    when ``CAIRN_PROXY_HOPS`` lets ``ProxyFix`` trust ``X-Forwarded-Proto``.

    The API (``/api/…``) authenticates every request with a bearer token, never with the
    cookie: its requests get an empty :class:`ApiSession` without the cookie being read
    or its signature checked, and their answers never carry ``Set-Cookie`` (nor
    ``Vary: Cookie``), whatever the request sent.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIX):
            return ApiSession()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, ApiSession):
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and request.is_secure


def add_security_headers(response: Response) -> Response:
    """Sets the headers of :data:`SECURITY_HEADERS` that the view did not set itself.

    Most answers set none of them: those get all six appended at once; only an answer
    that set one (a download's sandbox policy, a framed preview) is merged name by name.
    """
    headers = response.headers
    for name, _value in headers:
        if name.lower() in _HEADER_NAMES:
            for header, value in _HEADER_ITEMS:
                headers.setdefault(header, value)
            return response
    headers.extend(_HEADER_ITEMS)
    return response


def init_app(app: Flask, settings: Settings) -> None:
    """Installs the headers, the cookie policy, the proxy fix and the throttle."""
    app.config.update(
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
    )
    app.session_interface = SessionInterface()
    if settings.proxy_hops > 0:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    app.after_request(add_security_headers)
    from web.auth.throttle import THROTTLE_EXTENSION, FailureThrottle

    app.extensions[THROTTLE_EXTENSION] = FailureThrottle(
        settings.rate_limit_storage, prefix=settings.rate_limit_prefix
    )
