"""Population rates by group, read from the stored measure populations."""

# The SQL below is built from table names and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.utils import timezone

from navigator.equity.dimensions import DIMENSIONS
from navigator.equity.populations import (
    NAVIGATED,
    RACE_ANY,
    population_counts,
    population_dimension,
    rolling_quarters,
    stored_periods,
)
from navigator.equity.scope import ALL_DIMENSIONS, EquityScope, equity_scope
from patients.caregaps.periods import Period, calendar_year, quarter_period, quarter_periods
from patients.models import MeasurePeriod, MeasurePopulation, Patient, PatientRaceEthnicity
from tests import factories

pytestmark = pytest.mark.django_db

MANAGER = EquityScope("all", dimensions=ALL_DIMENSIONS)
Q1, Q2 = quarter_period(2026, 1), quarter_period(2026, 2)
RACES = [["white"], ["white"], ["hispanic"], ["hispanic"], ["black"], ["hispanic", "white"], []]


def _store(patient, period, *, numerator, excluded=False, age=60, measure="CMS130"):
    return MeasurePopulation.objects.create(
        measure=measure,
        program=factories.program("colorectal"),
        patient=patient,
        period_start=period.start,
        period_end=period.end,
        denominator_exclusion=excluded,
        numerator=numerator and not excluded,
        age_at_end=age,
        computed_at=timezone.now(),
    )


@pytest.fixture
def stored():
    """120 patients in two clinics, each in CMS130's population for 2026 Q1 and Q2."""
    rng = random.Random(7)
    clinics = [factories.ClinicFactory(), factories.ClinicFactory()]
    for _ in range(120):
        patient = factories.PatientFactory(
            clinic=rng.choice(clinics), race_ethnicity=rng.choice(RACES)
        )
        for period in (Q1, Q2):
            _store(
                patient,
                period,
                numerator=rng.random() < 0.5,
                excluded=rng.random() < 0.1,
                age=rng.choice([46, 49, 50, 64, 65, 75]),
            )
    # Another measure and another period must never leak in.
    _store(Patient.objects.first(), Q1, numerator=True, measure="CMS125")
    _store(Patient.objects.first(), calendar_year(2024), numerator=True)
    return clinics


def _sql(group_sql: str, period) -> dict[str, tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {group_sql}, SUM(CASE WHEN m.numerator AND NOT m.denominator_exclusion
                       THEN 1 ELSE 0 END),
                   SUM(CASE WHEN m.denominator_exclusion THEN 0 ELSE 1 END)
                FROM {MeasurePopulation._meta.db_table} m
                JOIN {Patient._meta.db_table} p ON p.id = m.patient_id
                WHERE m.measure = 'CMS130' AND m.period_start = %s AND m.period_end = %s
                GROUP BY 1""",
            [period.start, period.end],
        )
        return {str(g): (int(n), int(d)) for g, n, d in cursor.fetchall()}


def _shown(groups) -> dict[str, tuple[int, int]]:
    return {key: (n, d) for key, _, n, d in groups if d}


def test_rates_by_race_are_screened_over_eligible_less_exclusions(
    stored, django_assert_num_queries
):
    # When CMS130 for 2026 Q2 is counted by race (1 query: the grouped count)
    with django_assert_num_queries(1):
        table = population_counts(
            measure="CMS130", periods=[Q2], scope=MANAGER, dimensions=[DIMENSIONS["race"]]
        )
    # Then each group is what SQL counts from the stored rows
    assert _shown(table.one_way()) == _sql("p.race_group", Q2)


def test_a_quarterly_series_counts_every_quarter_in_the_same_query(
    stored, django_assert_num_queries
):
    with django_assert_num_queries(1):
        table = population_counts(
            measure="CMS130", periods=[Q1, Q2], scope=MANAGER, dimensions=[DIMENSIONS["race"]]
        )
    assert table.series == (Q1.end, Q2.end)
    for period in (Q1, Q2):
        assert _shown(table.one_way(at=period.end)) == _sql("p.race_group", period)


def test_age_bands_come_from_the_age_stored_for_each_period(stored):
    table = population_counts(
        measure="CMS130",
        periods=[Q2],
        scope=MANAGER,
        dimensions=[population_dimension("age", program_code="colorectal")],
    )
    expected = _sql(
        "CASE WHEN m.age_at_end < 45 THEN 'under_45' WHEN m.age_at_end <= 49 THEN '45_49' "
        "WHEN m.age_at_end <= 64 THEN '50_64' WHEN m.age_at_end <= 75 THEN '65_75' "
        "ELSE 'over_75' END",
        Q2,
    )
    assert _shown(table.one_way()) == expected


def test_race_alone_or_in_combination_counts_a_patient_in_each_category_they_chose(stored):
    table = population_counts(measure="CMS130", periods=[Q2], scope=MANAGER, dimensions=[RACE_ANY])
    groups = _shown(table.one_way())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COALESCE(r.category, 'not_recorded'),
                   SUM(CASE WHEN m.numerator AND NOT m.denominator_exclusion THEN 1 ELSE 0 END),
                   SUM(CASE WHEN m.denominator_exclusion THEN 0 ELSE 1 END)
                FROM {MeasurePopulation._meta.db_table} m
                LEFT JOIN {PatientRaceEthnicity._meta.db_table} r ON r.patient_id = m.patient_id
                WHERE m.measure = 'CMS130' AND m.period_start = %s AND m.period_end = %s
                GROUP BY 1""",
            [Q2.start, Q2.end],
        )
        expected = {str(g): (int(n), int(d)) for g, n, d in cursor.fetchall()}
    assert groups == expected
    # And the overlapping groups add up to more than the patients
    assert sum(d for _, d in groups.values()) > sum(d for _, d in _sql("1", Q2).values())


