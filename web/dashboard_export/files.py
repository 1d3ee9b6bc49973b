"""The download response of a widget's rows, shared by the page route and the REST API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response

from runtime.apps import PublishedApp
from runtime.context import CallContext
from runtime.dashboard_export import FORMATS, export
from runtime.errors import NotFound


def widget_download(
    ctx: CallContext, app: PublishedApp, dashboard: str, widget: str, fmt: str, lang: str = "zh"
) -> Response:
    """The file of ``widget``'s rows as the caller may read them, headed in ``lang``
    (NotFound for a format other than csv and xlsx). Computed fresh: no result cache."""
    from runtime.dashboards import DashboardService

    if fmt not in FORMATS:
        raise NotFound(f"No export as {fmt!r}: use csv or xlsx.", message_zh=f"不支持导出为 {fmt}:请用 csv 或 xlsx。")
    header, rows = DashboardService(ctx.session, ctx, app).rows(dashboard, widget, lang=lang)
    body = export(header, rows, fmt, title=widget)
    name = f"{app.key}-{dashboard}-{widget}.{fmt}"
    headers: dict[str, Any] = {
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, mimetype=FORMATS[fmt].split(";")[0], headers=headers)
