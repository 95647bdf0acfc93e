"""The story over time (issue 13, item 4): the gap between a group and the reference
group per quarter, for the chart, and one sentence that says what happened.

The sentence compares the first and the last quarters that have figures for both
groups (quarters whose figures are hidden are skipped, and the sentence says so). It
reports each gap in percentage points with one decimal and whether the last one is
statistically significant (Holm-adjusted, as on the page). It does not test the change
between quarters: each quarter is tested on its own, and neighbouring rolling quarters
share 9 of their 12 months (`methods.METHOD_SENTENCES["rolling_quarters"]`).

Words:
- "narrowed" / "widened" when the gap's size changed by at least one percentage point,
  "stayed about the same" when it changed by less (`ABOUT_THE_SAME_POINTS`): a plain,
  stated rule, not a test;
- "gap" when the group is worse off in the measure's favourable direction at both ends
  (for a screening rate: screened less; for an inverse measure, `favorable=False`, such
  as being overdue: a higher rate), "lead" when it is better off at both ends, and
  "reversed" when the difference changed sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from navigator.equity.stats import GroupStatistics

# A change in the gap's size below this many percentage points "stayed about the same".
ABOUT_THE_SAME_POINTS = 1.0

Quarter = tuple[str, GroupStatistics, GroupStatistics]  # (period label, group, reference)


@dataclass(frozen=True)
class GapPoint:
    """One quarter of the gap, for the trend chart. `difference` is the group's rate
    minus the reference's (a proportion, as `GroupStatistics.difference`), with its
    Newcombe interval; `shortfall` is the same turned so that above 0 means the group is
    worse off in the measure's favourable direction. All None when hidden."""

    period: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    shortfall: float | None
    significant: bool | None
    hidden: bool


def trend_points(series: Sequence[Quarter], *, favorable: bool = True) -> list[GapPoint]:
    """The gap per quarter, in the order given; a quarter where either group is hidden,
    or where the group was not compared, is a hidden point."""
    points = []
    for period, group, reference in series:
        if group.suppressed or reference.suppressed or group.difference is None:
            points.append(GapPoint(period, None, None, None, None, None, hidden=True))
            continue
        sign = -1.0 if favorable else 1.0
        points.append(
            GapPoint(
                period=period,
                difference=group.difference,
                ci_low=group.difference_ci_low,
                ci_high=group.difference_ci_high,
                shortfall=sign * group.difference,
                significant=group.significant,
                hidden=False,
            )
        )
    return points


def gap_sentence(
    series: Sequence[Quarter],
    *,
    group_label: str,
    reference_label: str,
    measure_label: str,
    favorable: bool = True,
    action: str | None = None,
) -> str:
    """One sentence on how the gap between `group_label` and `reference_label`
    patients in `measure_label` went from the first quarter with figures to the last.

    `action` is the verb of the measure for a reversed gap, e.g. "screened" gives
    "Hispanic or Latino patients are now screened more often than White patients";
    without it the sentence says "now have a higher rate of <measure> than"."""
    between = f"{group_label} and {reference_label} patients in {measure_label}"
    points = trend_points(series, favorable=favorable)
    shown = [
        (point.period, point.difference, point.significant)
        for point in points
        if point.difference is not None
    ]
    if not shown:
        return (
            f"No quarter has figures for both {group_label} and {reference_label} "
            f"patients in {measure_label}: they are hidden because the groups are small."
        )
    (first_period, first, first_significant) = shown[0]
    (last_period, last, last_significant) = shown[-1]
    skipped = " Quarters whose figures are hidden are left out." if len(shown) < len(points) else ""

    def behind(difference: float) -> bool:
        """Worse off (or level) in the measure's favourable direction."""
        return difference <= 0 if favorable else difference >= 0

    if len(shown) == 1:
        noun = "gap" if behind(last) else "lead"
        return (
            f"In {last_period} the {noun} between {between} was "
            f"{_points(last)} points{_is_significant(last_significant)}.{skipped}"
        )

    if first * last < 0:
        more = last > 0
        now = (
            f"are now {action} {'more' if more else 'less'} often than"
            if action
            else f"now have a {'higher' if more else 'lower'} rate of {measure_label} than"
        )
        return (
            f"The gap between {between} reversed between {first_period} and "
            f"{last_period}: {group_label} patients {now} {reference_label} "
            f"patients, by {_points(last)} points "
            f"(from {_points(first)} points the other way), and the difference "
            f"{'is' if last_significant else 'is not'} statistically significant.{skipped}"
        )

    subject = (
        f"The gap between {between}"
        if behind(first) and behind(last)
        else f"The lead of {group_label} over {reference_label} patients in {measure_label}"
    )
    change = abs(last) - abs(first)
    if abs(change) * 100 < ABOUT_THE_SAME_POINTS:
        verb = "stayed about the same"
    else:
        verb = "narrowed" if change < 0 else "widened"
    return (
        f"{subject} {verb} from {_points(first)} points in {first_period} to "
        f"{_points(last)} points in {last_period}"
        f"{_significance(first_significant, last_significant)}.{skipped}"
    )


def _points(difference: float) -> str:
    return f"{abs(difference) * 100:.1f}"


def _significance(first: bool | None, last: bool | None) -> str:
    if last is None:
        return ""
    if last:
        return (
            " and is still statistically significant"
            if first
            else " and is now statistically significant"
        )
    return (
        " and is no longer statistically significant"
        if first
        else " and is not statistically significant"
    )


def _is_significant(significant: bool | None) -> str:
    if significant is None:
        return ""
    return (
        ", which is statistically significant"
        if significant
        else ", which is not statistically significant"
    )
