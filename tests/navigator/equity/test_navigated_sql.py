"""Navigated versus not among the overdue (`navigator/equity/navigated.py`): the rules
at their edges, one query, the statistics, and every count equal to hand-written SQL
on a seeded population."""

# The SQL below is built from table names (Django's _meta) and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.utils import timezone

from navigator.equity.cohort import local_midnight
from navigator.equity.dimensions import DIMENSIONS
from navigator.equity.navigated import (
    NAVIGATED,
    NOT_NAVIGATED,
    cohort_quarter,
    navigated_comparison,
    navigated_counts,
)
from navigator.equity.scope import EquityScope
from navigator.equity.two_way import two_way_statistics
from navigator.models import NavigationCase
from patients.caregaps.periods import quarter_period
from patients.models import MeasurePeriod, MeasurePopulation, ScreeningEvent, ScreeningModality
from tests import factories
from tests.support.equity_cases import CASE, GROUP_SQL, PATIENT, param

pytestmark = pytest.mark.django_db

MEASURE = "caregap:colorectal"
QUARTER = quarter_period(2025, 4)  # 2025-01-01 .. 2025-12-31
Q = QUARTER.end
EVERYONE = EquityScope("all")
POPULATION = MeasurePopulation._meta.db_table
SCREENING = ScreeningEvent._meta.db_table
MODALITY = ScreeningModality._meta.db_table


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return local_midnight(day) + dt.timedelta(hours=hour)


def overdue(patient, *, numerator=False, excluded=False, measure=MEASURE):
    return MeasurePopulation.objects.create(
        measure=measure, program=factories.program("colorectal"), patient=patient,
        period_start=QUARTER.start, period_end=QUARTER.end, denominator_exclusion=excluded,
        numerator=numerator, age_at_end=60, computed_at=timezone.now(),
    )  # fmt: skip


def computed(measure=MEASURE):
    MeasurePeriod.objects.create(
        measure=measure, period_start=QUARTER.start, period_end=QUARTER.end,
        computed_at=timezone.now(), patients=0,
    )  # fmt: skip


def case(patient, opened: dt.date, closed: dt.date | None = None, program="colorectal"):
    return factories.CaseFactory(
        patient=patient, program=factories.program(program), opened_at=at(opened),
        closed_at=None if closed is None else at(closed),
    )  # fmt: skip


def screened(patient, on: dt.date, test="fit", program="colorectal"):
    ScreeningEvent.objects.create(
        patient=patient, modality=factories.modality(test, program), performed_on=on,
        result="normal",
    )  # fmt: skip


def cells(counts):
    return {key: value for key, value in counts.cells.items() if value[1]}


def test_the_rules_at_their_edges(django_assert_num_queries):
    computed()
    days = dt.timedelta
    people = {name: factories.PatientFactory(race_ethnicity=["white"]) for name in (
        "open_at_q", "opened_day_30", "opened_day_31", "closed_before_q", "closed_on_q",
        "tested_on_q", "tested_day_180", "tested_day_181", "mammogram", "colonoscopy",
        "up_to_date", "excluded",
    )}  # fmt: skip
    for person in people.values():
        overdue(person)
    overdue(people["up_to_date"], numerator=True, measure="CMS130")
    MeasurePopulation.objects.filter(patient=people["up_to_date"], measure=MEASURE).update(
        numerator=True
    )
    MeasurePopulation.objects.filter(patient=people["excluded"]).update(denominator_exclusion=True)
    # Exposure: a case open on q, or opened within 30 days after it
    case(people["open_at_q"], Q - days(60))
    case(people["opened_day_30"], Q + days(30))
    case(people["opened_day_31"], Q + days(31))
    case(people["closed_before_q"], Q - days(90), closed=Q - days(1))
    case(people["closed_on_q"], Q - days(90), closed=Q)
    case(people["mammogram"], Q + days(5), program="breast")  # another programme's case
    # Outcome: a colorectal screening test in (q, q + 180 days]
    screened(people["tested_on_q"], Q)
    screened(people["tested_day_180"], Q + days(180))
    screened(people["tested_day_181"], Q + days(181))
    screened(people["open_at_q"], Q + days(10))
    screened(people["mammogram"], Q + days(20), test="mammography", program="breast")
    screened(people["colonoscopy"], Q + days(20), test="colonoscopy")

    # When the figure is counted by race (one query: the grouped rows)
    with django_assert_num_queries(1):
        counts = navigated_counts(
            measure=MEASURE, quarter=QUARTER, scope=EVERYONE, dimension=DIMENSIONS["race"]
        )

    # Then ten patients are overdue (not the up-to-date one, not the excluded one):
    # navigated = open on q (incl. closed on q) or opened by day 30 = 3; screened among
    # them: open_at_q; among the other 7: day 180 and the colonoscopy
    assert cells(counts) == {("white", NAVIGATED): (1, 3), ("white", NOT_NAVIGATED): (2, 7)}


