"""Direct age adjustment: the 2000 US standard population's band weights, checked against
the published five- and ten-year groups, and Fay and Feuer's gamma interval, checked
against an independent computation (a pure-Python incomplete gamma function written
here, not scipy) of epitools' formulas, on Fay and Feuer's own worked example."""

from __future__ import annotations

import math

import pytest

from navigator.equity.age_adjustment import (
    STANDARD_POPULATION_2000,
    STANDARD_WEIGHTS,
    age_adjusted_rate,
    standard_population,
    standard_weights,
)
from navigator.equity.stats import Rate

approx = pytest.approx


def test_the_single_years_add_up_to_the_published_groups_of_the_2000_standard():
    # SEER's 19 age groups of the same standard (stdpop.19ages.txt, standard 203), and
    # NCHS's 11 groups in thousands (Anderson & Rosenberg 1998, NVSR 47(3), Table I;
    # Klein & Schoenborn 2001, Statistical Notes 20), which add up five-year groups
    # rounded to thousands: 55-64 = 13,307 + 10,654 = 23,961; 65-74 = 9,410 + 8,726 = 18,136
    assert sum(STANDARD_POPULATION_2000) == 274_633_642
    assert standard_population(0, 0) == 3_794_901
    assert standard_population(20, 24) == 18_257_225
    assert standard_population(25, 29) == 17_722_067
    assert standard_population(45, 49) == 19_805_793
    assert standard_population(50, 54) == 17_224_359
    assert standard_population(55, 59) == 13_307_234
    assert standard_population(60, 64) == 10_654_272
    assert standard_population(65, 69) == 9_409_940
    assert standard_population(70, 74) == 8_725_574
    assert standard_population(85, 100) == 4_259_173

    def thousands(youngest: int, oldest: int) -> int:
        fives = range(youngest, oldest, 5)
        return sum(round(standard_population(age, age + 4) / 1000) for age in fives)

    assert thousands(55, 64) == 23_961
    assert thousands(65, 74) == 18_136
    assert thousands(45, 54) == 37_030


def test_the_colorectal_weights_are_the_bands_shares_of_ages_45_to_75():
    # 45-49 = 19,805,793
    # 50-64 = 17,224,359 + 13,307,234 + 10,654,272 = 41,185,865
    # 65-75 = 9,409,940 + 8,725,574 + 1,610,943 (age 75 alone) = 19,746,457
    # total 80,738,115 -> 0.245309, 0.510117, 0.244574
    assert STANDARD_POPULATION_2000[75] == 1_610_943
    assert STANDARD_WEIGHTS["colorectal"] == approx(
        (19_805_793 / 80_738_115, 41_185_865 / 80_738_115, 19_746_457 / 80_738_115), rel=1e-12
    )
    assert STANDARD_WEIGHTS["colorectal"] == approx((0.245309, 0.510117, 0.244574), abs=1e-6)


def test_the_breast_weights_are_the_bands_shares_of_ages_50_to_74():
    # 50-64 = 41,185,865; 65-74 = 9,409,940 + 8,725,574 = 18,135,514; total 59,321,379
    assert STANDARD_WEIGHTS["breast"] == approx(
        (41_185_865 / 59_321_379, 18_135_514 / 59_321_379), rel=1e-12
    )
    assert STANDARD_WEIGHTS["breast"] == approx((0.694284, 0.305716), abs=1e-6)


def test_the_cervical_weights_are_the_bands_shares_of_ages_21_to_65():
    # 21-29 = 18,257,225 - 4,037,599 (age 20 alone) + 17,722,067 = 31,941,693
    # 30-65 = 19,511,370 + 22,179,956 + 22,479,229 + 19,805,793 + 41,185,865
    #         + 2,033,933 (age 65 alone) = 127,196,146; total 159,137,839
    assert (STANDARD_POPULATION_2000[20], STANDARD_POPULATION_2000[65]) == (4_037_599, 2_033_933)
    assert STANDARD_WEIGHTS["cervical"] == approx(
        (31_941_693 / 159_137_839, 127_196_146 / 159_137_839), rel=1e-12
    )
    assert STANDARD_WEIGHTS["cervical"] == approx((0.200717, 0.799283), abs=1e-6)


def test_weights_of_any_bands_add_up_to_one():
    assert sum(standard_weights([(18, 24), (25, 44), (45, 64), (65, 100)])) == approx(1.0)
    with pytest.raises(ValueError, match="ages must run"):
        standard_weights([(60, 50)])


# Fay & Feuer 1997, Table 1 (Down syndrome live births by birth order, Fleiss 1981 p. 249):
# six maternal age groups, the standard being the mean population of birth orders 1-5.
# R: library(epitools); example(ageadjust.direct) recreates the table, e.g.
#   ageadjust.direct(count[, 1], population[, 1], stdpop = standard)
FLEISS_POPULATION = [
    [230061, 329449, 114920, 39487, 14208, 3052],
    [72202, 326701, 208667, 83228, 28466, 5375],
    [15050, 175702, 207081, 117300, 45026, 8660],
    [2293, 68800, 132424, 98301, 46075, 9834],
    [327, 30666, 123419, 149919, 104088, 34392],
]
FLEISS_COUNT = [
    [107, 141, 60, 40, 39, 25],
    [25, 150, 110, 84, 82, 39],
    [3, 71, 114, 103, 108, 75],
    [1, 26, 64, 89, 137, 96],
    [0, 8, 63, 112, 262, 295],
]
FLEISS_STANDARD = [sum(order[age] for order in FLEISS_POPULATION) / 5 for age in range(6)]


