"""Reads of coaching (issue 16): who may see which sessions, goals, series and rosters;
the group class pages' lists (series with their seats, sessions, the cases one may
enrol, make-up sessions); the next series with room in a patient's language, and the
series the patient is on; a patient's education hours against Medicare's DSMT
allowance.

Scoping follows the appointments' (`cases_visible_to`): managers and administrators
everything; a navigator or coach the sessions, goals and roster rows of their
caseload (and a caseload they cover); clinic staff and the compliance officer
nothing. A series' facilitator also sees its whole roster and attendance: they take
it. Series themselves (a timetable: name, place, times, no patient) are seen by
every navigator, who enrols patients in them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.utils import timezone

from navigator.models import (
    OPEN_STATUSES,
    AttendanceStatus,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    EnrolmentStatus,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    NavigationCase,
    User,
)
from navigator.selectors.visibility import cases_visible_to
from patients.models import Patient, ProgramKind


def coaching_sessions_visible_to(user: User) -> QuerySet[CoachingSession]:
    return CoachingSession.objects.filter(case__in=cases_visible_to(user))


def coaching_goals_visible_to(user: User) -> QuerySet[CoachingGoal]:
    return CoachingGoal.objects.filter(case__in=cases_visible_to(user))


def group_series_visible_to(user: User) -> QuerySet[GroupSeries]:
    series = GroupSeries.objects.all()
    if user.is_authenticated and (user.sees_all_cases or user.works_caseload):
        return series
    return series.none()


def group_enrolments_visible_to(user: User) -> QuerySet[GroupEnrolment]:
    """Roster rows: of the user's visible cases, or of a series they facilitate."""
    enrolments = GroupEnrolment.objects.all()
    if not user.is_authenticated:
        return enrolments.none()
    if user.sees_all_cases:
        return enrolments
    if user.works_caseload:
        return enrolments.filter(Q(case__in=cases_visible_to(user)) | Q(series__facilitator=user))
    return enrolments.none()


def group_attendance_visible_to(user: User) -> QuerySet[GroupAttendance]:
    return GroupAttendance.objects.filter(enrolment__in=group_enrolments_visible_to(user))


def group_roster(*, user: User, series_id: int) -> list[GroupEnrolment]:
    """A series' roster as this user may see it, by family name, with each patient's
    attendance: 2 queries (the roster with patient and case; the attendance rows)."""
    return list(
        group_enrolments_visible_to(user)
        .filter(series_id=series_id)
        .select_related("patient", "case")
        .prefetch_related("attendance__session")
        .order_by("patient__family_name", "patient__given_name", "pk")
    )


def group_series_listed(*, user: User) -> QuerySet[GroupSeries]:
    """The series this user may see, each with its first and last session's start,
    its number of sessions and its seats taken, soonest first (one query)."""
    return (
        group_series_visible_to(user)
        .select_related("facilitator", "program")
        .annotate(
            first_start=Min("sessions__starts_at"),
            last_start=Max("sessions__starts_at"),
            session_count=Count("sessions", distinct=True),
            seats_taken=Count(
                "enrolments",
                filter=Q(enrolments__status=EnrolmentStatus.ENROLLED),
                distinct=True,
            ),
        )
        .order_by(F("first_start").asc(nulls_last=True), "name", "pk")
    )


def group_sessions_of(series_id: int) -> QuerySet[GroupSession]:
    return GroupSession.objects.filter(series_id=series_id).order_by("number", "pk")


def group_enrol_candidates(*, user: User, series: GroupSeries) -> QuerySet[NavigationCase]:
    """The open cases of the series' programme this user may enrol (their caseload and
    the one they cover; a manager every one), not already on the roster (withdrawn
    patients may come back)."""
    on_roster = GroupEnrolment.objects.filter(series=series).exclude(
        status=EnrolmentStatus.WITHDRAWN
    )
    return (
        cases_visible_to(user)
        .filter(program_id=series.program_id, status__in=OPEN_STATUSES)
        .exclude(patient_id__in=on_roster.values("patient_id"))
        .select_related("patient")
        .order_by("patient__family_name", "patient__given_name", "pk")
    )


