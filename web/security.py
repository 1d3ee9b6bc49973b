"""Response headers every answer carries, cookie flags, proxies, and the failure throttle.

``init_app`` is called once by the app factory. The headers are set in an
``after_request`` hook, so pages, API answers, redirects and error pages (404, 429, 500)
all carry them; a view that needs a stricter policy (file downloads: ``sandbox``) sets
its own ``Content-Security-Policy`` first and keeps it. docs/web.md lists these headers.
"""

from __future__ import annotations

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
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


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, ``Secure`` whenever the request came over HTTPS.

    ``SESSION_COOKIE_SECURE`` (``CAIRN_SECURE_COOKIES``) forces the flag on every answer;
    otherwise it follows ``request.is_secure``, which behind a reverse proxy is only true
    when ``CAIRN_PROXY_HOPS`` lets ``ProxyFix`` trust ``X-Forwarded-Proto``.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and request.is_secure


def add_security_headers(response: Response) -> Response:
    """Sets the headers of :data:`SECURITY_HEADERS` that the view did not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
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
