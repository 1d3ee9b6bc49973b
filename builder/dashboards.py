"""The ``dashboards`` section: widget metadata, its frozen model, and its validation.

The app schema keeps ``dashboards`` as raw keyed objects (the designer edits them as JSON
and :func:`builder.dump_definition` writes them back unchanged); :func:`load_dashboards`
turns them into :class:`Dashboard` / :class:`Widget` models and reports every problem
with its JSON path and a stable code. :func:`validate_app` runs it for every definition,
and the runtime loads the published definition's dashboards with it once per revision.
A single widget (the designer's preview) is checked by :func:`load_widget`.

See ``docs/dashboards.md`` ("Widget reference") for the format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validates_schema

from builder import checker
from builder.errors import ROOT, Problem, join_path, problem
from builder.expression_checks import diagnostics_to_problems
from builder.model import App, Entity, FieldType
from builder.schemas import (
    Coded,
    Expression,
    Identifier,
    StrictBool,
    StrictInt,
    StrictSchema,
    _List,
    _Nested,
    _Str,
)
from builder.scope import scope_for
from expressions.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    TEXT,
    USER,
    ExprType,
    RecordType,
)

WIDGET_TYPES = ("number", "bar", "line", "area", "pie", "funnel", "heatmap", "table", "map", "sentence")
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
BUCKETS = ("day", "week", "month", "quarter")
RANGES = ("today", "this_week", "this_month", "this_quarter", "last_7_days", "last_30_days")
MAX_WIDGETS = 24
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
DEFAULT_TABLE_LIMIT = 10
DEFAULT_TTL = 60
MAX_TTL = 86_400
MAX_TEXT = 200
MAX_TEMPLATE = 1_000

#: System columns a dimension, column, sort or period may name (besides the fields).
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "owner")
STAGE_COLUMNS = ("stage", "stage_entered_at")
#: Field types that can't be grouped by (or shown as a table column).
UNGROUPABLE = frozenset({FieldType.LOCATION, FieldType.MULTI_CHOICE, FieldType.PHOTO, FieldType.FILE, FieldType.LONG_TEXT})
UNSHOWABLE = frozenset({FieldType.LOCATION, FieldType.PHOTO, FieldType.FILE})
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Dimension:
    """A group-by: ``field`` (``stage``, a field, ``link.field``), bucketed when a date."""

    key: str
    field: str
    bucket: str | None = None
    label: str | None = None
    label_en: str | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """A figure: an aggregate (``agg`` of ``of``, optionally ``filter``ed), a ratio of two
    measures, or a conversion between two stages."""

    key: str
    agg: str | None = None
    of: str | None = None
    filter: str | None = None
    ratio: tuple[str, str] | None = None
    conversion: tuple[str, str] | None = None  # (from stage, to stage)
    label: str | None = None
    label_en: str | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """Only records whose ``field`` falls in ``range`` (and the previous one with ``compare``)."""

    field: str
    range: str
    compare: bool = False


@dataclass(frozen=True, slots=True)
class SortKey:
    """Sort by a measure, a dimension or (record tables) a field."""

    by: str
    desc: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """The widget's place on the 12-column grid."""

    x: int = 0
    y: int = 0
    w: int = 6
    h: int = 4