def test_a_period_not_computed_for_everyone_counts_no_one():
    overdue(factories.PatientFactory())
    counts = navigated_counts(
        measure=MEASURE, quarter=QUARTER, scope=EVERYONE, dimension=DIMENSIONS["race"]
    )
    assert counts.denominator() == 0


def test_the_cohort_quarter_is_the_latest_whose_180_days_have_passed():
    assert cohort_quarter(period_end=dt.date(2026, 6, 30), today=dt.date(2026, 8, 15)) == (
        quarter_period(2025, 4)
    )
    # 2026 Q1 ends 31 March; 180 days later is 27 September
    assert cohort_quarter(period_end=dt.date(2026, 6, 30), today=dt.date(2026, 9, 27)).label == (
        "2026 Q1"
    )
    assert cohort_quarter(period_end=dt.date(2026, 6, 30), today=dt.date(2026, 9, 26)).label == (
        "2025 Q4"
    )
    # The period's end bounds it too
    assert cohort_quarter(period_end=dt.date(2025, 8, 1), today=dt.date(2026, 9, 27)).label == (
        "2025 Q2"
    )


def test_clinic_staff_count_only_their_clinics_overdue_patients():
    computed()
    ours, theirs = factories.ClinicFactory(), factories.ClinicFactory()
    for clinic, size in ((ours, 3), (theirs, 5)):
        for _ in range(size):
            overdue(factories.PatientFactory(clinic=clinic))
    scope = EquityScope("clinic", clinic_id=ours.pk)
    counts = navigated_counts(
        measure=MEASURE, quarter=QUARTER, scope=scope, dimension=DIMENSIONS["clinic"]
    )
    assert cells(counts) == {(ours.code, NOT_NAVIGATED): (0, 3)}


@pytest.fixture
def population(db):
    """About 150 patients in the stored population at q, a fixed seed: overdue or not,
    cases opened and closed around q, tests before, inside and after the window."""
    rng = random.Random(1313)
    computed()
    computed("CMS130")
    clinics = [factories.ClinicFactory() for _ in range(3)]
    tests = [("fit", "colorectal"), ("colonoscopy", "colorectal"), ("mammography", "breast")]
    for _ in range(150):
        patient = factories.PatientFactory(
            clinic=rng.choice(clinics),
            sex=rng.choice(["female", "male", "unknown"]),
            race_ethnicity=rng.choice([[], ["white"], ["hispanic"], ["black"], ["white", "asian"]]),
        )
        state = rng.choice(["overdue", "overdue", "overdue", "numerator", "excluded"])
        overdue(
            patient,
            numerator=state == "numerator",
            excluded=state == "excluded",
            measure=rng.choice([MEASURE, MEASURE, MEASURE, "CMS130"]),
        )
        # At most one case per patient and programme (the model's constraint)
        for program in rng.sample(["colorectal", "colorectal", "breast"], rng.choice([0, 1, 2])):
            opened = Q + dt.timedelta(days=rng.randint(-200, 60))
            closed = None
            if rng.random() < 0.5:
                closed = opened + dt.timedelta(days=rng.randint(0, 150))
            if not NavigationCase.objects.filter(patient=patient, program__code=program).exists():
                case(patient, opened, closed, program=program)
        for _ in range(rng.choice([0, 1, 1, 2])):
            test, program = rng.choice(tests)
            screened(patient, Q + dt.timedelta(days=rng.randint(-30, 220)), test, program)


