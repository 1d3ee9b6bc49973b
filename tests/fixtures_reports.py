"""A small sales app with a dashboard, shared by the report and export tests.

Opportunities carry a region, an amount and an owner; a rep reads only the opportunities
they own (``owner == me()``), a manager reads all. The ``weekly_review`` dashboard has a
number card, a bar per region and a top-N record table (the widget types of the engine's
first slice), so a report and an export exercise the engine's result shapes.
"""

from __future__ import annotations

from typing import Any


def report_app(*, triggers: list[dict[str, Any]] | None = None, key: str = "review") -> dict[str, Any]:
    """The app definition; ``triggers`` are added as given."""
    return {
        "format": "cairn.app/1", "key": key, "label": {"zh": "周复盘", "en": "Weekly review"},
        "entities": [
            {"key": "opportunity", "label": {"zh": "商机", "en": "Opportunity"}, "title_field": "name",
             "fields": [
                 {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
                 {"key": "region", "type": "choice", "label": {"zh": "区域", "en": "Region"},
                  "options": [{"value": "east", "label": {"zh": "华东", "en": "East"}},
                              {"value": "south", "label": {"zh": "华南", "en": "South"}}]},
                 {"key": "amount", "type": "number", "label": {"zh": "金额", "en": "Amount"}},
             ],
             "permissions": [
                 {"role": "rep", "read": True, "create": True, "update": True, "read_when": "owner == me()"},
                 {"role": "manager", "read": True, "create": True, "update": True},
             ]},
        ],
        "dashboards": [
            {"key": "weekly_review", "label": "周五复盘", "label_en": "Friday review",
             "roles": ["manager", "rep", "admin"],
             "widgets": [
                 {"key": "total", "type": "number", "label": "商机数", "label_en": "Opportunities",
                  "entity": "opportunity",
                  "measures": [{"key": "n", "agg": "count", "label": "数量", "label_en": "Count"},
                               {"key": "amount", "agg": "sum", "of": "amount", "label": "金额", "label_en": "Amount"}],
                  "layout": {"x": 0, "y": 0, "w": 4, "h": 2}},
                 {"key": "topics", "type": "bar", "label": "各区域议题", "label_en": "Topics by region",
                  "entity": "opportunity", "dimensions": [{"key": "region", "field": "region"}],
                  "measures": [{"key": "n", "agg": "count", "label": "数量", "label_en": "Count"}],
                  "sort": [{"by": "n", "desc": True}],
                  "layout": {"x": 4, "y": 0, "w": 8, "h": 4}},
                 {"key": "biggest", "type": "table", "label": "最大商机", "label_en": "Biggest",
                  "entity": "opportunity", "columns": ["name", "region", "amount"],
                  "sort": [{"by": "amount", "desc": True}], "limit": 3,
                  "layout": {"x": 0, "y": 4, "w": 12, "h": 4}},
             ]},
        ],
        "triggers": triggers or [],
    }
