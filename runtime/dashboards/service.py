"""The dashboard service: which dashboards a viewer may open, and their widgets' results.

Every widget is one SQL statement (:class:`runtime.dashboards.query.WidgetQuery`) run under
the viewer's row-level read conditions; results are cached per permission scope and kept
current by a change stamp (:mod:`runtime.dashboards.cache`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from builder.dashboards import PLACEHOLDER, Dashboard, Widget, load_dashboards, load_widget
from builder.model import FieldType
from runtime.apps import PublishedApp
from runtime.context import CallContext
from runtime.dashboards import labels as L
from runtime.dashboards.cache import ResultCache
from runtime.dashboards.query import WidgetQuery
from runtime.errors import Forbidden, Invalid, NotFound
from runtime.models import AuditEvent
from runtime.visibility import Visibility

AUDIT = AuditEvent.__table__


@dataclass(frozen=True)
class DrillCondition:
    """The records behind one number, bar, slice, cell, stage or point of a widget.

    ``condition`` is a Core condition on the source entity's table (``app.table(entity)``):
    the widget's filter, its current period and the cell's dimension values. The viewer's
    row condition is not part of it — the list that applies it (``RecordLister.page(...,
    condition=...)``) adds its own.
    """

    entity: str
    condition: sa.ColumnElement[bool]
    dashboard: str
    widget: str
    widget_label: tuple[str, str]
    parts: tuple[tuple[str, str, str, str], ...] = field(default=())

    def describe(self, lang: str = "zh") -> str:
        """The cell in words: ``区域 华东 · 阶段 方案`` / ``Region East · Stage Proposal``."""
        en = lang.startswith("en")
        return " · ".join(f"{p[1]} {p[3]}" if en else f"{p[0]} {p[2]}" for p in self.parts)


def _not_found(what: str, key: str) -> NotFound:
    names = {"dashboard": "仪表盘", "widget": "组件"}
    return NotFound(f"No {what} {key[:63]!r}.", message_zh=f"没有{names[what]} {key[:63]}。", code=f"{what}_not_found")


class DashboardService:
    """Dashboards of one published app, for the actor of ``ctx``."""

    def __init__(self, session: Session, ctx: CallContext, app: PublishedApp, *, cache: ResultCache | None = None) -> None:
        self.session, self.ctx, self.app, self.cache = session, ctx, app, cache
        self.visibility = Visibility.of(app, ctx.actor)
        self.role = ctx.actor.role

    # ------------------------------------------------------------------ dashboards

    def _all(self) -> tuple[Dashboard, ...]:
        definition = self.app.definition
        found: tuple[Dashboard, ...] = self.app.statement(
            ("dashboards",), lambda: load_dashboards(definition.dashboards, definition)[0]
        )
        return found

    def visible(self) -> list[Dashboard]:
        """The dashboards the actor's role may open, in definition order."""
        return [d for d in self._all() if d.open_to(self.role)]

    def home_for(self) -> Dashboard | None:
        """The dashboard that is the actor's home page (``home_for`` names the role)."""
        return next((d for d in self.visible() if self.role in d.home_for), None)

    def _dashboard(self, key: str) -> Dashboard:
        found = next((d for d in self._all() if d.key == key), None)
        if found is None:
            raise _not_found("dashboard", key)
        if not found.open_to(self.role):
            raise Forbidden(
                f"Your role may not open the dashboard {found.text('en')}.",
                message_zh=f"您的角色无权打开仪表盘「{found.text('zh')}」。",
                code="dashboard_forbidden",
            )
        return found

    def find(self, dashboard_key: str) -> Dashboard:
        """The dashboard if the actor's role may open it (``NotFound`` / ``Forbidden``)."""
        return self._dashboard(dashboard_key)

    def find_widget(self, dashboard_key: str, widget_key: str) -> Widget:
        """A widget of a dashboard the actor's role may open (``NotFound`` / ``Forbidden``)."""
        return self._widget(dashboard_key, widget_key)[1]

    def _widget(self, dashboard_key: str, widget_key: str) -> tuple[Dashboard, Widget]:
        dashboard = self._dashboard(dashboard_key)
        widget = dashboard.widget(widget_key)
        if widget is None:
            raise _not_found("widget", widget_key)
        return dashboard, widget

    def _raw_widget(self, dashboard_key: str, widget_key: str) -> dict[str, Any]:
        for raw in self.app.definition.dashboards:
            if isinstance(raw, Mapping) and raw.get("key") == dashboard_key:
                for item in raw.get("widgets") or ():
                    if isinstance(item, Mapping) and item.get("key") == widget_key:
                        return dict(item)
        return {"key": widget_key}

    # ------------------------------------------------------------------ results

    def widget(self, dashboard_key: str, widget_key: str, *, fresh: bool = False) -> dict[str, Any]:
        """The result JSON of one widget (served from the cache unless ``fresh``)."""
        _dashboard, widget = self._widget(dashboard_key, widget_key)
        return self._result(dashboard_key, widget, fresh=fresh)

    def dashboard(self, dashboard_key: str) -> dict[str, Any]:
        """The dashboard with every widget's definition and result (``result``); a widget
        that fails (e.g. its entity is not readable by the role) carries ``error`` instead."""
        dashboard = self._dashboard(dashboard_key)
        stamps = self._stamps(self._entities(dashboard.widgets)) if self.cache is not None else {}
        widgets = []
        for widget in dashboard.widgets:
            item = self._raw_widget(dashboard.key, widget.key)
            try:
                item["result"] = self._result(dashboard.key, widget, stamps=stamps)
            except (Forbidden, Invalid, NotFound) as error:
                item["error"] = {"code": error.code, "message": error.message, "message_zh": error.message_zh}
            widgets.append(item)
        return {"key": dashboard.key, "label": dashboard.text("zh"), "label_en": dashboard.text("en"), "widgets": widgets}

    def rows(self, dashboard_key: str, widget_key: str, *, lang: str = "zh") -> tuple[list[str], list[list[Any]]]:
        """The widget's result as a header and rows (CSV / XLSX export)."""
        result = self.widget(dashboard_key, widget_key)
        return table_of(result, lang)

    def preview(self, widget_json: dict[str, Any]) -> dict[str, Any]:
        """A draft widget checked against the published app and run (never cached).

        Problems raise :class:`Invalid` (``widget_invalid``) with every problem's JSON path
        (``$.measures[0].of`` …) in ``errors`` and ``detail["problems"]``.
        """
        widget, problems = load_widget(widget_json, self.app.definition)
        if widget is None:
            first = problems[0] if problems else None
            raise Invalid(
                "The widget is not valid" + (f": {first.path}: {first.message}" if first else "."),
                message_zh="组件定义有误" + (f":{first.path}:{first.message_zh}" if first else "。"),
                errors={p.path: [p.message] for p in problems},
                detail={"problems": [p.as_dict() for p in problems]},
                code="widget_invalid",
            )
        return self._result("", widget, use_cache=False)

    def drill(self, dashboard_key: str, widget_key: str, cell: dict[str, str] | None) -> DrillCondition:
        """The condition of the records behind ``cell`` of the widget (None: all of them)."""
        _dashboard, widget = self._widget(dashboard_key, widget_key)
        query = self._query(widget)
        condition, parts = query.drill(cell)
        return DrillCondition(
            entity=widget.entity, condition=condition, dashboard=dashboard_key, widget=widget_key,
            widget_label=(widget.text("zh"), widget.text("en")), parts=tuple(parts),
        )

    # ------------------------------------------------------------------ internals

    def _check_readable(self, widget: Widget) -> None:
        entity = self.app.entity(widget.entity)
        if self.visibility.rule(entity.key) is False:
            raise Forbidden(
                f"Your role may not read {entity.label.get('en')} records.",
                message_zh=f"您的角色无权查看{entity.label.get('zh')}记录。",
            )

    def _today(self) -> Any:
        tz = self.ctx.tz
        return self.ctx.now().astimezone(tz).date()

    def _query(self, widget: Widget) -> WidgetQuery:
        self._check_readable(widget)
        query = WidgetQuery(
            self.app, widget, self.visibility, self.visibility.sql_context(self.ctx),
            tz=self.ctx.tz, today=self._today(), workspace_id=self.ctx.workspace_id,
            scalar=lambda statement: self.session.execute(statement).scalar(),
        )
        return query

    def _entities(self, widgets: Iterable[Widget]) -> list[str]:
        """The entities whose writes may change the widgets' results: each source entity,
        the entities it links to and those linking to it (filters reach them)."""
        definition = self.app.definition
        wanted: set[str] = set()
        for widget in widgets:
            source = definition.entity(widget.entity)
            if source is None:
                continue
            wanted.add(source.key)
            wanted.update(f.target for f in source.fields if f.type is FieldType.LINK and f.target)
            for other in definition.entities:
                if any(f.type is FieldType.LINK and f.target == source.key for f in other.fields):
                    wanted.add(other.key)
        return sorted(wanted)

    def _stamps(self, entities: list[str]) -> dict[str, int]:
        """The newest audit event id of each of ``entities`` — one indexed query."""
        if not entities:
            return {}
        columns = [
            sa.select(sa.func.max(AUDIT.c.id))
            .where(AUDIT.c.app_id == self.app.app_id, AUDIT.c.entity_key == key)
            .scalar_subquery()
            .label(f"e{i}")
            for i, key in enumerate(entities)
        ]
        row = self.session.execute(sa.select(*columns)).one()
        return {key: int(row[i] or 0) for i, key in enumerate(entities)}

    def _scope(self, widget: Widget, entities: list[str]) -> str:
        """The viewer's permission scope (see :mod:`runtime.dashboards.cache`)."""
        actor = self.ctx.actor
        if self.visibility.unrestricted:
            return "all"
        sources = [widget.filter or ""] + [m.of or "" for m in widget.measures] + [m.filter or "" for m in widget.measures]
        personal = any("me(" in s for s in sources) or any(
            isinstance(self.visibility.rule(e), str) for e in entities
        )
        if not personal:
            return f"role:{self.role}"
        who = json.dumps(actor.attributes(), sort_keys=True, default=str)
        return f"role:{self.role}:user:{hashlib.sha1(who.encode()).hexdigest()[:16]}"

    def _result(
        self, dashboard_key: str, widget: Widget, *, fresh: bool = False,
        stamps: Mapping[str, int] | None = None, use_cache: bool = True,
    ) -> dict[str, Any]:
        self._check_readable(widget)
        cache = self.cache if use_cache and widget.ttl > 0 else None
        key = stamp = None
        if cache is not None:
            entities = self._entities([widget])
            known = stamps or {}
            if not all(e in known for e in entities):
                known = {**known, **self._stamps(entities)}
            stamp = [known[e] for e in entities]
            key = ":".join(
                str(part) for part in (
                    self.ctx.workspace_id, self.app.app_id, self.app.revision_id, dashboard_key, widget.key,
                    self._scope(widget, entities), self._today().isoformat(),
                )
            )
            if not fresh:
                entry = cache.get(key)
                if entry is not None and entry.get("stamp") == stamp:
                    result: dict[str, Any] = entry["result"]
                    result["cached"] = True
                    return result
        query = self._query(widget)  # built only when the cache can't answer
        rows = self.session.execute(query.statement()).mappings().all()
        result = self._assemble(widget, query, rows)
        if cache is not None and key is not None:
            cache.put(key, {"stamp": stamp, "result": result}, widget.ttl)
        return result

    def _assemble(self, widget: Widget, query: WidgetQuery, rows: Any) -> dict[str, Any]:
        definition = self.app.definition
        entity = query.entity
        shaped = query.shape(rows)
        measures = []
        for m in widget.measures:
            zh, en = L.measure_label(definition, entity, widget, m)
            measures.append({"key": m.key, "label": zh, "label_en": en, "format": query.measure_format(m)})
        dimensions = []
        for d in widget.dimensions:
            zh, en = L.dimension_label(definition, entity, d)
            dimensions.append({"key": d.key, "label": zh, "label_en": en})
        result: dict[str, Any] = {
            "key": widget.key, "type": widget.type, "label": widget.text("zh"), "label_en": widget.text("en"),
            "entity": widget.entity, "dimensions": dimensions, "measures": measures, **shaped,
        }
        if widget.type == "sentence":
            values = shaped.get("total", {}).get("values", {})
            formats = {m["key"]: m["format"] for m in measures}
            for name, lang in (("template", "zh"), ("template_en", "en")):
                text = getattr(widget, name) or widget.template or ""
                out_key = "sentence" if lang == "zh" else "sentence_en"
                result[out_key] = PLACEHOLDER.sub(
                    lambda match, lang=lang: L.formatted(values.get(match.group(1)), formats.get(match.group(1), "decimal"), lang),
                    text,
                )
        result["computed_at"] = self.ctx.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        result["cached"] = False
        return result


