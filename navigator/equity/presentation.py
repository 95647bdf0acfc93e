"""The pictures of a dashboard result: which charts a result gets, built from the
same `EquityResult` the tables show (so a chart and its table never disagree), for
the page (`svg.render_chart`) and the PDF (`pdf_charts.draw_chart`).
"""

from __future__ import annotations

from dataclasses import dataclass

from navigator.equity.chart_marks import Chart
from navigator.equity.charts import TrendPoint, dot_whisker, gap_trend, trend
from navigator.equity.dashboard import EquityResult, plain_label, story_series
from navigator.equity.stats import GroupStatistics
from navigator.equity.story import trend_points

# A trend chart stays readable with a handful of lines: the largest groups are drawn
# (the reference first), and every group stays in the table.
TREND_LINES = 3
# Missing data is shown in the tables, never drawn as if it were a group of people.
NOT_A_POPULATION = frozenset({"not_recorded", "declined", "unknown", "other"})


@dataclass(frozen=True)
class DashboardCharts:
    rates: Chart | None
    trend: Chart | None
    gaps: tuple[Chart, ...]


def _reference(groups: list[GroupStatistics]) -> GroupStatistics | None:
    return next((group for group in groups if group.is_reference), None)


def dashboard_charts(result: EquityResult) -> DashboardCharts:
    measure = result.measure
    dimension = result.dimensions[0].label.lower() if result.dimensions else ""
    rates = None
    if result.groups:
        reference = _reference(result.groups)
        rates = dot_whisker(
            [group for group in result.groups if group.suppressed or group.denominator],
            reference_rate=None if reference is None else reference.rate,
            title=f"{measure.label}, by {dimension}",
            measure_label=measure.numerator_label,
        )
    trend_chart = None
    gaps: list[Chart] = []
    if result.quarters:
        drawn = sorted(
            (
                g
                for g in result.groups
                if not g.suppressed and g.denominator and g.key not in NOT_A_POPULATION
            ),
            key=lambda g: (not g.is_reference, -(g.denominator or 0)),
        )[:TREND_LINES]
        series = {}
        for group in drawn:
            points: list[TrendPoint] = []
            for row in result.quarters:
                found = next((g for g in row.groups if g.key == group.key), None)
                if found is None or found.suppressed or found.rate is None:
                    points.append((row.period.label, None, None, None))
                else:
                    points.append((row.period.label, found.rate, found.ci_low, found.ci_high))
            series[plain_label(group.label)] = points
        trend_chart = trend(series, title=f"{measure.label}, by quarter")
        reference = _reference(result.groups)
        reference_name = plain_label(reference.label) if reference else "the reference group"
        for group in result.groups:
            if group.is_reference or group.suppressed:
                continue
            series_of_group = story_series(result, group.key)
            # The groups the story speaks of: a meaningful gap in some quarter.
            if not any(quarter_group.meaningful for _, quarter_group, _ in series_of_group):
                continue
            gap_points = trend_points(series_of_group, favorable=measure.favorable)
            gaps.append(
                gap_trend(
                    [(p.period, p.difference, p.ci_low, p.ci_high) for p in gap_points],
                    title=f"Gap between {plain_label(group.label)} and {reference_name} "
                    "patients, by quarter",
                    group=plain_label(group.label),
                    reference=reference_name,
                )
            )
    return DashboardCharts(rates, trend_chart, tuple(gaps))
