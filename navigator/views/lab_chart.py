"""The case page's lab trend for a control programme (HbA1c/GMI over time): a small
`Chart` in the equity charts' vocabulary (`navigator.equity.chart_marks`), drawn as
inline SVG with its data table by `navigator.equity.svg` (no script, no font or
image from anywhere, a text alternative: title, description and the table).

It shows each reading in the programme's unit, the line through them, the target
(dotted, green) and the poor-control threshold (dashed, red) as named lines, the
last value written beside its point, and the first and last dates. A reading that is
not compared with the target (no value, another unit) is not drawn but is in the
table, saying so.
"""

from __future__ import annotations

import math
from decimal import Decimal

from navigator.equity.chart_marks import (
    Chart,
    ChartTable,
    Circle,
    Line,
    Mark,
    Polyline,
    Text,
    label_text,
)
from navigator.selectors.labs import LabTrend
from patients.caregaps.control import Reading, reading_status, value_words
from patients.services.labs import is_staff_entered

WIDTH, HEIGHT = 560.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 150.0, 16.0, 36.0  # margins; the right one holds labels

# How each reading reads against the programme (the table's last column).
JUDGEMENTS = {
    "at_target": "At target",
    "above_target": "Above target",
    "poor_control": "Poor control",
    "no_result": "No result",
    "not_compared": "Not compared (other unit)",
}


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _judge(trend: LabTrend, reading: Reading) -> str:
    return reading_status(
        reading, target=trend.target, poor_control=trend.poor_control, unit=trend.unit
    )


def lab_test_name(reading: Reading) -> str:
    """ "GMI" or "HbA1c": a GMI (from continuous glucose monitoring) is not a lab
    HbA1c and may differ from it (Bergenstal, Diabetes Care 2018;41:2275), so a
    value is never shown without its name."""
    codes = reading.assessment.observation.get("code") or {}
    loinc = {c.get("code") for c in codes.get("coding") or [] if isinstance(c, dict)}
    return "GMI" if "97506-0" in loinc else "HbA1c"


def _test_name(reading: Reading) -> str:
    name = lab_test_name(reading)
    # Provenance: a value copied by staff from an outside report says so.
    return (
        f"{name} (entered by staff)" if is_staff_entered(reading.assessment.observation) else name
    )


def lab_trend_chart(trend: LabTrend) -> Chart | None:
    """The chart of a control case's labs; None when there is no reading at all."""
    if not trend.readings:
        return None
    unit = trend.unit
    target, poor = trend.target, trend.poor_control
    drawn = [
        (r, float(r.assessment.result.quantity.value))
        for r in trend.readings
        if r.assessment.result.quantity is not None
        and _judge(trend, r) not in {"no_result", "not_compared"}
    ]
    values = [v for _, v in drawn]
    low = math.floor(min([*values, float(target) - 2]))
    high = math.ceil(max([*values, float(poor) + 1]))
    step = 1 if high - low <= 8 else 2
    plot_left, plot_right = LEFT, WIDTH - RIGHT
    plot_top, plot_bottom = TOP, HEIGHT - BOTTOM

    def y_of(value: float) -> float:
        return plot_bottom - (value - low) / (high - low) * (plot_bottom - plot_top)

    first_day, last_day = trend.readings[0].day, trend.readings[-1].day
    span = (last_day - first_day).days

    def x_of(reading: Reading) -> float:
        if span == 0:
            return (plot_left + plot_right) / 2
        return plot_left + (reading.day - first_day).days / span * (plot_right - plot_left)

    marks: list[Mark] = []
    for tick in range(low, high + 1, step):
        y = y_of(tick)
        marks.append(Line(plot_left, y, plot_right, y, "chart__grid"))
        marks.append(Text(plot_left - 6, y + 4, f"{tick}{unit}", "chart__tick-label", "end"))
    marks.append(Line(plot_left, plot_bottom, plot_right, plot_bottom, "chart__axis"))
    for css, value, words in (
        ("chart__target", target, f"Target < {_number(target)}{unit}"),
        ("chart__reference", poor, f"Poor control > {_number(poor)}{unit}"),
    ):
        y = y_of(float(value))
        marks.append(Line(plot_left, y, plot_right, y, f"{css}-line"))
        marks.append(label_text(plot_right + 6, y + 4, words, f"{css}-label", RIGHT - 10))
    points = [(x_of(r), y_of(v)) for r, v in drawn]
    if len(points) > 1:
        marks.append(Polyline(points, "chart__line"))
    marks += [Circle(x, y, 4, "chart__marker") for x, y in points]
    if drawn:
        last, _ = drawn[-1]
        x, y = points[-1]
        marks.append(Text(x, y - 9, value_words(last), "chart__value", "middle"))
    marks.append(
        Text(plot_left, plot_bottom + 18, f"{first_day:%b %Y}", "chart__tick-label", "start")
    )
    if span:
        marks.append(
            Text(plot_right, plot_bottom + 18, f"{last_day:%b %Y}", "chart__tick-label", "end")
        )

    newest = trend.readings[-1]
    judgement = JUDGEMENTS[_judge(trend, newest)].lower()
    due = f" Next lab due {trend.next_due_on:%b %-d, %Y}." if trend.next_due_on is not None else ""
    desc = (
        f"{len(trend.readings)} result{'s' if len(trend.readings) != 1 else ''} from "
        f"{first_day:%b %-d, %Y} to {last_day:%b %-d, %Y}. The last, {lab_test_name(newest)} "
        f"{value_words(newest)} "
        f"on {last_day:%b %-d, %Y}, is {judgement}. Target below {_number(target)}{unit}; "
        f"poor control above {_number(poor)}{unit}.{due}"
    )
    rows = tuple(
        (
            f"{r.day:%b %-d, %Y}",
            _test_name(r),
            value_words(r),
            JUDGEMENTS[_judge(trend, r)],
        )
        for r in reversed(trend.readings)
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        title="HbA1c/GMI trend",
        desc=desc,
        marks=tuple(marks),
        table=ChartTable(
            caption="HbA1c and GMI results, newest first",
            headers=("Date", "Test", "Result", "Against the target"),
            rows=rows,
        ),
        kind="lab-trend",
    )