@dataclass(frozen=True, slots=True)
class Widget:
    """One widget of a dashboard (see the module docstring)."""

    key: str
    type: str
    entity: str
    label: str | None = None
    label_en: str | None = None
    filter: str | None = None
    period: Period | None = None
    dimensions: tuple[Dimension, ...] = ()
    measures: tuple[Measure, ...] = ()
    stages: tuple[str, ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int | None = None
    columns: tuple[str, ...] = ()
    location: str | None = None
    category: str | None = None
    template: str | None = None
    template_en: str | None = None
    ttl: int = DEFAULT_TTL
    layout: Layout = Layout()

    @property
    def record_list(self) -> bool:
        """Whether the widget lists records (a table without dimensions)."""
        return self.type == "table" and not self.dimensions

    @property
    def row_limit(self) -> int:
        """``limit`` or the type's default."""
        if self.limit is not None:
            return self.limit
        return DEFAULT_TABLE_LIMIT if self.record_list else DEFAULT_LIMIT

    def measure(self, key: str) -> Measure | None:
        """The measure ``key`` or None."""
        return next((m for m in self.measures if m.key == key), None)

    def text(self, lang: str = "zh") -> str:
        """The widget's label in ``lang`` (falling back to the other one, then the key)."""
        if lang.startswith("en"):
            return self.label_en or self.label or self.key
        return self.label or self.label_en or self.key


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A dashboard: who may open it, whose home it is, and its widgets."""

    key: str
    label: str | None = None
    label_en: str | None = None
    roles: tuple[str, ...] = ()
    home_for: tuple[str, ...] = ()
    widgets: tuple[Widget, ...] = ()

    def widget(self, key: str) -> Widget | None:
        """The widget ``key`` or None."""
        return next((w for w in self.widgets if w.key == key), None)

    def open_to(self, role: str | None) -> bool:
        """Whether ``role`` may open it (admins and the system may open every dashboard)."""
        return not self.roles or role in (None, "admin", "system") or role in self.roles

    def text(self, lang: str = "zh") -> str:
        """The dashboard's label in ``lang`` (falling back to the other one, then the key)."""
        if lang.startswith("en"):
            return self.label_en or self.label or self.key
        return self.label or self.label_en or self.key


# --------------------------------------------------------------------------- schemas


class _Text(_Str):
    def __init__(self, limit: int = MAX_TEXT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.limit:
            raise ValidationError([Coded("too_large", what="the text", size=len(text), limit=self.limit)])
        return text


def _distinctable(kind: ExprType) -> bool:
    return isinstance(kind, RecordType) or kind in (INTEGER, DECIMAL, DURATION, DATE, DATETIME, TEXT, BOOLEAN, USER)


class _Choice(_Str):
    def __init__(self, choices: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        if text not in self.choices:
            raise ValidationError(
                [Coded("invalid_value", reason=f"{text[:40]!r} is not one of: {', '.join(self.choices)}",
                       reason_zh=f"{text[:40]!r} 不是以下之一:{'、'.join(self.choices)}")]
            )
        return text


class _FieldPath(_Str):
    """``field`` or ``link.field`` (one hop)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        parts = text.split(".")
        from builder import naming

        if len(parts) > 2 or not all(naming.is_identifier(p) for p in parts):
            raise ValidationError(
                [Coded("invalid_value", reason=f"{text[:60]!r} is not a field or link.field (one hop)",
                       reason_zh=f"{text[:60]!r} 不是字段或 链接字段.字段(仅一跳)")]
            )
        return text


class _Pair(fields.Field):
    default_error_messages = {"required": "required", "null": "invalid_type|a list"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, str]:
        from builder import naming

        if not isinstance(value, list | tuple) or len(value) != 2 or not all(
            isinstance(v, str) and naming.is_identifier(v) for v in value
        ):
            raise ValidationError([Coded("invalid_type", expected="a list of two measure keys")])
        return (value[0], value[1])


def _opt_text() -> _Text:
    return _Text(load_default=None, allow_none=True)


def _ranged(low: int, high: int, **kwargs: Any) -> StrictInt:
    class _Ranged(StrictInt):
        def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> int:
            number: int = super()._deserialize(value, attr, data, **kw)
            if not low <= number <= high:
                raise ValidationError(
                    [Coded("invalid_value", reason=f"must be between {low} and {high}",
                           reason_zh=f"须在 {low} 到 {high} 之间")]
                )
            return number

    return _Ranged(**kwargs)


class DimensionSchema(StrictSchema):
    key = Identifier(required=True)
    field = _FieldPath(required=True)
    bucket = _Choice(BUCKETS, load_default=None, allow_none=True)
    label = _opt_text()
    label_en = _opt_text()

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Dimension:
        return Dimension(**data)


class ConversionSchema(StrictSchema):
    from_ = Identifier(required=True, data_key="from")
    to = Identifier(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> tuple[str, str]:
        return (data["from_"], data["to"])


class MeasureSchema(StrictSchema):
    key = Identifier(required=True)
    agg = _Choice(AGGREGATES, load_default=None, allow_none=True)
    of = Expression(load_default=None, allow_none=True)
    filter = Expression(load_default=None, allow_none=True)
    ratio = _Pair(load_default=None, allow_none=True)
    conversion = _Nested(ConversionSchema, load_default=None, allow_none=True)
    label = _opt_text()
    label_en = _opt_text()

    @validates_schema
    def one_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        kinds = [k for k in ("agg", "ratio", "conversion") if data.get(k) is not None]
        if len(kinds) != 1:
            raise ValidationError(
                [Coded("invalid_option", reason="a measure has exactly one of agg, ratio, conversion",
                       reason_zh="度量须且仅须有 agg、ratio、conversion 之一")]
            )
        agg = data.get("agg")
        if agg in ("count_distinct", "sum", "avg", "min", "max") and data.get("of") is None:
            raise ValidationError({"of": [Coded("required")]})
        if agg is None and data.get("of") is not None:
            raise ValidationError({"of": [Coded("invalid_option", reason="of goes with agg",
                                                reason_zh="of 只能与 agg 一起使用")]})
        if agg is None and data.get("filter") is not None:
            raise ValidationError({"filter": [Coded("invalid_option", reason="filter goes with agg",
                                                    reason_zh="filter 只能与 agg 一起使用")]})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Measure:
        return Measure(**data)


class PeriodSchema(StrictSchema):
    field = Identifier(required=True)
    range = _Choice(RANGES, required=True)
    compare = StrictBool(load_default=False)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Period:
        return Period(**data)


class SortSchema(StrictSchema):
    by = Identifier(required=True)
    desc = StrictBool(load_default=False)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> SortKey:
        return SortKey(**data)


class RefreshSchema(StrictSchema):
    ttl = _ranged(0, MAX_TTL, required=True)


class LayoutSchema(StrictSchema):
    x = _ranged(0, 11, load_default=0)
    y = _ranged(0, 1000, load_default=0)
    w = _ranged(1, 12, load_default=6)
    h = _ranged(1, 12, load_default=4)

    @validates_schema
    def fits(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("x", 0) + data.get("w", 6) > 12:
            raise ValidationError(
                {"w": [Coded("invalid_value", reason="x + w must be at most 12 (the grid has 12 columns)",
                             reason_zh="x + w 不能超过 12(网格共 12 列)")]}
            )

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Layout:
        return Layout(**data)


class WidgetSchema(StrictSchema):
    key = Identifier(required=True)
    type = _Choice(WIDGET_TYPES, required=True)
    label = _opt_text()
    label_en = _opt_text()
    entity = Identifier(required=True)
    filter = Expression(load_default=None, allow_none=True)
    period = _Nested(PeriodSchema, load_default=None, allow_none=True)
    dimensions = _List(_Nested(DimensionSchema), load_default=())
    measures = _List(_Nested(MeasureSchema), load_default=())
    stages = _List(Identifier(), load_default=())
    sort = _List(_Nested(SortSchema), load_default=())
    limit = _ranged(1, MAX_LIMIT, load_default=None, allow_none=True)
    columns = _List(Identifier(), load_default=())
    location = Identifier(load_default=None, allow_none=True)
    category = Identifier(load_default=None, allow_none=True)
    template = _Text(MAX_TEMPLATE, load_default=None, allow_none=True)
    template_en = _Text(MAX_TEMPLATE, load_default=None, allow_none=True)
    refresh = _Nested(RefreshSchema, load_default=None, allow_none=True)
    layout = _Nested(LayoutSchema, load_default=None, allow_none=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Widget:
        refresh = data.pop("refresh")
        layout = data.pop("layout")
        for name in ("dimensions", "measures", "stages", "sort", "columns"):
            data[name] = tuple(data[name])
        return Widget(
            **data,
            ttl=DEFAULT_TTL if refresh is None else refresh["ttl"],
            layout=layout or Layout(),
        )


class DashboardSchema(StrictSchema):
    key = Identifier(required=True)
    label = _opt_text()
    label_en = _opt_text()
    roles = _List(Identifier(), load_default=())
    home_for = _List(Identifier(), load_default=())
    widgets = _List(fields.Raw(), load_default=())

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return data


DASHBOARD_SCHEMA = DashboardSchema()
WIDGET_SCHEMA = WidgetSchema()


# --------------------------------------------------------------------------- loading


def load_dashboards(
    raw: Sequence[Any], app: App, *, path: str = join_path(ROOT, "dashboards")
) -> tuple[tuple[Dashboard, ...], list[Problem]]:
    """The dashboards of ``raw`` (the app's section) and every problem found in them.

    Dashboards with problems are left out of the tuple returned.
    """
    from builder.triggers.loading import problems_from_messages

    out: list[Dashboard] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    homes: dict[str, str] = {}
    for index, item in enumerate(raw):
        item_path = join_path(path, index)
        if isinstance(item, Dashboard):
            out.append(item)
            continue
        try:
            data = DASHBOARD_SCHEMA.load(item)
        except ValidationError as exc:
            problems += problems_from_messages(exc.messages, item_path)
            continue
        mine: list[Problem] = []
        key = data["key"]
        if key in seen:
            mine.append(problem(join_path(item_path, "key"), "duplicate_key", what="dashboard",
                                what_zh="仪表盘", value=key, first=seen[key]))
        seen.setdefault(key, item_path)
        for name in ("roles", "home_for"):
            for r, role in enumerate(data[name]):
                if role not in app.roles:
                    mine.append(_unknown(join_path(item_path, name, r), f"{role!r} is not a role of the app",
                                         f"{role!r} 不是应用的角色"))
        for r, role in enumerate(data["home_for"]):
            if data["roles"] and role not in data["roles"]:
                mine.append(_option(join_path(item_path, "home_for", r),
                                    f"role {role!r} may not open this dashboard (see roles)",
                                    f"角色 {role!r} 无权打开此仪表盘(见 roles)"))
            elif role in homes:
                mine.append(_option(join_path(item_path, "home_for", r),
                                    f"role {role!r} already has a home dashboard at {homes[role]}",
                                    f"角色 {role!r} 的首页仪表盘已在 {homes[role]} 指定"))
            else:
                homes[role] = item_path
        widgets_path = join_path(item_path, "widgets")
        if len(data["widgets"]) > MAX_WIDGETS:
            mine.append(problem(widgets_path, "too_large", what="the number of widgets",
                                what_zh="组件数", size=len(data["widgets"]), limit=MAX_WIDGETS))
        widgets: list[Widget] = []
        widget_keys: dict[str, str] = {}
        for w, raw_widget in enumerate(data["widgets"][:MAX_WIDGETS]):
            widget_path = join_path(widgets_path, w)
            widget, found = load_widget(raw_widget, app, path=widget_path)
            mine += found
            if widget is None:
                continue
            if widget.key in widget_keys:
                mine.append(problem(join_path(widget_path, "key"), "duplicate_key", what="widget",
                                    what_zh="组件", value=widget.key, first=widget_keys[widget.key]))
                continue
            widget_keys[widget.key] = widget_path
            widgets.append(widget)
        problems += mine
        if not mine:
            out.append(Dashboard(key=key, label=data["label"], label_en=data["label_en"],
                                 roles=tuple(data["roles"]), home_for=tuple(data["home_for"]),
                                 widgets=tuple(widgets)))
    return tuple(out), problems


def check_dashboards(app: App) -> list[Problem]:
    """Every problem of ``app``'s dashboards (stage 3 of :mod:`builder.validation`)."""
    return load_dashboards(app.dashboards, app)[1]


def load_widget(raw: Any, app: App, *, path: str = ROOT) -> tuple[Widget | None, list[Problem]]:
    """One widget checked against ``app``: the widget (None when it has problems) and its
    problems, with JSON paths under ``path``."""
    from builder.triggers.loading import problems_from_messages

    if isinstance(raw, Widget):
        widget = raw
    else:
        try:
            widget = WIDGET_SCHEMA.load(raw)
        except ValidationError as exc:
            return None, problems_from_messages(exc.messages, path)
    problems = _WidgetCheck(app, widget, path).run()
    return (None if problems else widget), problems


# --------------------------------------------------------------------------- meaning


def _unknown(path: str, en: str, zh: str) -> Problem:
    return problem(path, "unknown_reference", reason=en, reason_zh=zh)


def _option(path: str, en: str, zh: str) -> Problem:
    return problem(path, "invalid_option", reason=en, reason_zh=zh)


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """What a field path of an entity is: its entity, key, field type and expression type."""

    entity: str
    key: str
    field_type: FieldType | None  # None: a system column
    type: ExprType | None
    hop: str | None = None  # the link field of ``link.field``


def column_info(app: App, entity: Entity, name: str) -> ColumnInfo | None:
    """What ``name`` (a field, a system column or ``stage``) of ``entity`` is, or None."""
    if name in SYSTEM_COLUMNS:
        kind = {"id": INTEGER, "created_by": None, "owner": None}.get(name, DATETIME)
        return ColumnInfo(entity.key, name, None, kind)
    if name in STAGE_COLUMNS and entity.stages:
        return ColumnInfo(entity.key, name, None, DATETIME if name == "stage_entered_at" else None)
    f = entity.field(name)
    if f is None:
        return None
    if f.type is FieldType.FORMULA:
        spec = scope_for(app, entity.key).entity_spec()
        found = spec.field(name) if spec is not None else None
        return ColumnInfo(entity.key, name, f.type, found.type if found is not None else None)
    from builder.scope import FIELD_TYPES

    return ColumnInfo(entity.key, name, f.type, FIELD_TYPES.get(f.type))


def resolve_path(app: App, entity: Entity, path: str) -> ColumnInfo | str:
    """``field`` or ``link.field`` of ``entity`` (a :class:`ColumnInfo`), or why not (text)."""
    first, _, rest = path.partition(".")
    if not rest:
        info = column_info(app, entity, first)
        return info if info is not None else f"{first!r} is not a field of {entity.key!r}"
    link = entity.field(first)
    if link is None or link.type is not FieldType.LINK or link.target is None:
        return f"{first!r} is not a link field of {entity.key!r}"
    target = app.entity(link.target)
    if target is None:
        return f"{link.target!r} is not an entity"
    info = column_info(app, target, rest)
    if info is None:
        return f"{rest!r} is not a field of {target.key!r}"
    return ColumnInfo(info.entity, info.key, info.field_type, info.type, hop=first)


def is_user(info: ColumnInfo) -> bool:
    """Whether the column holds a user id."""
    return info.key in ("owner", "created_by") if info.field_type is None else info.field_type is FieldType.USER


def is_temporal(info: ColumnInfo) -> bool:
    """Whether the column is a date or a datetime."""
    return info.type in (DATE, DATETIME)


class _WidgetCheck:
    def __init__(self, app: App, widget: Widget, path: str) -> None:
        self.app, self.widget, self.path = app, widget, path
        self.problems: list[Problem] = []
        self.entity: Entity | None = None

    def at(self, *parts: str | int) -> str:
        return join_path(self.path, *parts)

    def run(self) -> list[Problem]:
        w = self.widget
        self.entity = self.app.entity(w.entity)
        if self.entity is None:
            self.problems.append(_unknown(self.at("entity"), f"{w.entity!r} is not an entity of the app",
                                          f"{w.entity!r} 不是应用中的实体"))
            return self.problems
        self.arity()
        self.options()
        keys: dict[str, str] = {}
        for d, dim in enumerate(w.dimensions):
            self.unique(keys, dim.key, self.at("dimensions", d, "key"))
            self.dimension(dim, d)
        for m, measure in enumerate(w.measures):
            self.unique(keys, measure.key, self.at("measures", m, "key"))
            self.measure(measure, m)
        if w.filter is not None:
            self.expression(w.filter, self.at("filter"), BOOLEAN)
        if w.period is not None:
            self.period()
        self.sorting()
        self.type_specific()
        return self.problems

    def unique(self, keys: dict[str, str], key: str, path: str) -> None:
        if key in keys:
            self.problems.append(problem(path, "duplicate_key", what="dimension or measure",
                                         what_zh="维度或度量", value=key, first=keys[key]))
        keys.setdefault(key, path)

    def arity(self) -> None:
        w = self.widget
        dims, measures = len(w.dimensions), len(w.measures)
        rules: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
            "number": ((0, 0), (1, 50)), "sentence": ((0, 0), (1, 50)),
            "bar": ((1, 1), (1, 50)), "pie": ((1, 1), (1, 50)),
            "line": ((1, 2), (1, 50)), "area": ((1, 2), (1, 50)),
            "heatmap": ((2, 2), (1, 1)), "funnel": ((0, 0), (0, 50)),
            "table": ((0, 4), (0, 50)), "map": ((0, 0), (0, 0)),
        }
        (dlo, dhi), (mlo, mhi) = rules[w.type]
        if not dlo <= dims <= dhi:
            self.problems.append(self._arity("dimensions", dims, dlo, dhi))
        if not mlo <= measures <= mhi:
            self.problems.append(self._arity("measures", measures, mlo, mhi))
        if w.type == "table" and dims and not measures:
            self.problems.append(self._arity("measures", 0, 1, 50))
        if w.type == "table" and not dims and measures:
            self.problems.append(_option(self.at("measures"),
                                         "a table without dimensions lists records: it has no measures",
                                         "没有维度的表格列出记录,不能有度量"))

    def _arity(self, what: str, got: int, low: int, high: int) -> Problem:
        wanted = str(low) if low == high else f"{low}..{high}"
        return problem(self.at(what), "widget_arity", widget=self.widget.type, what=what,
                       what_zh={"dimensions": "维度", "measures": "度量"}[what], got=got, wanted=wanted)

    def options(self) -> None:
        w = self.widget
        allowed = {
            "columns": w.type == "table" and not w.dimensions,
            "location": w.type == "map", "category": w.type == "map",
            "template": w.type == "sentence", "template_en": w.type == "sentence",
            "stages": w.type == "funnel",
        }
        for name, ok in allowed.items():
            value = getattr(w, name)
            if value not in (None, ()) and not ok:
                self.problems.append(problem(self.at(name), "widget_option", name=name, widget=w.type))

    def dimension(self, dim: Dimension, d: int) -> None:
        assert self.entity is not None
        path = self.at("dimensions", d, "field")
        info = resolve_path(self.app, self.entity, dim.field)
        if isinstance(info, str):
            self.problems.append(_unknown(path, info, info))
            return
        target = self.app.entity(info.entity)
        if info.field_type in UNGROUPABLE or (info.key == "id" and info.hop is None) or (
            info.type is None and info.field_type is FieldType.FORMULA
        ):
            self.problems.append(_option(path, f"{dim.field!r} can't be grouped by", f"不能按 {dim.field!r} 分组"))
            return
        if dim.bucket is not None and not is_temporal(info):
            self.problems.append(_option(self.at("dimensions", d, "bucket"),
                                         "only a date or datetime is bucketed", "只有日期或日期时间可以分桶"))
        if dim.bucket is None and info.type == DATETIME:
            self.problems.append(problem(self.at("dimensions", d, "bucket"), "required"))
        del target

    def measure(self, measure: Measure, m: int) -> None:
        assert self.entity is not None
        w = self.widget
        base = ("measures", m)
        if measure.of is not None:
            wanted = None
            outcome = checker.check_source(measure.of, scope_for(self.app, w.entity), require_sql=True)
            self.problems += diagnostics_to_problems(self.at(*base, "of"), outcome)
            if outcome.ok and outcome.type is not None:
                kind = outcome.type
                if measure.agg in ("sum", "avg") and kind not in (INTEGER, DECIMAL, DURATION):
                    wanted = "a number"
                elif measure.agg in ("min", "max") and kind not in (INTEGER, DECIMAL, DURATION, DATE, DATETIME):
                    wanted = "a number or a date"
                elif measure.agg == "count_distinct" and not _distinctable(kind):
                    wanted = "a single value"
                if wanted:
                    self.problems.append(_option(self.at(*base, "of"),
                                                 f"{measure.agg} needs {wanted}, not {kind}",
                                                 f"{measure.agg} 需要{ {'a number': '数字', 'a number or a date': '数字或日期', 'a single value': '单个值'}[wanted] },而不是 {kind}"))
        if measure.filter is not None:
            self.expression(measure.filter, self.at(*base, "filter"), BOOLEAN)
        if measure.ratio is not None:
            for i, ref in enumerate(measure.ratio):
                other = w.measure(ref)
                if other is None or other.key == measure.key:
                    self.problems.append(_unknown(self.at(*base, "ratio", i), f"{ref!r} is not another measure of the widget",
                                                  f"{ref!r} 不是该组件的另一个度量"))
                elif other.agg is None:
                    self.problems.append(_option(self.at(*base, "ratio", i), "a ratio divides two aggregates",
                                                 "比率只能由两个聚合度量相除"))
        if measure.conversion is not None:
            for name, stage in zip(("from", "to"), measure.conversion, strict=True):
                if self.entity.stage(stage) is None:
                    self.problems.append(_unknown(self.at(*base, "conversion", name),
                                                  f"{stage!r} is not a stage of {w.entity!r}",
                                                  f"{stage!r} 不是实体 {w.entity!r} 的阶段"))

    def expression(self, source: str, path: str, expect: ExprType | None) -> None:
        outcome = checker.check_source(source, scope_for(self.app, self.widget.entity), expect=expect, require_sql=True)
        self.problems += diagnostics_to_problems(path, outcome)

    def period(self) -> None:
        assert self.entity is not None and self.widget.period is not None
        info = column_info(self.app, self.entity, self.widget.period.field)
        if info is None:
            self.problems.append(_unknown(self.at("period", "field"),
                                          f"{self.widget.period.field!r} is not a field of {self.entity.key!r}",
                                          f"{self.widget.period.field!r} 不是实体 {self.entity.key!r} 的字段"))
        elif not is_temporal(info):
            self.problems.append(_option(self.at("period", "field"), "a period needs a date or datetime field",
                                         "时间段需要日期或日期时间字段"))

    def sorting(self) -> None:
        assert self.entity is not None
        w = self.widget
        names = {d.key for d in w.dimensions} | {m.key for m in w.measures}
        for s, key in enumerate(w.sort):
            if w.record_list:
                info = column_info(self.app, self.entity, key.by)
                if info is None or info.field_type in UNGROUPABLE:
                    self.problems.append(_unknown(self.at("sort", s, "by"),
                                                  f"{key.by!r} is not a sortable field of {self.entity.key!r}",
                                                  f"{key.by!r} 不是实体 {self.entity.key!r} 可排序的字段"))
            elif key.by not in names:
                self.problems.append(_unknown(self.at("sort", s, "by"),
                                              f"{key.by!r} is not a dimension or measure of the widget",
                                              f"{key.by!r} 不是该组件的维度或度量"))

    def type_specific(self) -> None:
        assert self.entity is not None
        w, entity = self.widget, self.entity
        if w.type == "funnel":
            if not entity.stages:
                self.problems.append(_option(self.at("entity"), f"a funnel needs an entity with stages; {entity.key!r} has none",
                                             f"漏斗需要有阶段的实体;{entity.key!r} 没有阶段"))
            for s, stage in enumerate(w.stages):
                if entity.stage(stage) is None:
                    self.problems.append(_unknown(self.at("stages", s), f"{stage!r} is not a stage of {entity.key!r}",
                                                  f"{stage!r} 不是实体 {entity.key!r} 的阶段"))
        if w.type == "table" and not w.dimensions:
            for c, name in enumerate(w.columns):
                info = column_info(self.app, entity, name)
                if info is None or info.field_type in UNSHOWABLE:
                    self.problems.append(_unknown(self.at("columns", c), f"{name!r} is not a field of {entity.key!r} a table can show",
                                                  f"{name!r} 不是实体 {entity.key!r} 中表格可显示的字段"))
        if w.type == "map":
            if w.location is None:
                self.problems.append(problem(self.at("location"), "required"))
            else:
                f = entity.field(w.location)
                if f is None or f.type is not FieldType.LOCATION:
                    self.problems.append(_unknown(self.at("location"), f"{w.location!r} is not a location field of {entity.key!r}",
                                                  f"{w.location!r} 不是实体 {entity.key!r} 的位置字段"))
            if w.category is not None:
                info = column_info(self.app, entity, w.category)
                if info is None or info.field_type in UNGROUPABLE:
                    self.problems.append(_unknown(self.at("category"), f"{w.category!r} is not a field of {entity.key!r}",
                                                  f"{w.category!r} 不是实体 {entity.key!r} 的字段"))
        if w.type == "sentence":
            if w.template is None:
                self.problems.append(problem(self.at("template"), "required"))
            measures = {m.key for m in w.measures}
            for name in ("template", "template_en"):
                text = getattr(w, name)
                for found in PLACEHOLDER.findall(text or ""):
                    if found not in measures:
                        self.problems.append(problem(self.at(name), "template_placeholder", name=found))


def dashboards_by_key(dashboards: Sequence[Dashboard]) -> Mapping[str, Dashboard]:
    """The dashboards by key."""
    return {d.key: d for d in dashboards}
