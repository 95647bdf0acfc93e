"""Direct age adjustment to the 2000 US standard population, with the Fay–Feuer gamma
interval (issue 13, item 3: "optional direct age adjustment to the 2000 US standard
population").

Direct standardisation (Klein RJ, Schoenborn CA. Age adjustment using the 2000
projected U.S. population. Healthy People 2010 Statistical Notes no. 20. Hyattsville,
MD: NCHS; January 2001, https://www.cdc.gov/nchs/data/statnt/statnt20.pdf): each age
band's rate is weighted by the band's share of the standard population, and the
weights are renormalised over the ages the measure covers, as that note does for its
age-restricted distributions (e.g. its "18 years and over" set).

The standard is the 2000 US standard population by single year of age from Census
P25-1130 (Day JC, Population projections of the United States by age, sex, race, and
Hispanic origin: 1995 to 2050, Current Population Reports P25-1130, 1996), as SEER
distributes it (https://seer.cancer.gov/stdpopulations/, file
stdpop.singleagesthru99.txt, standard 205). A band's count is the sum of its single
years, as SEER sums its five-year groups; the test checks these sums against the
published five-year groups and NCHS's ten-year table.

The interval is Fay and Feuer's gamma interval (Fay MP, Feuer EJ. Confidence intervals
for directly standardized rates: a method based on the gamma distribution. Stat Med
1997;16:791-801), as R's `epitools::ageadjust.direct` computes it, with the quantiles
from `scipy.stats.gamma`. It treats each band's count as Poisson, so for a proportion
(whose binomial variance is smaller) it is conservative: wider, never narrower, than
needed. Tiwari et al.'s modification (Stat Methods Med Res 2006;15:547), which SEER*Stat
uses for incidence rates, shortens the upper limit for sparse rates; screening rates are
neither rare nor sparse per band, so the original, better-known method is kept. An upper
limit above 1 is cut to 1, as a proportion cannot exceed it.

Adjusted rates get intervals but no tests of difference (`METHOD_SENTENCES
["age_adjustment"]` in `navigator.equity.methods` says so on the page).
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy.stats import gamma

from navigator.equity.dimensions import AGE_BANDS, AgeBand
from navigator.equity.stats import ALPHA, Rate

# The 2000 US standard population by single year of age, 0 to 99, then 100 and over
# (Census P25-1130 via SEER, standard 205; total 274,633,642).
STANDARD_POPULATION_2000: tuple[int, ...] = (
    3794901, 3758562, 3773025, 3791001, 3869031, 3896081, 3917855, 3978143, 3903983, 4223778,
    4230322, 4027959, 3941299, 3923270, 3933929, 3952423, 3853629, 4012263, 3936904, 4064299,
    4037599, 3764802, 3555718, 3489233, 3409873, 3421099, 3328203, 3434987, 3450602, 4087176,
    3999004, 3810183, 3774385, 3840938, 4086860, 4288078, 4349620, 4469476, 4290207, 4782575,
    4666685, 4493582, 4487560, 4424004, 4407398, 4268017, 4033859, 3958468, 3681489, 3863960,
    3720935, 3504329, 3475657, 3754218, 2769220, 2749739, 2786795, 2947472, 2404462, 2418766,
    2259141, 2179759, 2132873, 2030730, 2051769, 2033933, 1862107, 1849893, 1788769, 1875238,
    1843087, 1784744, 1802080, 1674285, 1621378, 1610943, 1530137, 1450062, 1456186, 1367231,
    1172978, 1065672, 963587, 890893, 807104, 693158, 607940, 536762, 452814, 387893,
    327827, 273709, 226917, 180330, 143772, 118131, 88924, 65909, 46278, 37194,
    71615,
)  # fmt: skip


def standard_population(youngest: int, oldest: int) -> int:
    """The 2000 standard population aged `youngest` to `oldest`, both included (the
    last entry stands for 100 and over, so 100 is the oldest age asked for)."""
    if not 0 <= youngest <= oldest <= len(STANDARD_POPULATION_2000) - 1:
        raise ValueError(f"ages must run from 0 to 100, youngest first (got {youngest}-{oldest})")
    return sum(STANDARD_POPULATION_2000[youngest : oldest + 1])


def standard_weights(bands: Sequence[AgeBand]) -> tuple[float, ...]:
    """Each band's share of the standard population of all the bands together (the
    weights are renormalised within the measure's ages, so they add up to 1)."""
    counts = [standard_population(youngest, oldest) for youngest, oldest in bands]
    total = sum(counts)
    return tuple(count / total for count in counts)


# The weights of the age bands each programme's dimension uses (`dimensions.AGE_BANDS`):
# colorectal 45-49, 50-64, 65-75; breast 50-64, 65-74; cervical 21-29, 30-65;
# diabetes 18-44, 45-64, 65-75.
STANDARD_WEIGHTS: dict[str, tuple[float, ...]] = {
    program: standard_weights(bands) for program, bands in AGE_BANDS.items()
}


def age_adjusted_rate(bands: Sequence[tuple[int, int, float]], *, alpha: float = ALPHA) -> Rate:
    """The directly age-adjusted rate of (numerator, denominator, standard weight) per
    age band, with Fay and Feuer's gamma interval (epitools' `ageadjust.direct`):

    - weights w_i = weight_i / sum(weights); adjusted rate y = sum(w_i x_i / n_i);
    - variance v = sum(w_i^2 x_i / n_i^2), and w_M = max(w_i / n_i);
    - lower = Gamma(shape y^2/v, scale v/y) quantile alpha/2 (0 when y = 0);
    - upper = Gamma(shape (y+w_M)^2/(v+w_M^2), scale (v+w_M^2)/(y+w_M)) quantile
      1-alpha/2, at most 1.

    A band with weight but no one in it leaves the rate undefined (the standard asks
    for that band's rate), so the result is then empty, like a crude rate of 0/0.
    """
    if not bands:
        raise ValueError("age adjustment needs at least one age band")
    for numerator, denominator, weight in bands:
        if numerator < 0 or denominator < 0 or numerator > denominator:
            raise ValueError(
                f"counts must satisfy 0 <= numerator <= denominator (got {numerator}/{denominator})"
            )
        if weight < 0:
            raise ValueError(f"a standard weight cannot be negative (got {weight})")
    total_weight = sum(weight for _, _, weight in bands)
    if total_weight <= 0:
        raise ValueError("the standard weights add up to nothing")
    weighted = [(x, n, weight / total_weight) for x, n, weight in bands if weight > 0]
    if any(n == 0 for _, n, _ in weighted):
        return Rate(None, None, None)

    adjusted = sum(w * x / n for x, n, w in weighted)
    variance = sum(w**2 * x / n**2 for x, n, w in weighted)
    largest = max(w / n for _, n, w in weighted)

    low = (
        float(gamma.ppf(alpha / 2, adjusted**2 / variance, scale=variance / adjusted))
        if adjusted > 0
        else 0.0
    )
    shifted_variance = variance + largest**2
    high = float(
        gamma.ppf(
            1 - alpha / 2,
            (adjusted + largest) ** 2 / shifted_variance,
            scale=shifted_variance / (adjusted + largest),
        )
    )
    return Rate(adjusted, low, min(high, 1.0))
