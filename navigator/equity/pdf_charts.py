"""A `Chart` (`charts.py`) drawn with reportlab's graphics shapes, for the PDF report:
the same marks in the same look (`chart_styles`) as the page's SVG, so the board
sees the picture the dashboard shows.

The chart's coordinates have y downwards (as SVG); a reportlab `Drawing` has y
upwards, so each y becomes `height - y`, and the whole is scaled to the width asked
for. Text is set in Helvetica (Helvetica-Bold for bold), as the outreach letters are;
it covers Latin-1, so a label beyond it prints with gaps rather than failing (the
report's own module decides what to do about such labels).
"""

from __future__ import annotations

from reportlab.graphics import shapes
from reportlab.graphics.shapes import Drawing, Group
from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from navigator.equity.chart_marks import Chart, Circle, Line, Mark, Polygon, Polyline, Rect, Text
from navigator.equity.chart_styles import MarkStyle, style_of

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"


def chart_drawing(chart: Chart, *, width: float | None = None) -> Drawing:
    """The chart as a reportlab `Drawing`, `width` points wide (default: one point per
    chart unit), its height in proportion."""
    scale = (width / chart.width) if width else 1.0
    drawing = Drawing(chart.width * scale, chart.height * scale)
    group = Group(*(_shape(mark, chart.height) for mark in chart.marks))
    group.scale(scale, scale)
    drawing.add(group)
    return drawing


def draw_chart(canvas: Canvas, chart: Chart, *, x: float, y: float, width: float) -> float:
    """Draw the chart on `canvas` with its lower left corner at (x, y), `width` points
    wide; returns the height it took."""
    drawing = chart_drawing(chart, width=width)
    drawing.drawOn(canvas, x, y)
    return float(drawing.height)


def _shape(mark: Mark, height: float) -> shapes.Shape:
    style = style_of(mark.css_class)
    if isinstance(mark, Text):
        return shapes.String(
            mark.x,
            height - mark.y,
            mark.text,
            fontName=FONT_BOLD if style.bold else FONT,
            fontSize=style.font_size,
            fillColor=_colour(style.fill),
            textAnchor=mark.anchor,
        )
    if isinstance(mark, Line):
        shape: shapes.Shape = shapes.Line(mark.x1, height - mark.y1, mark.x2, height - mark.y2)
    elif isinstance(mark, Rect):
        # reportlab's rectangle is anchored at its lower left corner.
        shape = shapes.Rect(mark.x, height - mark.y - mark.height, mark.width, mark.height)
    elif isinstance(mark, Circle):
        shape = shapes.Circle(mark.cx, height - mark.cy, mark.r)
    elif isinstance(mark, Polyline | Polygon):
        flat = [v for x, y in mark.points for v in (x, height - y)]
        shape = shapes.PolyLine(flat) if isinstance(mark, Polyline) else shapes.Polygon(flat)
    else:  # pragma: no cover - every kind of mark is drawn above
        raise TypeError(f"no way to draw {mark!r}")
    _paint(shape, style)
    return shape


def _paint(shape: shapes.Shape, style: MarkStyle) -> None:
    shape.strokeColor = _colour(style.stroke)
    shape.strokeWidth = style.stroke_width
    shape.strokeDashArray = list(style.dash) or None
    if not isinstance(shape, shapes.Line | shapes.PolyLine):
        shape.fillColor = _colour(style.fill)
        shape.fillOpacity = style.fill_opacity


def _colour(value: str | None) -> HexColor | None:
    return HexColor(value) if value else None
