"""The equity charts' geometry: dots, whiskers, lines and bars where the figures put
them, suppressed figures drawn as "Suppressed" and never as a number, and every number the
chart shows also in its data table."""

from __future__ import annotations

import re

import pytest

from navigator.equity import chart_styles
from navigator.equity.charts import (
    Chart,
    Circle,
    Line,
    Polygon,
    Polyline,
    Rect,
    Text,
    dot_whisker,
    funnel,
    gap_trend,
    trend,
)
from navigator.equity.stats import stratified_statistics

approx = pytest.approx
# Coordinates are rounded to 0.1 unit on a plot some 400 units wide.
TOLERANCE = 0.001


def race_rows():
    """White (reference) 300/500, Hispanic or Latino 150/400, Black 88/200, and Asian
    with 5 of 30 screened: hidden, and Other (47/66, the next smallest) hidden with it."""
    return stratified_statistics(
        [
            ("white", "White", 300, 500),
            ("hispanic", "Hispanic or Latino", 150, 400),
            ("black", "Black or African American", 88, 200),
            ("asian", "Asian", 5, 30),
            ("other", "Some other race", 47, 66),
        ],
        "white",
    )


def texts(chart: Chart, css: str | None = None) -> list[Text]:
    return [m for m in chart.marks if isinstance(m, Text) and (css is None or css in m.css_class)]


def text_at(chart: Chart, content: str) -> Text:
    (found,) = [m for m in texts(chart) if m.text == content]
    return found


def x_scale(chart: Chart):
    """Rate → x, read from where the chart writes its 0% and 100% tick labels."""
    zero, hundred = text_at(chart, "0%").x, text_at(chart, "100%").x
    return lambda x: (x - zero) / (hundred - zero)


def row_y(chart: Chart, label: str) -> float:
    """The middle of the row labelled `label` (its label's baseline sits 4 below)."""
    (found,) = [m for m in texts(chart, "chart__label") if m.text.startswith(label)]
    return found.y - 4


def the_dot_whisker():
    rows = race_rows()
    (reference,) = [row for row in rows if row.is_reference]
    chart = dot_whisker(
        rows, reference_rate=reference.rate, title="Screened by race", measure_label="Screened"
    )
    return rows, chart


def test_each_dot_sits_at_its_groups_rate_on_the_axis():
    rows, chart = the_dot_whisker()
    rate_of = x_scale(chart)

    for row in rows:
        if row.suppressed:
            continue
        y = row_y(chart, row.label)
        (dot,) = [m for m in chart.marks if isinstance(m, Circle) and m.cy == approx(y)]
        assert rate_of(dot.cx) == approx(row.rate, abs=TOLERANCE)


def test_each_whisker_spans_its_groups_95_percent_interval():
    rows, chart = the_dot_whisker()
    rate_of = x_scale(chart)

    for row in rows:
        if row.suppressed:
            continue
        y = row_y(chart, row.label)
        (whisker,) = [m for m in chart.marks if isinstance(m, Line) and m.y1 == m.y2 == approx(y)]
        assert rate_of(whisker.x1) == approx(row.ci_low, abs=TOLERANCE)
        assert rate_of(whisker.x2) == approx(row.ci_high, abs=TOLERANCE)


def test_the_reference_line_stands_at_the_reference_groups_rate_and_the_group_is_marked():
    rows, chart = the_dot_whisker()
    rate_of = x_scale(chart)

    (line,) = [m for m in chart.marks if "chart__reference-line" in m.css_class]
    assert line.x1 == line.x2 and rate_of(line.x1) == approx(0.6, abs=TOLERANCE)
    # The reference group is named as such, in bold, with a hollow dot
    label = text_at(chart, "White (reference)")
    assert "chart__label--reference" in label.css_class
    assert chart_styles.style_of(label.css_class).bold
    (dot,) = [m for m in chart.marks if isinstance(m, Circle) and m.cy == approx(label.y - 4)]
    assert "chart__dot--reference" in dot.css_class


def test_a_suppressed_group_has_no_dot_and_reads_less_than_eleven():
    rows, chart = the_dot_whisker()
    hidden = [row.label for row in rows if row.suppressed]
    assert hidden == ["Asian", "Some other race"]

    for label in hidden:
        y = row_y(chart, label)
        on_row = [m for m in chart.marks if getattr(m, "cy", getattr(m, "y1", None)) == y]
        assert on_row == []
        notes = [m.text for m in texts(chart, "chart__note") if m.y == approx(y + 4)]
        assert notes == ["Suppressed"]
    assert "2 groups are suppressed" in chart.desc


