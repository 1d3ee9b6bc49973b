"""Sign-in, sign-out and the language switch for browser users."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from web.auth import account, views  # noqa: E402,F401  (registers the routes)
