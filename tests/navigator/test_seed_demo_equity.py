"""The demo tells the disparities dashboard's story on purpose (issue 13's acceptance):
a significant, meaningful gap for Hispanic or Latino patients in colorectal screening
in the early quarters that narrows after navigation starts, a suppressed cell, and one
clinic with incomplete race data; its diabetes control story (issue 16), a gap in
CMS122 for Spanish-speaking patients that narrows as coaching starts; and a second run
of the demo changes nothing.

The demo is seeded once for the module (the population at its full size, the rest of
the demo small), inside a transaction rolled back at the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from navigator.equity.dashboard import EquityResult, equity_dashboard
from navigator.equity.query import EquityQuery
from navigator.equity.stats import compare_to_reference
from navigator.models import CaseStatus, CoachingSession, NavigationCase, User
from patients.models import (
    ClinicalResource,
    FhirImport,
    MeasurePeriod,
    MeasurePopulation,
    Patient,
)

# Seeded on 24 November 2026: the last complete quarter is 2026 Q3.
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
QUARTERS = ["2024 Q4", "2025 Q1", "2025 Q2", "2025 Q3", "2025 Q4", "2026 Q1", "2026 Q2", "2026 Q3"]
SMALL_REST = ("--patients", "30", "--ehr-patients", "10")

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


@pytest.fixture(autouse=True)
def demo_runs_in_debug(settings):
    # As under `make run`: seed_demo refuses to run with DEBUG off (test_seed_demo_refusal.py).
    settings.DEBUG = True


@pytest.fixture(scope="module")
def manager(django_db_setup, django_db_blocker) -> Iterator[User]:
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(DEBUG=True),  # as under `make run`: it refuses with DEBUG off
        transaction.atomic(),
    ):
        call_command("seed_demo", *SMALL_REST, stdout=StringIO())
        yield User.objects.get(username="manager")
        transaction.set_rollback(True)


def dashboard(user: User, **query) -> EquityResult:
    return equity_dashboard(user=user, query=EquityQuery(measure="CMS130", **query))


def by_key(groups) -> dict:
    return {group.key: group for group in groups}


def test_cms130_is_stored_for_the_eight_quarters_the_dashboard_shows(manager):
    # When the manager asks for CMS130 by race with its quarters
    result = dashboard(manager, stratify=("race",), quarters=True)

    # Then the latest period is the last complete quarter, with the seven before it
    assert result.period.label == "2026 Q3"
    assert [row.period.label for row in result.quarters] == QUARTERS
    # and the care-gap measure was stored for the same periods
    assert MeasurePeriod.objects.filter(measure="caregap:colorectal").count() == len(QUARTERS)


def test_the_first_quarter_shows_a_significant_meaningful_gap_for_hispanic_patients(manager):
    # When the manager looks at CMS130 by race over the quarters
    result = dashboard(manager, stratify=("race",), quarters=True)

    # Then Hispanic or Latino patients, against White patients (the reference), were
    # screened about 15 points less in the first quarter
    assert result.reference == "white"
    first = by_key(result.quarters[0].groups)
    hispanic, white = first["hispanic"], first["white"]
    assert -0.18 <= hispanic.difference <= -0.12
    # significant after Holm's adjustment, and meaningful (AHRQ: a relative difference
    # of at least 10%)
    assert hispanic.p_adjusted < 0.05 and hispanic.significant and hispanic.meaningful
    # and the two groups are large enough that the test is not a fluke of small numbers:
    # the score test on the stored counts gives the same answer
    direct = compare_to_reference(
        (hispanic.numerator, hispanic.denominator), (white.numerator, white.denominator)
    )
    assert direct.p_value < 0.01
    assert hispanic.denominator >= 200 and white.denominator >= 180


def test_by_the_last_quarter_the_gap_is_small_and_no_longer_significant(manager):
    result = dashboard(manager, stratify=("race",), quarters=True)

    last = by_key(result.quarters[-1].groups)["hispanic"]
    assert abs(last.difference) <= 0.04
    assert not last.significant and not last.meaningful
    # and it narrowed quarter after quarter once navigation started, never widening
    # by more than a point
    gaps = [by_key(row.groups)["hispanic"].difference for row in result.quarters]
    assert all(later >= earlier - 0.01 for earlier, later in zip(gaps, gaps[1:], strict=False))


def test_the_story_says_the_gap_narrowed_and_is_no_longer_significant(manager):
    result = dashboard(manager, stratify=("race",), quarters=True)

    hispanic = [s for s in result.story if s.startswith("The gap between Hispanic or Latino")]
    assert len(hispanic) == 1
    assert "narrowed" in hispanic[0]
    assert "2024 Q4" in hispanic[0] and "2026 Q3" in hispanic[0]
    assert "no longer statistically significant" in hispanic[0]


def test_the_small_native_hawaiian_or_pacific_islander_group_is_suppressed(manager):
    result = dashboard(manager, stratify=("race",))

    nhpi = by_key(result.groups)["nhpi"]
    assert nhpi.suppressed
    assert nhpi.numerator is None and nhpi.denominator is None and nhpi.rate is None


def test_dorchesters_feed_short_of_race_data_shows_the_completeness_warning(manager):
    # By clinic: the warning names Dorchester, and only Dorchester
    by_clinic = dashboard(manager, stratify=("clinic",))
    race_warnings = [w for w in by_clinic.warnings if "race and ethnicity" in w]
    assert len(race_warnings) == 1
    assert race_warnings[0].startswith("Dorchester Neighborhood Clinic:")
    # and by race it shows for everyone counted (Dorchester's gap pulls them under 90%)
    by_race = dashboard(manager, stratify=("race",))
    assert any("race and ethnicity" in w for w in by_race.warnings)


def test_navigated_patients_were_screened_within_180_days_far_more_often(manager):
    # Given the cases the demo opened from the care-gap list for overdue patients
    cases = NavigationCase.objects.filter(
        patient__source_links__source__key__startswith="demo-population-",
        # (their diabetes control cases: test_the_demo_coaches_patients_with_diabetes_...)
        program__code="colorectal",
    )
    assert cases.count() >= 30
    # Then each opened before the test it led to, most within 180 days, and none is open
    tested = [
        (case.opened_at.date(), case.screenings.get().performed_on)
        for case in cases.filter(status=CaseStatus.CLOSED)
    ]
    assert all(opened < done for opened, done in tested)
    within = sum((done - opened).days <= 180 for opened, done in tested)
    assert 0.80 <= within / cases.count() <= 0.90
    assert not cases.exclude(status__in=[CaseStatus.CLOSED, CaseStatus.CLOSED_UNREACHABLE])

    # and in the last quarter's population, patients navigated during the period were
    # screened more often than the rest
    groups = by_key(dashboard(manager, stratify=("navigated",)).groups)
    assert groups["navigated"].rate > groups["not_navigated"].rate + 0.2


def cms122(user: User, dimension: str) -> EquityResult:
    return equity_dashboard(
        user=user, query=EquityQuery(measure="CMS122", stratify=(dimension,), quarters=True)
    )


def test_cms122s_gap_for_spanish_speaking_patients_is_wide_at_first_and_narrows(manager):
    # When the manager looks at diabetes control (CMS122: HbA1c/GMI above 9% or not
    # tested; lower is better) by preferred language over the quarters
    result = cms122(manager, "language")

    # Then at the first quarter patients who prefer Spanish are poorly controlled about
    # twice as often as those who prefer English (the reference), significantly
    assert result.reference == "en"
    first = by_key(result.quarters[0].groups)
    spanish, english = first["es"], first["en"]
    assert spanish.denominator >= 55 and english.denominator >= 60
    assert 0.45 <= spanish.rate <= 0.52 and 0.2 <= english.rate <= 0.3
    assert spanish.difference >= 0.18 and spanish.significant
    # and by the last complete quarter the gap is under 8 points, no longer significant,
    # having narrowed as coaching started (never widening by more than a point)
    last = by_key(result.quarters[-1].groups)["es"]
    assert last.difference <= 0.08 and not last.significant
    gaps = [by_key(row.groups)["es"].difference for row in result.quarters]
    assert all(later <= earlier + 0.01 for earlier, later in zip(gaps, gaps[1:], strict=False))
    assert any("narrowed" in sentence and "Spanish" in sentence for sentence in result.story)


def test_cms122_counts_the_story_s_figures_for_spanish_speaking_hispanic_patients(manager):
    # CMS122 as the engine stored it, Hispanic or Latino patients who prefer Spanish
    # against everyone else, at the first and the last quarter (patients.demo_diabetes
    # states 49% against 24%, then 31% against 24%)
    def shares(period_end: dt.date) -> tuple[float, float]:
        rows = MeasurePopulation.objects.filter(
            measure="CMS122", period_end=period_end, denominator_exclusion=False
        )
        cohort = rows.filter(
            patient__preferred_language="es", patient__race_ethnicities__category="hispanic"
        )
        others = rows.exclude(pk__in=cohort.values("pk"))
        return tuple(q.filter(numerator=True).count() / q.count() for q in (cohort, others))

    first_spanish, first_others = shares(dt.date(2024, 12, 31))
    last_spanish, last_others = shares(dt.date(2026, 9, 30))
    assert 0.45 <= first_spanish <= 0.52 and 0.2 <= first_others <= 0.28
    assert 0.27 <= last_spanish <= 0.34 and 0.2 <= last_others <= 0.28
    assert last_spanish - last_others < (first_spanish - first_others) - 0.15


def test_the_demo_coaches_patients_with_diabetes_from_cases_the_care_gaps_opened(manager):
    # Given the diabetes control cases the demo opened from the care-gap list
    cases = NavigationCase.objects.filter(program__code="diabetes")
    assert all(case.events.order_by("at", "pk")[0].summary.startswith("Case opened (care gap: ")
               for case in cases)  # fmt: skip
    coached = cases.filter(coaching_sessions__isnull=False).distinct()
    assert coached.count() >= 25
    # Then each coached case opened from the gap before its first session, over a year ago
    for case in coached:
        first = case.coaching_sessions.order_by("scheduled_at").first()
        assert case.opened_at < first.scheduled_at < NOW
        assert case.opened_at.date() < NOW.date() - dt.timedelta(days=300)
    # and patients coached in Spanish were coached in Spanish by a Spanish speaker
    spanish = CoachingSession.objects.filter(patient__preferred_language="es")
    assert spanish.exists() and set(spanish.values_list("language", flat=True)) == {"es"}
    assert {s.coach.username for s in spanish} == {"maria"}


def test_running_the_demo_again_changes_nothing(manager):
    def counts():
        return (Patient.objects.count(), NavigationCase.objects.count(),
                ClinicalResource.objects.count(), FhirImport.objects.count(),
                MeasurePopulation.objects.count())  # fmt: skip

    before = counts()

    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", *SMALL_REST, stdout=StringIO())

    assert counts() == before
