"""API: the dashboards of a published app and their widgets' results (read only).

The caller's role decides which dashboards it may open (others: 403 ``dashboard_forbidden``)
and every figure is computed under the caller's row-level read conditions, exactly as on
the dashboard pages.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from runtime.apps import load_published
from runtime.dashboards import DashboardService
from web.api import bp
from web.api.auth import call_context, published_state
from web.dashboards.services import result_cache

DASHBOARDS = "/apps/<app_ref>/dashboards"


def _service(app_ref: str) -> DashboardService:
    ctx = call_context()
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    return DashboardService(ctx.session, ctx, app, cache=result_cache())


def _widget(w: Any) -> dict[str, Any]:
    layout = w.layout
    return {
        "key": w.key,
        "type": w.type,
        "label": w.label,
        "label_en": w.label_en,
        "entity": w.entity,
        "layout": {"x": layout.x, "y": layout.y, "w": layout.w, "h": layout.h},
    }


def _dashboard(board: Any, home_key: str | None) -> dict[str, Any]:
    return {
        "key": board.key,
        "label": board.label,
        "label_en": board.label_en,
        "home": board.key == home_key,
        "widgets": [_widget(w) for w in board.widgets],
    }


@bp.get(DASHBOARDS)
def list_dashboards(app_ref: str) -> Any:
    """The dashboards the caller's role may open, with their widgets (no figures)."""
    service = _service(app_ref)
    home = service.home_for()
    return jsonify(items=[_dashboard(b, home.key if home else None) for b in service.visible()])


@bp.get(DASHBOARDS + "/<dashboard>")
def get_dashboard(app_ref: str, dashboard: str) -> Any:
    """A dashboard with every widget's result."""
    service = _service(app_ref)
    board = service.find(dashboard)
    home = service.home_for()
    body = _dashboard(board, home.key if home else None)
    answers = {w["key"]: w for w in service.dashboard(dashboard)["widgets"]}
    for w in body["widgets"]:
        answer = answers[w["key"]]
        if "result" in answer:
            w["result"] = answer["result"]
        else:  # the role may not read this widget's entity
            w["error"] = answer["error"]
    return jsonify(body)


@bp.get(DASHBOARDS + "/<dashboard>/widgets/<widget>")
def get_widget(app_ref: str, dashboard: str, widget: str) -> Any:
    """One widget's result; ``?fresh=1`` computes it again instead of serving the cache's."""
    service = _service(app_ref)
    return jsonify(service.widget(dashboard, widget, fresh=request.args.get("fresh") == "1"))
