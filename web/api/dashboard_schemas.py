"""Marshmallow schemas of the dashboards API (``web/api/dashboards.py``): the dashboards a
role may open and the results of their widgets (WidgetResult, see docs/dashboards.md).
Every shape is closed; the values of a row, a total or a record are maps by key."""

from __future__ import annotations

from marshmallow import Schema, fields

NUMBERS = {"description": "Figures by measure key (null: no value, e.g. a ratio divided by 0)"}
BY_DIMENSION = {"description": "By dimension key"}


class LayoutSchema(Schema):
    """A widget's place on the 12-column grid."""

    x = fields.Integer(required=True)
    y = fields.Integer(required=True)
    w = fields.Integer(required=True)
    h = fields.Integer(required=True)


class WidgetSummarySchema(Schema):
    """A widget of a dashboard (its definition's identity and place)."""

    key = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "number, bar, line, area, pie, funnel, heatmap, table, map or sentence"})
    label = fields.String(allow_none=True, required=True)
    label_en = fields.String(allow_none=True, required=True)
    entity = fields.String(required=True, metadata={"description": "The source entity: drill links open its list"})
    layout = fields.Nested(LayoutSchema, required=True)


class DashboardSummarySchema(Schema):
    """A dashboard the caller's role may open."""

    key = fields.String(required=True)
    label = fields.String(allow_none=True, required=True)
    label_en = fields.String(allow_none=True, required=True)
    home = fields.Boolean(required=True, metadata={"description": "It is the caller's home dashboard in this app (home_for)"})
    widgets = fields.List(fields.Nested(WidgetSummarySchema), required=True)


class DashboardListSchema(Schema):
    """The app's dashboards the caller's role may open."""

    items = fields.List(fields.Nested(DashboardSummarySchema), required=True)


class NamedSchema(Schema):
    """A dimension or measure of a result, with its labels."""

    key = fields.String(required=True)
    label = fields.String(allow_none=True)
    label_en = fields.String(allow_none=True)
    format = fields.String(metadata={"description": "Measures: integer, decimal, percent or money"})
    bucket = fields.String(allow_none=True, metadata={"description": "Dimensions: day, week, month or quarter"})
    field = fields.String(metadata={"description": "Dimensions: the field grouped by"})


class RowSchema(Schema):
    """One group: its drill cell (raw values, "" for null), display labels and figures."""

    cell = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata=BY_DIMENSION)
    labels = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata=BY_DIMENSION)
    labels_en = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata=BY_DIMENSION)
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True, metadata=NUMBERS)
    previous = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True,
                           metadata={"description": "With a compare period: the previous period's figures"})
    delta = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True,
                        metadata={"description": "With a compare period: the relative change by measure key"})


class TotalSchema(Schema):
    """A number card's figures, with the previous period and the change when compared."""

    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True, metadata=NUMBERS)
    previous = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True, metadata=NUMBERS)
    delta = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True,
                        metadata={"description": "Relative change by measure key (0.29 = +29 %; null without a previous value)"})


class RecordRowSchema(Schema):
    """A record of a record table (TOP-N)."""

    id = fields.Integer(required=True)
    title = fields.String(allow_none=True, required=True)
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True, metadata={"description": "By column key"})
    labels = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), metadata={"description": "Display values by column key"})
    labels_en = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))


class PointSchema(Schema):
    """A record on a map."""

    id = fields.Integer(required=True)
    title = fields.String(allow_none=True, required=True)
    lat = fields.Float(required=True)
    lng = fields.Float(required=True)
    category = fields.String(allow_none=True)
    category_label = fields.String(allow_none=True)
    category_label_en = fields.String(allow_none=True)


class StageCountSchema(Schema):
    """A funnel stage: how many records entered it and the share of the first stage's."""

    stage = fields.String(required=True)
    label = fields.String(allow_none=True)
    label_en = fields.String(allow_none=True)
    count = fields.Integer(required=True)
    conversion = fields.Float(allow_none=True)
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), metadata=NUMBERS)


class WidgetResultSchema(Schema):
    """A widget's result: what the charts draw and the cells drill links are made from."""

    key = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.String(allow_none=True)
    label_en = fields.String(allow_none=True)
    entity = fields.String(metadata={"description": "The source entity: drill links open its list, record links its records"})
    dimensions = fields.List(fields.Nested(NamedSchema))
    measures = fields.List(fields.Nested(NamedSchema))
    rows = fields.List(fields.Nested(RowSchema))
    total = fields.Nested(TotalSchema, allow_none=True)
    columns = fields.List(fields.Nested(NamedSchema), metadata={"description": "Record tables: the columns shown"})
    records = fields.List(fields.Nested(RecordRowSchema), metadata={"description": "Record tables (a table without dimensions)"})
    points = fields.List(fields.Nested(PointSchema), metadata={"description": "Maps"})
    sentence = fields.String(allow_none=True)
    sentence_en = fields.String(allow_none=True)
    stages = fields.List(fields.Nested(StageCountSchema), metadata={"description": "Funnels"})
    computed_at = fields.String(required=True)
    cached = fields.Boolean(required=True)


class WidgetErrorSchema(Schema):
    """Why a widget of the dashboard has no result (its entity is not readable by the role …)."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    message_zh = fields.String(required=True)


class WidgetWithResultSchema(WidgetSummarySchema):
    """A widget and its result (or, when it could not be computed for the caller, ``error``)."""

    result = fields.Nested(WidgetResultSchema)
    error = fields.Nested(WidgetErrorSchema)


class DashboardDetailSchema(Schema):
    """A dashboard with every widget's result."""

    key = fields.String(required=True)
    label = fields.String(allow_none=True, required=True)
    label_en = fields.String(allow_none=True, required=True)
    home = fields.Boolean(required=True)
    widgets = fields.List(fields.Nested(WidgetWithResultSchema), required=True)


SCHEMAS = {
    "DashboardList": DashboardListSchema,
    "DashboardDetail": DashboardDetailSchema,
    "WidgetResult": WidgetResultSchema,
}
