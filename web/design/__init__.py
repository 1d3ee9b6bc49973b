"""The designer: workspace admins build and change apps in the browser.

``/design`` serves the designer shell (a server-rendered frame with the left rail) and the
client-side island that edits a draft; ``/design/api/...`` are the JSON endpoints the
island calls (thin wrappers over :mod:`runtime.designer`); ``/design/apps/<id>/preview``
renders the rep's form from a draft. Only admins of the workspace get in.
"""

from __future__ import annotations

from flask import Blueprint

from web.shell import require_admin

bp = Blueprint("design", __name__, url_prefix="/design", template_folder="templates")
bp.before_request(require_admin)

from web.design import api, preview, views  # noqa: E402,F401  (registers the routes)
