"""The vocabulary of the equity charts (`charts.py`): the marks a chart is drawn with
(lines, rectangles, circles, polylines, polygons, text), the `Chart` and its
`ChartTable`, the formatting of numbers shared by a chart's text and its table (so
they agree), and text fitted to a width (shortened with an ellipsis, the whole text
kept for a tooltip).

Coordinates are SVG user units, y downwards, rounded to 0.1 so that output is the
same from run to run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from reportlab.pdfbase.pdfmetrics import stringWidth

from navigator.equity import chart_styles
from navigator.equity.suppression import hidden_text

WIDTH = 640.0
ELLIPSIS = "…"
# Text is measured in Helvetica (the PDF's font); a browser's sans-serif may be wider
# (DejaVu Sans by some 12%), so text is fitted as if it were that much wider.
FIT_MARGIN = 1.12


class _Rounded:
    """Rounds its coordinates to 0.1 on creation (frozen dataclasses set them once)."""

    def __post_init__(self) -> None:
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, float | int) and not isinstance(value, bool):
                object.__setattr__(self, field.name, round(float(value), 1))
            elif field.name == "points":
                object.__setattr__(
                    self, "points", tuple((round(x, 1), round(y, 1)) for x, y in value)
                )


@dataclass(frozen=True)
class Line(_Rounded):
    x1: float
    y1: float
    x2: float
    y2: float
    css_class: str


@dataclass(frozen=True)
class Rect(_Rounded):
    x: float
    y: float
    width: float
    height: float
    css_class: str


@dataclass(frozen=True)
class Circle(_Rounded):
    cx: float
    cy: float
    r: float
    css_class: str


@dataclass(frozen=True)
class Polyline(_Rounded):
    """An open line through the points (a trend line)."""

    points: Sequence[tuple[float, float]]  # stored as a tuple
    css_class: str


@dataclass(frozen=True)
class Polygon(_Rounded):
    """A closed, filled shape (an interval band, a marker)."""

    points: Sequence[tuple[float, float]]  # stored as a tuple
    css_class: str


@dataclass(frozen=True)
class Text(_Rounded):
    """Text whose baseline starts, centres or ends at (x, y). `full_text` is the whole
    text when `text` had to be shortened (shown as a tooltip and read out)."""

    x: float
    y: float
    text: str
    css_class: str
    anchor: str = "start"  # "start" | "middle" | "end", as SVG's text-anchor
    full_text: str | None = None


Mark = Line | Rect | Circle | Polyline | Polygon | Text


@dataclass(frozen=True)
class ChartTable:
    """The chart's figures as text: each row's first cell names it (a row header)."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    title: str
    desc: str
    marks: tuple[Mark, ...]
    table: ChartTable
    kind: str = ""  # "dot-whisker", "trend", "gap-trend" or "funnel": a CSS modifier


# --- Numbers as text: the chart and its table use these, so they agree -----------------


def percent(rate: float) -> str:
    """0.6214 → "62.1%"."""
    return f"{_one_decimal(rate * 100)}%"


def interval(low: float | None, high: float | None) -> str:
    """0.55, 0.688 → "55.0–68.8%"; "" when there is none."""
    if low is None or high is None:
        return ""
    return f"{_one_decimal(low * 100)}–{_one_decimal(high * 100)}%"


def points(difference: float) -> str:
    """A difference of rates in percentage points, signed: -0.142 → "-14.2"."""
    text = _one_decimal(difference * 100)
    return text if text.startswith("-") or text == "0.0" else f"+{text}"


def count(value: int) -> str:
    return f"{value:,}"


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


# --- Text that fits -------------------------------------------------------------------


def text_width(text: str, font_size: float) -> float:
    """The width of `text` in Helvetica (the PDF's font; close to the page's sans-serif)."""
    return stringWidth(text, "Helvetica", font_size)


def fit(text: str, max_width: float, font_size: float = 12.0) -> tuple[str, str | None]:
    """`text` shortened with an ellipsis to fit `max_width`, and the full text when it
    was shortened (else None)."""
    if text_width(text, font_size) * FIT_MARGIN <= max_width:
        return text, None
    shown = text
    while shown and text_width(shown.rstrip() + ELLIPSIS, font_size) * FIT_MARGIN > max_width:
        shown = shown[:-1]
    return shown.rstrip() + ELLIPSIS, text


def label_text(
    x: float, y: float, text: str, css_class: str, max_width: float, *, anchor: str = "start"
) -> Text:
    """A `Text` in the look of `css_class`, shortened to fit `max_width`."""
    size = chart_styles.style_of(css_class).font_size
    shown, full = fit(text, max_width, size)
    return Text(x, y, shown, css_class, anchor=anchor, full_text=full)


def suppressed_text() -> str:
    return hidden_text()


def interval_points(low: float | None, high: float | None) -> str:
    """An interval of a difference in percentage points: "-20.1 to -8.3"."""
    if low is None or high is None:
        return ""
    return f"{points(low)} to {points(high)}"
