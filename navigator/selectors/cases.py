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
    FollowUpState,
    NavigationCase,
    NavigatorProfile,
    ResultFollowUp,
    User,
)
from navigator.selectors.visibility import cases_visible_to
from navigator.worklist.filters import Search
from outreach.models import FollowUpReminder, InterpreterRequest, PatientMessage
from patients.models import (
    Clinic,
    Patient,
    ScreeningEvent,
    ScreeningModality,
    ScreeningProgram,
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
            Prefetch(
                "screenings", queryset=ScreeningEvent.objects.select_related("modality", "category")
            ),
            Prefetch(
                "follow_ups",
                queryset=ResultFollowUp.objects.select_related(
                    "screening__modality", "close_proposed_by", "closed_by"
                ).order_by("-created_at", "-pk"),
            ),
            Prefetch(
                "interpreter_requests",
                queryset=InterpreterRequest.objects.select_related("appointment"),
            ),
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


def open_follow_up(case: NavigationCase | int) -> ResultFollowUp | None:
    """The next step this case's result still calls for (ResultFollowUp), if any."""
    case_id = case if isinstance(case, int) else case.pk
    return (
        ResultFollowUp.objects.filter(case_id=case_id, state=FollowUpState.OPEN)
        .select_related("next_modality", "screening__modality", "screening__category")
        .first()
    )


def diagnostic_follow_up_needed(case: NavigationCase) -> ScreeningModality | None:
    """The test this case's unresolved result calls for, if any."""
    follow_up = open_follow_up(case)
    return follow_up.next_modality if follow_up is not None else None


def barrier_types_active() -> QuerySet[BarrierType]:
    """The barrier types a navigator may still add (retired ones stay on old cases)."""
    return BarrierType.objects.filter(active=True)