def group_makeup_sessions(*, series: GroupSeries) -> QuerySet[GroupSession]:
    """Sessions a patient of another series of this curriculum may be making up here:
    their own series' sessions (the service checks which one they missed)."""
    return (
        GroupSession.objects.filter(series__curriculum=series.curriculum)
        .exclude(series=series)
        .select_related("series")
        .order_by("series__name", "number")
    )


def next_group_series_with_room(
    *, case: NavigationCase, language: str = "", now: dt.datetime | None = None
) -> GroupSeries | None:
    """ "Enrol in the next Spanish-language series": the series of the case's program
    in `language` (default the patient's spoken language) whose first session is still
    ahead, with a seat free and the patient not already on it, soonest first. One
    query."""
    now = now or timezone.now()
    language = language or case.patient.preferred_language
    return (
        GroupSeries.objects.filter(program_id=case.program_id, language=language)
        .exclude(enrolments__patient_id=case.patient_id)
        .annotate(
            first_start=Min("sessions__starts_at"),
            seats_taken=Count(
                "enrolments",
                filter=Q(enrolments__status=EnrolmentStatus.ENROLLED),
                distinct=True,
            ),
        )
        .filter(first_start__gt=now, seats_taken__lt=F("capacity"))
        .order_by("first_start", "pk")
        .first()
    )


def group_enrolment_current(
    *, case: NavigationCase, now: dt.datetime | None = None
) -> GroupEnrolment | None:
    """The patient's enrolment in a series of the case's programme that is not over
    (a session still ahead), if any: "enrol in the next series" says so rather than
    putting the patient in a second one. One query."""
    now = now or timezone.now()
    return (
        GroupEnrolment.objects.filter(
            patient_id=case.patient_id,
            series__program_id=case.program_id,
            status=EnrolmentStatus.ENROLLED,
            series__sessions__starts_at__gt=now,
        )
        .select_related("series")
        .order_by("pk")
        .first()
    )


# Medicare's DSMT allowance (42 CFR 410.141(c)): the initial training, in the 12
# months from its first session, up to 10 hours, of which at most 1 hour individual
# and up to 9 hours in groups of 2 to 20 ((c)(1)(ii)); after it, follow-up training
# of up to 2 hours a calendar year, individual or group ((c)(2)). In minutes.
INITIAL_INDIVIDUAL_MINUTES = 60
INITIAL_GROUP_MINUTES = 9 * 60
INITIAL_TOTAL_MINUTES = 10 * 60
FOLLOW_UP_TOTAL_MINUTES = 2 * 60


@dataclass(frozen=True)
class EducationHours:
    """A patient's education in one period against the DSMT allowance, in minutes.

    `kind` is "initial" (the 12 months from the first session) or "follow_up" (a
    calendar year after them). The follow-up allowance is for either kind of
    session: its per-kind limits are the total's."""

    kind: str
    starts_on: dt.date
    ends_on: dt.date  # exclusive
    individual_used: int
    group_used: int
    individual_allowed: int
    group_allowed: int
    total_allowed: int

    @property
    def total_used(self) -> int:
        return self.individual_used + self.group_used

    @property
    def total_counted(self) -> int:
        """What counts against the total: minutes past a kind's own limit (a second
        individual hour in the first year) are not DSMT the allowance covers."""
        return min(self.individual_used, self.individual_allowed) + min(
            self.group_used, self.group_allowed
        )

    @property
    def total_remaining(self) -> int:
        return max(self.total_allowed - self.total_counted, 0)

    @property
    def individual_remaining(self) -> int:
        return min(max(self.individual_allowed - self.individual_used, 0), self.total_remaining)

    @property
    def group_remaining(self) -> int:
        return min(max(self.group_allowed - self.group_used, 0), self.total_remaining)


