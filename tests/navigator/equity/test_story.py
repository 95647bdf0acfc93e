"""The story sentence, pinned word for word, and the per-quarter gap for the chart. Each
quarter's figures come from `stratified_statistics` on the counts written here, as the
dashboard makes them."""

from __future__ import annotations

import pytest

from navigator.equity.catalog import POPULATION
from navigator.equity.stats import stratified_statistics
from navigator.equity.story import GapPoint, gap_sentence, trend_points

approx = pytest.approx

HISPANIC = "Hispanic or Latino"


def quarter(period, group, reference):
    """(period, group statistics, reference statistics) from (numerator, denominator)."""
    rows = stratified_statistics(
        [("hispanic", HISPANIC, *group), ("white", "White", *reference)], "white"
    )
    return period, rows[0], rows[1]


def sentence(series, **overrides):
    words = {
        "group_label": HISPANIC,
        "reference_label": "White",
        "measure_label": "colorectal screening",
    }
    return gap_sentence(series, **{**words, **overrides})


def test_a_gap_that_narrowed_and_is_no_longer_significant_reads_as_the_issue_says():
    # Given 47.8% against 62.0% (z about 6.4), then 57.9% against 60.0% (z about 0.95)
    series = [
        quarter("2025 Q1", (478, 1000), (620, 1000)),
        quarter("2025 Q2", (500, 1000), (615, 1000)),
        quarter("2026 Q3", (579, 1000), (600, 1000)),
    ]

    assert sentence(series) == (
        "The gap between Hispanic or Latino and White patients in colorectal screening "
        "narrowed from 14.2 points in 2025 Q1 to 2.1 points in 2026 Q3 and is no longer "
        "statistically significant."
    )


def test_a_gap_that_widened_and_became_significant():
    series = [
        quarter("2025 Q1", (590, 1000), (600, 1000)),
        quarter("2025 Q4", (480, 1000), (600, 1000)),
    ]

    assert sentence(series) == (
        "The gap between Hispanic or Latino and White patients in colorectal screening "
        "widened from 1.0 points in 2025 Q1 to 12.0 points in 2025 Q4 and is now "
        "statistically significant."
    )


def test_a_change_under_one_point_stayed_about_the_same_and_still_significant():
    series = [
        quarter("2025 Q1", (470, 1000), (620, 1000)),
        quarter("2025 Q4", (475, 1000), (620, 1000)),
    ]

    assert sentence(series) == (
        "The gap between Hispanic or Latino and White patients in colorectal screening "
        "stayed about the same from 15.0 points in 2025 Q1 to 14.5 points in 2025 Q4 and "
        "is still statistically significant."
    )


def test_a_gap_never_significant_says_so():
    series = [
        quarter("2025 Q1", (58, 100), (60, 100)),
        quarter("2025 Q4", (50, 100), (60, 100)),
    ]

    assert sentence(series).endswith(
        "widened from 2.0 points in 2025 Q1 to 10.0 points in 2025 Q4 and is not "
        "statistically significant."
    )


def test_hidden_quarters_are_skipped_to_the_first_and_last_with_figures():
    # Given a first and a last quarter with a group of 9 (hidden, and White with it)
    series = [
        quarter("2025 Q1", (4, 9), (300, 500)),
        quarter("2025 Q2", (478, 1000), (620, 1000)),
        quarter("2026 Q2", (579, 1000), (600, 1000)),
        quarter("2026 Q3", (5, 9), (300, 500)),
    ]
    assert series[0][1].suppressed and series[-1][1].suppressed

    assert sentence(series) == (
        "The gap between Hispanic or Latino and White patients in colorectal screening "
        "narrowed from 14.2 points in 2025 Q2 to 2.1 points in 2026 Q2 and is no longer "
        "statistically significant. Quarters whose figures are hidden are left out."
    )


def test_no_quarter_with_figures_says_so():
    series = [quarter("2025 Q1", (4, 9), (300, 500)), quarter("2025 Q2", (3, 8), (310, 500))]

    assert sentence(series) == (
        "No quarter has figures for both Hispanic or Latino and White patients in "
        "colorectal screening: they are hidden because the groups are small."
    )


