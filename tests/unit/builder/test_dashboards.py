"""The ``dashboards`` section: every kind of problem is reported at its JSON path with a stable code."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder import DefinitionInvalid, dump_definition, load_definition
from builder.dashboards import load_dashboards, load_widget
from tests.unit.builder.test_fuzz import json_values


def _doc(widgets: list[dict[str, Any]], **dashboard: Any) -> dict[str, Any]:
    return {
        "format": "cairn.app/1",
        "key": "crm",
        "label": "CRM",
        "entities": [
            {"key": "customer", "label": "客户", "title_field": "name", "fields": [
                {"key": "name", "type": "text", "label": "名称"},
                {"key": "region", "type": "choice", "label": "区域", "options": ["east", "west"]},
                {"key": "spot", "type": "location", "label": "位置"},
                {"key": "tags", "type": "multi_choice", "label": "标签", "options": ["a"]},
            ]},
            {"key": "deal", "label": "商机", "fields": [
                {"key": "customer", "type": "link", "target": "customer", "label": "客户"},
                {"key": "amount", "type": "money", "label": "金额"},
                {"key": "name", "type": "text", "label": "名称"},
                {"key": "closed_at", "type": "datetime", "label": "成交时间"},
            ], "stages": [{"key": "lead", "label": "线索"}, {"key": "won", "label": "赢单"}]},
        ],
        "dashboards": [{"key": "main", "label": "主页", "widgets": widgets, **dashboard}],
    }


OK_WIDGET = {"key": "n", "type": "number", "entity": "deal", "measures": [{"key": "n", "agg": "count"}]}


def problems(widgets: list[dict[str, Any]], **dashboard: Any) -> dict[str, str]:
    with pytest.raises(DefinitionInvalid) as refused:
        load_definition(_doc(widgets, **dashboard))
    return {p.path: p.code for p in refused.value.problems}


def one(widget: dict[str, Any]) -> dict[str, str]:
    return problems([widget])


def test_a_valid_section_loads_and_dumps_unchanged() -> None:
    widgets = [
        OK_WIDGET,
        {"key": "h", "type": "heatmap", "entity": "deal", "label": "区域 × 阶段", "label_en": "Region × stage",
         "dimensions": [{"key": "r", "field": "customer.region"}, {"key": "s", "field": "stage"}],
         "measures": [{"key": "n", "agg": "count"}], "filter": "amount > 0",
         "period": {"field": "closed_at", "range": "this_month", "compare": True},
         "refresh": {"ttl": 300}, "layout": {"x": 6, "y": 0, "w": 6, "h": 4}},
        {"key": "f", "type": "funnel", "entity": "deal", "stages": ["lead", "won"]},
        {"key": "m", "type": "map", "entity": "customer", "location": "spot", "category": "region"},
        {"key": "s", "type": "sentence", "entity": "deal", "measures": [{"key": "n", "agg": "count"}],
         "template": "{n} 个", "template_en": "{n} deals"},
        {"key": "t", "type": "table", "entity": "deal", "columns": ["name", "amount"],
         "sort": [{"by": "amount", "desc": True}], "limit": 3},
        {"key": "w", "type": "line", "entity": "deal",
         "dimensions": [{"key": "week", "field": "closed_at", "bucket": "week"}, {"key": "c", "field": "customer"}],
         "measures": [{"key": "won", "agg": "count", "filter": 'stage == "won"'}, {"key": "n", "agg": "count"},
                      {"key": "rate", "ratio": ["won", "n"]}, {"key": "conv", "conversion": {"from": "lead", "to": "won"}},
                      {"key": "d", "agg": "count_distinct", "of": "customer"}, {"key": "a", "agg": "avg", "of": "amount"}]},
    ]
    doc = _doc(widgets, roles=["manager"], home_for=["manager"])
    app = load_definition(doc)
    assert app.dashboards == tuple(copy.deepcopy(doc["dashboards"]))
    assert dump_definition(app)["dashboards"] == doc["dashboards"]
    dashboards, found = load_dashboards(app.dashboards, app)
    assert found == []
    heatmap = dashboards[0].widget("h")
    assert heatmap is not None and heatmap.ttl == 300 and heatmap.layout.x == 6 and heatmap.period is not None


@pytest.mark.parametrize(
    ("widget", "path", "code"),
    [
        ({**OK_WIDGET, "type": "pie"}, "widgets[0].dimensions", "widget_arity"),
        ({**OK_WIDGET, "measures": []}, "widgets[0].measures", "widget_arity"),
        ({**OK_WIDGET, "type": "heatmap", "dimensions": [{"key": "s", "field": "stage"}]}, "widgets[0].dimensions",
         "widget_arity"),
        ({**OK_WIDGET, "type": "line", "dimensions": [{"key": "a", "field": "stage"}, {"key": "b", "field": "name"},
                                                      {"key": "c", "field": "amount"}]},
         "widgets[0].dimensions", "widget_arity"),
        ({**OK_WIDGET, "type": "chart"}, "widgets[0].type", "invalid_value"),
        ({**OK_WIDGET, "colour": "red"}, "widgets[0].colour", "unknown_key"),
        ({**OK_WIDGET, "entity": "nope"}, "widgets[0].entity", "unknown_reference"),
        ({**OK_WIDGET, "filter": "amont > 0"}, "widgets[0].filter", "expression_unknown_name"),
        ({**OK_WIDGET, "filter": "amount"}, "widgets[0].filter", "expression_not_boolean"),
        ({**OK_WIDGET, "measures": [{"key": "x", "agg": "sum", "of": "name"}]}, "widgets[0].measures[0].of",
         "invalid_option"),
        ({**OK_WIDGET, "measures": [{"key": "x", "agg": "sum"}]}, "widgets[0].measures[0].of", "required"),
        ({**OK_WIDGET, "measures": [{"key": "x", "agg": "median", "of": "amount"}]}, "widgets[0].measures[0].agg",
         "invalid_value"),
        ({**OK_WIDGET, "measures": [{"key": "x"}]}, "widgets[0].measures[0]", "invalid_option"),
        ({**OK_WIDGET, "measures": [{"key": "n", "agg": "count"}, {"key": "r", "ratio": ["n", "zz"]}]},
         "widgets[0].measures[1].ratio[1]", "unknown_reference"),
        ({**OK_WIDGET, "measures": [{"key": "c", "conversion": {"from": "lead", "to": "lost"}}]},
         "widgets[0].measures[0].conversion.to", "unknown_reference"),
        ({**OK_WIDGET, "measures": [{"key": "n", "agg": "count"}, {"key": "n", "agg": "count"}]},
         "widgets[0].measures[1].key", "duplicate_key"),
        ({**OK_WIDGET, "type": "bar", "dimensions": [{"key": "d", "field": "customer.nope"}]},
         "widgets[0].dimensions[0].field", "unknown_reference"),
        ({**OK_WIDGET, "type": "bar", "dimensions": [{"key": "d", "field": "name.region"}]},
         "widgets[0].dimensions[0].field", "unknown_reference"),
        ({**OK_WIDGET, "type": "bar", "dimensions": [{"key": "d", "field": "a.b.c"}]},
         "widgets[0].dimensions[0].field", "invalid_value"),
        ({**OK_WIDGET, "type": "bar", "dimensions": [{"key": "d", "field": "closed_at"}]},
         "widgets[0].dimensions[0].bucket", "required"),
        ({**OK_WIDGET, "type": "bar", "dimensions": [{"key": "d", "field": "name", "bucket": "week"}]},
         "widgets[0].dimensions[0].bucket", "invalid_option"),
        ({**OK_WIDGET, "type": "bar", "dimensions": [{"key": "d", "field": "closed_at", "bucket": "year"}]},
         "widgets[0].dimensions[0].bucket", "invalid_value"),
        ({**OK_WIDGET, "entity": "customer", "type": "bar", "dimensions": [{"key": "d", "field": "tags"}]},
         "widgets[0].dimensions[0].field", "invalid_option"),
        ({**OK_WIDGET, "period": {"field": "name", "range": "today"}}, "widgets[0].period.field", "invalid_option"),
        ({**OK_WIDGET, "period": {"field": "closed_at", "range": "forever"}}, "widgets[0].period.range",
         "invalid_value"),
        ({**OK_WIDGET, "sort": [{"by": "zz"}]}, "widgets[0].sort[0].by", "unknown_reference"),
        ({**OK_WIDGET, "limit": 501}, "widgets[0].limit", "invalid_value"),
        ({**OK_WIDGET, "refresh": {"ttl": -1}}, "widgets[0].refresh.ttl", "invalid_value"),
        ({**OK_WIDGET, "layout": {"x": 8, "w": 6}}, "widgets[0].layout.w", "invalid_value"),
        ({**OK_WIDGET, "layout": {"h": 13}}, "widgets[0].layout.h", "invalid_value"),
        ({**OK_WIDGET, "location": "spot"}, "widgets[0].location", "widget_option"),
        ({"key": "m", "type": "map", "entity": "customer"}, "widgets[0].location", "required"),
        ({"key": "m", "type": "map", "entity": "customer", "location": "name"}, "widgets[0].location",
         "unknown_reference"),
        ({"key": "f", "type": "funnel", "entity": "customer"}, "widgets[0].entity", "invalid_option"),
        ({"key": "f", "type": "funnel", "entity": "deal", "stages": ["lead", "nope"]}, "widgets[0].stages[1]",
         "unknown_reference"),
        ({**OK_WIDGET, "type": "sentence"}, "widgets[0].template", "required"),
        ({**OK_WIDGET, "type": "sentence", "template": "{n} and {zz}"}, "widgets[0].template", "template_placeholder"),
        ({"key": "t", "type": "table", "entity": "deal", "columns": ["nope"]}, "widgets[0].columns[0]",
         "unknown_reference"),
        ({"key": "t", "type": "table", "entity": "deal", "sort": [{"by": "nope"}]}, "widgets[0].sort[0].by",
         "unknown_reference"),
        ({"key": "t", "type": "table", "entity": "deal", "measures": [{"key": "n", "agg": "count"}]},
         "widgets[0].measures", "invalid_option"),
        ({**OK_WIDGET, "key": "Bad Key"}, "widgets[0].key", "invalid_identifier"),
    ],
)
def test_each_problem_is_reported_at_its_path(widget: dict[str, Any], path: str, code: str) -> None:
    found = one(widget)
    assert found.get(f"$.dashboards[0].{path}") == code, found


def test_dashboard_level_problems() -> None:
    found = problems([OK_WIDGET, OK_WIDGET], roles=["ghost"], home_for=["rep"])
    assert found["$.dashboards[0].widgets[1].key"] == "duplicate_key"
    assert found["$.dashboards[0].roles[0]"] == "unknown_reference"
    assert found["$.dashboards[0].home_for[0]"] == "invalid_option"
    assert problems([OK_WIDGET] * 25)["$.dashboards[0].widgets"] == "too_large"
    doc = _doc([OK_WIDGET])
    doc["dashboards"].append({"key": "main", "widgets": []})
    with pytest.raises(DefinitionInvalid) as refused:
        load_definition(doc)
    assert {p.path: p.code for p in refused.value.problems} == {"$.dashboards[1].key": "duplicate_key"}


def test_messages_are_in_both_languages() -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        load_definition(_doc([{**OK_WIDGET, "type": "pie"}]))
    arity = next(p for p in refused.value.problems if p.code == "widget_arity")
    assert arity.message == "A pie widget has 1 dimensions, not 0."
    assert arity.message_zh == "pie 组件应有 1 个维度,而不是 0 个。"


def test_a_single_widget_for_the_preview() -> None:
    app = load_definition(_doc([OK_WIDGET]))
    widget, found = load_widget(OK_WIDGET, app)
    assert widget is not None and found == []
    widget, found = load_widget({**OK_WIDGET, "entity": "nope"}, app)
    assert widget is None and [(p.path, p.code) for p in found] == [("$.entity", "unknown_reference")]


# --------------------------------------------------------------------------- robustness

_VALID = _doc([
    {"key": "h", "type": "heatmap", "entity": "deal", "filter": "amount > 0",
     "dimensions": [{"key": "r", "field": "customer.region"}, {"key": "s", "field": "stage"}],
     "measures": [{"key": "n", "agg": "count", "filter": "amount > 1"}],
     "period": {"field": "closed_at", "range": "this_week", "compare": True},
     "sort": [{"by": "n", "desc": True}], "limit": 5, "refresh": {"ttl": 30}, "layout": {"x": 0, "w": 6}},
    {"key": "m", "type": "map", "entity": "customer", "location": "spot", "category": "region"},
    {"key": "s", "type": "sentence", "entity": "deal", "template": "{n}",
     "measures": [{"key": "n", "agg": "count"}, {"key": "r", "ratio": ["n", "n"]},
                  {"key": "c", "conversion": {"from": "lead", "to": "won"}}]},
    {"key": "f", "type": "funnel", "entity": "deal", "stages": ["lead"]},
    {"key": "t", "type": "table", "entity": "deal", "columns": ["name"], "sort": [{"by": "amount"}]},
], roles=["manager"], home_for=["manager"])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


DASHBOARD_PATHS = [p for p in _paths(_VALID) if p[:1] == ("dashboards",)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(DASHBOARD_PATHS), json_values), min_size=1, max_size=3))
def test_any_change_to_a_dashboard_is_loaded_or_refused_cleanly(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    load_definition(copy.deepcopy(_VALID))
    doc: Any = copy.deepcopy(_VALID)
    for path, value in changes:
        target = doc
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        load_definition(doc)
    except DefinitionInvalid as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.path.startswith("$") and p.code and p.message and p.message_zh
