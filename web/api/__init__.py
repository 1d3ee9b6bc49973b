"""The REST API under /api/v1: JSON in and out, problem+json errors, token auth."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import (  # noqa: E402,F401
    apps,
    auth,  # noqa: E402,F401  (registers the token check)
    openapi,
    records,
)