def _lower_regularized_gamma(shape: float, x: float) -> float:
    """P(shape, x) by its series below shape+1 and Lentz's continued fraction above
    (Numerical Recipes 6.2), an independent path from scipy's."""
    if x <= 0:
        return 0.0
    prefactor = math.exp(-x + shape * math.log(x) - math.lgamma(shape))
    if x < shape + 1:
        term = total = 1.0 / shape
        k = shape
        while abs(term) > abs(total) * 1e-16:
            k += 1
            term *= x / k
            total += term
        return total * prefactor
    b = x + 1 - shape
    c, d = 1e300, 1 / b
    fraction = d
    for i in range(1, 10_000):
        a = -i * (i - shape)
        b += 2
        d = 1 / (a * d + b or 1e-300)
        c = b + a / c or 1e-300
        fraction *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return 1 - prefactor * fraction


def _gamma_quantile(p: float, shape: float, scale: float) -> float:
    low, high = 0.0, scale * (shape + 10)
    while _lower_regularized_gamma(shape, high / scale) < p:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if _lower_regularized_gamma(shape, middle / scale) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _epitools_by_hand(counts, populations, standard, alpha=0.05):
    # epitools::ageadjust.direct, line by line
    weights = [s / sum(standard) for s in standard]
    dsr = sum(w * x / n for w, x, n in zip(weights, counts, populations, strict=True))
    variance = sum(w**2 * x / n**2 for w, x, n in zip(weights, counts, populations, strict=True))
    wm = max(w / n for w, n in zip(weights, populations, strict=True))
    low = _gamma_quantile(alpha / 2, dsr**2 / variance, variance / dsr)
    high = _gamma_quantile(
        1 - alpha / 2, (dsr + wm) ** 2 / (variance + wm**2), (variance + wm**2) / (dsr + wm)
    )
    return dsr, low, high


@pytest.mark.parametrize(
    ("order", "per_100k"),
    [
        # Computed by `_epitools_by_hand`, per 100,000: (adjusted, lower, upper)
        (0, (92.3, 80.4, 105.8)),
        (1, (91.2, 82.4, 100.9)),
        (2, (85.1, 77.2, 94.2)),
        (3, (92.7, 80.0, 114.7)),
        (4, (75.5, 67.7, 188.3)),  # a zero count in the youngest group: a long upper tail
    ],
)
def test_the_gamma_interval_is_fay_and_feuers_on_their_worked_example(order, per_100k):
    counts, populations = FLEISS_COUNT[order], FLEISS_POPULATION[order]

    rate = age_adjusted_rate(list(zip(counts, populations, FLEISS_STANDARD, strict=True)))

    by_hand = _epitools_by_hand(counts, populations, FLEISS_STANDARD)
    assert (rate.rate, rate.ci_low, rate.ci_high) == approx(by_hand, rel=1e-9)
    assert tuple(round(1e5 * value, 1) for value in by_hand) == per_100k


def test_a_screening_rate_adjusted_to_the_colorectal_standard():
    # Given 120/300 aged 45-49, 260/420 aged 50-64 and 180/250 aged 65-75
    weights = STANDARD_WEIGHTS["colorectal"]
    bands = [(120, 300, weights[0]), (260, 420, weights[1]), (180, 250, weights[2])]

    rate = age_adjusted_rate(bands)

    # Then 0.245309*0.4 + 0.510117*0.619048 + 0.244574*0.72 = 0.590004
    assert rate.rate == approx(
        weights[0] * 120 / 300 + weights[1] * 260 / 420 + weights[2] * 180 / 250
    )
    assert rate.rate == approx(0.590004, abs=1e-6)
    expected = _epitools_by_hand([120, 260, 180], [300, 420, 250], list(weights))
    assert (rate.ci_low, rate.ci_high) == approx(expected[1:], rel=1e-9)
    # And the Poisson-based interval holds the normal binomial one (it is conservative)
    binomial_se = math.sqrt(
        sum(w**2 * (x / n) * (1 - x / n) / n for x, n, w in bands)
    )  # sqrt(0.245309^2*0.4*0.6/300 + ...) = 0.01557
    assert rate.ci_low < rate.rate - 1.959964 * binomial_se
    assert rate.ci_high > rate.rate + 1.959964 * binomial_se


def test_no_one_screened_has_a_lower_limit_of_zero_and_the_upper_from_the_largest_weight():
    rate = age_adjusted_rate([(0, 30, 1), (0, 50, 2)])

    # Gamma(shape 1, scale w_M) at 0.975 is -w_M * log(0.025), with
    # w_M = max((1/3)/30, (2/3)/50) = 1/75
    assert rate == Rate(0.0, 0.0, approx(-(1 / 75) * math.log(0.025)))


def test_an_upper_limit_above_one_is_cut_to_one():
    rate = age_adjusted_rate([(29, 30, 1), (50, 50, 2)])

    assert rate.ci_high == 1.0 and rate.ci_low < rate.rate < 1.0


def test_a_band_with_weight_but_no_one_in_it_leaves_no_adjusted_rate():
    assert age_adjusted_rate([(5, 20, 0.5), (0, 0, 0.5)]) == Rate(None, None, None)
    # A band the standard gives no weight does not matter
    assert age_adjusted_rate([(5, 20, 1.0), (0, 0, 0.0)]).rate == approx(0.25)


def test_impossible_inputs_are_refused():
    with pytest.raises(ValueError, match="numerator <= denominator"):
        age_adjusted_rate([(5, 3, 1.0)])
    with pytest.raises(ValueError, match="negative"):
        age_adjusted_rate([(1, 3, -1.0)])
    with pytest.raises(ValueError, match="at least one"):
        age_adjusted_rate([])
