"""Reads of cases: the case list, one case with everything its page shows, and
what an abnormal result calls for."""

from __future__ import annotations

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEvent,
    NavigationCase,
    NavigatorProfile,
    User,
)
from navigator.selectors.visibility import cases_visible_to
from navigator.worklist.filters import Search
from outreach.models import FollowUpReminder, PatientMessage
from patients.models import (
    Clinic,
    Patient,
    ScreeningEvent,
    ScreeningModality,
    ScreeningProgram,
    ScreeningResult,
)


def case_list(
    *,
    user: User,
    status: str = "",
    program: ScreeningProgram | None = None,
    navigator: NavigatorProfile | None = None,
    unreachable_proposed: bool = False,
    language: str = "",
    clinic: Clinic | None = None,
    search: Search | None = None,
) -> QuerySet[NavigationCase]:
    """Cases with everything a list row shows, in a fixed number of queries; the
    manager's case list narrows them by status, program, navigator, the patient's
    language and clinic, a search (name, MRN however typed, phone, birth date: the
    worklist's `Search`), or to the open cases proposed for closing as unreachable."""
    today = timezone.localdate()
    cases = (
        cases_visible_to(user)
        .select_related("patient", "program", "navigator__user")
        .annotate(
            open_barrier_count=Count(
                "barriers",
                filter=~Q(barriers__status=BarrierStatus.RESOLVED),
                distinct=True,
            ),
            last_attempt_at=Max("attempts__attempted_at"),
            # Case/When, not a bare Q: a case with no follow-up date is "not overdue",
            # never NULL (which would also sort differently on PostgreSQL and SQLite).
            follow_up_is_overdue=Case(
                When(next_follow_up__lt=today, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            has_pending_reminder=Exists(
                FollowUpReminder.objects.filter(case=OuterRef("pk"), dismissed_at=None)
            ),
        )
    )
    if status:
        cases = cases.filter(status=status)
    if program:
        cases = cases.filter(program=program)
    if navigator:
        cases = cases.filter(navigator=navigator)
    if unreachable_proposed:
        cases = cases.filter(status__in=OPEN_STATUSES, unreachable_proposed_at__isnull=False)
    if language:
        cases = cases.filter(patient__preferred_language=language)
    if clinic is not None:
        cases = cases.filter(patient__clinic=clinic)
    if search is not None:
        cases = cases.filter(search.condition())
    return cases


def case_detail(*, user: User, case_id: int) -> NavigationCase:
    """One case with its timeline; raises NavigationCase.DoesNotExist if not visible."""
    return (
        cases_visible_to(user)
        .select_related("patient__clinic", "program", "navigator__user")
        .prefetch_related(
            "patient__phones",
            "patient__race_ethnicities",
            "program__modalities",
            Prefetch(
                "barriers",
                queryset=CaseBarrier.objects.select_related("barrier_type__category"),
            ),
            Prefetch("appointments", queryset=Appointment.objects.select_related("modality")),
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor")),
            "attempts",
            "screenings__modality",
            "kits__modality",
            "referrals__clinic",
            # Newest first: what is about to go out, and what went.
            Prefetch("messages", queryset=PatientMessage.objects.order_by("-due_at", "-pk")),
        )
        .get(pk=case_id)
    )


def cases_of_patient(*, user: User, patient: Patient) -> QuerySet[NavigationCase]:
    """A patient's cases this user may see, newest first, with program and navigator."""
    return (
        cases_visible_to(user)
        .filter(patient=patient)
        .select_related("program", "navigator__user")
        .order_by("-opened_at")
    )


def booked_appointment(case: NavigationCase) -> Appointment | None:
    return next((a for a in case.appointments.all() if a.status == AppointmentStatus.BOOKED), None)


def diagnostic_follow_up_needed(case: NavigationCase) -> ScreeningModality | None:
    """The diagnostic test this case's latest screening calls for, if it was abnormal."""
    latest = (
        ScreeningEvent.objects.filter(case=case)
        .select_related("modality__diagnostic_follow_up")
        .order_by("-performed_on", "-pk")
        .first()
    )
    if latest is None or latest.result != ScreeningResult.ABNORMAL:
        return None
    return latest.modality.diagnostic_follow_up


def barrier_types_active() -> QuerySet[BarrierType]:
    """The barrier types a navigator may still add (retired ones stay on old cases)."""
    return BarrierType.objects.filter(active=True)
