"""The OpenAPI paths of the dashboards API (``web/api/dashboards.py``); called by ``build_spec``."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from web.api.dashboard_schemas import SCHEMAS
from web.api.openapi import _ok, _op, _params, _problem

NO_DASHBOARD = _problem(
    "Unknown app, dashboard or widget — or one of another workspace (not_found, dashboard_not_found, widget_not_found)"
)
MAY_NOT = _problem(
    "The dashboard is not open to the caller's role (dashboard_forbidden), or the role may not read a widget's entity (forbidden)"
)


def register_schemas(spec: APISpec) -> None:
    """Adds the dashboard schemas to the document's components."""
    for name, schema in SCHEMAS.items():
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)


def dashboard_paths(spec: APISpec) -> None:
    """The dashboards a role may open, one dashboard's results, one widget's result."""
    fresh: list[dict[str, Any]] = [
        {"name": "fresh", "in": "query", "required": False, "schema": {"type": "string", "enum": ["1"]},
         "description": "Compute the result again instead of serving a cached one"}
    ]
    spec.path("/apps/{app}/dashboards", operations={
        "get": _op("The app's dashboards the caller's role may open", {"200": _ok("Dashboards", "DashboardList")},
                   {"404": _problem("Unknown app — or one of another workspace (not_found)")}, params=_params("app")),
    })
    spec.path("/apps/{app}/dashboards/{dashboard}", operations={
        "get": _op("A dashboard with every widget's result, under the caller's row-level read conditions",
                   {"200": _ok("Dashboard", "DashboardDetail")}, {"403": MAY_NOT, "404": NO_DASHBOARD},
                   params=_params("app", "dashboard")),
    })
    spec.path("/apps/{app}/dashboards/{dashboard}/widgets/{widget}", operations={
        "get": _op("One widget's result (WidgetResult), under the caller's row-level read conditions",
                   {"200": _ok("Result", "WidgetResult")}, {"403": MAY_NOT, "404": NO_DASHBOARD},
                   params=_params("app", "dashboard", "widget") + fresh),
    })
