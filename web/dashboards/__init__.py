"""Dashboard pages of a published app: the app's home, its dashboards, their widgets' JSON.

``/apps/<app>`` is the app's home (the viewer's ``home_for`` dashboard on top, then the
app's lists and dashboards), ``/apps/<app>/dashboards`` lists the dashboards the viewer's
role may open and ``/apps/<app>/dashboards/<d>`` shows one on a 12-column grid (one column
on a phone). The page is server-rendered; the script bundled from ``web/dashboards/src``
(Apache ECharts) fetches each widget's result from the session-authenticated JSON routes
here and renders it. The numbers come from :class:`runtime.dashboards.DashboardService`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboards", __name__, url_prefix="/apps/<app_key>", template_folder="templates")

from web.dashboards import views  # noqa: E402,F401  (registers the routes)
