"""The designer's pages: ``/design`` (the workspace's apps) and the editor of one app."""

from __future__ import annotations

from typing import Any

from flask import render_template

from web.design import bp


@bp.get("/")
def index() -> Any:
    """The workspace's apps; the designer island mounts here."""
    return render_template("design/index.html")
