"""The rule-health chart: an inline SVG drawn by a small function, checked point by point."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from web.admin.chart import axis_floor, success_chart

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 11, 20) + timedelta(days=i) for i in range(5)]


def _draw(series, threshold=0.995, **kw):
    return ET.fromstring(str(success_chart(series, DAYS, threshold, title="Rate", threshold_label="Alert", **kw)))


def test_axis_floor_keeps_small_drops_visible() -> None:
    assert axis_floor([1.0, 0.998], 0.995) == 99.0
    assert axis_floor([1.0], 0.995) == 99.0
    assert axis_floor([0.985], 0.995) == 98.0
    assert axis_floor([0.75], 0.995) == 50.0
    assert axis_floor([0.1], 0.995) == 0.0
    assert axis_floor([], 0.5) == 0.0


def test_one_line_per_rule_with_points_where_it_ran() -> None:
    svg = _draw({"a": [(DAYS[0], 1.0, 10, 10), (DAYS[1], 0.5, 1, 2), (DAYS[2], 1.0, 3, 3)]})
    assert svg.get("viewBox", "").startswith("0 0 360 ")
    assert svg.get("role") == "img" and svg.get("aria-label") == "Rate"
    (line,) = svg.iter(f"{SVG}polyline")
    points = [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
    assert len(points) == 3
    xs = [p[0] for p in points]
    assert xs == sorted(xs) and xs[0] == 40.0  # the left edge of the plot, evenly spaced
    assert xs[1] - xs[0] == xs[2] - xs[1]
    # 100 % is the top of the plot (y = 10); the axis starts at 0 % (50 % is not half a point
    # above the 50 % floor), so 50 % lies in the middle.
    assert points[0][1] == 10.0 and points[2][1] == 10.0
    assert points[1][1] == 10.0 + (200 - 10 - 24) / 2
    tips = [c.find(f"{SVG}title").text for c in svg.iter(f"{SVG}circle")]
    assert tips == ["a · 2026-11-20: 100% (10/10)", "a · 2026-11-21: 50% (1/2)", "a · 2026-11-22: 100% (3/3)"]


def test_the_threshold_line_sits_at_the_threshold() -> None:
    svg = _draw({"a": [(DAYS[0], 1.0, 1, 1), (DAYS[1], 0.99, 99, 100)]})
    (line,) = [e for e in svg.iter(f"{SVG}line") if e.get("class") == "threshold"]
    # Floor 98 %: 99.5 % is a quarter of the way down from 100 %.
    plot_h = 200 - 10 - 24
    assert float(line.get("y1")) == round(10 + 0.25 * plot_h, 1) == float(line.get("y2"))
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Alert 99.5%" in labels and "98%" in labels and "100%" in labels
    assert "11-20" in labels and "11-24" in labels


def test_a_day_without_runs_breaks_the_line() -> None:
    svg = _draw({"a": [(DAYS[0], 1.0, 1, 1), (DAYS[1], 1.0, 1, 1), (DAYS[3], 0.9, 9, 10), (DAYS[4], 1.0, 2, 2)]})
    lines = list(svg.iter(f"{SVG}polyline"))
    assert [len(line.get("points", "").split()) for line in lines] == [2, 2]
    assert len(list(svg.iter(f"{SVG}circle"))) == 4


def test_several_rules_get_their_own_colours_and_legend() -> None:
    svg = _draw({"a": [(DAYS[0], 1.0, 1, 1), (DAYS[1], 1.0, 1, 1)], "b": [(DAYS[0], 0.5, 1, 2), (DAYS[1], 1.0, 1, 1)]},
                labels={"a": "需求确认超时", "b": "<b>x</b>"})
    colours = [line.get("stroke") for line in svg.iter(f"{SVG}polyline")]
    assert len(set(colours)) == 2
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "需求确认超时" in texts and "<b>x</b>" in texts  # escaped in the markup, text when parsed


def test_names_are_escaped_and_empty_series_draw_only_the_frame() -> None:
    markup = str(success_chart({'"><script>': [(DAYS[0], 1.0, 1, 1)]}, DAYS, 0.995, title="<t>", threshold_label="&"))
    assert "<script>" not in markup and "&lt;t&gt;" in markup and "&amp;" in markup
    empty = ET.fromstring(str(success_chart({}, DAYS, 0.995, title="Rate", threshold_label="Alert")))
    assert list(empty.iter(f"{SVG}polyline")) == [] and list(empty.iter(f"{SVG}circle")) == []
    assert re.search(r'class="threshold"', str(success_chart({}, [], 0.995, title="t", threshold_label="a")))
