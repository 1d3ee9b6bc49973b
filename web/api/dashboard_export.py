"""API: a dashboard widget's data as CSV or XLSX (``format=csv|xlsx``), under the caller's permissions."""

from __future__ import annotations

from typing import Any

from flask import request

from runtime.apps import load_published
from web.api import bp
from web.api.auth import call_context, published_state
from web.dashboard_export.files import widget_download
from web.i18n import language


@bp.get("/apps/<app_ref>/dashboards/<dashboard>/widgets/<widget>/export")
def export_dashboard_widget(app_ref: str, dashboard: str, widget: str) -> Any:
    """The rows of ``widget`` as a file: ``format=csv`` (default, UTF-8 with BOM) or ``xlsx``."""
    ctx = call_context()
    app = load_published(ctx.session, ctx.workspace_id, app_ref, published_state(app_ref))
    return widget_download(ctx, app, dashboard, widget, request.args.get("format", "csv"), language())


def export_paths(spec: Any) -> None:
    """The OpenAPI entry of the export route (called by ``web.api.openapi.build_spec``)."""
    from web.api.openapi import FORBIDDEN, _op, _params

    files = {"text/csv": {"schema": {"type": "string"}},
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                 {"schema": {"type": "string", "format": "binary"}}}
    spec.path("/apps/{app}/dashboards/{dashboard}/widgets/{widget}/export", operations={
        "get": _op(
            "A dashboard widget's data as CSV (UTF-8 with BOM) or XLSX, as the caller may read it; "
            "text cells that would start a formula get a leading '",
            {"200": {"description": "The file (Content-Disposition: attachment)", "content": files}},
            {"403": FORBIDDEN,
             "404": _problem_not_found()},
            params=[*_params("app", "dashboard", "widget"),
                    {"name": "format", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"}}],
        ),
    })


def _problem_not_found() -> Any:
    from web.api.openapi import _problem

    return _problem("Unknown app, dashboard or widget, a dashboard the caller's role may not open, "
                    "or a format other than csv and xlsx (not_found)")
