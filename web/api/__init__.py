"""The REST API under /api/v1: JSON in and out, problem+json errors, token auth."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Importing the modules registers their routes; auth adds the token check.
from web.api import (  # noqa: E402,F401
    apps,
    auth,
    automation,
    dashboard_export,
    dashboards,
    openapi,
    people,
    records,
)