def table_of(result: Mapping[str, Any], lang: str = "zh") -> tuple[list[str], list[list[Any]]]:
    """A widget result as a header and rows (what export writes)."""
    en = lang.startswith("en")
    suffix = "_en" if en else ""
    dims = result.get("dimensions", [])
    measures = result.get("measures", [])
    measure_heads = [m["label" + suffix] for m in measures]
    if "records" in result:
        keys = list(result["records"][0]["values"]) if result["records"] else []
        header = ["ID", "Title" if en else "标题", *keys]
        return header, [[r["id"], r["title"], *(r["labels" + suffix].get(k, "") for k in keys)] for r in result["records"]]
    if "points" in result:
        header = ["ID", "Title" if en else "标题", "Latitude" if en else "纬度", "Longitude" if en else "经度",
                  "Category" if en else "类别"]
        return header, [[p["id"], p["title"], p["lat"], p["lng"], p.get("category_label" + suffix, "")] for p in result["points"]]
    if "stages" in result:
        header = ["Stage" if en else "阶段", "Count" if en else "数量", "Conversion" if en else "转化率"]
        return header, [[s["label" + suffix], s["count"], s["conversion"]] for s in result["stages"]]
    compare = False
    if "rows" in result:
        compare = any("previous" in r for r in result["rows"])
        header = [d["label" + suffix] for d in dims] + measure_heads
        if compare:
            header += [f"{h} ({'previous' if en else '上期'})" for h in measure_heads]
        out = []
        for r in result["rows"]:
            line = [r["labels" + suffix][d["key"]] for d in dims] + [r["values"][m["key"]] for m in measures]
            if compare:
                line += [r.get("previous", {}).get(m["key"]) for m in measures]
            out.append(line)
        return header, out
    total = result.get("total", {})
    header = list(measure_heads)
    line = [total.get("values", {}).get(m["key"]) for m in measures]
    if "previous" in total:
        header += [f"{h} ({'previous' if en else '上期'})" for h in measure_heads]
        line += [total["previous"].get(m["key"]) for m in measures]
    return header, [line]
