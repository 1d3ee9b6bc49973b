"""CSRF protection for every browser form (Flask-WTF); the token-authenticated API is exempt.

A POST, PUT, PATCH or DELETE from a page must carry the session's CSRF token, in the form
field ``csrf_token`` or the ``X-CSRFToken`` header (the form-state and upload requests of
``static/cairn.js`` use the header). A request without one is answered 400. The API under
``/api/v1`` authenticates each request with a bearer token, not a cookie, so a forged
cross-site request can't use it and it needs no CSRF token.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

protect = CSRFProtect()


def init_app(app: Flask) -> None:
    """Protects every blueprint except the API's (call after registering blueprints)."""
    from web.api import bp as api_bp

    protect.init_app(app)
    protect.exempt(api_bp)
