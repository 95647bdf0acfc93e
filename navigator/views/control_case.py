"""What a control programme's case page adds (issue 16): individual coaching sessions
with their forms (book, record what became of one, set a goal in one, review it in a
later one), the goals, the education hours of the year against Medicare's DSMT
allowance, the group enrolments with their attendance, "enrol in the next series"
and recording a lab from an outside report. `case_page.case_page_context` merges it
in; the actions are `views/coaching.py`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from navigator.forms.base import EquiNavForm
from navigator.forms.coaching import (
    CoachingBookForm,
    CoachingGoalForm,
    CoachingGoalReviewForm,
    CoachingOutcomeForm,
    GroupEnrolNextForm,
    LabRecordForm,
)
from navigator.models import (
    AttendanceStatus,
    CoachingGoal,
    CoachingSession,
    CoachingSessionStatus,
    NavigationCase,
    User,
)
from navigator.selectors.coaching import (
    EducationHours,
    case_coaching,
    education_hours,
    next_group_series_with_room,
)
from patients.languages import language_name

# The case page's keys of the forms this module draws (`bound`'s keys, before any ":").
CONTROL_FORM_KEYS = frozenset({"coaching", "goal", "review", "enrol", "lab", "labfix"})


def hours_words(minutes: int) -> str:
    """60 → "1 h", 90 → "1 h 30 min", 45 → "45 min", 0 → "0 h"."""
    hours, rest = divmod(minutes, 60)
    if not rest:
        return f"{hours} h"
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def education_rows(
    hours: EducationHours, *, ended: bool = False
) -> list[tuple[str, str, str, str]]:
    """(kind, used, allowed, left) for the hours table; an initial training whose 12
    months `ended` has nothing left (its hours not used are not carried over)."""
    initial = hours.kind == "initial"
    rows = [
        (
            "Individual",
            hours_words(hours.individual_used),
            hours_words(hours.individual_allowed) if initial else "",
            hours_words(hours.individual_remaining) if initial else "",
        ),
        (
            "Group",
            hours_words(hours.group_used),
            hours_words(hours.group_allowed) if initial else "",
            hours_words(hours.group_remaining) if initial else "",
        ),
        (
            "Counted against the allowance" if initial else "Individual and group",
            hours_words(hours.total_counted),
            hours_words(hours.total_allowed),
            hours_words(hours.total_remaining),
        ),
    ]
    if ended:
        rows = [(kind, used, allowed, "") for kind, used, allowed, _ in rows]
    return rows


def _outcome_form(
    session: CoachingSession, bound: dict[str, EquiNavForm], is_open: bool
) -> EquiNavForm | None:
    key = f"coaching:{session.pk}"
    if key in bound:
        return bound[key]
    if not is_open or session.status != CoachingSessionStatus.SCHEDULED:
        return None
    return CoachingOutcomeForm(id_prefix=f"coaching{session.pk}", session=session)


def _goal_form(
    session: CoachingSession, bound: dict[str, EquiNavForm], is_open: bool
) -> EquiNavForm | None:
    key = f"goal:{session.pk}"
    if key in bound:
        return bound[key]
    if not is_open or session.status != CoachingSessionStatus.ATTENDED:
        return None
    return CoachingGoalForm(id_prefix=f"goal{session.pk}")


def review_sessions(goal: CoachingGoal, sessions: list[CoachingSession]) -> list[CoachingSession]:
    """The attended sessions after the one the goal was set in, newest first."""
    return [
        s
        for s in sessions
        if s.status == CoachingSessionStatus.ATTENDED and s.scheduled_at > goal.set_in.scheduled_at
    ]


def _review_form(
    goal: CoachingGoal,
    sessions: list[CoachingSession],
    bound: dict[str, EquiNavForm],
    is_open: bool,
) -> EquiNavForm | None:
    key = f"review:{goal.pk}"
    if key in bound:
        return bound[key]
    later = review_sessions(goal, sessions)
    if not is_open or not goal.is_open or not later:
        return None
    return CoachingGoalReviewForm(id_prefix=f"review{goal.pk}", sessions=later)


def control_case_context(
    user: User, case: NavigationCase, bound: dict[str, EquiNavForm]
) -> dict[str, Any]:
    """The control panels' context (for a screening case, none: only a refusal of a
    control action posted to it, shown at the top of the page)."""
    if not case.program.is_control:
        return {
            "closed_errors": [
                message
                for key, form in bound.items()
                if key.split(":")[0] in CONTROL_FORM_KEYS
                for errors in form.errors.values()
                for message in errors
            ]
        }
    is_open = case.is_open
    now = timezone.now()
    coaching = case_coaching(user=user, case=case, now=now)
    today = timezone.localdate()
    hours = education_hours(patient=case.patient, year=today.year)
    # The initial training's 12 months may have ended this year (42 CFR 410.141(c)):
    # follow-up training is covered from the next calendar year, not the rest of this.
    ended = hours.kind == "initial" and hours.ends_on <= today
    enrolment_rows = []
    for enrolment in coaching.enrolments:
        marks = list(enrolment.attendance.all())
        enrolment_rows.append(
            {
                "enrolment": enrolment,
                "attended": sum(a.status == AttendanceStatus.ATTENDED for a in marks),
                "absent": sum(a.status != AttendanceStatus.ATTENDED for a in marks),
                "marks": sorted(marks, key=lambda a: a.session.starts_at),
            }
        )
    context: dict[str, Any] = {
        "coaching_rows": [
            (session, _outcome_form(session, bound, is_open), _goal_form(session, bound, is_open))
            for session in coaching.sessions
        ],
        "goal_rows": [
            (goal, _review_form(goal, coaching.sessions, bound, is_open)) for goal in coaching.goals
        ],
        "education": hours,
        "education_rows": education_rows(hours, ended=ended),
        "education_last_day": hours.ends_on - dt.timedelta(days=1) if ended else None,
        "education_follow_up_year": hours.ends_on.year + 1 if ended else None,
        "enrolment_rows": enrolment_rows,
        "now": now,
    }
    if is_open:
        context["coaching_form"] = bound.get("coaching") or CoachingBookForm(
            id_prefix="coaching", case=case
        )
        context["lab_form"] = bound.get("lab") or LabRecordForm(
            id_prefix="lab", initial={"unit": "%"}
        )
        language = case.patient.preferred_language
        series = next_group_series_with_room(case=case, language=language, now=now)
        context["series_language"] = language_name(language)
        context["next_series"] = series
        if series is not None or "enrol" in bound:
            context["enrol_form"] = bound.get("enrol") or GroupEnrolNextForm(
                id_prefix="enrol", initial={"series": series.pk if series else None}
            )
    return context
