"""The equity statistics, each pinned to a value computed outside this code: R 4.2.2
(run by hand, the call written beside each value) or a published worked example."""

from __future__ import annotations

import dataclasses
import random

import pytest
from statsmodels.stats.multitest import multipletests

from navigator.equity.stats import (
    METHOD_SENTENCES,
    GroupStatistics,
    compare_to_reference,
    holm_adjust,
    meaningful,
    rate_with_interval,
    relative_difference,
    stratified_statistics,
)

approx = pytest.approx


@pytest.mark.parametrize(
    ("numerator", "denominator", "low", "high"),
    [
        # Newcombe RG, Two-sided confidence intervals for the single proportion,
        # Stat Med 1998;17:857, Table I, method 3 (Wilson); and R:
        # prop.test(x, n, correct=FALSE)$conf.int
        (81, 263, 0.2552885199, 0.3662095770),
        (15, 148, 0.06238639953, 0.16048724172),
        (0, 20, 0.0, 0.1611251581),
        (1, 29, 0.006113214293, 0.171755218793),
    ],
)
def test_a_rate_carries_the_wilson_interval_r_and_newcombe_give(numerator, denominator, low, high):
    rate = rate_with_interval(numerator, denominator)

    assert rate.rate == approx(numerator / denominator)
    assert rate.ci_low == approx(low, abs=1e-9)
    assert rate.ci_high == approx(high, abs=1e-9)


def test_a_group_with_no_one_in_it_has_no_rate():
    assert rate_with_interval(0, 0) == rate_with_interval(0, 0).__class__(None, None, None)


def test_impossible_counts_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="numerator <= denominator"):
        rate_with_interval(5, 3)


def test_the_difference_has_newcombes_hybrid_score_interval_from_his_worked_example():
    # Given Newcombe RG, Interval estimation for the difference between independent
    # proportions, Stat Med 1998;17:873, Table II example (a): 56/70 vs 48/80
    comparison = compare_to_reference((56, 70), (48, 80))

    # Then the difference is 0.2 and method 10's interval 0.0524 to 0.3339
    assert comparison.difference == approx(0.2)
    assert comparison.difference_ci_low == approx(0.0524, abs=5e-5)
    assert comparison.difference_ci_high == approx(0.3339, abs=5e-5)


def test_newcombes_interval_holds_with_a_zero_count_as_in_his_example_d():
    # Newcombe 1998, Table II example (d): 5/56 vs 0/29, method 10: -0.0381 to 0.1926
    comparison = compare_to_reference((5, 56), (0, 29))

    assert comparison.difference_ci_low == approx(-0.0381, abs=5e-5)
    assert comparison.difference_ci_high == approx(0.1926, abs=5e-5)
    # And with no one counted in the reference there is no ratio, nor its interval
    assert (comparison.ratio, comparison.ratio_ci_low, comparison.ratio_ci_high) == (
        None,
        None,
        None,
    )


def test_the_ratio_has_the_log_scale_interval():
    # By hand (Katz): RR = 0.8/0.6; exp(log(RR) +/- 1.959964 * sqrt(1/56 - 1/70 + 1/48 - 1/80))
    # = 1.07663 to 1.65125 (R: exp(log(4/3) + c(-1, 1) * qnorm(0.975) * sqrt(...)))
    comparison = compare_to_reference((56, 70), (48, 80))

    assert comparison.ratio == approx(4 / 3)
    assert comparison.ratio_ci_low == approx(1.07663, abs=5e-5)
    assert comparison.ratio_ci_high == approx(1.65125, abs=5e-5)


def test_a_group_with_no_one_screened_has_a_ratio_of_zero_and_no_log_interval():
    comparison = compare_to_reference((0, 40), (30, 60))

    assert comparison.ratio == 0
    assert comparison.ratio_ci_low is None and comparison.ratio_ci_high is None
    assert comparison.difference_ci_low is not None


def test_large_groups_use_the_score_test_whose_p_value_is_r_prop_test_without_correction():
    # R: prop.test(c(56, 48), c(70, 80), correct=FALSE) -> X-squared 7.023411371,
    # p-value 0.008045081368 (all expected counts are 21.5 or more)
    comparison = compare_to_reference((56, 70), (48, 80))

    assert comparison.test == "score"
    assert comparison.p_value == approx(0.008045081368, rel=1e-8)


def test_a_second_score_test_matches_r_too():
    # R: prop.test(c(120, 300), c(400, 600), correct=FALSE)$p.value -> 3.43732561e-10
    comparison = compare_to_reference((120, 400), (300, 600))

    assert comparison.test == "score"
    assert comparison.p_value == approx(3.43732561e-10, rel=1e-7)


@pytest.mark.parametrize(
    ("group", "reference", "p_value"),
    [
        # R: fisher.test(matrix(c(9, 1, 3, 7), 2, byrow=TRUE))$p.value -> 0.0197666111
        ((9, 10), (3, 10), 0.0197666111),
        # R: fisher.test(matrix(c(5, 51, 0, 29), 2, byrow=TRUE))$p.value -> 0.1606214432
        ((5, 56), (0, 29), 0.1606214432),
        # R's tea-tasting example: fisher.test(matrix(c(3, 1, 1, 3), 2)) -> 0.4857142857
        ((3, 4), (1, 4), 0.4857142857),
    ],
)
def test_small_expected_counts_use_fishers_exact_test_as_r_gives_it(group, reference, p_value):
    comparison = compare_to_reference(group, reference)

    assert comparison.test == "fisher"
    assert comparison.p_value == approx(p_value, rel=1e-8)


