"""The designer's pages: ``/design`` (the workspace's apps) and the editor of one app.

The page is a server-rendered shell; the designer island (``web/design/src``, built by
Vite into ``web/static/design/``) mounts on ``#designer``. CodeMirror injects its styles
at run time, so the page's Content-Security-Policy admits ``<style>`` elements that carry
the page's nonce, which the island hands to CodeMirror (``EditorView.cspNonce``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import current_app, make_response, render_template, url_for

from web.design import bp
from web.security import CONTENT_SECURITY_POLICY

BUNDLE = Path(__file__).resolve().parent.parent / "static" / "design" / "designer.js"


def bundle_url() -> str:
    """The island's script URL, versioned by the bundle's modification time."""
    try:
        version = int(BUNDLE.stat().st_mtime)
    except FileNotFoundError:
        current_app.logger.error("designer bundle missing: run `make setup` (npx vite build)")
        version = 0
    return url_for("static", filename="design/designer.js", v=version)


def island_page(template: str, **context: Any) -> Any:
    """Renders a page hosting the island, with a per-response style nonce in its CSP."""
    nonce = secrets.token_urlsafe(16)
    response = make_response(
        render_template(template, style_nonce=nonce, bundle_url=bundle_url(), **context)
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'"
    )
    return response


@bp.get("/")
def index() -> Any:
    """The workspace's apps; the designer island mounts here."""
    return island_page("design/index.html")
