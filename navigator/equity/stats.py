"""The equity dashboard's statistics: rates, comparisons with a reference group, and
AHRQ's "meaningful" difference, built on statsmodels and scipy.

Every method is one library call (no hand-written formula) but Holm's adjustment (see
`holm_adjust`, checked against statsmodels); `METHOD_SENTENCES` says
each in one plain sentence for the page, the API, CSV and PDF. Small cells are
hidden first (`navigator.equity.suppression`), so no statistic is ever computed from,
or shown for, a suppressed group.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

from scipy.stats import fisher_exact
from scipy.stats.contingency import expected_freq
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)

from navigator.equity.suppression import suppress_groups

ALPHA = 0.05
# AHRQ's threshold for a meaningful relative difference (see `meaningful`).
MEANINGFUL_RELATIVE_DIFFERENCE = 0.10
# Fisher's exact test replaces the score test when an expected count is below this.
FISHER_BELOW_EXPECTED = 5

METHOD_SENTENCES: dict[str, str] = {
    "rate": "Each rate is shown with its 95% Wilson score interval.",
    "difference": (
        "The difference is the group's rate minus the reference group's, in percentage "
        "points, with Newcombe's hybrid score 95% interval."
    ),
    "ratio": (
        "The ratio is the group's rate divided by the reference group's, with a 95% "
        "interval on the log scale; it has no interval when either group has no one counted "
        "or both have everyone counted."
    ),
    "test": (
        "The p-value is two-sided, from the two-proportion score (chi-square) test, or "
        "Fisher's exact test when any expected count is below 5."
    ),
    "holm": (
        "P-values are adjusted for comparing several groups at once with Holm's method, "
        "across the groups on the page."
    ),
    "meaningful": (
        "A difference is called meaningful, as AHRQ's National Healthcare Quality and "
        "Disparities Report does, when it is significant at the 5% level after adjustment "
        "and the rates of not being screened differ by at least 10% of the reference's."
    ),
    "suppression": (
        "Counts from 1 to 10 are never shown (CMS cell-size policy: fewer than 11 is "
        "suppressed), nor any other cell from which one could be worked out; such cells "
        'read "Suppressed" and have no rates or tests.'
    ),
}


@dataclass(frozen=True)
class Rate:
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Comparison:
    """A group against the reference group."""

    difference: float | None
    difference_ci_low: float | None
    difference_ci_high: float | None
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    p_value: float | None
    test: str | None  # "score" or "fisher"


@dataclass(frozen=True)
class GroupStatistics:
    """One group's row, with the API's field names (issue 13, item 8). A suppressed
    group carries its key and label only: every number is None."""

    key: Hashable
    label: str
    numerator: int | None
    denominator: int | None
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    difference: float | None
    difference_ci_low: float | None
    difference_ci_high: float | None
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    test: str | None
    significant: bool | None
    meaningful: bool | None
    suppressed: bool
    is_reference: bool = False


def rate_with_interval(numerator: int, denominator: int, alpha: float = ALPHA) -> Rate:
    """The rate and its Wilson score interval (statsmodels `proportion_confint`,
    method "wilson"; the same as R's `prop.test(x, n, correct=FALSE)$conf.int`).
    No one in the denominator: no rate."""
    _check_counts(numerator, denominator)
    if denominator == 0:
        return Rate(None, None, None)
    low, high = proportion_confint(numerator, denominator, alpha=alpha, method="wilson")
    return Rate(numerator / denominator, float(low), float(high))


def compare_to_reference(
    group: tuple[int, int], reference: tuple[int, int], alpha: float = ALPHA
) -> Comparison:
    """The group (numerator, denominator) against the reference's.

    - difference = group rate - reference rate, with Newcombe's hybrid score interval
      (Newcombe 1998, Stat Med 17:873, method 10; statsmodels
      `confint_proportions_2indep(compare="diff", method="newcomb")`);
    - ratio = group rate / reference rate, with the log-scale (Katz) interval
      (`compare="ratio", method="log"`). Zero counts: the log interval needs both
      numerators above 0, so when either is 0 the ratio has no interval (and no ratio
      at all when the reference's rate is 0); nothing is added to the counts to force
      one, and the difference and its interval still stand;
    - the two-sided p-value: the two-proportion score test (statsmodels
      `test_proportions_2indep(method="score", correction=False)`, whose statistic
      squared is Pearson's chi-square, so its p-value is R's
      `prop.test(correct=FALSE)`'s), or Fisher's exact test (scipy `fisher_exact`,
      two-sided as R's `fisher.test`) when any expected count of the 2x2 table is below 5.
    """
    group_numerator, group_denominator = group
    reference_numerator, reference_denominator = reference
    _check_counts(group_numerator, group_denominator)
    _check_counts(reference_numerator, reference_denominator)
    if group_denominator == 0 or reference_denominator == 0:
        return Comparison(None, None, None, None, None, None, None, None)
    counts = (group_numerator, group_denominator, reference_numerator, reference_denominator)
    group_rate = group_numerator / group_denominator
    reference_rate = reference_numerator / reference_denominator

    difference_low, difference_high = confint_proportions_2indep(
        *counts, compare="diff", method="newcomb", alpha=alpha
    )
    ratio = group_rate / reference_rate if reference_rate > 0 else None
    ratio_low = ratio_high = None
    # The log interval's standard error is 0 when both groups are all screened (and
    # undefined with a zero numerator): no interval then, rather than a false certainty.
    all_screened = (
        group_numerator == group_denominator and reference_numerator == reference_denominator
    )
    if group_numerator > 0 and reference_numerator > 0 and not all_screened:
        low, high = confint_proportions_2indep(*counts, compare="ratio", method="log", alpha=alpha)
        ratio_low, ratio_high = float(low), float(high)

    table = [
        [group_numerator, group_denominator - group_numerator],
        [reference_numerator, reference_denominator - reference_numerator],
    ]
    if (expected_freq(table) < FISHER_BELOW_EXPECTED).any():
        p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
        test = "fisher"
    else:
        result = test_proportions_2indep(*counts, method="score", compare="diff", correction=False)
        p_value = float(result.pvalue)
        test = "score"
    return Comparison(
        difference=group_rate - reference_rate,
        difference_ci_low=float(difference_low),
        difference_ci_high=float(difference_high),
        ratio=ratio,
        ratio_ci_low=ratio_low,
        ratio_ci_high=ratio_high,
        p_value=p_value,
        test=test,
    )


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (Holm 1979; R's `p.adjust(method="holm")`), over the
    p-values present; None stays None. The i-th smallest of m becomes
    min(1, max over j ≤ i of (m − j + 1)·p₍ⱼ₎).

    The one formula written out here: statsmodels' `multipletests(method="holm")`
    gives the same values (checked in the tests) but runs a full `gc.collect()` on
    every call, about 75 ms in a Django process, once per table and quarter."""
    present = sorted(
        ((p, position) for position, p in enumerate(p_values) if p is not None),
        key=lambda item: item[0],
    )
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, position) in enumerate(present):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[position] = running
    return adjusted


def relative_difference(
    group_rate: float, reference_rate: float, *, favorable: bool = True
) -> float:
    """AHRQ's relative difference, on the adverse outcome: for a favorable measure (being
    screened) the rates of *not* being screened are compared, |(1-g) - (1-r)| / (1-r);
    for an adverse measure, |g - r| / r. Infinite when the reference's adverse rate is 0
    and the group's is not; 0 when both are 0."""
    group_adverse, reference_adverse = (
        (1 - group_rate, 1 - reference_rate) if favorable else (group_rate, reference_rate)
    )
    gap = abs(group_adverse - reference_adverse)
    if reference_adverse == 0:
        return math.inf if gap > 0 else 0.0
    return gap / reference_adverse


def meaningful(
    *,
    p_adjusted: float | None,
    group_rate: float | None,
    reference_rate: float | None,
    favorable: bool = True,
    alpha: float = ALPHA,
) -> bool | None:
    """AHRQ's meaningful difference: statistically significant (here: the Holm-adjusted
    two-sided p-value below `alpha`, 0.05) and a relative difference of at least 10%.

    AHRQ, National Healthcare Disparities Report 2010, Chapter 1 (Introduction and
    Methods), https://www.ahrq.gov/research/findings/nhqrdr/nhdr10/Chap1a.html: the
    difference must be statistically significant at p<=0.05 on a two-tailed test, and
    the relative difference between the comparison group and the reference group must
    be at least 10%. The NHQDR methods (https://datatools.ahrq.gov/nhqdr/
    methodology-report) express relative differences in terms of the adverse outcome
    (after Keppel & Pearcy, J Public Health Manag Pract 2005;11:479), so a screening
    rate is compared as the rate of not being screened (`relative_difference`).
    AHRQ tests each comparison unadjusted; this dashboard asks the stricter
    Holm-adjusted p below 0.05, as issue 13 specifies.
    None when any input is missing (a suppressed group, or no test).
    """
    if p_adjusted is None or group_rate is None or reference_rate is None:
        return None
    big_enough = (
        relative_difference(group_rate, reference_rate, favorable=favorable)
        >= MEANINGFUL_RELATIVE_DIFFERENCE - 1e-12
    )
    return p_adjusted < alpha and big_enough


def stratified_statistics(
    groups: Sequence[tuple[Hashable, str, int, int]],
    reference_key: Hashable,
    *,
    total_shown: bool = True,
    favorable: bool = True,
    alpha: float = ALPHA,
    small_cell_max: int | None = None,
    forced: Collection[Hashable] = (),
) -> list[GroupStatistics]:
    """Every group's row, in the order given: (key, label, numerator, denominator).
    `forced` groups are hidden whatever their size (another table hides them).

    Small cells are hidden first (with their complements, the page's total counting
    as a shown sum when `total_shown`); hidden groups get no numbers at all. Each shown
    group is compared with the reference (itself excluded); Holm's adjustment runs
    across the shown groups that have a p-value. When the reference is hidden, no
    group is compared (a difference would give its rate away).
    """
    keys = [key for key, _, _, _ in groups]
    if len(set(keys)) != len(keys):
        raise ValueError("each group needs its own key")
    if reference_key not in keys:
        raise ValueError(f"the reference group {reference_key!r} is not among the groups")
    counts = {key: (numerator, denominator) for key, _, numerator, denominator in groups}
    for numerator, denominator in counts.values():
        _check_counts(numerator, denominator)
    total = (
        (sum(n for n, _ in counts.values()), sum(d for _, d in counts.values()))
        if total_shown
        else None
    )
    hidden = suppress_groups(counts, total=total, maximum=small_cell_max, forced=forced)
    reference_shown = reference_key not in hidden

    comparisons: dict[Hashable, Comparison] = {}
    for key, _, numerator, denominator in groups:
        if key in hidden or key == reference_key or not reference_shown:
            continue
        comparisons[key] = compare_to_reference(
            (numerator, denominator), counts[reference_key], alpha=alpha
        )
    compared = list(comparisons)
    adjusted = dict(
        zip(compared, holm_adjust([comparisons[k].p_value for k in compared]), strict=True)
    )
    reference_rate = (
        rate_with_interval(*counts[reference_key], alpha=alpha).rate if reference_shown else None
    )

    rows = []
    for key, label, numerator, denominator in groups:
        if key in hidden:
            rows.append(hidden_row(key, label, is_reference=key == reference_key))
            continue
        rows.append(
            group_row(
                key,
                label,
                (numerator, denominator),
                comparison=comparisons.get(key),
                p_adjusted=adjusted.get(key),
                reference_rate=reference_rate,
                favorable=favorable,
                alpha=alpha,
                is_reference=key == reference_key,
            )
        )
    return rows


def group_row(
    key: Hashable,
    label: str,
    counts: tuple[int, int],
    *,
    comparison: Comparison | None = None,
    p_adjusted: float | None = None,
    reference_rate: float | None = None,
    favorable: bool = True,
    alpha: float = ALPHA,
    is_reference: bool = False,
) -> GroupStatistics:
    """A shown group's row: its rate and interval and, when compared, the comparison
    with its Holm-adjusted p-value and AHRQ's "meaningful"."""
    numerator, denominator = counts
    rate = rate_with_interval(numerator, denominator, alpha=alpha)
    return GroupStatistics(
        key=key,
        label=label,
        numerator=numerator,
        denominator=denominator,
        rate=rate.rate,
        ci_low=rate.ci_low,
        ci_high=rate.ci_high,
        difference=comparison.difference if comparison else None,
        difference_ci_low=comparison.difference_ci_low if comparison else None,
        difference_ci_high=comparison.difference_ci_high if comparison else None,
        ratio=comparison.ratio if comparison else None,
        ratio_ci_low=comparison.ratio_ci_low if comparison else None,
        ratio_ci_high=comparison.ratio_ci_high if comparison else None,
        p_value=comparison.p_value if comparison else None,
        p_adjusted=p_adjusted,
        test=comparison.test if comparison else None,
        significant=None if p_adjusted is None else p_adjusted < alpha,
        meaningful=meaningful(
            p_adjusted=p_adjusted,
            group_rate=rate.rate,
            reference_rate=reference_rate,
            favorable=favorable,
            alpha=alpha,
        ),
        suppressed=False,
        is_reference=is_reference,
    )


def hidden_row(key: Hashable, label: str, *, is_reference: bool) -> GroupStatistics:
    """A suppressed entry: its key and label, and no number at all."""
    return GroupStatistics(
        key=key,
        label=label,
        numerator=None,
        denominator=None,
        rate=None,
        ci_low=None,
        ci_high=None,
        difference=None,
        difference_ci_low=None,
        difference_ci_high=None,
        ratio=None,
        ratio_ci_low=None,
        ratio_ci_high=None,
        p_value=None,
        p_adjusted=None,
        test=None,
        significant=None,
        meaningful=None,
        suppressed=True,
        is_reference=is_reference,
    )


def _check_counts(numerator: int, denominator: int) -> None:
    if numerator < 0 or denominator < 0 or numerator > denominator:
        raise ValueError(
            f"counts must satisfy 0 <= numerator <= denominator (got {numerator}/{denominator})"
        )
