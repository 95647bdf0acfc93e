"""Reads for navigation. Every case-derived queryset starts from `cases_visible_to`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from navigator import worklist
from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    BarrierStatus,
    CaseBarrier,
    CaseEvent,
    Coverage,
    NavigationCase,
    NavigatorProfile,
    User,
)
from outreach.models import ContactAttempt, FollowUpReminder, Outcome, PatientMessage
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
    )


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


def worklist_navigators(
    *, user: User, navigator: NavigatorProfile | None = None, on: dt.date | None = None
) -> list[NavigatorProfile]:
    """Whose open cases make up a worklist: its navigator (`navigator`, by default
    `user`'s own profile) and the colleagues that navigator covers on `on`, each of
    those with the day the cover ends (`covered_until`). One query.

    Resolved up front so that the worklist's query filters on a short list of ids:
    PostgreSQL then reads those navigators' cases through the navigator index,
    where an OR across the coverage table had it scan every case.
    """
    on = on or timezone.localdate()
    owner_user = navigator.user if navigator is not None else user
    if not owner_user.is_authenticated:
        return []
    cover = Coverage.objects.filter(
        absent=OuterRef("pk"),
        covering__user=owner_user,
        starts_on__lte=on,
        ends_on__gte=on,
        cancelled_at=None,
    )
    whose = Q(user=owner_user) | Q(pk__in=navigators_covered_by(owner_user, on))
    return list(
        NavigatorProfile.objects.filter(whose)
        .select_related("user")
        .annotate(covered_until=Subquery(cover.order_by("-ends_on").values("ends_on")[:1]))
        .order_by("user__last_name", "user__first_name", "pk")
    )


def worklist_for(
    *,
    user: User,
    navigators: Sequence[NavigatorProfile] | None = None,
    filters: worklist.Filters | None = None,
    moment: worklist.Moment | None = None,
) -> QuerySet[NavigationCase]:
    """The open cases on a worklist, ranked (rules: navigator.worklist), with what
    each row shows, in one query however many there are.

    `navigators` are whose cases (`worklist_navigators`); by default the user's own
    worklist. Whatever the list, only cases `user` may see are on it.
    """
    moment = moment or worklist.Moment.current()
    filters = filters or worklist.Filters()
    if navigators is None:
        navigators = worklist_navigators(user=user, on=moment.today)
    cases = (
        cases_visible_to(user)
        .filter(status__in=OPEN_STATUSES, navigator__in=[n.pk for n in navigators])
        .select_related("patient", "program", "navigator__user")
    )
    cases = filters.apply(cases, moment)
    return worklist.annotate(cases, moment).order_by(*worklist.ordering(filters.sort))


def worklist_owner(*, user: User, navigator_id: int) -> NavigatorProfile | None:
    """The navigator whose worklist `user` asked for, if they may open it: managers
    and admins anyone's, a navigator their own or a colleague's they cover today."""
    navigators = NavigatorProfile.objects.select_related("user")
    if not user.is_authenticated:
        return None
    if not user.sees_all_cases:
        if not user.is_navigator:
            return None
        navigators = navigators.filter(Q(user=user) | Q(pk__in=navigators_covered_by(user)))
    return navigators.filter(pk=navigator_id).first()


def worklist_rows(
    cases: Iterable[NavigationCase],
    *,
    user: User,
    navigator: NavigatorProfile | None = None,
    moment: worklist.Moment,
) -> list[NavigationCase]:
    """The worklist's cases with their reasons and, on a case its navigator handed
    over, "covering for" them. Covering is said from the point of view of whoever
    works the list: the navigator signed in, or (for a manager looking on) the
    navigator whose list it is."""
    if user.is_navigator or navigator is None:
        return worklist.rows(
            cases,
            moment=moment,
            covering=lambda case: case.navigator is not None and case.navigator.user_id != user.pk,
        )
    return worklist.rows(
        cases, moment=moment, covering=lambda case: case.navigator_id != navigator.pk
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
            "kits__modality",
            "referrals__clinic",
            # Newest first: what is about to go out, and what went.
            Prefetch("messages", queryset=PatientMessage.objects.order_by("-due_at", "-pk")),
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


# --- Team view ------------------------------------------------------------------------------


def week_start(today: dt.date) -> dt.datetime:
    """Monday 00:00 of this week, in the local time zone."""
    monday = today - dt.timedelta(days=today.weekday())
    return dt.datetime.combine(monday, dt.time.min, tzinfo=timezone.get_current_timezone())


def _count(queryset: QuerySet[Any], *, distinct_field: str = "pk") -> Subquery:
    """A correlated COUNT as a subquery, so that several counts never multiply rows."""
    return Subquery(
        queryset.order_by()
        .annotate(_group=Value(1))
        .values("_group")
        .annotate(n=Count(distinct_field, distinct=True))
        .values("n"),
        output_field=IntegerField(),
    )


def team_overview(*, user: User, today: dt.date | None = None) -> list[NavigatorProfile]:
    """Every navigator with this week's numbers, in two queries whatever the team size:
    the navigators with their counts, and today's covers."""
    if not (user.is_authenticated and user.sees_all_cases):
        return []
    today = today or timezone.localdate()
    since = week_start(today)
    open_cases = NavigationCase.objects.filter(navigator=OuterRef("pk"), status__in=OPEN_STATUSES)
    attempts = ContactAttempt.objects.filter(
        created_by=OuterRef("user_id"), attempted_at__gte=since
    )
    navigators: list[NavigatorProfile] = list(
        NavigatorProfile.objects.select_related("user")
        .annotate(
            open_cases=Coalesce(_count(open_cases), 0),
            overdue_follow_ups=Coalesce(_count(open_cases.filter(next_follow_up__lt=today)), 0),
            attempts_this_week=Coalesce(_count(attempts), 0),
            reached_this_week=Coalesce(
                _count(attempts.filter(outcome=Outcome.REACHED), distinct_field="case_id"), 0
            ),
            completed_this_week=Coalesce(
                _count(
                    NavigationCase.objects.filter(navigator=OuterRef("pk"), completed_at__gte=since)
                ),
                0,
            ),
        )
        .order_by("-active", "user__last_name", "user__first_name", "pk")
    )
    covers: dict[int, Coverage] = {
        coverage.absent_id: coverage
        for coverage in Coverage.objects.filter(
            starts_on__lte=today, ends_on__gte=today, cancelled_at=None
        ).select_related("covering__user")
    }
    for navigator in navigators:
        navigator.covered_by = covers.get(navigator.pk)  # type: ignore[attr-defined]
        capacity = navigator.caseload_capacity or 1
        navigator.load_percent = round(100 * navigator.open_cases / capacity)  # type: ignore[attr-defined]
    return navigators


def coverages_for(*, user: User) -> QuerySet[Coverage]:
    """Covers a user may see: a manager every one, a navigator those they give or take."""
    coverages = Coverage.objects.select_related("absent__user", "covering__user", "created_by")
    if not user.is_authenticated:
        return coverages.none()
    if user.sees_all_cases:
        return coverages
    if user.is_navigator:
        return coverages.filter(Q(absent__user=user) | Q(covering__user=user))
    return coverages.none()