def test_no_suppressed_number_reaches_the_chart_or_its_table():
    # Given Asian at 5/30 (16.7%) and Some other race at 47/66 (71.2%), both hidden
    _, chart = the_dot_whisker()

    shown = " ".join(m.text for m in texts(chart)) + " " + repr(chart.table.rows)
    for hidden in ("16.7", "71.2", "47", "66", "30"):
        assert not re.search(rf"(?<![\d.]){re.escape(hidden)}(?![\d])", shown), hidden
    assert ("Asian", "Suppressed", "Suppressed", "Suppressed", "") in chart.table.rows


def test_without_a_shown_reference_there_is_no_reference_line():
    rows, _ = the_dot_whisker()

    chart = dot_whisker(rows, reference_rate=None, title="t", measure_label="Screened")

    assert not [m for m in chart.marks if "chart__reference-line" in m.css_class]


def test_a_long_label_is_shortened_with_its_full_text_kept():
    rows = stratified_statistics(
        [("n", "Native Hawaiian or Other Pacific Islander " * 2, 50, 100), ("w", "White", 60, 100)],
        "w",
    )

    chart = dot_whisker(rows, reference_rate=0.6, title="t", measure_label="Screened")

    (label,) = [m for m in texts(chart, "chart__label") if m.full_text]
    assert label.text.endswith("…") and len(label.text) < len(label.full_text)
    assert label.full_text == rows[0].label


def numbers_in(text: str) -> list[str]:
    return re.findall(r"[+-]?\d[\d,]*(?:\.\d+)?", text)


def test_every_number_a_chart_writes_is_in_its_data_table():
    _, dw = the_dot_whisker()
    charts = [dw, a_trend(), a_gap_trend(), a_funnel()]

    for chart in charts:
        table = " ".join(" ".join(row) for row in chart.table.rows)
        data_texts = [m.text for m in texts(chart) if "chart__tick-label" not in m.css_class]
        for text in data_texts:
            for number in numbers_in(text):
                assert number in table, (chart.kind, text)


def a_trend():
    return trend(
        {
            "White": [
                ("2025 Q1", 0.60, 0.55, 0.65),
                ("2025 Q2", 0.62, 0.57, 0.67),
                ("2025 Q3", 0.61, 0.56, 0.66),
                ("2025 Q4", 0.63, 0.58, 0.68),
            ],
            "Hispanic or Latino": [
                ("2025 Q1", 0.40, 0.34, 0.46),
                ("2025 Q2", 0.44, 0.38, 0.50),
                ("2025 Q3", None, None, None),
                ("2025 Q4", 0.55, 0.49, 0.61),
            ],
        },
        title="Screening by quarter",
    )


def series_marks(chart: Chart, kind: str, index: int, cls=object, *, legend: bool = False):
    """Series `index`'s marks of a kind, in the plot (default) or in the legend below it."""
    css = chart_styles.series_class(kind, index).split()[-1]
    axis = text_at(chart, "0%").y
    return [
        m
        for m in chart.marks
        if isinstance(m, cls)
        and css in m.css_class.split()
        and all(y < axis for _, y in getattr(m, "points", [(0, 0)])) != legend
    ]


def test_a_suppressed_quarter_breaks_its_groups_line():
    chart = a_trend()

    # White: one line through four quarters; Hispanic or Latino: Q1–Q2, then Q4 alone
    (white,) = series_marks(chart, "line", 0, Polyline)
    assert len(white.points) == 4
    (hispanic,) = series_marks(chart, "line", 1, Polyline)
    assert len(hispanic.points) == 2
    q3 = text_at(chart, "2025 Q3").x
    assert all(x < q3 for x, _ in hispanic.points)
    # Q4 still has its marker, and a whisker for its interval as no band can be drawn
    markers = [m for m in chart.marks if "chart__marker--s2" in m.css_class]
    assert len(markers) == 3 + 2  # three quarters, and beside the end label and in the legend
    q4 = text_at(chart, "2025 Q4").x
    (lone,) = series_marks(chart, "line", 1, Line)
    assert lone.x1 == lone.x2 == q4
    assert ("Hispanic or Latino", "2025 Q3", "Suppressed", "") in chart.table.rows


