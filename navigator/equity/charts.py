"""The equity dashboard's pictures as plain geometry (issue 13, item 7): a `Chart` is
a size, a title and description, a tuple of marks (lines, rectangles, circles,
polygons, text) and the same figures as a `ChartTable` for screen readers. Nothing
here draws: `svg.py` writes a chart as inline SVG for the page and `pdf_charts.py`
draws it with reportlab for the PDF, so both show the same picture.

Coordinates are in SVG's user units, y downwards, rounded to 0.1 so that output is
the same from run to run. Marks carry CSS classes (`chart_styles.STYLES` gives each
class its look). Every number drawn as text is in the table too, formatted by the
same functions. Suppressed figures (`suppression.py`) arrive as None and are drawn as
"Suppressed", never as a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from navigator.equity import chart_styles
from navigator.equity.chart_marks import (
    WIDTH,
    Chart,
    ChartTable,
    Circle,
    Line,
    Mark,
    Polygon,
    Polyline,
    Rect,
    Text,
    count,
    interval,
    interval_points,
    label_text,
    percent,
    points,
    suppressed_text,
    text_width,
)
from navigator.equity.stats import GroupStatistics
from navigator.equity.suppression import hidden_text

# (period label, rate, interval low, interval high); None where suppressed.
TrendPoint = tuple[str, float | None, float | None, float | None]

__all__ = [
    "Chart",
    "ChartTable",
    "Circle",
    "Line",
    "Mark",
    "Polygon",
    "Polyline",
    "Rect",
    "Text",
    "dot_whisker",
    "funnel",
    "gap_trend",
    "trend",
]


# --- Dot and whisker: each group's rate and interval, against the reference ------------

DW_LABEL_RIGHT = 196.0
DW_PLOT_LEFT = 212.0
DW_PLOT_RIGHT = 618.0
DW_TOP = 34.0
DW_ROW = 30.0


def dot_whisker(
    rows: Sequence[GroupStatistics],
    *,
    reference_rate: float | None,
    title: str,
    measure_label: str,
) -> Chart:
    """One row per group: a dot at its rate, a whisker over its 95% interval, the
    group's name at the left; a dashed vertical line at the reference group's rate (none
    when it is hidden) and a 0–100% axis. The reference group's name is bold, marked
    "(reference)", and its dot hollow. A suppressed group shows "Suppressed" and
    no dot."""
    span = DW_PLOT_RIGHT - DW_PLOT_LEFT

    def x_of(rate: float) -> float:
        return DW_PLOT_LEFT + min(max(rate, 0.0), 1.0) * span

    bottom = DW_TOP + DW_ROW * max(len(rows), 1)
    marks: list[Mark] = _x_axis_percent(x_of, DW_TOP, bottom)
    marks.append(
        Text(
            (DW_PLOT_LEFT + DW_PLOT_RIGHT) / 2,
            bottom + 36,
            measure_label,
            "chart__axis-title",
            anchor="middle",
        )
    )
    if reference_rate is not None:
        x = x_of(reference_rate)
        marks.append(Line(x, DW_TOP - 6, x, bottom, "chart__reference-line"))
        anchor = "end" if x > DW_PLOT_RIGHT - 60 else "start" if x < DW_PLOT_LEFT + 60 else "middle"
        marks.append(
            Text(
                x,
                DW_TOP - 12,
                f"Reference {percent(reference_rate)}",
                "chart__reference-label",
                anchor=anchor,
            )
        )

    table_rows = []
    suppressed = 0
    for index, row in enumerate(rows):
        y = DW_TOP + DW_ROW * index + DW_ROW / 2
        label = f"{row.label} (reference)" if row.is_reference else row.label
        label_class = "chart__label chart__label--reference" if row.is_reference else "chart__label"
        marks.append(
            label_text(DW_LABEL_RIGHT, y + 4, label, label_class, DW_LABEL_RIGHT - 4, anchor="end")
        )
        if row.suppressed:
            suppressed += 1
            marks.append(Text(DW_PLOT_LEFT + 6, y + 4, suppressed_text(), "chart__note"))
            table_rows.append((label, hidden_text(), hidden_text(), hidden_text(), ""))
            continue
        if row.rate is None:
            marks.append(Text(DW_PLOT_LEFT + 6, y + 4, "no one counted", "chart__note"))
        else:
            if row.ci_low is not None and row.ci_high is not None:
                low, high = x_of(row.ci_low), x_of(row.ci_high)
                marks.append(Line(low, y, high, y, "chart__whisker"))
                marks.append(Line(low, y - 5, low, y + 5, "chart__whisker"))
                marks.append(Line(high, y - 5, high, y + 5, "chart__whisker"))
            dot_class = "chart__dot chart__dot--reference" if row.is_reference else "chart__dot"
            marks.append(Circle(x_of(row.rate), y, 5.0, dot_class))
        table_rows.append(
            (
                label,
                count(row.numerator) if row.numerator is not None else "",
                count(row.denominator) if row.denominator is not None else "",
                percent(row.rate) if row.rate is not None else "",
                interval(row.ci_low, row.ci_high),
            )
        )

    desc = (
        f"{measure_label} by group, on a scale from 0 to 100%: each dot is a group's rate "
        "and the line through it its 95% interval."
    )
    if reference_rate is not None:
        desc += (
            " The dashed vertical line marks the reference group's rate, "
            f"{percent(reference_rate)}."
        )
    if suppressed:
        desc += (
            f" {suppressed} {'group is' if suppressed == 1 else 'groups are'} suppressed "
            f"(shown as {hidden_text()}), without a dot."
        )
    return Chart(
        width=WIDTH,
        height=bottom + 48,
        title=title,
        desc=desc,
        marks=tuple(marks),
        table=ChartTable(
            caption=title,
            headers=("Group", "Numerator", "Denominator", measure_label, "95% interval"),
            rows=tuple(table_rows),
        ),
        kind="dot-whisker",
    )


def _x_axis_percent(x_of, top: float, bottom: float) -> list[Mark]:
    """Vertical grid lines and labels at 0, 20, ..., 100% and the axis line."""
    marks: list[Mark] = []
    for tick in range(0, 101, 20):
        x = x_of(tick / 100)
        marks.append(Line(x, top, x, bottom, "chart__grid"))
        marks.append(Text(x, bottom + 16, f"{tick}%", "chart__tick-label", anchor="middle"))
    marks.append(Line(x_of(0), bottom, x_of(1), bottom, "chart__axis"))
    return marks


# --- Trend: quarterly rates per group with interval bands ----------------------------

TR_PLOT_LEFT = 52.0
TR_PLOT_RIGHT = 474.0
TR_TOP = 16.0
TR_PLOT_HEIGHT = 240.0
TR_END_LABEL_WIDTH = WIDTH - TR_PLOT_RIGHT - 24
TR_LEGEND_ENTRY = 196.0


def trend(series: Mapping[str, Sequence[TrendPoint]], *, title: str) -> Chart:
    """Each group's rate per quarter on a 0–100% axis: a line with a marker at each
    quarter and a shaded band over the 95% interval. A quarter that is suppressed
    (rate None) breaks the line. Each line differs from the others by dash pattern and
    marker shape as well as colour, is named at its end, and is keyed in a legend."""
    periods = _periods(series)
    bottom = TR_TOP + TR_PLOT_HEIGHT
    step = (TR_PLOT_RIGHT - TR_PLOT_LEFT) / max(len(periods), 1)
    x_at = {period: TR_PLOT_LEFT + step * (i + 0.5) for i, period in enumerate(periods)}

    def y_of(rate: float) -> float:
        return bottom - min(max(rate, 0.0), 1.0) * TR_PLOT_HEIGHT

    marks: list[Mark] = []
    for tick in range(0, 101, 20):
        y = y_of(tick / 100)
        marks.append(Line(TR_PLOT_LEFT, y, TR_PLOT_RIGHT, y, "chart__grid"))
        marks.append(Text(TR_PLOT_LEFT - 6, y + 4, f"{tick}%", "chart__tick-label", anchor="end"))
    marks.append(Line(TR_PLOT_LEFT, bottom, TR_PLOT_RIGHT, bottom, "chart__axis"))
    marks.extend(_period_labels(periods, x_at, step, bottom))

    lines: list[Mark] = []
    bands: list[Mark] = []
    ends: list[tuple[float, int, str]] = []
    table_rows = []
    for index, (group, points_) in enumerate(series.items()):
        for run in _runs(points_):
            coords = [(x_at[p], y_of(rate)) for p, rate, _, _ in run if rate is not None]
            bands.extend(_band(run, x_at, y_of, index))
            if len(coords) > 1:
                lines.append(Polyline(coords, chart_styles.series_class("line", index)))
            lines.extend(_marker(x, y, index) for x, y in coords)
        shown = [(p, rate) for p, rate, _, _ in points_ if rate is not None]
        if shown:
            ends.append((y_of(shown[-1][1]), index, group))
        for period, rate, low, high in points_:
            if rate is None:
                table_rows.append((group, period, hidden_text(), ""))
            else:
                table_rows.append((group, period, percent(rate), interval(low, high)))
    # Bands first, so that no band covers another group's line.
    marks.extend(bands)
    marks.extend(lines)
    marks.extend(_end_labels(ends, bottom))
    legend_top = bottom + 46
    legend = _legend(list(series), legend_top)
    marks.extend(legend)
    rows_of_legend = -(-len(series) // 3)
    desc = (
        f"Rates by quarter from {periods[0]} to {periods[-1]}, one line per group "
        if periods
        else "Rates by quarter, one line per group "
    ) + (
        f"({', '.join(series)}), on a scale from 0 to 100%, each with a shaded 95% interval. "
        f"A break in a line is a quarter whose figures are suppressed ({hidden_text()})."
    )
    return Chart(
        width=WIDTH,
        height=legend_top + 20 * rows_of_legend + 6,
        title=title,
        desc=desc,
        marks=tuple(marks),
        table=ChartTable(
            caption=title,
            headers=("Group", "Quarter", "Rate", "95% interval"),
            rows=tuple(table_rows),
        ),
        kind="trend",
    )


def _periods(series: Mapping[str, Sequence[TrendPoint]]) -> list[str]:
    """Every period in the order first seen (the series usually share them all)."""
    periods: list[str] = []
    for points_ in series.values():
        for period, *_ in points_:
            if period not in periods:
                periods.append(period)
    return periods


def _runs(points_: Sequence[TrendPoint]) -> list[list[TrendPoint]]:
    """The stretches of consecutive points with a rate: a None ends a stretch."""
    runs: list[list[TrendPoint]] = [[]]
    for point in points_:
        if point[1] is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _band(run, x_at, y_of, index: int) -> list[Mark]:
    """The interval over a stretch: a filled band, or a whisker for a lone quarter."""
    known = [
        (x_at[p], y_of(low), y_of(high))
        for p, _, low, high in run
        if low is not None and high is not None
    ]
    if len(known) == 1:
        x, low, high = known[0]
        return [Line(x, low, x, high, chart_styles.series_class("line", index))]
    if len(known) < 2:
        return []
    outline = [(x, high) for x, _, high in known] + [(x, low) for x, low, _ in reversed(known)]
    return [Polygon(outline, chart_styles.series_class("band", index))]


def _marker(x: float, y: float, index: int, size: float = 4.5) -> Mark:
    shape = chart_styles.series_marker(index)
    css = chart_styles.series_class("marker", index)
    if shape == "circle":
        return Circle(x, y, size, css)
    if shape == "square":
        return Rect(x - size, y - size, size * 2, size * 2, css)
    if shape == "triangle":
        return Polygon(
            [(x, y - size - 1), (x + size + 1, y + size), (x - size - 1, y + size)],
            css,
        )
    return Polygon(
        [(x, y - size - 1), (x + size + 1, y), (x, y + size + 1), (x - size - 1, y)],
        css,
    )


def _period_labels(periods: list[str], x_at, step: float, bottom: float) -> list[Mark]:
    """A label under each period; split in two lines ("Q1" over "2025") when narrow."""
    marks: list[Mark] = []
    for period in periods:
        x = x_at[period]
        marks.append(Line(x, bottom, x, bottom + 4, "chart__axis"))
        if text_width(period, 11) <= step - 4 or " " not in period:
            marks.append(
                label_text(x, bottom + 17, period, "chart__tick-label", step - 2, anchor="middle")
            )
            continue
        first, second = period.rsplit(" ", 1)
        marks.append(Text(x, bottom + 16, second, "chart__tick-label", anchor="middle"))
        marks.append(
            label_text(x, bottom + 29, first, "chart__tick-label", step - 2, anchor="middle")
        )
    return marks


def _end_labels(ends: list[tuple[float, int, str]], bottom: float) -> list[Mark]:
    """Each group's name at the right of the plot, level with its last point, pushed
    apart so that none overlaps another (down first, then all up if the lowest would
    fall below the axis)."""
    gap = 14.0
    baselines: list[float] = []
    for y, _, _ in sorted(ends):
        baselines.append(max(y + 4, baselines[-1] + gap) if baselines else y + 4)
    overflow = (baselines[-1] - (bottom + 4)) if baselines else 0.0
    if overflow > 0:
        baselines = [max(y - overflow, TR_TOP + 4 + gap * i) for i, y in enumerate(baselines)]
    placed: list[Mark] = []
    x = TR_PLOT_RIGHT + 8
    for y, (_, index, group) in zip(baselines, sorted(ends), strict=True):
        placed.append(_marker(x + 5, y - 4, index, size=3.5))
        placed.append(label_text(x + 14, y, group, "chart__end-label", TR_END_LABEL_WIDTH - 14))
    return placed


def _legend(groups: list[str], top: float) -> list[Mark]:
    """A key of line sample, marker and name, three to a row."""
    marks: list[Mark] = []
    for index, group in enumerate(groups):
        x = TR_PLOT_LEFT + TR_LEGEND_ENTRY * (index % 3)
        y = top + 20 * (index // 3)
        marks.append(Polyline([(x, y), (x + 30, y)], chart_styles.series_class("line", index)))
        marks.append(_marker(x + 15, y, index, size=3.5))
        marks.append(label_text(x + 36, y + 4, group, "chart__legend-text", TR_LEGEND_ENTRY - 42))
    return marks


# --- Gap to the reference group per quarter ---------------------------------------------

GapPoint = tuple[str, float | None, float | None, float | None]
GAP_PLOT_RIGHT = 618.0


def _tick_points(value: float) -> str:
    """An axis label in whole percentage points: "+10", "0", "-20"."""
    whole = round(value * 100)
    return f"{whole:+d}" if whole else "0"


def gap_trend(
    gaps: Sequence[GapPoint],
    *,
    title: str = "Gap to the reference group by quarter",
    group: str = "the group",
    reference: str = "the reference group",
) -> Chart:
    """The difference from the reference group per quarter, in percentage points, with
    its 95% interval as a whisker, on an axis symmetric around a solid zero line (no
    gap). A suppressed quarter (difference None) shows "Suppressed" and breaks the line."""
    extent = max([abs(v) for _, *values in gaps for v in values if v is not None] + [0.05])
    step_points = 5 if extent <= 0.2 else 10 if extent <= 0.5 else 20
    limit = -(-round(extent * 100, 6) // step_points) * step_points / 100
    bottom = TR_TOP + TR_PLOT_HEIGHT
    periods = [period for period, *_ in gaps]
    step = (GAP_PLOT_RIGHT - TR_PLOT_LEFT) / max(len(periods), 1)
    x_at = {period: TR_PLOT_LEFT + step * (i + 0.5) for i, period in enumerate(periods)}

    def y_of(value: float) -> float:
        return TR_TOP + (limit - value) / (2 * limit) * TR_PLOT_HEIGHT

    marks: list[Mark] = []
    ticks = round(2 * limit * 100 / step_points)
    for k in range(ticks + 1):
        value = -limit + k * step_points / 100
        y = y_of(value)
        marks.append(Line(TR_PLOT_LEFT, y, GAP_PLOT_RIGHT, y, "chart__grid"))
        marks.append(
            Text(TR_PLOT_LEFT - 6, y + 4, _tick_points(value), "chart__tick-label", anchor="end")
        )
    marks.append(Line(TR_PLOT_LEFT, y_of(0), GAP_PLOT_RIGHT, y_of(0), "chart__zero"))
    marks.append(Line(TR_PLOT_LEFT, bottom, GAP_PLOT_RIGHT, bottom, "chart__axis"))
    marks.extend(_period_labels(periods, x_at, step, bottom))
    marks.append(
        Text(
            (TR_PLOT_LEFT + GAP_PLOT_RIGHT) / 2,
            bottom + 46,
            "Difference in percentage points",
            "chart__axis-title",
            anchor="middle",
        )
    )

    table_rows = []
    run: list[tuple[float, float]] = []
    for period, difference, low, high in list(gaps) + [("", None, None, None)]:
        if difference is None:
            if len(run) > 1:
                marks.append(Polyline(run, "chart__line"))
            run = []
            if period:
                marks.append(
                    Text(
                        x_at[period],
                        y_of(0) - 8,
                        hidden_text(),
                        "chart__note",
                        anchor="middle",
                    )
                )
                table_rows.append((period, hidden_text(), ""))
            continue
        x = x_at[period]
        if low is not None and high is not None:
            marks.append(Line(x, y_of(low), x, y_of(high), "chart__whisker"))
            marks.append(Line(x - 4, y_of(low), x + 4, y_of(low), "chart__whisker"))
            marks.append(Line(x - 4, y_of(high), x + 4, y_of(high), "chart__whisker"))
        marks.append(Circle(x, y_of(difference), 4.5, "chart__dot"))
        run.append((x, y_of(difference)))
        table_rows.append((period, points(difference), interval_points(low, high)))
    desc = (
        f"The difference between {group} and {reference} in percentage points per quarter, "
        "each with its 95% interval; the solid line at 0 is no gap, and an interval "
        "crossing it is not statistically significant. "
        f"Suppressed quarters show {hidden_text()}."
    )
    return Chart(
        width=WIDTH,
        height=bottom + 58,
        title=title,
        desc=desc,
        marks=tuple(marks),
        table=ChartTable(
            caption=title,
            headers=("Quarter", "Difference (points)", "95% interval (points)"),
            rows=tuple(table_rows),
        ),
        kind="gap-trend",
    )


# --- Funnel: the navigation steps as bars ---------------------------------------------

FN_LABEL_RIGHT = 176.0
FN_BAR_LEFT = 186.0
FN_BAR_MAX = 330.0
FN_ROW = 34.0
FN_TOP = 8.0


def funnel(steps: Sequence[tuple[str, int | None]], *, title: str = "Navigation funnel") -> Chart:
    """Each step (referred → reached → ... → loop complete) as a horizontal bar as
    long as its count, with the count and its share of the first step written after
    it. A suppressed step (None) has no bar and reads "Suppressed"; with the first step
    suppressed or zero no shares are given, and bars scale to the largest count."""
    first = steps[0][1] if steps else None
    largest = max([c for _, c in steps if c is not None] + [0])
    scale = first if first else largest
    marks: list[Mark] = []
    table_rows = []
    for index, (label, value) in enumerate(steps):
        top = FN_TOP + FN_ROW * index
        marks.append(
            label_text(
                FN_LABEL_RIGHT, top + 19, label, "chart__label", FN_LABEL_RIGHT - 4, anchor="end"
            )
        )
        if value is None:
            marks.append(Text(FN_BAR_LEFT + 4, top + 19, suppressed_text(), "chart__note"))
            table_rows.append((label, hidden_text(), ""))
            continue
        length = FN_BAR_MAX * min(value / scale, 1.0) if scale else 0.0
        if length > 0:
            marks.append(Rect(FN_BAR_LEFT, top + 6, length, 20.0, "chart__bar"))
        share = percent(value / first) if first else ""
        text = f"{count(value)} ({share})" if share else count(value)
        marks.append(Text(FN_BAR_LEFT + length + 6, top + 20, text, "chart__value"))
        table_rows.append((label, count(value), share))
    desc = (
        "The navigation steps as bars, each as long as the number of patients who reached "
        "that step, with the count and its share of the first step written after it."
        f" Suppressed steps show {hidden_text()}."
    )
    return Chart(
        width=WIDTH,
        height=FN_TOP * 2 + FN_ROW * max(len(steps), 1),
        title=title,
        desc=desc,
        marks=tuple(marks),
        table=ChartTable(
            caption=title,
            headers=("Step", "Count", "Share of the first step"),
            rows=tuple(table_rows),
        ),
        kind="funnel",
    )
