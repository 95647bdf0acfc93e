"""How each kind of chart mark looks, by its CSS class: one table that the SVG writes
as fallback presentation attributes (any CSS rule overrides them, so the page's
stylesheet `config/static/css/equinav.css` stays in charge) and that the PDF draws
with, so the page and the PDF show the same picture.

The colours are the stylesheet's own (`--ink`, `--brand`, ...). Every mark that
carries data (dots, whiskers, lines, bars, the reference line) has at least 3:1
contrast on white (WCAG 2.1 SC 1.4.11, non-text contrast) and text at least 4.5:1
(SC 1.4.3); grid lines and interval bands are decoration, as the data table and the
whiskers carry the same figures. Series differ by dash pattern and marker shape as
well as colour (SC 1.4.1, use of colour), and each line is named at its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

INK = "#1b2430"
INK_MUTED = "#4f5b69"
GRID = "#cfd6df"
BRAND = "#0b5c7a"
DANGER = "#a4161a"
OK = "#1e6b34"
PAPER = "#ffffff"

# Series colours on white, contrast 5.7:1 to 9:1; with the dash patterns and
# markers below, two series never share all three within twelve series.
SERIES_COLOURS = ("#0b5c7a", "#a34e00", "#1e6b34", "#6f3b95", "#a4161a", "#3d4a5c")
SERIES_DASHES: tuple[tuple[float, ...], ...] = ((), (7, 3), (2, 3), (9, 3, 2, 3), (14, 4), (4, 4))
SERIES_MARKERS = ("circle", "square", "triangle", "diamond")


@dataclass(frozen=True)
class MarkStyle:
    """A mark's look. None: not painted (no stroke, no fill)."""

    stroke: str | None = None
    fill: str | None = None
    stroke_width: float = 1.0
    dash: tuple[float, ...] = ()
    fill_opacity: float = 1.0
    font_size: float = 12.0
    bold: bool = False


def _series_styles() -> dict[str, MarkStyle]:
    styles = {}
    for number, colour in enumerate(SERIES_COLOURS, start=1):
        dash = SERIES_DASHES[number - 1]
        styles[f"chart__line--s{number}"] = MarkStyle(stroke=colour, stroke_width=2.5, dash=dash)
        styles[f"chart__band--s{number}"] = MarkStyle(fill=colour, fill_opacity=0.14)
        styles[f"chart__marker--s{number}"] = MarkStyle(stroke=colour, fill=colour)
    return styles


STYLES: Mapping[str, MarkStyle] = {
    "chart__grid": MarkStyle(stroke=GRID, stroke_width=1),
    "chart__axis": MarkStyle(stroke=INK_MUTED, stroke_width=1),
    "chart__tick-label": MarkStyle(fill=INK_MUTED, font_size=11),
    "chart__axis-title": MarkStyle(fill=INK_MUTED, font_size=11),
    "chart__label": MarkStyle(fill=INK, font_size=12),
    "chart__label--reference": MarkStyle(fill=INK, font_size=12, bold=True),
    "chart__note": MarkStyle(fill=INK_MUTED, font_size=11),
    "chart__value": MarkStyle(fill=INK, font_size=11),
    "chart__dot": MarkStyle(stroke=BRAND, fill=BRAND, stroke_width=1.5),
    # The reference group's dot is hollow: told apart by shape, not colour alone.
    "chart__dot--reference": MarkStyle(stroke=INK, fill=PAPER, stroke_width=2),
    "chart__whisker": MarkStyle(stroke=INK, stroke_width=1.5),
    "chart__reference-line": MarkStyle(stroke=DANGER, stroke_width=1.5, dash=(5, 3)),
    "chart__reference-label": MarkStyle(fill=DANGER, font_size=11),
    # A control programme's target on the case page's lab trend (lab_chart.py): told
    # apart from the poor-control threshold (the reference line) by dash and label too.
    "chart__target-line": MarkStyle(stroke=OK, stroke_width=1.5, dash=(2, 3)),
    "chart__target-label": MarkStyle(fill=OK, font_size=11),
    "chart__zero": MarkStyle(stroke=INK, stroke_width=1.5),
    "chart__bar": MarkStyle(stroke=BRAND, fill=BRAND),
    "chart__line": MarkStyle(stroke=BRAND, stroke_width=2.5),
    "chart__band": MarkStyle(fill=BRAND, fill_opacity=0.14),
    "chart__marker": MarkStyle(stroke=BRAND, fill=BRAND),
    "chart__end-label": MarkStyle(fill=INK, font_size=11),
    "chart__legend-text": MarkStyle(fill=INK, font_size=11),
    **_series_styles(),
}


def style_of(css_class: str) -> MarkStyle:
    """The look of a mark with these classes (space-separated): the last known class
    wins, as a modifier (`chart__dot--reference`) follows its base (`chart__dot`)."""
    style = MarkStyle()
    for name in css_class.split():
        if name in STYLES:
            style = STYLES[name]
    return style


def series_class(kind: str, index: int) -> str:
    """The classes of series `index` (0-based)'s line, band or marker."""
    return f"chart__{kind} chart__{kind}--s{index % len(SERIES_COLOURS) + 1}"


def series_marker(index: int) -> str:
    return SERIES_MARKERS[index % len(SERIES_MARKERS)]
