"""The rep's home page ("today": visits and tasks) and the health check."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("home", __name__, template_folder="templates")

from web.home import views  # noqa: E402,F401  (registers the routes)
