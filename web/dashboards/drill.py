"""Drill-down on a list page: ``?drill=<dashboard>.<widget>&cell.<dimension>=<value>``.

The dashboard service turns the widget and the clicked cell into the SQL condition of
exactly the records behind the figure (the widget's filter, period and the cell's
dimension values; the viewer's row-level read condition is applied by the lister as on
every list). The list page shows it as a chip — "来自 经理工作台 › 区域 × 阶段: 华东 · 方案"
— with a link back to the dashboard and one that clears it. The address is shareable: it
is computed again, under the row conditions of whoever opens it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import url_for

from builder.model import Entity
from runtime.apps import PublishedApp
from runtime.errors import CairnError
from web.dashboards.services import dashboard_service
from web.i18n import language

#: Longest drill parameter read (a dashboard and a widget key, or one cell value).
MAX_PARAM = 500
MAX_CELLS = 8


class DrillRefused(Exception):
    """The drill parameters name nothing this viewer may open; the list says why."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


@dataclass(frozen=True)
class Drill:
    """An applied drill-down: the condition for the lister and what the chip shows."""

    condition: Any
    dashboard_title: str
    widget_title: str
    description: str
    dashboard_url: str
    clear_url: str


def drill_args(args: Mapping[str, str]) -> dict[str, str]:
    """The drill parameters of a query string (kept by the list's filter form)."""
    return {k: v for k, v in args.items() if k == "drill" or k.startswith("cell.")}


def drill_from_args(app: PublishedApp, entity: Entity, args: Mapping[str, str]) -> Drill | None:
    """The drill-down the query string asks for, or None; :class:`DrillRefused` if it is wrong."""
    raw = args.get("drill")
    if not raw:
        return None
    dashboard_key, dot, widget_key = raw.partition(".")
    if not dot or not dashboard_key or not widget_key or len(raw) > MAX_PARAM:
        raise DrillRefused(
            f"The drill-down parameter {raw[:80]!r} is not <dashboard>.<widget>; open the list from a dashboard again.",
            f"下钻参数 {raw[:80]} 的格式应为 <仪表盘>.<部件>,请从仪表盘重新打开列表。",
        )
    cells = {k[len("cell.") :]: v for k, v in args.items() if k.startswith("cell.") and len(k) > len("cell.")}
    if len(cells) > MAX_CELLS or any(len(v) > MAX_PARAM or "\x00" in v for v in cells.values()):
        raise DrillRefused("The drill-down cell is not valid.", "下钻的单元格参数无效。")
    service = dashboard_service(app)
    try:
        board = service.find(dashboard_key)
        widget = board.widget(widget_key)
        if widget is None:
            raise DrillRefused(
                f"The dashboard {board.key!r} has no widget {widget_key!r}; it may have been changed since the link was made.",
                f"仪表盘 {board.key} 中没有部件 {widget_key},链接生成后仪表盘可能已修改。",
            )
        condition = service.drill(dashboard_key, widget_key, cells or None)
    except CairnError as exc:
        raise DrillRefused(exc.message, exc.message_zh) from None
    if condition.entity != entity.key:
        other = app.definition.entity(condition.entity)
        named = other.label if other else None
        raise DrillRefused(
            f"This drill-down lists {named.get('en') if named else condition.entity} records, not {entity.label.get('en')}.",
            f"该下钻列出的是{named.get('zh') if named else condition.entity}记录,而不是{entity.label.get('zh')}。",
        )
    lang = language()
    return Drill(
        condition=condition.condition,
        dashboard_title=board.text(lang),
        widget_title=widget.text(lang),
        description=condition.describe(lang),
        dashboard_url=url_for("dashboards.show", app_key=app.key, dashboard_key=board.key),
        clear_url=url_for("apps.list_records", app_key=app.key, entity_key=entity.key),
    )
