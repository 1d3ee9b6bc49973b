"""A dashboard or widget result written as a message: titles, headline figures, links.

Pure formatting of the engine's WidgetResult JSON (``runtime.dashboards``): a number card
gives its measures (with the previous period and the change when it compares), a sentence
its sentence, a chart or grouped table its first rows, a funnel its stages, a record table
its first records and a map its number of points. Each row links to the list of the records
behind it (the drill URL) and the message links to the dashboard, when the base URL where
Cairn is served is known (``CAIRN_BASE_URL``): robots and e-mail need absolute links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

#: Where the web layer serves a dashboard, a drill-down list and a record page.
DASHBOARD_PATH = "/apps/{app}/dashboards/{dashboard}"
LIST_PATH = "/a/{app}/{entity}/"
RECORD_PATH = "/a/{app}/{entity}/{id}"


class Links:
    """Absolute links of one app's dashboards, or none without a base URL."""

    def __init__(self, base_url: str | None, app: str) -> None:
        self.base = base_url.rstrip("/") if base_url else None
        self.app = app

    def dashboard(self, dashboard: str) -> str | None:
        """The dashboard's page."""
        if self.base is None:
            return None
        return self.base + DASHBOARD_PATH.format(app=quote(self.app), dashboard=quote(dashboard))

    def drill(self, entity: str, dashboard: str, widget: str, cell: Mapping[str, Any] | None) -> str | None:
        """The list of the records behind ``cell`` of a widget (all of them without a cell)."""
        if self.base is None:
            return None
        query = [("drill", f"{dashboard}.{widget}")]
        query += [(f"cell.{k}", "" if v is None else str(v)) for k, v in (cell or {}).items()]
        return self.base + LIST_PATH.format(app=quote(self.app), entity=quote(entity)) + "?" + urlencode(query)

    def record(self, entity: str, record_id: Any) -> str | None:
        """A record's page."""
        if self.base is None:
            return None
        return self.base + RECORD_PATH.format(app=quote(self.app), entity=quote(entity), id=record_id)


def _en(lang: str) -> bool:
    return lang.startswith("en")


def label_of(item: Mapping[str, Any], lang: str) -> str:
    """``label_en`` in English when there is one, else ``label`` (a string or {zh, en})."""
    label = item.get("label")
    if isinstance(label, Mapping):
        label = label.get("en" if _en(lang) else "zh") or label.get("zh") or label.get("en")
    if _en(lang) and item.get("label_en"):
        return str(item["label_en"])
    return str(label or item.get("key") or "")


def format_value(value: Any, fmt: str | None, lang: str) -> str:
    """A measure's value for reading: thousands separators, percents, money with 2 decimals."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if fmt == "percent":
        return f"{float(value) * 100:.1f}%"
    if fmt == "money":
        return f"{float(value):,.2f}"
    if fmt == "integer" or (isinstance(value, int) and fmt in (None, "")):
        return f"{int(round(float(value))):,}"
    number = float(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"


def _delta(value: Any) -> str:
    if not isinstance(value, int | float | Decimal) or isinstance(value, bool):
        return ""
    pct = float(value) * 100
    return f"{'+' if pct >= 0 else ''}{pct:.0f}%"


def _measures(result: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return result.get("measures") or ()


def _values_text(values: Mapping[str, Any], measures: Sequence[Mapping[str, Any]], lang: str) -> str:
    parts = []
    for m in measures:
        if m.get("key") in values:
            parts.append(f"{label_of(m, lang)} {format_value(values[m['key']], m.get('format'), lang)}")
    return ", ".join(parts) if _en(lang) else ",".join(parts)


def _row_label(row: Mapping[str, Any], lang: str) -> str:
    labels = row.get("labels_en" if _en(lang) else "labels") or row.get("labels") or {}
    cell = row.get("cell") or {}
    names = [str(labels.get(k, v)) if labels.get(k, v) not in (None, "") else ("(empty)" if _en(lang) else "(空)")
             for k, v in cell.items()]
    return " · ".join(names)


def widget_lines(
    result: Mapping[str, Any], *, dashboard: str, entity: str | None, lang: str, top: int, links: Links,
) -> list[str]:
    """The lines of one widget: its title, then its headline figures (with links)."""
    en = _en(lang)
    kind = result.get("type")
    key = str(result.get("key"))
    lines = [f"**{label_of(result, lang)}**"]
    measures = _measures(result)
    error = result.get("error")
    if isinstance(error, Mapping):
        message = error.get("message" if en else "message_zh") or error.get("message") or ""
        lines.append(f"(not available: {message})" if en else f"(无法查看:{message})")
        return lines

    def drill(cell: Mapping[str, Any] | None) -> str:
        url = links.drill(entity, dashboard, key, cell) if entity else None
        return f" {url}" if url else ""

    if kind == "sentence":
        text = result.get("sentence_en" if en else "sentence") or result.get("sentence") or ""
        lines.append(str(text) + drill(None))
    elif kind == "number":
        total = result.get("total") or {}
        values = total.get("values") or {}
        previous = total.get("previous") or {}
        delta = total.get("delta") or {}
        for m in measures:
            mkey = m.get("key")
            if mkey not in values:
                continue
            text = f"{label_of(m, lang)}: {format_value(values[mkey], m.get('format'), lang)}"
            if mkey in previous:
                before = format_value(previous[mkey], m.get("format"), lang)
                change = _delta(delta.get(mkey))
                text += (f" (previous {before}{', ' + change if change else ''})" if en
                         else f"(上期 {before}{',' + change if change else ''})")
            lines.append(text)
        lines[-1] += drill(None)
    elif kind == "funnel":
        for stage in (result.get("stages") or ())[:top]:
            name = stage.get("label_en") if en and stage.get("label_en") else stage.get("label") or stage.get("stage")
            conversion = stage.get("conversion")
            conv = f" ({format_value(conversion, 'percent', lang)})" if conversion is not None else ""
            lines.append(f"- {name}: {format_value(stage.get('count'), 'integer', lang)}{conv}"
                         + drill({"stage": stage.get("stage")}))
    elif kind == "map":
        points = result.get("points") or ()
        lines.append((f"{len(points)} points" if en else f"{len(points)} 个点位") + drill(None))
    elif result.get("records") is not None and not result.get("rows"):
        records = result.get("records") or ()
        for record in records[:top]:
            url = links.record(entity, record.get("id")) if entity else None
            lines.append(f"- {record.get('title') or '#' + str(record.get('id'))}" + (f" {url}" if url else ""))
        if not records:
            lines.append("(no records)" if en else "(无记录)")
    else:
        rows = result.get("rows") or ()
        for row in rows[:top]:
            lines.append(f"- {_row_label(row, lang)}: {_values_text(row.get('values') or {}, measures, lang)}"
                         + drill(row.get("cell")))
        if len(rows) > top:
            lines.append(f"… and {len(rows) - top} more" if en else f"… 另有 {len(rows) - top} 项")
        if not rows:
            lines.append("(no data)" if en else "(无数据)")
    return lines


def report_text(
    widgets: Sequence[tuple[Mapping[str, Any], str | None]], *, dashboard: str, lang: str, top: int,
    links: Links, notes: Sequence[str] = (),
) -> str:
    """The body of a report: each widget's lines, a blank line between widgets."""
    blocks = ["\n".join(widget_lines(result, dashboard=dashboard, entity=entity, lang=lang, top=top, links=links))
              for result, entity in widgets]
    blocks.extend(notes)
    return "\n\n".join(blocks)
