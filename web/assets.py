"""Front-end packages from the npm registry, served from ``node_modules``.

``package.json`` and ``package-lock.json`` pin them; ``make setup`` runs ``npm ci``.
Nothing is copied into the repository and nothing is loaded from a CDN, so pages work on
a LAN without internet. Only the files listed in :data:`VENDOR_FILES` are served.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, send_from_directory
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"

# URL name under /vendor/ → path inside node_modules.
VENDOR_FILES: dict[str, str] = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
}

bp = Blueprint("assets", __name__)


@bp.get("/vendor/<path:name>")
def vendor(name: str) -> Response:
    """One allow-listed file of an npm package (cached for a day)."""
    target = VENDOR_FILES.get(name)
    if target is None:
        abort(404)
    root = Path(current_app.config.get("CAIRN_NODE_MODULES", NODE_MODULES))
    return send_from_directory(root, target, max_age=86400)


def init_app(app: Flask) -> None:
    """Registers the vendor route and warns once when ``npm ci`` has not been run."""
    app.register_blueprint(bp)
    root = Path(app.config.get("CAIRN_NODE_MODULES", NODE_MODULES))
    missing = [n for n, p in VENDOR_FILES.items() if not (root / p).is_file()]
    if missing:
        log.warning(
            "front-end packages missing (%s) under %s: run `make setup` (npm ci)",
            ", ".join(missing),
            root,
        )
