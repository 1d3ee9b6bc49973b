"""The dashboard service of a request, and dashboards presented for the page templates."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from runtime.apps import PublishedApp
from runtime.dashboards import DashboardService, MemoryCache, ResultCache, shared_cache
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
