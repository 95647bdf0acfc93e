"""The one-sentence method texts the page, the API, CSV and PDF show, from one place.

`METHOD_SENTENCES` holds every key of `stats.METHOD_SENTENCES` (rate, difference, ratio,
test, holm, meaningful, suppression), unchanged, and adds the sentences of two-way
tables, the race counting rule, age adjustment and rolling quarters.
`stats.METHOD_SENTENCES` stays where it is, so existing imports keep working.
"""

from __future__ import annotations

from navigator.equity.stats import METHOD_SENTENCES as STATISTICS_SENTENCES

METHOD_SENTENCES: dict[str, str] = {
    **STATISTICS_SENTENCES,
    "two_way": (
        "In a two-way table each cell is compared with the cell of the reference column "
        "in its own row (for example Spanish with English speakers among Hispanic or "
        "Latino patients), and Holm's adjustment runs across every compared cell on the page."
    ),
    "race_exclusive": (
        "Each patient is counted once: in the one race or ethnicity they chose, or in "
        '"Multiracial and/or Multiethnic" when they chose two or more, so the groups add '
        "up to the total."
    ),
    "race_any": (
        "Each patient is counted in every race or ethnicity they chose (alone or in "
        "combination), so the groups overlap and are shown with rates and intervals but "
        "not compared or tested."
    ),
    "age_adjustment": (
        "Age-adjusted rates weight each age band's rate by its share of the 2000 US "
        "standard population, with a 95% gamma interval (Fay and Feuer); they are not "
        "tested against each other."
    ),
    "rolling_quarters": (
        "Each quarter's figure covers the 12 months ending that quarter, so neighbouring "
        "points share 9 of their 12 months; each quarter is tested on its own, and the "
        "change between quarters is not tested."
    ),
}
