"""Dashboards: widgets compiled to one SQL query each, under the viewer's row conditions.

* :class:`DashboardService` — the dashboards a viewer may open, widget results, drill
  conditions, export rows and the designer's preview;
* :class:`DrillCondition` — the records behind one cell of a widget;
* :class:`ResultCache` (:class:`MemoryCache`, :class:`RedisCache`, :func:`shared_cache`) —
  where results are cached, kept current by a change stamp.

See ``docs/dashboards.md`` ("Widget reference").
"""

from builder.dashboards import Dashboard, Widget
from runtime.dashboards.cache import MemoryCache, RedisCache, ResultCache, shared_cache
from runtime.dashboards.service import DashboardService, DrillCondition, table_of

__all__ = [
    "Dashboard",
    "DashboardService",
    "DrillCondition",
    "MemoryCache",
    "RedisCache",
    "ResultCache",
    "Widget",
    "shared_cache",
    "table_of",
]
