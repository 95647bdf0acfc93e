"""Reads for navigation. Every case-derived queryset starts from `cases_visible_to`."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
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
    CaseBarrier,
    CaseEvent,
    NavigationCase,
    NavigatorProfile,
    User,
)
from outreach.models import FollowUpReminder
from patients.languages import language_name
from patients.models import RaceEthnicity


def cases_visible_to(user: User) -> QuerySet[NavigationCase]:
    """Managers and admins: every case. Navigators: their caseload. Clinic staff: none
    (they follow their referrals, which never expose barriers, notes or attempts)."""
    cases = NavigationCase.objects.all()
    if not user.is_authenticated:
        return cases.none()
    if user.sees_all_cases:
        return cases
    if user.is_navigator:
        return cases.filter(Q(navigator__user=user) | Q(navigator__in=navigators_covered_by(user)))
    return cases.none()


def navigators_covered_by(user: User, on: dt.date | None = None) -> QuerySet[NavigatorProfile]:
    """The navigators whose caseload `user` covers today (a subquery, not evaluated)."""
    on = on or timezone.localdate()
    return NavigatorProfile.objects.filter(
        coverages_given__covering__user=user,
        coverages_given__starts_on__lte=on,
        coverages_given__ends_on__gte=on,
        coverages_given__cancelled_at=None,
    ).values("pk")


def barriers_visible_to(user: User) -> QuerySet[CaseBarrier]:
    return CaseBarrier.objects.filter(case__in=cases_visible_to(user))


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    return Appointment.objects.filter(case__in=cases_visible_to(user))


def case_events_visible_to(user: User) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case__in=cases_visible_to(user))


def navigators_visible_to(user: User) -> QuerySet[NavigatorProfile]:
    navigators = NavigatorProfile.objects.select_related("user")
    if user.is_authenticated and user.sees_all_cases:
        return navigators
    if user.is_authenticated and user.is_navigator:
        return navigators.filter(user=user)
    return navigators.none()


def case_list(*, user: User) -> QuerySet[NavigationCase]:
    """Cases with everything a list row shows, in a fixed number of queries."""
    today = timezone.localdate()
    return (
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


def worklist_for(*, user: User) -> QuerySet[NavigationCase]:
    """A navigator's open cases: overdue follow-ups first, then by due date."""
    return (
        case_list(user=user)
        .filter(navigator__user=user, status__in=OPEN_STATUSES)
        .order_by(
            F("follow_up_is_overdue").desc(),
            F("next_follow_up").asc(nulls_last=True),
            "opened_at",
            "pk",
        )
    )


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
            "referrals__clinic",
        )
        .get(pk=case_id)
    )


def booked_appointment(case: NavigationCase) -> Appointment | None:
    return next((a for a in case.appointments.all() if a.status == AppointmentStatus.BOOKED), None)


# --- Completion report ------------------------------------------------------------------

# Below this many cases a rate is shown, but flagged: it is too noisy to compare.
SMALL_GROUP = 20


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """95% Wilson score interval for a proportion; honest at small n and near 0 or 1."""
    if total == 0:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class RateRow:
    key: str
    label: str
    opened: int
    completed: int

    @property
    def rate(self) -> float | None:
        return self.completed / self.opened if self.opened else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.completed, self.opened)

    @property
    def small_group(self) -> bool:
        return self.opened < SMALL_GROUP

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "key": self.key,
            "label": self.label,
            "opened": self.opened,
            "completed": self.completed,
            "rate": round(self.rate, 4) if self.rate is not None else None,
            "ci95_low": round(interval[0], 4) if interval else None,
            "ci95_high": round(interval[1], 4) if interval else None,
            "small_group": self.small_group,
        }


@dataclass
class CompletionReport:
    start: dt.date
    end: dt.date
    overall: RateRow
    by_program: list[RateRow]
    by_navigator: list[RateRow]
    by_race_ethnicity: list[RateRow]
    by_language: list[RateRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "definition": (
                "Cases opened in the period; completed means the screening was recorded "
                "(at any time up to now). Race and ethnicity is multi-select, so a patient "
                "counts in every group they chose and the groups add up to more than the total."
            ),
            "overall": self.overall.as_dict(),
            "by_program": [r.as_dict() for r in self.by_program],
            "by_navigator": [r.as_dict() for r in self.by_navigator],
            "by_race_ethnicity": [r.as_dict() for r in self.by_race_ethnicity],
            "by_language": [r.as_dict() for r in self.by_language],
        }


def _period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def _grouped(cases: QuerySet[NavigationCase], field: str) -> list[tuple[Any, int, int]]:
    rows = (
        cases.values(field)
        .annotate(
            opened=Count("pk", distinct=True),
            completed=Count("pk", filter=Q(completed_at__isnull=False), distinct=True),
        )
        .order_by(field)
    )
    return [(row[field], row["opened"], row["completed"]) for row in rows]


def completion_report(
    *, start: dt.date, end: dt.date, program_id: int | None = None
) -> CompletionReport:
    low, high = _period_bounds(start, end)
    cases = NavigationCase.objects.filter(opened_at__gte=low, opened_at__lt=high)
    if program_id is not None:
        cases = cases.filter(program_id=program_id)

    totals = cases.aggregate(
        opened=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False))
    )
    overall = RateRow("all", "All cases", totals["opened"], totals["completed"])

    by_program = [
        RateRow(str(name), str(name), opened, completed)
        for name, opened, completed in _grouped(cases, "program__name")
    ]

    navigator_names = {n.pk: str(n) for n in NavigatorProfile.objects.select_related("user")}
    by_navigator = sorted(
        (
            RateRow(
                str(pk) if pk else "unassigned",
                navigator_names.get(pk, "Unassigned"),
                opened,
                completed,
            )
            for pk, opened, completed in _grouped(cases, "navigator_id")
        ),
        key=lambda r: r.label,
    )

    race_labels = dict(RaceEthnicity.choices)
    race_rows = {
        key: (opened, completed)
        for key, opened, completed in _grouped(cases, "patient__race_ethnicities__category")
    }
    by_race_ethnicity = [
        RateRow(key, label, *race_rows.get(key, (0, 0))) for key, label in race_labels.items()
    ]
    if None in race_rows:
        by_race_ethnicity.append(RateRow("not_recorded", "Not recorded", *race_rows[None]))

    by_language = sorted(
        (
            RateRow(code, language_name(code), opened, completed)
            for code, opened, completed in _grouped(cases, "patient__preferred_language")
        ),
        key=lambda r: -r.opened,
    )
    return CompletionReport(
        start=start,
        end=end,
        overall=overall,
        by_program=by_program,
        by_navigator=by_navigator,
        by_race_ethnicity=by_race_ethnicity,
        by_language=by_language,
    )
