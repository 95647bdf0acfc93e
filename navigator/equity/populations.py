"""Population screening rates by group, read from the stored measure populations
(`patients.models.MeasurePopulation`, filled by
`patients.services.measure_populations`), never evaluated on a page.

A patient in a measure's initial population for a period is one row; the rate is
numerator ÷ (denominator − exclusions), the eCQM performance rate. Every count is
made in one grouped query, however many groups, dimensions or quarters are shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Case, CharField, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from navigator.equity.dimensions import (
    AGE_BANDS,
    DIMENSIONS,
    NOT_RECORDED,
    NOT_RECORDED_GROUP,
    AgeBand,
    Dimension,
    Expression,
    age_dimension,
)
from navigator.equity.grouping import GroupedCounts, count_grouped
from navigator.equity.scope import EquityScope
from navigator.models import NavigationCase
from patients.caregaps.periods import Period, period_between, quarter_period
from patients.models import MeasurePeriod, MeasurePopulation, RaceEthnicity

PREFIX = "patient__"
# In the denominator: the initial population less the exclusions.
DENOMINATOR = Q(denominator_exclusion=False)
NUMERATOR = Q(numerator=True)


def _race_any(prefix: str, on: dt.date) -> Expression:
    return Coalesce(
        F(f"{prefix}race_ethnicities__category"), Value(NOT_RECORDED), output_field=CharField()
    )


# "Alone or in combination": a patient who chose two categories counts in both, so the
# groups overlap and never add up to the total (and are never compared with each
# other). Declined and unknown are answers too; no answer at all is "not recorded".
RACE_ANY = Dimension(
    "race",
    "Race and ethnicity (alone or in combination)",
    tuple((value, label) for value, label in RaceEthnicity.choices) + (NOT_RECORDED_GROUP,),
    _race_any,
)


def _navigated(prefix: str, on: dt.date) -> Expression:
    # A case for this patient and this programme open at some time during the row's
    # period: opened by its end and not closed before its start.
    case_in_period = NavigationCase.objects.filter(
        patient=OuterRef("patient"),
        program=OuterRef("program"),
        opened_at__date__lte=OuterRef("period_end"),
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__date__gte=OuterRef("period_start")))
    return Case(
        When(Exists(case_in_period), then=Value("navigated")),
        default=Value("not_navigated"),
        output_field=CharField(),
    )


NAVIGATED = Dimension(
    "navigated",
    "Navigation",
    (
        ("navigated", "Navigated (a case open during the period)"),
        ("not_navigated", "Not navigated"),
    ),
    _navigated,
)


def _age_at_end(bands: Sequence[AgeBand]) -> Dimension:
    """Age bands from the stored age on each period's last day, so that a quarterly
    series puts each patient in the band of each quarter (the case dimension's
    birth-date ranges hold for one reference day only). Same groups and keys."""
    cases_version = age_dimension(bands)
    first, last = bands[0][0], bands[-1][1]

    def expression(prefix: str, on: dt.date) -> Expression:
        whens = [When(age_at_end__lt=first, then=Value(f"under_{first}"))]
        whens += [
            When(age_at_end__lte=oldest, then=Value(f"{youngest}_{oldest}"))
            for youngest, oldest in bands
        ]
        return Case(*whens, default=Value(f"over_{last}"), output_field=CharField())

    return Dimension(cases_version.key, cases_version.label, cases_version.groups, expression)


def population_dimension(key: str, *, program_code: str, race_rule: str = "exclusive") -> Dimension:
    """The dimension `key` as it applies to a programme's population: its own age
    bands, race counted by the chosen rule, and navigation by that programme's cases."""
    if key == "age":
        return _age_at_end(AGE_BANDS.get(program_code, AGE_BANDS["colorectal"]))
    if key == "race" and race_rule == "any":
        return RACE_ANY
    if key == "navigated":
        return NAVIGATED
    return DIMENSIONS[key]


def stored_periods(measure: str) -> list[Period]:
    """The periods computed for everyone, newest first (1 query), labelled as calendar
    years ("2025"), rolling quarters ("2026 Q1") or by their dates."""
    rows = MeasurePeriod.objects.filter(measure=measure).order_by("-period_end", "period_start")
    return [period_between(row.period_start, row.period_end) for row in rows]


def rolling_quarters(periods: Sequence[Period], *, through: dt.date, count: int) -> list[Period]:
    """The last `count` rolling quarters among `periods` ending by `through`, oldest
    first, each labelled as a quarter (the calendar year is also the Q4 window)."""
    quarters = {}
    for period in periods:
        if period.end > through:
            continue
        quarter = quarter_period(period.end.year, (period.end.month - 1) // 3 + 1)
        if (quarter.start, quarter.end) == (period.start, period.end):
            quarters[quarter.end] = quarter
    return [quarters[end] for end in sorted(quarters)][-count:]


def population_rows(measure: str, periods: Sequence[Period], scope: EquityScope) -> QuerySet:
    """The stored rows of `measure` for `periods` that `scope` may count."""
    in_periods = Q(pk__in=[])
    for period in periods:
        in_periods |= Q(period_start=period.start, period_end=period.end)
    return MeasurePopulation.objects.filter(in_periods, scope.patient_q(PREFIX), measure=measure)


def population_counts(
    *,
    measure: str,
    periods: Sequence[Period],
    scope: EquityScope,
    dimensions: Sequence[Dimension],
    extras: dict[str, Q] | None = None,
) -> GroupedCounts:
    """Counts by group (1 query). One period: a plain table; several: a series keyed
    by each period's end."""
    if not periods:
        raise ValueError("count at least one period")
    return count_grouped(
        population_rows(measure, periods, scope),
        dimensions,
        prefix=PREFIX,
        on=max(period.end for period in periods),  # unused by population dimensions
        numerator_q=NUMERATOR,
        denominator_q=DENOMINATOR,
        distinct=any(dimension is RACE_ANY for dimension in dimensions),
        series=F("period_end") if len(periods) > 1 else None,
        extras=extras,
    )
