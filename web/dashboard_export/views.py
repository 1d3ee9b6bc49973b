"""The session-authenticated download routes (see the package docstring)."""

from __future__ import annotations

from typing import Any

from flask_login import login_required

from web.apps.services import published
from web.dashboard_export import bp
from web.dashboard_export.files import widget_download
from web.i18n import language
from web.login import call_context

EXPORT = "/apps/<app_key>/dashboards/<dashboard>/widgets/<widget>/export.<fmt>"


@bp.get(EXPORT)
@login_required  # type: ignore[misc]
def export_widget(app_key: str, dashboard: str, widget: str, fmt: str) -> Any:
    """The widget's rows as ``fmt`` (csv or xlsx)."""
    return widget_download(call_context(), published(app_key), dashboard, widget, fmt, language())