def sql_counts(group: str) -> dict[tuple[str, str], tuple[int, int]]:
    """The figure written from its stated rules, as plain SQL."""
    navigated = (
        f"EXISTS (SELECT 1 FROM {CASE} k WHERE k.patient_id = m.patient_id "
        "AND k.program_id = m.program_id AND k.opened_at < %s "
        "AND (k.closed_at IS NULL OR k.closed_at >= %s))"
    )
    screened_sql = (
        f"EXISTS (SELECT 1 FROM {SCREENING} s JOIN {MODALITY} mo ON mo.id = s.modality_id "
        "WHERE s.patient_id = m.patient_id AND mo.program_id = m.program_id "
        "AND mo.role = 'screening' AND s.performed_on > %s AND s.performed_on <= %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g, n, SUM(screened), COUNT(*) FROM (SELECT {group} AS g, "
            f"CASE WHEN {navigated} THEN 'navigated' ELSE 'not_navigated' END AS n, "
            f"CASE WHEN {screened_sql} THEN 1 ELSE 0 END AS screened "
            f"FROM {POPULATION} m JOIN {PATIENT} p ON p.id = m.patient_id "
            "WHERE m.measure = %s AND m.period_start = %s AND m.period_end = %s "
            "AND m.denominator_exclusion = %s AND m.numerator = %s) t GROUP BY g, n",
            [
                param(local_midnight(Q + dt.timedelta(days=31))),
                param(local_midnight(Q)),
                Q,
                Q + dt.timedelta(days=180),
                MEASURE,
                QUARTER.start,
                QUARTER.end,
                False,
                False,
            ],
        )
        return {(str(g), n): (int(s), int(c)) for g, n, s, c in cursor.fetchall()}


@pytest.mark.parametrize("dimension", ["race", "sex", "clinic", "insurance"])
def test_every_count_equals_hand_written_sql(population, dimension):
    counts = navigated_counts(
        measure=MEASURE, quarter=QUARTER, scope=EVERYONE, dimension=DIMENSIONS[dimension]
    )
    expected = sql_counts(GROUP_SQL[dimension])
    assert cells(counts) == expected
    # The seeded population reaches both arms, and some of each are screened
    assert any(n for (_, arm), (n, _) in expected.items() if arm == NAVIGATED)
    assert any(n for (_, arm), (n, _) in expected.items() if arm == NOT_NAVIGATED)


def test_the_comparison_is_the_two_way_statistics_of_those_counts(population, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    comparison = navigated_comparison(
        measure=MEASURE, quarter=QUARTER, scope=EVERYONE, dimension=DIMENSIONS["race"]
    )
    counts = navigated_counts(
        measure=MEASURE, quarter=QUARTER, scope=EVERYONE, dimension=DIMENSIONS["race"]
    )
    expected = two_way_statistics(
        counts.two_way(), counts.groups[0], counts.groups[1], NOT_NAVIGATED
    )
    assert comparison.table == expected
    assert comparison.overdue == sum(d for _, d in sql_counts(GROUP_SQL["race"]).values())
    # Each group's navigated cell carries the difference from its not-navigated one
    white = comparison.table.cells[("white", NAVIGATED)]
    reference = comparison.table.cells[("white", NOT_NAVIGATED)]
    assert white.difference == pytest.approx(white.rate - reference.rate)
    assert NavigationCase.objects.exists()
