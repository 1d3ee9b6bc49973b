"""The app's home, its dashboards and their widgets' JSON (session-authenticated).

Permissions are the runtime's: :class:`DashboardService` lists only the dashboards the
viewer's role may open, refuses the others (403/404) and computes every widget under the
viewer's row-level read conditions. A widget's JSON is fetched by the page's script, so a
slow or refused widget does not hold up the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from runtime.apps import PublishedApp
from web.apps.services import published
from web.dashboards import bp
from web.dashboards.services import (
    dashboard_service,
    present,
)

STATIC = Path(__file__).resolve().parent.parent / "static" / "dashboards"


def _asset_url(name: str) -> str:
    """A bundled file's URL, versioned by its modification time (``make setup`` builds it)."""
    try:
        version = int((STATIC / name).stat().st_mtime)
    except FileNotFoundError:
        current_app.logger.error("dashboard bundle missing: run `make setup` (npx vite build --config vite.dashboards.mjs)")
        version = 0
    return url_for("static", filename=f"dashboards/{name}", v=version)


def _page(template: str, **context: Any) -> str:
    return render_template(
        template,
        dashboards_js_url=_asset_url("dashboards.js"),
        dashboards_css_url=_asset_url("dashboards.css"),
        **context,
    )


def _entities(app: PublishedApp) -> list[Any]:
    return [e for e in app.definition.entities if e.key not in app.archived_entities]


@bp.get("")
@login_required  # type: ignore[misc]
def home(app_key: str) -> str:
    """The app's home: the viewer's home dashboard on top, then its lists and dashboards."""
    app = published(app_key)
    service = dashboard_service(app)
    board = service.home_for()
    return _page(
        "dashboards/home.html",
        app=app,
        board=present(app, board) if board is not None else None,
        boards=[present(app, b) for b in service.visible()],
        entities=_entities(app),
    )


@bp.get("/dashboards")
@login_required  # type: ignore[misc]
def index(app_key: str) -> str:
    """The dashboards of the app the viewer's role may open."""
    app = published(app_key)
    return _page("dashboards/index.html", app=app, boards=[present(app, b) for b in dashboard_service(app).visible()])


@bp.get("/dashboards/<dashboard_key>")
@login_required  # type: ignore[misc]
def show(app_key: str, dashboard_key: str) -> str:
    """One dashboard: its widgets on the grid (their results are fetched by the script)."""
    app = published(app_key)
    board = dashboard_service(app).find(dashboard_key)
    return _page("dashboards/show.html", app=app, board=present(app, board))


@bp.get("/dashboards/<dashboard_key>/data")
@login_required  # type: ignore[misc]
def dashboard_data(app_key: str, dashboard_key: str) -> Response:
    """Every widget of a dashboard with its result (JSON)."""
    app = published(app_key)
    service = dashboard_service(app)
    return jsonify(service.dashboard(dashboard_key))


@bp.get("/dashboards/<dashboard_key>/widgets/<widget_key>")
@login_required  # type: ignore[misc]
def widget_data(app_key: str, dashboard_key: str, widget_key: str) -> Response:
    """One widget's result (JSON); ``?fresh=1`` computes it again instead of the cache's."""
    app = published(app_key)
    fresh = request.args.get("fresh") == "1"
    service = dashboard_service(app)
    return jsonify(service.widget(dashboard_key, widget_key, fresh=fresh))


@bp.get("/<entity_key>")
@login_required  # type: ignore[misc]
def entity_list(app_key: str, entity_key: str) -> Response:
    """``/apps/<app>/<entity>?drill=…``, the drill address the contract names: the list page."""
    app = published(app_key)
    app.entity(entity_key)  # 404 for an entity the app does not have
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("app_key", "entity_key")}
    return redirect(url_for("apps.list_records", app_key=app.key, entity_key=entity_key, **args))