def test_holm_adjusts_as_r_p_adjust_and_keeps_missing_p_values_missing():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") -> 0.03 0.06 0.06 0.02
    assert holm_adjust([0.01, None, 0.04, 0.03, 0.005]) == approx([0.03, None, 0.06, 0.06, 0.02])
    assert holm_adjust([None, None]) == [None, None]


@pytest.mark.parametrize("seed", range(20))
def test_holm_gives_what_statsmodels_multipletests_gives(seed):
    # Given p-values of every size, with ties, zeros, ones and values that adjust past 1
    rng = random.Random(seed)
    p_values = [
        rng.choice([rng.random(), rng.random() / 50, 0.0, 1.0, 0.02]) for _ in range(seed + 1)
    ]
    # When both adjust them
    _, expected, _, _ = multipletests(p_values, method="holm")
    # Then every adjusted p-value is the library's
    assert holm_adjust(p_values) == approx([float(value) for value in expected], rel=1e-12)


def test_the_relative_difference_of_a_screening_rate_is_taken_on_not_being_screened():
    # 60% screened against 70%: not screened 40% against 30%, a relative difference of 1/3
    assert relative_difference(0.6, 0.7) == approx(1 / 3)
    # 93% against 95%: 7% vs 5% not screened is 40%, though 93 is only 2% below 95
    assert relative_difference(0.93, 0.95) == approx(0.4)
    # An adverse measure is compared as it stands
    assert relative_difference(0.12, 0.10, favorable=False) == approx(0.2)


def test_meaningful_needs_both_significance_after_adjustment_and_ten_percent():
    # Significant and 40% apart in not being screened
    assert meaningful(p_adjusted=0.01, group_rate=0.93, reference_rate=0.95) is True
    # Significant but only 5% apart (not screened 42% vs 40%)
    assert meaningful(p_adjusted=0.001, group_rate=0.58, reference_rate=0.60) is False
    # Far apart but not significant after adjustment
    assert meaningful(p_adjusted=0.06, group_rate=0.3, reference_rate=0.6) is False
    # Nothing to judge for a hidden group
    assert meaningful(p_adjusted=None, group_rate=0.3, reference_rate=0.6) is None


def given_a_page_of_groups():
    return [
        ("white", "White", 300, 600),
        ("hispanic", "Hispanic or Latino", 120, 400),
        ("black", "Black or African American", 140, 280),
        ("asian", "Asian", 5, 30),
        ("unknown", "Not recorded", 20, 50),
    ]


def test_stratified_statistics_compare_each_shown_group_with_the_reference_and_adjust_across_them():
    rows = {row.key: row for row in stratified_statistics(given_a_page_of_groups(), "white")}

    # The reference is not compared with itself
    assert rows["white"].is_reference and rows["white"].p_value is None
    # Hispanic: R prop.test(c(120, 300), c(400, 600), correct=FALSE) p = 3.43732561e-10;
    # Black: 140/280 = 300/600, p = 1; R p.adjust(c(3.43732561e-10, 1), "holm")
    assert rows["hispanic"].p_value == approx(3.43732561e-10, rel=1e-7)
    assert rows["hispanic"].p_adjusted == approx(2 * 3.43732561e-10, rel=1e-7)
    assert rows["hispanic"].significant and rows["hispanic"].meaningful
    assert rows["black"].p_adjusted == approx(1.0)
    assert rows["black"].significant is False and rows["black"].meaningful is False
    # Asian (5 screened) is hidden, and "Not recorded", the next smallest, with it
    assert rows["asian"].suppressed and rows["unknown"].suppressed


def test_no_number_of_a_suppressed_group_appears_in_its_row():
    rows = stratified_statistics(given_a_page_of_groups(), "white")

    for row in rows:
        if row.suppressed:
            values = dataclasses.asdict(row)
            numbers = {k: v for k, v in values.items() if k not in {"key", "label", "suppressed"}}
            assert set(numbers.values()) <= {None, False}


def test_when_the_reference_is_hidden_no_group_is_compared():
    rows = stratified_statistics(
        [("white", "White", 4, 9), ("hispanic", "Hispanic", 60, 200), ("black", "Black", 70, 150)],
        "white",
    )

    assert all(row.difference is None and row.p_value is None for row in rows)
    assert rows[0].suppressed


def test_a_reference_that_is_not_on_the_page_is_refused():
    with pytest.raises(ValueError, match="reference group"):
        stratified_statistics(given_a_page_of_groups(), "martian")


def test_each_row_has_the_api_fields_of_issue_13_and_each_method_a_sentence():
    fields = {field.name for field in dataclasses.fields(GroupStatistics)}

    assert {
        "key", "label", "numerator", "denominator", "rate", "ci_low", "ci_high",
        "difference", "difference_ci_low", "difference_ci_high", "ratio", "ratio_ci_low",
        "ratio_ci_high", "p_value", "p_adjusted", "test", "significant", "meaningful",
        "suppressed",
    } <= fields  # fmt: skip
    assert {"rate", "difference", "ratio", "test", "holm", "meaningful", "suppression"} <= set(
        METHOD_SENTENCES
    )