def test_navigated_means_a_case_of_the_same_programme_open_during_the_period(stored):
    # Given three patients: a colorectal case open in Q2's window, one closed before
    # it started, and a breast case (another programme)
    window = Q2
    patients = list(Patient.objects.order_by("pk")[:3])
    inside = factories.CaseFactory(patient=patients[0])
    inside.opened_at = timezone.make_aware(dt.datetime.combine(window.end, dt.time(9)))
    inside.save(update_fields=["opened_at"])
    before = factories.CaseFactory(patient=patients[1])
    before.opened_at = timezone.make_aware(dt.datetime(2024, 1, 5, 9))
    before.closed_at = timezone.make_aware(
        dt.datetime.combine(window.start - dt.timedelta(days=1), dt.time(9))
    )
    before.save(update_fields=["opened_at", "closed_at"])
    factories.CaseFactory(patient=patients[2], program=factories.program("breast"))
    # When Q2 is counted by navigation
    table = population_counts(measure="CMS130", periods=[Q2], scope=MANAGER, dimensions=[NAVIGATED])
    # Then only the first patient is navigated
    navigated = {key: d for key, _, _, d in table.one_way()}
    stored_q2 = MeasurePopulation.objects.get(
        measure="CMS130", patient=patients[0], period_end=Q2.end
    )
    assert navigated["navigated"] == (0 if stored_q2.denominator_exclusion else 1)
    assert navigated["navigated"] + navigated["not_navigated"] == sum(
        d for _, d in _sql("1", Q2).values()
    )


def test_clinic_staff_count_only_their_clinics_patients(stored):
    clinic = stored[0]
    scope = equity_scope(factories.ClinicStaffFactory(clinic=clinic))
    table = population_counts(
        measure="CMS130", periods=[Q2], scope=scope, dimensions=[DIMENSIONS["clinic"]]
    )
    assert {key for key, *_ in table.one_way() if _[-1]} == {clinic.code}


def test_stored_periods_are_listed_newest_first_with_their_labels():
    now = timezone.now()
    for period in (
        calendar_year(2025),
        *quarter_periods(dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
    ):
        MeasurePeriod.objects.create(
            measure="CMS130",
            period_start=period.start,
            period_end=period.end,
            computed_at=now,
            patients=1,
        )
    assert [p.label for p in stored_periods("CMS130")] == ["2026 Q2", "2026 Q1", "2025"]
    assert stored_periods("CMS125") == []


def test_the_rolling_quarters_of_a_series_include_the_calendar_year_as_its_q4(stored):
    periods = [
        calendar_year(2025),
        quarter_period(2026, 1),
        quarter_period(2026, 2),
        Period(dt.date(2025, 3, 1), dt.date(2025, 6, 30), "a custom period"),
    ]
    quarters = rolling_quarters(periods, through=dt.date(2026, 3, 31), count=8)
    assert [p.label for p in quarters] == ["2025 Q4", "2026 Q1"]
    assert rolling_quarters(periods, through=dt.date(2026, 6, 30), count=1) == [Q2]