def _add_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _minutes_by_day(patient: Patient) -> list[tuple[dt.date, int, int]]:
    """(local day, individual minutes, group minutes) of each attended session of a
    control programme's (DSMT is diabetes self-management education: a screening
    programme's class, set up before series were refused for them, counts no hours)."""
    individual = CoachingSession.objects.filter(
        patient=patient,
        status=CoachingSessionStatus.ATTENDED,
        case__program__kind=ProgramKind.CONTROL,
    ).values_list("scheduled_at", "minutes_spent")
    group = GroupAttendance.objects.filter(
        patient=patient,
        status=AttendanceStatus.ATTENDED,
        enrolment__series__program__kind=ProgramKind.CONTROL,
    ).values_list("session__starts_at", "minutes")
    rows = [(timezone.localdate(at), minutes or 0, 0) for at, minutes in individual]
    rows += [(timezone.localdate(at), 0, minutes) for at, minutes in group]
    return sorted(rows)


def education_hours(*, patient: Patient, year: int) -> EducationHours:
    """The patient's education in `year`: the initial training's 12 months where they
    reach into the year (or nothing was attended before the year), else the year's
    follow-up. Two queries (individual sessions; group attendance)."""
    rows = _minutes_by_day(patient)
    year_start, next_year = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    first = next((day for day, _, _ in rows), None)
    if first is None or first >= year_start or _add_year(first) > year_start:
        starts = first if first is not None and first < next_year else year_start
        ends = _add_year(starts)
        kind = "initial"
        allowed = (INITIAL_INDIVIDUAL_MINUTES, INITIAL_GROUP_MINUTES, INITIAL_TOTAL_MINUTES)
        if first is not None and first >= next_year:
            # The training starts after this year: nothing of it was in the year.
            starts, ends = year_start, next_year
    else:
        starts, ends, kind = year_start, next_year, "follow_up"
        allowed = (FOLLOW_UP_TOTAL_MINUTES,) * 3
    in_period = [(i, g) for day, i, g in rows if starts <= day < ends]
    return EducationHours(
        kind=kind,
        starts_on=starts,
        ends_on=ends,
        individual_used=sum(i for i, _ in in_period),
        group_used=sum(g for _, g in in_period),
        individual_allowed=allowed[0],
        group_allowed=allowed[1],
        total_allowed=allowed[2],
    )


@dataclass(frozen=True)
class CaseCoaching:
    """A control case's coaching as its page shows it: the individual sessions (newest
    first, with their coach), the goals (oldest first, with the sessions they were set
    and reviewed in) and the group enrolments (with their series, its sessions held so
    far and the patient's attendance)."""

    sessions: list[CoachingSession]
    goals: list[CoachingGoal]
    enrolments: Sequence[GroupEnrolment]


def case_coaching(
    *, user: User, case: NavigationCase, now: dt.datetime | None = None
) -> CaseCoaching:
    """The case's coaching as this user may see it: four queries (sessions; goals;
    enrolments with their series' session counts; their attendance)."""
    now = now or timezone.now()
    sessions = list(
        coaching_sessions_visible_to(user)
        .filter(case=case)
        .select_related("coach")
        .order_by("-scheduled_at", "-pk")
    )
    goals = list(
        coaching_goals_visible_to(user)
        .filter(case=case)
        .select_related("set_in", "reviewed_in")
        .order_by("created_at", "pk")
    )
    enrolments = list(
        group_enrolments_visible_to(user)
        .filter(case=case)
        .select_related("series")
        .annotate(
            sessions_total=Count("series__sessions", distinct=True),
            sessions_held=Count(
                "series__sessions", filter=Q(series__sessions__starts_at__lte=now), distinct=True
            ),
        )
        .prefetch_related("attendance__session")
        .order_by("-enrolled_at", "-pk")
    )
    return CaseCoaching(sessions=sessions, goals=goals, enrolments=enrolments)
