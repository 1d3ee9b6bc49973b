"""One widget compiled to one SQL statement (SQLAlchemy Core), and its drill conditions.

:class:`WidgetQuery` builds the statement of a widget for one viewer: the source entity's
table restricted by the viewer's row condition (:class:`runtime.visibility.Visibility`),
the widget's ``filter`` and ``period`` (compiled expressions), grouped by its dimensions
and aggregated by its measures — all in the database. Python only turns the rows into
the result JSON (labels and number formats).

* Link dimensions (``customer.region``, or a link field itself) outer-join the target
  table *with the viewer's row condition on the target*: a linked record the viewer may
  not read is absent, so its value is null (as ``customer.region`` is in an expression).
* User dimensions outer-join the users table for names.
* Time buckets are computed in the workspace zone: ``AT TIME ZONE`` on PostgreSQL; on
  SQLite the zone-aware ``cairn_*`` functions the expression package registers on every
  connection (Python ``zoneinfo``, so daylight-saving zones are exact too).
* A measure's ``filter``, the compare period and a funnel's stages are conditional
  aggregates (``count(CASE WHEN … THEN 1 END)``), so every widget stays one statement.
* Conversions and funnels read ``stage_history`` through a grouped subquery joined on
  the record id.

:meth:`WidgetQuery.drill` gives the condition on the source table selecting exactly the
records behind one cell: the same filter, current period and, per dimension, the same
value expression compared with the cell's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from builder.dashboards import ColumnInfo, Dimension, Measure, Widget, is_user, resolve_path
from builder.model import Entity, Field, FieldType
from expressions.scope import SqlContext
from expressions.sqlcompiler import zone_name
from expressions.sqltypes import ExactDecimal
from expressions.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    ExprType,
    RecordType,
)
from runtime.apps import PublishedApp
from runtime.dashboards import labels as L
from runtime.dashboards import periods
from runtime.errors import Invalid
from runtime.evaluation import record_from_row
from runtime.models import StageHistory, User
from runtime.tables import location_columns
from runtime.values import to_json
from runtime.visibility import Visibility

SH = StageHistory.__table__
USERS = User.__table__


def _bad_cell(key: str, value: str) -> Invalid:
    return Invalid(
        f"The drill value {value[:40]!r} does not fit the dimension {key!r}.",
        message_zh=f"钻取值 {value[:40]!r} 与维度 {key!r} 不符。",
        errors={f"cell.{key}": ["invalid value"]},
        code="invalid_drill",
    )


@dataclass
class DimPlan:
    """How one dimension is computed: its value (and label) columns, joins, and drill."""

    dim: Dimension
    info: ColumnInfo
    owner: Entity  # the entity the column belongs to (the link target for a hop)
    kind: str  # stage | choice | link | user | bucket | bool | plain
    typ: ExprType | None
    value: sa.ColumnElement[Any]
    label: sa.ColumnElement[Any] | None = None
    order: sa.ColumnElement[Any] | None = None
    #: the value expression over any alias of the column's table (for drill subqueries)
    compute: Callable[[sa.FromClause], sa.ColumnElement[Any]] = field(default=lambda t: sa.null())


class WidgetQuery:
    """The SQL of one widget for one viewer (see the module docstring)."""

    def __init__(
        self,
        app: PublishedApp,
        widget: Widget,
        visibility: Visibility,
        ctx: SqlContext,
        *,
        tz: tzinfo,
        today: date,
        workspace_id: int,
        scalar: Callable[[sa.Select[Any]], Any] | None = None,
    ) -> None:
        self.app, self.widget, self.visibility, self.ctx = app, widget, visibility, ctx
        self.tz, self.today, self.workspace_id = tz, today, workspace_id
        #: runs a one-value query (the labels of a drilled user or linked record)
        self.scalar = scalar or (lambda query: None)
        self._conversions: dict[str, Any] = {}
        self._record_columns: list[tuple[str, Field | None, str]] = []
        self._category: DimPlan | None = None
        self.pg = ctx.dialect.startswith("postgres")
        self.entity = app.entity(widget.entity)
        self.table = app.table(widget.entity)
        self.joins: list[tuple[sa.FromClause, sa.ColumnElement[bool]]] = []
        self._aliases = 0
        self.dims = [self._dimension(d) for d in widget.dimensions]
        self.current: sa.ColumnElement[bool] | None = None
        self.previous: sa.ColumnElement[bool] | None = None
        if widget.period is not None:
            info = self._column_info(self.entity, widget.period.field)
            column = self.table.c[widget.period.field]
            now_window, before = periods.windows(widget.period.range, today)
            is_dt = info.type == DATETIME
            self.current = periods.condition(column, now_window, tz, is_datetime=is_dt)
            if widget.period.compare:
                self.previous = periods.condition(column, before, tz, is_datetime=is_dt)
        self.measure_types: dict[str, ExprType | None] = {}

    # ------------------------------------------------------------------ helpers

    def _alias(self, table: sa.Table) -> sa.FromClause:
        self._aliases += 1
        return table.alias(f"j{self._aliases}")

    def _column_info(self, entity: Entity, name: str) -> ColumnInfo:
        info = resolve_path(self.app.definition, entity, name)
        assert not isinstance(info, str), info
        return info

    def _visible(self, entity_key: str, table: sa.FromClause) -> sa.ColumnElement[bool] | None:
        return self.visibility.sql(entity_key, table, self.ctx)

    def base_conditions(self, *, period: str = "any") -> list[sa.ColumnElement[bool]]:
        """The viewer's row condition, the widget's filter and the period."""
        out: list[sa.ColumnElement[bool]] = []
        readable = self._visible(self.widget.entity, self.table)
        if readable is not None:
            out.append(readable)
        out += self.filter_conditions(period=period)
        return out

    def filter_conditions(self, *, period: str = "any") -> list[sa.ColumnElement[bool]]:
        """The widget's filter and period (``period``: any = current or previous; current)."""
        out: list[sa.ColumnElement[bool]] = []
        if self.widget.filter is not None:
            out.append(self.condition(self.widget.filter))
        if self.current is not None:
            if period == "any" and self.previous is not None:
                out.append(sa.or_(self.current, self.previous))
            else:
                out.append(self.current)
        return out

    def condition(self, source: str) -> sa.ColumnElement[bool]:
        """A boolean expression of the source entity as SQL."""
        compiled = self.app.compiled(self.widget.entity, source, BOOLEAN)
        return compiled.to_sql(self.app.binding, self.ctx, self.table)

    def value(self, source: str) -> tuple[sa.ColumnElement[Any], ExprType]:
        """An expression of the source entity as an SQL value, with its type."""
        compiled = self.app.compiled(self.widget.entity, source)
        return compiled.to_sql(self.app.binding, self.ctx, self.table, as_value=True), compiled.type

    # ------------------------------------------------------------------ dimensions

    def _dimension(self, dim: Dimension) -> DimPlan:
        info = self._column_info(self.entity, dim.field)
        owner = self.entity
        hop = info.hop
        if hop is None and info.field_type is FieldType.LINK:
            link = self.entity.field(info.key)
            assert link is not None and link.target is not None
            hop, info = info.key, ColumnInfo(link.target, "id", None, RecordType(link.target), hop=info.key)
        if hop is not None:
            target = self.app.entity(info.entity)
            owner = target
            joined = self._alias(self.app.table(target.key))
            on = [self.table.c[hop] == joined.c.id]
            readable = self._visible(target.key, joined)
            if readable is not None:
                on.append(readable)
            self.joins.append((joined, sa.and_(*on)))
            source: sa.FromClause = joined
        else:
            source = self.table
        plan = self._plan(dim, info, owner, source)
        if isinstance(info.type, RecordType):
            title = owner.title_field
            plan.kind = "link"
            plan.label = source.c[title] if title and title in source.c else sa.null()
        return plan

    def _plan(self, dim: Dimension, info: ColumnInfo, owner: Entity, source: sa.FromClause) -> DimPlan:
        bucket = dim.bucket

        def compute(table: sa.FromClause) -> sa.ColumnElement[Any]:
            column = table.c[info.key]
            return self.bucketed(column, bucket, info.type) if bucket else column

        value = compute(source)
        kind = "plain"
        label = None
        order: sa.ColumnElement[Any] = value
        if bucket:
            kind = "bucket"
        elif info.key == "stage" and info.field_type is None:
            kind = "stage"
            order = sa.case(*((value == s.key, i) for i, s in enumerate(owner.stages)), else_=len(owner.stages))
        elif info.field_type is FieldType.CHOICE:
            kind = "choice"
            f = owner.field(info.key)
            if f is not None and f.options:
                order = sa.case(*((value == o.value, i) for i, o in enumerate(f.options)), else_=len(f.options))
        elif is_user(info):
            kind = "user"
            users = self._alias(USERS)  # type: ignore[arg-type]
            self.joins.append((users, sa.and_(users.c.id == value, users.c.workspace_id == self.workspace_id)))
            label = users.c.name
        elif info.type == BOOLEAN:
            kind = "bool"
        return DimPlan(dim, info, owner, kind, DATE if bucket else info.type, value, label, order, compute)

    def bucketed(self, column: sa.ColumnElement[Any], bucket: str, typ: ExprType | None) -> sa.ColumnElement[Any]:
        """The first local date of ``column``'s day / week / month / quarter."""
        zone = zone_name(self.tz)
        if self.pg:
            local = sa.func.timezone(zone, sa.func.timezone("UTC", column)) if typ == DATETIME else sa.cast(column, sa.DateTime())
            unit = {"day": "day", "week": "week", "month": "month", "quarter": "quarter"}[bucket]
            return sa.cast(sa.func.date_trunc(unit, local), sa.Date())
        if bucket == "day":
            out = sa.func.cairn_local_date(column, zone) if typ == DATETIME else sa.func.date(column)
        elif bucket == "week":
            out = sa.func.cairn_start_of_week(column, zone)
        else:
            month = sa.func.cairn_start_of_month(column, zone)
            if bucket == "month":
                out = month
            else:
                back = (sa.cast(sa.func.strftime("%m", month), sa.Integer()) - 1) % 3
                out = sa.func.date(month, sa.literal("-") + sa.cast(back, sa.Text()) + sa.literal(" months"))
        return sa.type_coerce(out, sa.Date())

    # ------------------------------------------------------------------ measures

    def aggregate(self, measure: Measure, when: sa.ColumnElement[bool] | None = None) -> sa.ColumnElement[Any]:
        """A measure as an aggregate; ``when`` restricts the rows it counts."""
        if measure.ratio is not None:
            a, b = (self.widget.measure(k) for k in measure.ratio)
            assert a is not None and b is not None
            top, bottom = self.aggregate(a, when), self.aggregate(b, when)
            return sa.cast(top, sa.Float()) / sa.func.nullif(sa.cast(bottom, sa.Float()), 0)
        if measure.conversion is not None:
            sub = self._conversion_join(measure)
            entered = sub.c.entered_from.is_not(None)
            converted = sa.and_(entered, sub.c.entered_to >= sub.c.entered_from)
            if when is not None:
                entered, converted = sa.and_(entered, when), sa.and_(converted, when)
            top = sa.func.count(sa.case((converted, 1)))
            bottom = sa.func.count(sa.case((entered, 1)))
            return sa.cast(top, sa.Float()) / sa.func.nullif(sa.cast(bottom, sa.Float()), 0)
        conditions = [c for c in (when, None if measure.filter is None else self.condition(measure.filter)) if c is not None]
        cond = sa.and_(*conditions) if conditions else None
        agg = measure.agg
        if agg == "count":
            return sa.func.count(sa.case((cond, 1))) if cond is not None else sa.func.count()
        assert measure.of is not None
        x, typ = self.value(measure.of)
        self.measure_types[measure.key] = typ
        if isinstance(typ, RecordType):
            x = sa.type_coerce(x, sa.BigInteger())
        arg = sa.case((cond, x)) if cond is not None else x
        if agg == "count_distinct":
            return sa.func.count(sa.distinct(arg))
        if agg == "sum":
            if typ == DECIMAL and not self.pg:
                return sa.type_coerce(sa.func.coalesce(sa.func.cairn_dsum(arg), 0), ExactDecimal())
            return sa.type_coerce(sa.func.coalesce(sa.func.sum(arg), 0), x.type)
        if agg == "avg":
            if typ == DECIMAL and not self.pg:
                return sa.type_coerce(sa.func.cairn_davg(arg), ExactDecimal())
            if typ == DURATION:
                return sa.func.avg(arg)
            return sa.type_coerce(sa.func.avg(arg), sa.Numeric() if self.pg else sa.Float())
        func = sa.func.min if agg == "min" else sa.func.max
        return sa.type_coerce(func(arg), x.type)

    def _conversion_join(self, measure: Measure) -> Any:
        assert measure.conversion is not None
        found = self._conversions.get(measure.key)
        if found is not None:
            return found
        start, end = measure.conversion
        sub = (
            sa.select(
                SH.c.record_id,
                sa.func.min(sa.case((SH.c.stage == start, SH.c.entered_at))).label("entered_from"),
                sa.func.max(sa.case((SH.c.stage == end, SH.c.entered_at))).label("entered_to"),
            )
            .where(SH.c.app_id == self.app.app_id, SH.c.entity_key == self.widget.entity, SH.c.stage.in_([start, end]))
            .group_by(SH.c.record_id)
            .subquery(f"cv_{measure.key}")
        )
        self.joins.append((sub, sub.c.record_id == self.table.c.id))
        self._conversions[measure.key] = sub
        return sub

    def measure_format(self, measure: Measure) -> str:
        """integer | decimal | percent | money."""
        if measure.ratio is not None or measure.conversion is not None:
            return "percent"
        if measure.agg in ("count", "count_distinct"):
            return "integer"
        of = measure.of or ""
        f = self.entity.field(of)
        if f is not None and f.type is FieldType.MONEY:
            return "money"
        if f is not None and f.type is FieldType.PERCENT:
            return "percent"
        typ = self.measure_types.get(measure.key)
        if typ is None:
            typ = self.app.compiled(self.widget.entity, of).type
        if typ == INTEGER and measure.agg != "avg":
            return "integer"
        if typ in (DATE, DATETIME):
            return "date"
        return "decimal"

    def _delta(self, cur: sa.ColumnElement[Any], prev: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return (sa.cast(cur, sa.Float()) - sa.cast(prev, sa.Float())) / sa.func.nullif(sa.cast(prev, sa.Float()), 0)

    def _comparable(self, measure: Measure) -> bool:
        return self.measure_format(measure) in ("integer", "decimal", "percent", "money")

    # ------------------------------------------------------------------ statements

    def _from(self) -> sa.FromClause:
        source: sa.FromClause = self.table
        for joined, on in self.joins:
            source = source.outerjoin(joined, on)
        return source

    def statement(self) -> sa.Select[Any]:
        """The one statement of the widget."""
        w = self.widget
        if w.type == "funnel":
            return self._funnel()
        if w.type == "map":
            return self._points()
        if w.record_list:
            return self._records()
        return self._aggregated()

    def _aggregated(self) -> sa.Select[Any]:
        w = self.widget
        columns: list[sa.ColumnElement[Any]] = []
        groups: list[sa.ColumnElement[Any]] = []
        for i, d in enumerate(self.dims):
            columns.append(d.value.label(f"d{i}"))
            groups.append(d.value)
            if d.label is not None:
                columns.append(d.label.label(f"l{i}"))
                groups.append(d.label)
        by_key: dict[str, sa.ColumnElement[Any]] = {}
        for i, m in enumerate(w.measures):
            cur = self.aggregate(m, self.current if self.previous is not None else None)
            columns.append(cur.label(f"m{i}"))
            by_key[m.key] = cur
            if self.previous is not None:
                prev = self.aggregate(m, self.previous)
                columns.append(prev.label(f"p{i}"))
                if self._comparable(m):
                    columns.append(self._delta(cur, prev).label(f"x{i}"))
        query = sa.select(*columns).select_from(self._from()).where(*self.base_conditions())
        if groups:
            query = query.group_by(*groups)
            order: list[sa.ColumnElement[Any]] = []
            for s in w.sort:
                target = by_key.get(s.by)
                if target is None:
                    plan = next(d for d in self.dims if d.dim.key == s.by)
                    target = plan.order if plan.order is not None else plan.value
                # NULLS LAST rather than an ``IS NULL`` term: the same order, and PostgreSQL
                # can then use the grouping's own sort (a parallel sorted group aggregate).
                order.append((target.desc() if s.desc else target.asc()).nulls_last())
            for d in self.dims:
                natural = d.order if d.order is not None else d.value
                order.append(natural.asc().nulls_last())
            query = query.order_by(*order).limit(w.row_limit)
        return query

    def _title(self, table: sa.FromClause, entity: Entity) -> sa.ColumnElement[Any]:
        title = entity.title_field
        return table.c[title] if title and title in table.c else sa.null()

    def _records(self) -> sa.Select[Any]:
        w, t = self.widget, self.table
        columns: list[sa.ColumnElement[Any]] = [t.c.id.label("id"), self._title(t, self.entity).label("_title")]
        self._record_columns = []
        for key in w.columns:
            f = self.entity.field(key)
            if f is None:
                columns.append(t.c[key].label(f"c_{key}"))
                kind = "user" if key in ("owner", "created_by") else ("stage" if key == "stage" else "plain")
            else:
                columns.append(t.c[key].label(f"c_{key}"))
                kind = {FieldType.USER: "user", FieldType.LINK: "link", FieldType.CHOICE: "choice",
                        FieldType.BOOLEAN: "bool"}.get(f.type, "plain")
            if kind == "user":
                users = self._alias(USERS)  # type: ignore[arg-type]
                self.joins.append((users, sa.and_(users.c.id == t.c[key], users.c.workspace_id == self.workspace_id)))
                columns.append(users.c.name.label(f"n_{key}"))
            elif kind == "link":
                assert f is not None and f.target is not None
                target = self.app.entity(f.target)
                joined = self._alias(self.app.table(f.target))
                on = [joined.c.id == t.c[key]]
                readable = self._visible(f.target, joined)
                if readable is not None:
                    on.append(readable)
                self.joins.append((joined, sa.and_(*on)))
                columns.append(self._title(joined, target).label(f"n_{key}"))
            self._record_columns.append((key, f, kind))
        order: list[sa.ColumnElement[Any]] = []
        for s in w.sort:
            column = t.c[s.by]
            order.append((column.desc() if s.desc else column.asc()).nulls_last())
        order.append(t.c.id.desc())
        return sa.select(*columns).select_from(self._from()).where(*self.base_conditions()).order_by(*order).limit(w.row_limit)

    def _points(self) -> sa.Select[Any]:
        w, t = self.widget, self.table
        assert w.location is not None
        lat, lng, _acc = location_columns(w.location)
        columns: list[sa.ColumnElement[Any]] = [
            t.c.id.label("id"), self._title(t, self.entity).label("_title"), t.c[lat].label("lat"), t.c[lng].label("lng")
        ]
        if w.category is not None:
            self._category = self._dimension(Dimension(key="category", field=w.category))
            columns.append(self._category.value.label("cat"))
            if self._category.label is not None:
                columns.append(self._category.label.label("cat_label"))
        conditions = [*self.base_conditions(), t.c[lat].is_not(None), t.c[lng].is_not(None)]
        return sa.select(*columns).select_from(self._from()).where(*conditions).order_by(t.c.id.desc()).limit(w.row_limit)

    def funnel_stages(self) -> list[str]:
        """The funnel's stages: the widget's, else every stage of the entity."""
        return list(self.widget.stages) or [s.key for s in self.entity.stages]

    def _funnel(self) -> sa.Select[Any]:
        stages = self.funnel_stages()
        position = sa.case(*((SH.c.stage == s, i + 1) for i, s in enumerate(stages)), else_=0)
        reached = (
            sa.select(SH.c.record_id, sa.func.max(position).label("reached"))
            .where(SH.c.app_id == self.app.app_id, SH.c.entity_key == self.widget.entity, SH.c.stage.in_(stages))
            .group_by(SH.c.record_id)
            .subquery("reached")
        )
        self.joins.insert(0, (reached, reached.c.record_id == self.table.c.id))
        columns: list[sa.ColumnElement[Any]] = []
        first = sa.func.count(sa.case((reached.c.reached >= 1, 1)))
        for i, _stage in enumerate(stages):
            at = reached.c.reached >= i + 1
            count = sa.func.count(sa.case((at, 1)))
            columns.append(count.label(f"s{i}"))
            columns.append((sa.cast(count, sa.Float()) / sa.func.nullif(sa.cast(first, sa.Float()), 0)).label(f"r{i}"))
            for j, m in enumerate(self.widget.measures):
                columns.append(self.aggregate(m, at).label(f"s{i}m{j}"))
        source = self.table.join(reached, reached.c.record_id == self.table.c.id)
        for joined, on in self.joins[1:]:
            source = source.outerjoin(joined, on)
        return sa.select(*columns).select_from(source).where(*self.base_conditions(period="current"))

    # ------------------------------------------------------------------ results

    def shape(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The result JSON of the statement's rows (formatting only)."""
        w = self.widget
        if w.type == "funnel":
            return self._shape_funnel(rows[0] if rows else {})
        if w.type == "map":
            return self._shape_points(rows)
        if w.record_list:
            return self._shape_records(rows)
        out: dict[str, Any] = {}
        shaped = [self._shape_row(r) for r in rows]
        if self.dims:
            out["rows"] = shaped
        else:
            row = shaped[0] if shaped else {"values": {m.key: None for m in w.measures}}
            total = {"values": row["values"]}
            if "previous" in row:
                total["previous"] = row["previous"]
                total["delta"] = row["delta"]
            out["total"] = total
        return out

    def _shape_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        cell: dict[str, str] = {}
        labels: dict[str, str] = {}
        labels_en: dict[str, str] = {}
        for i, d in enumerate(self.dims):
            value = row[f"d{i}"]
            cell[d.dim.key] = L.raw(value)
            zh, en = self.value_label(d, value, row.get(f"l{i}"))
            labels[d.dim.key], labels_en[d.dim.key] = zh, en
        shaped: dict[str, Any] = {"cell": cell, "labels": labels, "labels_en": labels_en}
        shaped["values"] = {m.key: L.number(row[f"m{i}"]) for i, m in enumerate(self.widget.measures)}
        if self.previous is not None:
            shaped["previous"] = {m.key: L.number(row[f"p{i}"]) for i, m in enumerate(self.widget.measures)}
            shaped["delta"] = {m.key: L.number(row.get(f"x{i}")) for i, m in enumerate(self.widget.measures)}
        return shaped

    def value_label(self, d: DimPlan, value: Any, label: Any) -> tuple[str, str]:
        """The zh / en display label of a dimension value."""
        if value is None:
            return L.NULL_LABEL
        if d.kind == "bucket":
            day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            return L.bucket_label(day, d.dim.bucket or "day")
        if d.kind in ("stage", "choice"):
            return L.choice_labels(d.owner, d.info.key).get(str(value), (str(value), str(value)))
        if d.kind in ("user", "link"):
            text = str(label) if label not in (None, "") else f"#{value}"
            return text, text
        if d.kind == "bool":
            return L.bool_label(bool(value))
        text = L.raw(value)
        return text, text

    def _shape_records(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        records = []
        for row in rows:
            values: dict[str, Any] = {}
            labels: dict[str, str] = {}
            labels_en: dict[str, str] = {}
            for key, f, kind in self._record_columns:
                raw_value = row[f"c_{key}"]
                if f is not None:
                    raw_value = record_from_row(self.entity, {key: raw_value}).get(key)
                values[key] = to_json(raw_value)
                if raw_value is None:
                    zh, en = "", ""
                elif kind in ("user", "link"):
                    zh = en = str(row[f"n_{key}"] or f"#{raw_value}")
                elif kind in ("choice", "stage"):
                    zh, en = L.choice_labels(self.entity, key).get(str(raw_value), (str(raw_value), str(raw_value)))
                elif kind == "bool":
                    zh, en = L.bool_label(bool(raw_value))
                else:
                    zh = en = L.raw(to_json(raw_value)) if not isinstance(raw_value, list) else "、".join(map(str, raw_value))
                labels[key], labels_en[key] = zh, en
            title = row["_title"]
            records.append({
                "id": row["id"], "title": str(title) if title not in (None, "") else f"#{row['id']}",
                "values": values, "labels": labels, "labels_en": labels_en,
            })
        columns = []
        for key, _f, _kind in self._record_columns:
            zh, en = L.field_label(self.app.definition, self.entity, key)
            columns.append({"key": key, "label": zh, "label_en": en})
        return {"records": records, "columns": columns}

    def _shape_points(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        points = []
        for row in rows:
            title = row["_title"]
            point: dict[str, Any] = {
                "id": row["id"], "title": str(title) if title not in (None, "") else f"#{row['id']}",
                "lat": float(row["lat"]), "lng": float(row["lng"]),
            }
            if self._category is not None:
                value = row["cat"]
                zh, en = self.value_label(self._category, value, row.get("cat_label"))
                point.update(category=L.raw(value), category_label=zh, category_label_en=en)
            points.append(point)
        return {"points": points}

    def _shape_funnel(self, row: Mapping[str, Any]) -> dict[str, Any]:
        stages = []
        for i, key in enumerate(self.funnel_stages()):
            stage = self.entity.stage(key)
            item: dict[str, Any] = {
                "stage": key,
                "label": stage.label.get("zh") if stage else key,
                "label_en": stage.label.get("en") if stage else key,
                "count": int(row.get(f"s{i}") or 0),
                "conversion": L.number(row.get(f"r{i}")),
            }
            if self.widget.measures:
                item["values"] = {m.key: L.number(row.get(f"s{i}m{j}")) for j, m in enumerate(self.widget.measures)}
            stages.append(item)
        return {"stages": stages}

    # ------------------------------------------------------------------ drill

    def drill(self, cell: Mapping[str, str] | None) -> tuple[sa.ColumnElement[bool], list[tuple[str, str, str, str]]]:
        """The condition (on the source table, without the viewer's row condition, which
        the list applies) selecting the records behind ``cell``, and the described parts
        ``(dimension zh, dimension en, value zh, value en)``."""
        w = self.widget
        cell = dict(cell or {})
        conditions = self.filter_conditions(period="current")
        parts: list[tuple[str, str, str, str]] = []
        if w.type == "map" and w.location is not None:
            lat, lng, _acc = location_columns(w.location)
            conditions += [self.table.c[lat].is_not(None), self.table.c[lng].is_not(None)]
        if w.type == "funnel" and "stage" in cell:
            stages = self.funnel_stages()
            wanted = cell.pop("stage")
            if wanted not in stages:
                raise _bad_cell("stage", wanted)
            later = stages[stages.index(wanted):]
            conditions.append(
                self.table.c.id.in_(
                    sa.select(SH.c.record_id).where(
                        SH.c.app_id == self.app.app_id, SH.c.entity_key == w.entity, SH.c.stage.in_(later)
                    )
                )
            )
            stage = self.entity.stage(wanted)
            parts.append(("阶段", "Stage", stage.label.get("zh") if stage else wanted, stage.label.get("en") if stage else wanted))
        if w.type == "map" and w.category is not None and "category" in cell:
            category = self._dimension(Dimension(key="category", field=w.category))
            raw_value = cell.pop("category")
            conditions.append(self._match(category, raw_value))
            zh, en = L.path_label(self.app.definition, self.entity, w.category)
            vzh, ven = self._describe_value(category, raw_value)
            parts.append((zh, en, vzh, ven))
        if "id" in cell and (w.record_list or w.type == "map"):
            raw_id = cell.pop("id")
            try:
                conditions.append(self.table.c.id == int(raw_id))
            except ValueError:
                raise _bad_cell("id", raw_id) from None
        for d in self.dims:
            if d.dim.key not in cell:
                continue
            raw_value = cell.pop(d.dim.key)
            conditions.append(self._match(d, raw_value))
            zh, en = L.dimension_label(self.app.definition, self.entity, d.dim)
            vzh, ven = self._describe_value(d, raw_value)
            parts.append((zh, en, vzh, ven))
        if cell:
            key = next(iter(cell))
            raise Invalid(
                f"The widget has no dimension {key[:40]!r} to drill into.",
                message_zh=f"该组件没有可钻取的维度 {key[:40]!r}。",
                errors={f"cell.{key[:40]}": ["unknown dimension"]},
                code="invalid_drill",
            )
        return (sa.and_(sa.true(), *conditions), parts)

    def _literal(self, d: DimPlan, text: str) -> Any:
        typ = d.typ
        try:
            if d.kind == "bucket" or typ == DATE:
                return date.fromisoformat(text)
            if isinstance(typ, RecordType) or d.kind in ("user", "link") or typ == INTEGER:
                return int(text)
            if typ == DECIMAL:
                number = Decimal(text)
                if not number.is_finite():
                    raise ValueError(text)
                return number
            if typ == BOOLEAN:
                if text not in ("true", "false"):
                    raise ValueError(text)
                return text == "true"
            if typ == DURATION:
                return timedelta(seconds=int(text))
        except (ValueError, InvalidOperation, OverflowError):
            raise _bad_cell(d.dim.key, text) from None
        return text

    def _match(self, d: DimPlan, text: str) -> sa.ColumnElement[bool]:
        """The records whose value of ``d`` is ``text`` ("" = null)."""
        hop = d.info.hop
        if hop is None:
            column = d.compute(self.table)
            if text == "":
                return column.is_(None)
            return column == sa.literal(self._literal(d, text), column.type)
        target = self.app.table(d.owner.key).alias("drill")
        column = d.compute(target)
        conditions = [target.c.id == self.table.c[hop]]
        readable = self._visible(d.owner.key, target)
        if readable is not None:
            conditions.append(readable)
        if text == "":
            return ~sa.exists(sa.select(sa.literal(1)).select_from(target).where(*conditions, column.is_not(None)))
        literal = sa.literal(self._literal(d, text), column.type)
        return sa.exists(sa.select(sa.literal(1)).select_from(target).where(*conditions, column == literal))

    def _describe_value(self, d: DimPlan, text: str) -> tuple[str, str]:
        if text == "":
            return L.NULL_LABEL
        value = self._literal(d, text)
        label = None
        if d.kind == "user":
            label = self.scalar(sa.select(USERS.c.name).where(USERS.c.id == value, USERS.c.workspace_id == self.workspace_id))
        elif d.kind == "link":
            target = self.app.table(d.owner.key)
            title = self._title(target, d.owner)
            query = sa.select(title).where(target.c.id == value)
            readable = self._visible(d.owner.key, target)
            if readable is not None:
                query = query.where(readable)
            label = self.scalar(query)
        return self.value_label(d, value, label)
