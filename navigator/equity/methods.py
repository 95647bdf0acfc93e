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


MEASURE_SENTENCES: dict[str, str] = {
    "ecqm": (
        "The rate is the eCQM's performance rate: patients meeting the numerator out of the "
        "denominator less its exclusions, by the measure's own logic for a 12-month "
        "measurement period; only patients known from EHR feeds are counted."
    ),
    "caregap": (
        "The rate is the share of patients eligible by EquiNav's programme rules (age, sex "
        "and risk) who were up to date on the period's last day, counting tests recorded by "
        "navigators and from EHR feeds; it is EquiNav's own measure, not the CMS one, and "
        "needs no qualifying visit."
    ),
}


def method_sentences(
    *,
    measure_kind: str,
    measure_method: str | None = None,
    compared: bool = True,
    two_way: bool = False,
    race_rule: str | None = None,
    quarters: bool = False,
    rolling: bool = True,
    age_adjusted: bool = False,
) -> list[str]:
    """The sentences a page of figures states, in reading order: what the rate is,
    how race is counted, the statistics, then what applies to this page only."""
    sentences = [measure_method or MEASURE_SENTENCES[measure_kind]]
    if race_rule is not None:
        sentences.append(METHOD_SENTENCES[f"race_{race_rule}"])
    sentences.append(METHOD_SENTENCES["rate"])
    if compared:
        sentences += [METHOD_SENTENCES[key] for key in ("difference", "ratio", "test", "holm")]
        sentences.append(METHOD_SENTENCES["meaningful"])
    if two_way:
        sentences.append(METHOD_SENTENCES["two_way"])
    if quarters and rolling:
        sentences.append(METHOD_SENTENCES["rolling_quarters"])
    if age_adjusted:
        sentences.append(METHOD_SENTENCES["age_adjustment"])
    sentences.append(METHOD_SENTENCES["suppression"])
    return sentences
