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

from django.db.models import F
from django.utils import timezone

from navigator import cases
from navigator.management.demo_diabetes import diabetes_story
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
    diabetes: str = ""

    def __str__(self) -> str:
        return (
            f"{self.patients} patients from the clinics' feeds ({self.navigated} navigated) "
            f"for the equity dashboard; {self.diabetes}"
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
    # Diabetes control (issue 16): cases, coaching and classes (demo_diabetes).
    diabetes = diabetes_story(
        plans={
            patient_of[(sources[bundle.clinic].pk, patient.patient_id)]: patient.diabetes
            for bundle in bundles
            for patient in bundle.patients
            if patient.diabetes is not None
        },
        today=today,
        seed=seed,
    )
    return PopulationStory(len(patient_ids), len(navigated), diabetes)


def story_periods(today: dt.date) -> list[Period]:
    """The eight rolling quarters ending at the last complete one, and the last
    calendar year (when it is one of them, it is the same twelve months)."""
    last = last_complete_quarter_end(today)
    quarters = quarter_periods(add_months(last, -3 * (QUARTERS_SHOWN - 1)), last)
    return [*quarters, calendar_year(today.year - 1)]


def populations_compute(*, today: dt.date) -> None:
    """CMS130 and CMS122 over the EHR-linked patients and the colorectal care gap over
    everyone, stored for the story's periods through the refresh services (as the task
    does)."""
    periods = story_periods(today)
    measure_populations_refresh(measure_ids=["CMS130", "CMS122"], periods=periods)
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
    FIT recorded, or three calls unanswered and closed unreachable. Each step is done
    through the services today and then moved back to its day: opened on
    `plan.opened_on`, the calls in the first half of the wait, the FIT (and the
    loop's closing) on `plan.screened_on`, or given up `GIVEN_UP_AFTER` later."""
    case, _ = case_opening.case_open(
        patient=patient, program=program, actor=manager, source="care-gap list"
    )
    profile = case.navigator
    if profile is None:
        # Everyone's caseload is full: the Spanish-speaking navigator takes it.
        profile = NavigatorProfile.objects.get(user__username="maria")
        case = assignment.case_assign(case=case, navigator=profile, actor=manager, reason="demo")
    navigator = profile.user
    mark = _moved_back(case, since=0, to=plan.opened_on, today=today)
    done_on = plan.screened_on or min(plan.opened_on + GIVEN_UP_AFTER, today)
    called_on = plan.opened_on + dt.timedelta(
        days=rng.randint(1, max(1, (done_on - plan.opened_on).days // 3))
    )
    if plan.screened_on is not None:
        attempt_log(
            case=case,
            channel="phone",
            outcome=Outcome.REACHED,
            interpreter_used=patient.interpreter_needed,
            note="Synthetic demo attempt: agreed to a FIT kit.",
            actor=navigator,
        )
        mark = _moved_back(case, since=mark, to=called_on, today=today)
        fit = program.modalities.get(code="fit")
        # Recorded on its own day: the case is already opened before it.
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
        for number in range(3):
            attempt_log(
                case=case,
                channel="phone",
                outcome=rng.choice([Outcome.NO_ANSWER, Outcome.LEFT_VOICEMAIL]),
                note="Synthetic demo attempt.",
                actor=navigator,
            )
            day = min(called_on + dt.timedelta(days=9 * number), done_on)
            mark = _moved_back(case, since=mark, to=day, today=today)
        cases.case_transition(
            case=case,
            to_status=CaseStatus.CLOSED_UNREACHABLE,
            actor=manager,
            note="Three calls unanswered; no other number on file.",
        )
    _moved_back(case, since=mark, to=done_on, today=today)


def _moved_back(case: NavigationCase, *, since: int, to: dt.date, today: dt.date) -> int:
    """Move what was just done on the case (today) back to the day `to`, as seed_demo's
    `_backdate` does: its events after event `since` (told apart by id: under a
    stopped clock, as in tests, they all have the same time), the contact attempts and
    the case's own times set within the hour. Returns the case's latest event."""
    shift = dt.timedelta(days=(today - to).days)
    recent = timezone.now() - dt.timedelta(hours=1)
    events = CaseEvent.objects.filter(case=case, pk__gt=since)
    moved = list(events.values_list("pk", flat=True))
    events.update(at=F("at") - shift)
    ContactAttempt.objects.filter(case=case, attempted_at__gte=recent).update(
        attempted_at=F("attempted_at") - shift
    )
    for name in ("opened_at", "completed_at", "closed_at", "unreachable_proposed_at"):
        NavigationCase.objects.filter(pk=case.pk, **{f"{name}__gte": recent}).update(
            **{name: F(name) - shift}
        )
    NavigationCase.objects.filter(pk=case.pk).update(next_follow_up=None)
    return max(moved, default=since)