def test_trend_points_and_bands_sit_at_their_rates():
    chart = a_trend()
    zero, hundred = text_at(chart, "0%").y - 4, text_at(chart, "100%").y - 4

    def rate_of(y):
        return (zero - y) / (zero - hundred)

    (white,) = series_marks(chart, "line", 0, Polyline)
    assert [rate_of(y) for _, y in white.points] == approx([0.60, 0.62, 0.61, 0.63], abs=TOLERANCE)
    (band,) = series_marks(chart, "band", 0, Polygon)
    # The band's outline runs along the upper ends, then back along the lower ones
    assert [rate_of(y) for _, y in band.points] == approx(
        [0.65, 0.67, 0.66, 0.68, 0.58, 0.56, 0.57, 0.55], abs=TOLERANCE
    )


def test_the_trend_legend_tells_groups_apart_without_colour():
    chart = a_trend()

    (first,) = series_marks(chart, "line", 0, Polyline, legend=True)
    (second,) = series_marks(chart, "line", 1, Polyline, legend=True)
    # Distinct dash patterns and marker shapes, and each group named at its line's end
    assert style_dash(first) != style_dash(second)
    assert chart_styles.series_marker(0) != chart_styles.series_marker(1)
    assert [m.text for m in texts(chart, "chart__end-label")] == ["White", "Hispanic or Latino"]
    assert [m.text for m in texts(chart, "chart__legend-text")] == ["White", "Hispanic or Latino"]


def style_dash(mark):
    return chart_styles.style_of(mark.css_class).dash


def a_gap_trend():
    return gap_trend(
        [
            ("2025 Q1", -0.142, -0.20, -0.084),
            ("2025 Q2", None, None, None),
            ("2025 Q3", -0.021, -0.07, 0.03),
        ],
        group="Hispanic or Latino",
        reference="White",
    )


def test_the_gap_chart_puts_each_difference_and_interval_against_a_zero_line():
    chart = a_gap_trend()
    (zero,) = [m for m in chart.marks if "chart__zero" in m.css_class]
    ten = text_at(chart, "+10")
    per_point = (zero.y1 - (ten.y - 4)) / 10  # units per percentage point

    dots = [m for m in chart.marks if isinstance(m, Circle)]
    assert [(zero.y1 - d.cy) / per_point for d in dots] == approx([-14.2, -2.1], abs=0.05)
    whiskers = [
        m for m in chart.marks if "chart__whisker" in m.css_class and m.x1 == m.x2 == dots[0].cx
    ]
    assert sorted((zero.y1 - y) / per_point for y in (whiskers[0].y1, whiskers[0].y2)) == approx(
        [-20.0, -8.4], abs=0.05
    )
    # The suppressed quarter has no dot and reads "Suppressed"
    assert len(dots) == 2
    assert text_at(chart, "Suppressed").x == text_at(chart, "2025 Q2").x
    assert chart.table.rows[0] == ("2025 Q1", "-14.2", "-20.0 to -8.4")


def a_funnel():
    return funnel([("Referred", 1200), ("Reached", 900), ("Scheduled", None), ("Done", 300)])


def test_funnel_bars_are_as_long_as_their_counts_with_the_share_of_the_first_step():
    chart = a_funnel()

    bars = [m for m in chart.marks if isinstance(m, Rect)]
    assert [b.width / bars[0].width for b in bars] == approx([1, 0.75, 0.25], abs=TOLERANCE)
    assert [m.text for m in texts(chart, "chart__value")] == [
        "1,200 (100.0%)",
        "900 (75.0%)",
        "300 (25.0%)",
    ]
    assert text_at(chart, "Suppressed")
    assert chart.table.rows[2] == ("Scheduled", "Suppressed", "")


def test_the_same_figures_give_the_same_chart():
    assert a_trend() == a_trend()
    assert the_dot_whisker()[1] == the_dot_whisker()[1]


def test_charts_are_640_wide_and_as_tall_as_their_content():
    short = funnel([("Referred", 100)])
    tall = a_funnel()

    assert short.width == tall.width == 640
    assert short.height < tall.height
    assert all(m.y <= tall.height for m in texts(tall))


def test_end_labels_of_groups_with_the_same_rate_do_not_overlap_nor_fall_below_the_axis():
    # Given nine groups ending at the same low rate
    chart = trend(
        {
            f"Group {i}": [("2025 Q1", 0.01, None, None), ("2025 Q2", 0.02, None, None)]
            for i in range(9)
        },
        title="t",
    )

    baselines = sorted(m.y for m in texts(chart, "chart__end-label"))
    assert len(baselines) == 9
    assert all(b - a >= 14 for a, b in zip(baselines, baselines[1:], strict=False))
    assert baselines[-1] <= text_at(chart, "0%").y
