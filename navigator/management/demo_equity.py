"""The disparities dashboard's demo (issue 13; used by the seed_demo command): a
colorectal-age population imported from one FHIR feed per demo clinic, navigation
cases for some of its overdue Hispanic or Latino patients, and CMS130 and the
colorectal care gap stored for the eight rolling quarters the dashboard shows.

What the data say, and why, is `patients.demo_population`'s docstring: a significant,
meaningful gap that narrows after navigation starts, a suppressed cell, and one
clinic's feed short of race and ethnicity. Here it goes through the real paths: the
FHIR import service, the case-opening service (the care-gap list), contact attempts,
the screening and closing services; then each case is moved back to its days, as
seed_demo's `_backdate` does, so that it opened before the FIT it led to.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db.models import F, Max

from navigator import cases
from navigator.management.demo_results import category_drawn
from navigator.models import CaseEvent, CaseStatus, NavigationCase, NavigatorProfile, User
from navigator.services import assignment, case_opening, screenings
from outreach.models import ContactAttempt, Outcome
from outreach.services.attempts import attempt_log
from patients.caregaps.dates import add_months
from patients.caregaps.periods import (
    Period,
    calendar_year,
    last_complete_quarter_end,
    quarter_periods,
)
from patients.demo_population import Navigation, population_bundles
from patients.fhir.importer import fhir_import
from patients.models import (
    Clinic,
    FhirSource,
    Patient,
    PatientSourceLink,
    ResultMeaning,
    ScreeningProgram,
)
from patients.services.care_gaps import care_gaps_recompute
from patients.services.measure_populations import (
    care_gap_populations_refresh,
    measure_populations_refresh,
)

FEED_PREFIX = "demo-population-"
# Closed unscreened: this long after opening.
GIVEN_UP_AFTER = dt.timedelta(days=120)
QUARTERS_SHOWN = 8  # navigator.equity.dashboard.SERIES_QUARTERS


@dataclass(frozen=True)
class PopulationStory:
    patients: int
    navigated: int

    def __str__(self) -> str:
        return (
            f"{self.patients} patients from the clinics' feeds ({self.navigated} navigated) "
            "for the equity dashboard"
        )


def population_present() -> bool:
    return FhirSource.objects.filter(key__startswith=FEED_PREFIX).exists()


def population_story(
    *, clinics: list[Clinic], count: int, today: dt.date, seed: int
) -> PopulationStory:
    """Import the population (one feed per clinic), navigate whom its history says,
    and store every imported patient's care gaps as of today."""
    by_code = {clinic.code: clinic for clinic in clinics}
    bundles = population_bundles(
        count=count, today=today, seed=seed, clinics=[clinic.code for clinic in clinics]
    )
    sources = {
        code: FhirSource.objects.create(
            key=f"{FEED_PREFIX}{code}",
            name=f"{clinic.name} EHR (FHIR)",
            clinic=clinic,
            mrn_system=f"urn:equinav:demo-population:{code}:mrn",
        )
        for code, clinic in by_code.items()
    }
    for number, bundle in enumerate(bundles):
        fhir_import(
            source=sources[bundle.clinic],
            payload=bundle.payload,
            origin=f"demo population export {number + 1}",
            actor=None,
        )
    patient_of = {
        (source_id, resource_id): patient_id
        for source_id, resource_id, patient_id in PatientSourceLink.objects.filter(
            source__in=sources.values()
        ).values_list("source_id", "resource_id", "patient_id")
    }
    navigated = [
        (patient_of[(sources[bundle.clinic].pk, patient.patient_id)], patient.navigation)
        for bundle in bundles
        for patient in bundle.patients
        if patient.navigation is not None
    ]
    patients = Patient.objects.in_bulk([patient_id for patient_id, _ in navigated])
    colorectal = ScreeningProgram.objects.get(code="colorectal")
    manager = User.objects.get(username="manager")
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data
    for patient_id, plan in navigated:
        _navigate(
            patients[patient_id], plan, program=colorectal, manager=manager, rng=rng, today=today
        )
    patient_ids = sorted(patient_of.values())
    for start in range(0, len(patient_ids), 500):
        care_gaps_recompute(patient_ids=patient_ids[start : start + 500], as_of=today)
    return PopulationStory(len(patient_ids), len(navigated))


