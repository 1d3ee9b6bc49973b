"""The generated app pages: record lists, forms with live step cards, detail and timeline."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("apps", __name__, url_prefix="/a", template_folder="templates")

from web.apps import uploads, views  # noqa: E402,F401  (registers the routes)
