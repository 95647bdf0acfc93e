"""A `Chart` (`charts.py`) as inline SVG for the page, with its data table: written by
the template `navigator/equity/_chart.html`, so every label and figure is escaped by
Django's autoescaping (a group named "<script>" is shown, never run).

The SVG is an image with a text alternative (WCAG 2.1 SC 1.1.1): `role="img"` and
`aria-labelledby` naming its `<title>` and `<desc>`; the table beside it, in a
`<details>` that sighted readers may open, carries every figure the chart shows.
Each mark carries its CSS classes and, as a fallback where the stylesheet is not
loaded, its look from `chart_styles` as presentation attributes (which any CSS rule
overrides). No script, font or image is loaded from anywhere.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from navigator.equity.chart_marks import Chart, Circle, Line, Mark, Polygon, Polyline, Rect, Text
from navigator.equity.chart_styles import style_of

TEMPLATE = "navigator/equity/_chart.html"


def render_chart(
    chart: Chart, *, chart_id: str | None = None, table_open: bool = False
) -> SafeString:
    """The chart as a `<figure>`: caption, inline `<svg>` and the data table. Two
    charts on one page need distinct ids: the default is drawn from the chart's
    content, so pass `chart_id` when a page could show the same chart twice."""
    return SafeString(
        render_to_string(TEMPLATE, chart_context(chart, chart_id=chart_id, table_open=table_open))
    )


def chart_context(
    chart: Chart, *, chart_id: str | None = None, table_open: bool = False
) -> dict[str, Any]:
    """What `_chart.html` needs, for a page that includes the template itself."""
    return {
        "chart": chart,
        "chart_id": chart_id or default_chart_id(chart),
        "width": _number(chart.width),
        "height": _number(chart.height),
        "marks": [svg_mark(mark) for mark in chart.marks],
        "table_open": table_open,
    }


def default_chart_id(chart: Chart) -> str:
    """An id from the chart's content: the same chart always gets the same id."""
    return "chart-" + hashlib.sha256(repr(chart).encode()).hexdigest()[:10]


def svg_mark(mark: Mark) -> dict[str, Any]:
    """One mark as the template writes it: its element, attributes (numbers already
    as text) and, for text, its content and full text."""
    style = style_of(mark.css_class)
    paint: dict[str, str] = {"fill": style.fill or "none"}
    if style.stroke:
        paint["stroke"] = style.stroke
        paint["stroke-width"] = _number(style.stroke_width)
        if style.dash:
            paint["stroke-dasharray"] = " ".join(_number(d) for d in style.dash)
    if style.fill and style.fill_opacity != 1:
        paint["fill-opacity"] = _number(style.fill_opacity)
    element: dict[str, Any] = {"class": mark.css_class, "paint": paint}
    if isinstance(mark, Line):
        element |= {"tag": "line", "x1": mark.x1, "y1": mark.y1, "x2": mark.x2, "y2": mark.y2}
    elif isinstance(mark, Rect):
        element |= {"tag": "rect", "x": mark.x, "y": mark.y}
        element |= {"width": mark.width, "height": mark.height}
    elif isinstance(mark, Circle):
        element |= {"tag": "circle", "cx": mark.cx, "cy": mark.cy, "r": mark.r}
    elif isinstance(mark, Polyline | Polygon):
        element["tag"] = "polyline" if isinstance(mark, Polyline) else "polygon"
        element["points"] = " ".join(f"{_number(x)},{_number(y)}" for x, y in mark.points)
    elif isinstance(mark, Text):
        paint = {"fill": style.fill or "currentColor", "font-size": _number(style.font_size)}
        if style.bold:
            paint["font-weight"] = "bold"
        element |= {"tag": "text", "x": mark.x, "y": mark.y, "paint": paint}
        element |= {"anchor": mark.anchor, "text": mark.text, "full_text": mark.full_text}
    for key in ("x1", "y1", "x2", "y2", "x", "y", "width", "height", "cx", "cy", "r"):
        if key in element:
            element[key] = _number(element[key])
    return element


def _number(value: float) -> str:
    """12.0 → "12", 34.5 → "34.5" (coordinates are already rounded to 0.1)."""
    return f"{value:g}"
