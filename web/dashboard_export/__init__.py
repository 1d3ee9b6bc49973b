"""A dashboard widget's data as a CSV or XLSX download, for the signed-in user (issue 12).

``GET /apps/<app>/dashboards/<dashboard>/widgets/<widget>/export.csv`` (or ``.xlsx``): the
rows come from ``DashboardService.rows`` under the user's permissions; the REST API has
the same under ``/api/v1`` with a token (``web.api.dashboard_export``).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard_export", __name__)

from web.dashboard_export import views  # noqa: E402,F401
