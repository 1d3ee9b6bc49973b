"""The rule-health chart: an inline SVG drawn on the server (no script, no chart library).

One line per rule of its daily success rate, and a dashed line at the alert threshold.
The SVG has a ``viewBox`` and no fixed width, so it scales to the page (a phone's 390 px
included). The vertical axis starts at a round value just under the lowest rate or the
threshold, so a drop from 100 % to 99 % is visible next to a 99.5 % threshold. A day without
runs leaves a gap in its rule's line. Each point has a ``<title>`` (its tooltip).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from markupsafe import Markup, escape

#: Colours of the rules' lines (distinct in light mode and for common colour blindness).
PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
FLOORS = (99.0, 98.0, 95.0, 90.0, 80.0, 50.0, 0.0)

#: A point: (day, rate in 0–1 or None when the rule did not run, successes, runs).
Point = tuple[date, float | None, int, int]


def axis_floor(rates: Sequence[float], threshold: float) -> float:
    """The lowest value (percent) of the vertical axis: the first of :data:`FLOORS` at least
    half a point under every rate and the threshold."""
    lowest = min([r * 100 for r in rates] + [threshold * 100])
    for floor in FLOORS:
        if floor <= lowest - 0.5:
            return floor
    return 0.0


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}".rstrip("0").rstrip(".") + "%"


def success_chart(
    series: Mapping[str, Sequence[Point]],
    days: Sequence[date],
    threshold: float,
    *,
    title: str,
    threshold_label: str,
    labels: Mapping[str, str] | None = None,
    width: int = 360,
    height: int = 200,
) -> Markup:
    """The SVG of ``series`` (rule key → points) over ``days`` with the ``threshold`` line.

    ``labels`` gives a rule's display name (default: its key); ``title`` is the chart's
    accessible name; ``threshold_label`` the text beside the threshold line."""
    labels = labels or {}
    left, right, top, bottom = 40, 8, 10, 24
    legend_rows = (len(series) + 1) // 2
    total_height = height + 16 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    rates = [p[1] for points in series.values() for p in points if p[1] is not None]
    floor = axis_floor(rates, threshold)
    span = 100.0 - floor or 100.0
    index = {d: i for i, d in enumerate(days)}
    step = plot_w / max(1, len(days) - 1)

    def x(day: date) -> float:
        return left + (index[day] * step if len(days) > 1 else plot_w / 2)

    def y(rate: float) -> float:
        clamped = min(100.0, max(floor, rate * 100))
        return top + (100.0 - clamped) / span * plot_h

    parts = [
        f'<svg class="health-chart" viewBox="0 0 {width} {total_height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#d1d5db"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10" fill="#6b7280">100%</text>',
        f'<text x="{left - 4}" y="{top + plot_h + 3}" text-anchor="end" font-size="10" fill="#6b7280">{_fmt(floor)}%</text>',
    ]
    ty = y(threshold)
    parts.append(
        f'<line class="threshold" x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" '
        f'stroke="#dc2626" stroke-dasharray="4 3" stroke-width="1"/>'
    )
    parts.append(
        f'<text x="{left + plot_w - 2}" y="{ty - 3:.1f}" text-anchor="end" font-size="10" fill="#dc2626">'
        f"{escape(threshold_label)} {_pct(threshold)}</text>"
    )
    if days:
        parts.append(
            f'<text x="{left}" y="{top + plot_h + 14}" font-size="10" fill="#6b7280">{days[0]:%m-%d}</text>'
        )
        if len(days) > 1:
            parts.append(
                f'<text x="{left + plot_w}" y="{top + plot_h + 14}" text-anchor="end" font-size="10" '
                f'fill="#6b7280">{days[-1]:%m-%d}</text>'
            )
    for number, (key, points) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        name = labels.get(key, key)
        segment: list[str] = []
        segments: list[list[str]] = []
        last: int | None = None
        for day, rate, _ok, _runs in sorted(points, key=lambda p: p[0]):
            if day not in index or rate is None:
                continue
            if segment and last is not None and index[day] - last > 1:  # a day without runs: a gap
                segments.append(segment)
                segment = []
            segment.append(f"{x(day):.1f},{y(rate):.1f}")
            last = index[day]
        if segment:
            segments.append(segment)
        parts.append(f'<g class="rule" data-rule="{escape(key)}">')
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        for day, rate, ok, runs in points:
            if rate is None or day not in index:
                continue
            parts.append(
                f'<circle cx="{x(day):.1f}" cy="{y(rate):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(name)} · {day.isoformat()}: {_pct(rate)} ({ok}/{runs})</title></circle>"
            )
        parts.append("</g>")
        lx = 4 + (number % 2) * (width // 2)
        ly = height + 12 + (number // 2) * 16
        parts.append(f'<rect x="{lx}" y="{ly - 8}" width="10" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly - 4}" font-size="11" fill="#374151">{escape(name[:28])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
