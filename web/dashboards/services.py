"""The dashboard service of a request, and dashboards presented for the page templates."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from runtime.apps import PublishedApp
from runtime.dashboards import DashboardService, MemoryCache, ResultCache, shared_cache
from runtime.errors import Forbidden, NotFound
from web import db
from web.i18n import language
from web.login import call_context

CACHE_EXTENSION = "cairn.dashboard_cache"


def result_cache() -> ResultCache:
    """The widget result cache of this Flask app: Redis when the deployment has one (shared
    by every process), else in-process. A testing app gets its own in-process cache, so
    tests on fresh databases never see each other's results."""
    cache: ResultCache | None = current_app.extensions.get(CACHE_EXTENSION)
    if cache is None:
        settings = db.platform().settings
        cache = shared_cache(settings.redis_url) if settings.redis_url and not settings.testing else MemoryCache()
        current_app.extensions[CACHE_EXTENSION] = cache
    return cache


def dashboard_service(app: PublishedApp) -> DashboardService:
    """The dashboard service for this page request."""
    return DashboardService(db.session(), call_context(), app, cache=result_cache())


def find_dashboard(service: DashboardService, key: str) -> Any:
    """The dashboard ``key`` if the viewer's role may open it: 404 if the app has none,
    403 if it is not open to the role."""
    for board in service.visible():
        if board.key == key:
            return board
    if any(isinstance(raw, dict) and raw.get("key") == key for raw in service.app.definition.dashboards):
        raise Forbidden(
            f"The dashboard {key!r} is not open to your role.",
            message_zh=f"你的角色不能打开仪表盘 {key}。",
            code="dashboard_forbidden",
        )
    raise NotFound(
        f"The app {service.app.key!r} has no dashboard {key!r}.",
        message_zh=f"应用 {service.app.key} 中没有仪表盘 {key}。",
        code="dashboard_not_found",
    )


def with_columns(app: PublishedApp, widget: Any, result: dict[str, Any]) -> dict[str, Any]:
    """A record table's result with ``columns`` (key and labels, in the widget's order) when
    the engine gave none: the page heads each column with the field's label."""
    if "records" not in result or result.get("columns"):
        return result
    keys: list[str] = list(widget.columns)
    for record in result["records"]:
        keys.extend(k for k in record.get("values", {}) if k not in keys)
    entity = app.definition.entity(widget.entity)
    columns = []
    for key in keys:
        spec = entity.field(key) if entity is not None else None
        zh, en = (spec.label.get("zh"), spec.label.get("en")) if spec is not None else SYSTEM_LABELS.get(key, (key, key))
        columns.append({"key": key, "label": zh, "label_en": en})
    return result | {"columns": columns}


#: Labels of the system columns a record table may show.
SYSTEM_LABELS = {
    "id": ("编号", "ID"), "created_at": ("创建时间", "Created"), "updated_at": ("更新时间", "Updated"),
    "owner": ("负责人", "Owner"), "created_by": ("创建人", "Created by"), "stage": ("阶段", "Stage"),
}


def find_widget(service: DashboardService, dashboard_key: str, widget_key: str) -> Any:
    """The widget of a dashboard the viewer may open (404 ``widget_not_found`` if none)."""
    board = find_dashboard(service, dashboard_key)
    widget = board.widget(widget_key)
    if widget is None:
        raise NotFound(
            f"The dashboard {dashboard_key!r} has no widget {widget_key!r}.",
            message_zh=f"仪表盘 {dashboard_key} 中没有部件 {widget_key}。",
            code="widget_not_found",
        )
    return widget


def present(app: PublishedApp, board: Any) -> dict[str, Any]:
    """What the page templates need of a dashboard: its title, and per widget its place on
    the grid, its JSON address and the addresses its figures drill into.

    Widgets come in reading order (by row, then column): the order of the one-column
    phone layout.
    """
    lang = language()
    widgets = []
    for w in sorted(board.widgets, key=lambda w: (w.layout.y, w.layout.x)):
        entity_open = w.entity in {e.key for e in app.definition.entities} and w.entity not in app.archived_entities
        widgets.append(
            {
                "key": w.key,
                "type": w.type,
                "title": w.text(lang),
                "x": w.layout.x,
                "y": w.layout.y,
                "w": w.layout.w,
                "h": w.layout.h,
                "data_url": url_for("dashboards.widget_data", app_key=app.key, dashboard_key=board.key, widget_key=w.key),
                "list_url": url_for("apps.list_records", app_key=app.key, entity_key=w.entity) if entity_open else None,
                "record_url": url_for("apps.record_detail", app_key=app.key, entity_key=w.entity, record_id=0)
                if entity_open
                else None,
            }
        )
    return {"key": board.key, "title": board.text(lang), "widgets": widgets}