def story_periods(today: dt.date) -> list[Period]:
    """The eight rolling quarters ending at the last complete one, and the last
    calendar year (when it is one of them, it is the same twelve months)."""
    last = last_complete_quarter_end(today)
    quarters = quarter_periods(add_months(last, -3 * (QUARTERS_SHOWN - 1)), last)
    return [*quarters, calendar_year(today.year - 1)]


def populations_compute(*, today: dt.date) -> None:
    """CMS130 over the EHR-linked patients and the colorectal care gap over everyone,
    stored for the story's periods through the refresh services (as the task does)."""
    periods = story_periods(today)
    measure_populations_refresh(measure_ids=["CMS130"], periods=periods)
    care_gap_populations_refresh(program_codes=["colorectal"], periods=periods)


def _navigate(
    patient: Patient,
    plan: Navigation,
    *,
    program: ScreeningProgram,
    manager: User,
    rng: random.Random,
    today: dt.date,
) -> None:
    """A case opened from the care-gap list and worked as its plan says: reached and a
    FIT recorded, or three calls unanswered and closed unreachable; then moved back to
    its days (opened on `plan.opened_on`, the FIT on `plan.screened_on`)."""
    case, _ = case_opening.case_open(
        patient=patient, program=program, actor=manager, source="care-gap list"
    )
    profile = case.navigator
    if profile is None:
        # Everyone's caseload is full: the Spanish-speaking navigator takes it.
        profile = NavigatorProfile.objects.get(user__username="maria")
        case = assignment.case_assign(case=case, navigator=profile, actor=manager, reason="demo")
    navigator = profile.user
    # Opened on its day (a test may then be recorded on any day after it).
    open_shift = dt.timedelta(days=(today - plan.opened_on).days)
    NavigationCase.objects.filter(pk=case.pk).update(opened_at=F("opened_at") - open_shift)
    CaseEvent.objects.filter(case=case).update(at=F("at") - open_shift)
    case.refresh_from_db()
    done_on = plan.screened_on or min(plan.opened_on + GIVEN_UP_AFTER, today)
    outreach_from = _last_event(case)
    if plan.screened_on is not None:
        attempt_log(
            case=case,
            channel="phone",
            outcome=Outcome.REACHED,
            interpreter_used=patient.interpreter_needed,
            note="Synthetic demo attempt: agreed to a FIT kit.",
            actor=navigator,
        )
        done_from = _last_event(case)
        fit = program.modalities.get(code="fit")
        screenings.case_record_screening(
            case=case,
            modality=fit,
            performed_on=plan.screened_on,
            resulted_on=plan.screened_on,
            result=category_drawn(rng, fit, ResultMeaning.NORMAL),
            actor=navigator,
        )
        case.refresh_from_db()
        if case.status == CaseStatus.COMPLETED:
            cases.case_transition(case=case, to_status=CaseStatus.CLOSED, actor=navigator)
    else:
        for _ in range(3):
            attempt_log(
                case=case,
                channel="phone",
                outcome=rng.choice([Outcome.NO_ANSWER, Outcome.LEFT_VOICEMAIL]),
                note="Synthetic demo attempt.",
                actor=navigator,
            )
        done_from = _last_event(case)
        cases.case_transition(
            case=case, to_status=CaseStatus.CLOSED_UNREACHABLE, actor=manager, note="demo"
        )
    # The calls (logged now) back to within the first half of the wait, and the
    # case's completion and closing back to the test's day (or the day it was given up).
    called_on = plan.opened_on + dt.timedelta(
        days=rng.randint(1, max(1, (done_on - plan.opened_on).days // 2))
    )
    call_shift = dt.timedelta(days=(today - called_on).days)
    done_shift = dt.timedelta(days=(today - done_on).days)
    NavigationCase.objects.filter(pk=case.pk).update(
        completed_at=F("completed_at") - done_shift,
        closed_at=F("closed_at") - done_shift,
        unreachable_proposed_at=F("unreachable_proposed_at") - call_shift,
        next_follow_up=None,
    )
    events = CaseEvent.objects.filter(case=case)
    events.filter(pk__gt=outreach_from, pk__lte=done_from).update(at=F("at") - call_shift)
    events.filter(pk__gt=done_from).update(at=F("at") - done_shift)
    ContactAttempt.objects.filter(case=case).update(attempted_at=F("attempted_at") - call_shift)


def _last_event(case: NavigationCase) -> int:
    """The case's latest event so far, to tell apart those that come after it (by id:
    under a stopped clock, as in tests, they all have the same time)."""
    return CaseEvent.objects.filter(case=case).aggregate(last=Max("pk"))["last"] or 0