def test_a_single_quarter_with_figures_is_reported_alone():
    series = [quarter("2025 Q1", (4, 9), (300, 500)), quarter("2025 Q2", (478, 1000), (620, 1000))]

    assert sentence(series) == (
        "In 2025 Q2 the gap between Hispanic or Latino and White patients in colorectal "
        "screening was 14.2 points, which is statistically significant. Quarters whose "
        "figures are hidden are left out."
    )


def test_a_gap_that_reversed_says_who_is_now_ahead():
    series = [
        quarter("2025 Q1", (478, 1000), (620, 1000)),
        quarter("2026 Q3", (613, 1000), (600, 1000)),
    ]

    assert sentence(series, action="screened") == (
        "The gap between Hispanic or Latino and White patients in colorectal screening "
        "reversed between 2025 Q1 and 2026 Q3: Hispanic or Latino patients are now "
        "screened more often than White patients, by 1.3 points (from 14.2 points the "
        "other way), and the difference is not statistically significant."
    )
    # Without a verb, the rate is named
    assert (
        ": Hispanic or Latino patients now have a higher rate of colorectal screening than "
        "White patients, by 1.3 points"
    ) in sentence(series)


def test_an_inverse_measure_calls_a_higher_rate_the_gap_and_a_lower_one_the_lead():
    # Given "overdue for screening", where lower is better: 40.0% against 30.0% overdue
    overdue = [
        quarter("2025 Q1", (400, 1000), (300, 1000)),
        quarter("2026 Q3", (320, 1000), (300, 1000)),
    ]
    words = {"measure_label": "being overdue for screening", "favorable": False}

    assert sentence(overdue, **words) == (
        "The gap between Hispanic or Latino and White patients in being overdue for "
        "screening narrowed from 10.0 points in 2025 Q1 to 2.0 points in 2026 Q3 and is no "
        "longer statistically significant."
    )
    # And a group overdue less often than the reference at both ends is ahead: a lead
    ahead = [
        quarter("2025 Q1", (200, 1000), (300, 1000)),
        quarter("2026 Q3", (150, 1000), (300, 1000)),
    ]
    assert sentence(ahead, **words).startswith(
        "The lead of Hispanic or Latino over White patients in being overdue for "
        "screening widened from 10.0 points"
    )
    # While the same numbers for a screening rate (higher is better) are a gap
    assert sentence(ahead).startswith("The gap between")


def test_trend_points_carry_each_quarters_gap_and_interval_and_hide_hidden_ones():
    series = [
        quarter("2025 Q1", (4, 9), (300, 500)),
        quarter("2025 Q2", (478, 1000), (620, 1000)),
    ]

    points = trend_points(series)

    assert points[0] == GapPoint("2025 Q1", None, None, None, None, None, hidden=True)
    group = series[1][1]
    assert points[1].difference == approx(-0.142)
    assert (points[1].ci_low, points[1].ci_high) == (
        group.difference_ci_low,
        group.difference_ci_high,
    )
    assert points[1].shortfall == approx(0.142)  # worse off in being screened
    assert trend_points(series, favorable=False)[1].shortfall == approx(-0.142)
    assert points[1].significant is True and points[1].hidden is False


def test_a_reversed_gap_in_an_inverse_measure_compares_rates_not_screening():
    # Given CMS122 (HbA1c above 9% or untested: lower is better) and a screening measure
    by_key = {measure.key: measure for measure in POPULATION}
    # Then only the screening measure lends its sentences the verb "screened": a
    # group with more poor control is not "screened more often"
    assert by_key["CMS130"].action == "screened"
    assert by_key["CMS122"].action is None
    series = [
        quarter("2025 Q1", (300, 1000), (250, 1000)),
        quarter("2026 Q3", (240, 1000), (250, 1000)),
    ]
    said = sentence(
        series,
        measure_label=by_key["CMS122"].story_label,
        favorable=False,
        action=by_key["CMS122"].action,
    )
    assert "screened" not in said
    assert (
        "now have a lower rate of poor diabetes control (HbA1c/GMI above 9% or not tested) "
        "than White patients"
    ) in said
