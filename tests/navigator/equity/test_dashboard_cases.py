"""The dashboard on navigation measures gives the navigation figures' own counts; age
adjustment weighs each band's rate by the 2000 US standard population."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone

from navigator.equity.age_adjustment import STANDARD_WEIGHTS, age_adjusted_rate
from navigator.equity.dashboard import equity_dashboard
from navigator.equity.dimensions import DIMENSIONS
from navigator.equity.navigation import completion_counts
from navigator.equity.navigation_barriers import diagnostic_follow_up_counts
from navigator.equity.query import EquityQuery, EquityQueryError
from patients.caregaps.periods import quarter_period
from patients.models import MeasurePeriod, MeasurePopulation
from tests import factories
from tests.support.equity_cases import NOW, PERIOD, TODAY, cohort, seeded_cases

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


@pytest.fixture(scope="module")
def cases(django_db_setup, django_db_blocker) -> Iterator[dict]:
    with seeded_cases(django_db_blocker) as data:
        yield data


def _shown(groups):
    return {str(g.key): (g.numerator, g.denominator) for g in groups if not g.suppressed}


@pytest.mark.parametrize("key", ["race", "lep", "navigator"])
@pytest.mark.parametrize("days", [90, 180])
def test_completion_by_group_is_the_navigation_figure(
    cases, key, days, django_assert_max_num_queries
):
    manager = factories.ManagerFactory()
    query = EquityQuery(
        measure=f"completion_{days}",
        program="colorectal",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        stratify=(key,),
        quarters=True,
    )
    # (queries: the programme, the grouped table, the quarters)
    with django_assert_max_num_queries(3):
        result = equity_dashboard(user=manager, query=query, today=TODAY)
    expected = completion_counts(cohort(cases), DIMENSIONS[key], days=days, today=TODAY)
    assert _shown(result.groups) == {
        k: (n, d) for k, _, n, d in expected if k in _shown(result.groups)
    }
    assert sum(d for _, d in _shown(result.groups).values()) <= sum(d for *_, d in expected)
    assert result.quarters and result.methods[0].startswith("Navigation figures count")


def test_diagnostic_follow_up_by_group_is_the_navigation_figure(cases):
    query = EquityQuery(
        measure="diagnostic_follow_up",
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        stratify=("race",),
    )
    result = equity_dashboard(user=factories.ManagerFactory(), query=query, today=TODAY)
    expected = {
        row.key: (row.done, row.due)
        for row in diagnostic_follow_up_counts(cohort(cases), DIMENSIONS["race"], today=TODAY)
    }
    shown = _shown(result.groups)
    assert shown and all(expected[key] == counts for key, counts in shown.items())


def stored_by_age(bands: dict[tuple[str, int], tuple[int, int]]) -> None:
    """CMS130's 2026 Q2 population, stored: per (race, age), (screened, eligible)."""
    period = quarter_period(2026, 2)
    program = factories.program("colorectal")
    rows = []
    for (race, age), (screened, eligible) in bands.items():
        for number in range(eligible):
            rows.append(
                MeasurePopulation(
                    measure="CMS130", program=program,
                    patient=factories.PatientFactory(race_ethnicity=[race]),
                    period_start=period.start, period_end=period.end,
                    denominator_exclusion=False, numerator=number < screened,
                    age_at_end=age, computed_at=timezone.now(),
                )
            )  # fmt: skip
    MeasurePopulation.objects.bulk_create(rows)
    MeasurePeriod.objects.create(
        measure="CMS130", period_start=period.start, period_end=period.end,
        computed_at=timezone.now(), patients=len(rows),
    )  # fmt: skip


def test_age_adjustment_weights_each_band_by_the_standard_population(db):
    # Given two groups with different age mixes
    bands = {  # (race, age): (screened, eligible)
        ("white", 47): (12, 20), ("white", 55): (60, 100), ("white", 70): (80, 100),
        ("hispanic", 47): (30, 60), ("hispanic", 55): (40, 80), ("hispanic", 70): (12, 20),
    }  # fmt: skip
    stored_by_age(bands)
    # When the rates are age-adjusted
    result = equity_dashboard(
        user=factories.ManagerFactory(), query=EquityQuery(age_adjust=True), today=TODAY
    )
    # Then each group's adjusted rate is the standard-weighted mean of its band rates
    weights = STANDARD_WEIGHTS["colorectal"]
    for race in ("white", "hispanic"):
        per_band = [(*bands[(race, age)], w) for age, w in zip((47, 55, 70), weights, strict=True)]
        assert result.age_adjusted[race] == age_adjusted_rate(per_band)
    # And the crude rates are still those of the whole group
    crude = {str(g.key): g.rate for g in result.groups}
    assert crude["hispanic"] == pytest.approx(82 / 160)
    # And the adjusted Hispanic rate is higher than its crude one (younger, less screened mix)
    assert result.age_adjusted["hispanic"].rate > crude["hispanic"]


def test_no_adjusted_rate_for_a_group_with_a_small_age_band(db):
    # Given a group with 5 patients aged 45-49 (a band of 1 to 10)
    stored_by_age({("white", 47): (2, 5), ("white", 55): (20, 40), ("white", 70): (20, 40)})
    result = equity_dashboard(
        user=factories.ManagerFactory(), query=EquityQuery(age_adjust=True), today=TODAY
    )
    # Then the crude rate is shown, the adjusted one is not (unstable, and could help
    # work out the small band)
    assert {str(g.key) for g in result.groups if g.denominator} == {"white"}
    assert result.age_adjusted == {}


def test_age_adjustment_is_refused_across_two_dimensions_or_by_age(db):
    for stratify in (("race", "clinic"), ("age",)):
        with pytest.raises(EquityQueryError) as error:
            equity_dashboard(
                user=factories.ManagerFactory(),
                query=EquityQuery(age_adjust=True, stratify=stratify),
                today=TODAY,
            )
        assert "age_adjust" in error.value.errors
