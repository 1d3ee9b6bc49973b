"""The admin console: people and access, automation run history and rule health.

Server-rendered pages inside the same shell as the designer (``web/templates/shell.html``):
the left rail links the designer's apps and the console's pages. Only admins get in.
"""

from __future__ import annotations

from flask import Blueprint

from web.shell import require_admin

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
bp.before_request(require_admin)

from web.admin import people, retention, runs  # noqa: E402,F401  (registers the routes)
