"""A control case's actions (issue 16): book an individual coaching session, record
what became of it, set a goal in it and review one in a later session, enrol in the
next group series, record a lab from an outside report and correct or withdraw one
mistyped. Each finds its objects
through the scoping selectors (a session, goal or series out of reach is not found:
404), validates its form, calls one service (refused on a screening case: it has
none of these) and answers through
`case_page.case_action_run` (HTMX: the page's main column; else a redirect)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_POST

from navigator.forms.coaching import (
    CoachingBookForm,
    CoachingGoalForm,
    CoachingGoalReviewForm,
    CoachingOutcomeForm,
    GroupEnrolNextForm,
    LabFixForm,
    LabRecordForm,
)
from navigator.models import CoachingSessionStatus, NavigationCase
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors.coaching import (
    coaching_goals_visible_to,
    coaching_sessions_visible_to,
    group_series_visible_to,
)
from navigator.services import coaching, group_classes, labs
from navigator.views.case_page import CASE_ROLES, case_action_run, case_or_404
from navigator.views.control_case import review_sessions


def control_only(case: NavigationCase, perform: Callable[[dict[str, Any]], object]):
    """`perform`, refused (nothing saved, the form's error) on a screening case: only a
    control programme's case has coaching, group classes and labs."""

    def run(data: dict[str, Any]) -> object:
        if not case.program.is_control:
            raise ValidationError(
                f"{case.program.label} has no coaching, group classes or labs to record."
            )
        return perform(data)

    return run


@require_POST
@role_required(*CASE_ROLES)
def coaching_book(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="coaching",
        form=CoachingBookForm(request.POST, id_prefix="coaching", case=case),
        perform=control_only(
            case,
            lambda data: coaching.coaching_session_book(
                case=case,
                scheduled_at=data["scheduled_at"],
                duration_minutes=data["duration_minutes"],
                topics=data["topics"],
                language=data["language"],
                interpreter_modality=data["interpreter_modality"],
                note=data["note"],
                actor=request.user,
                expected_version=data["version"],
            ),
        ),
        notice="Coaching session booked; its reminders are scheduled.",
        anchor="coaching",
    )


@require_POST
@role_required(*CASE_ROLES)
def coaching_update(request: AuthedRequest, pk: int, coaching_id: int) -> HttpResponse:
    case = case_or_404(request, pk)
    session = coaching_sessions_visible_to(request.user).filter(case=case, pk=coaching_id).first()
    if session is None:
        raise Http404("No such coaching session on this case.")
    status = request.POST.get("status")
    return case_action_run(
        request,
        case,
        key=f"coaching:{session.pk}",
        form=CoachingOutcomeForm(request.POST, id_prefix=f"coaching{session.pk}", session=session),
        perform=control_only(
            case,
            lambda data: coaching.coaching_session_set_status(
                session=session,
                status=data["status"],
                minutes_spent=data.get("minutes_spent"),
                topics=data.get("topics") or None,
                actor=request.user,
                expected_version=data["version"],
            ),
        ),
        notice="Session recorded as attended."
        if status == CoachingSessionStatus.ATTENDED
        else "Session outcome recorded.",
        anchor="coaching",
    )


@require_POST
@role_required(*CASE_ROLES)
def coaching_goal_create(request: AuthedRequest, pk: int, coaching_id: int) -> HttpResponse:
    case = case_or_404(request, pk)
    session = coaching_sessions_visible_to(request.user).filter(case=case, pk=coaching_id).first()
    if session is None:
        raise Http404("No such coaching session on this case.")
    return case_action_run(
        request,
        case,
        key=f"goal:{session.pk}",
        form=CoachingGoalForm(request.POST, id_prefix=f"goal{session.pk}"),
        perform=control_only(
            case,
            lambda data: coaching.coaching_goal_set(
                session=session,
                text=data["text"],
                behaviour=data["behaviour"],
                actor=request.user,
                expected_version=data["version"],
            ),
        ),
        notice="Goal set.",
        anchor="coaching-goals",
    )


@require_POST
@role_required(*CASE_ROLES)
def coaching_goal_review(request: AuthedRequest, pk: int, goal_id: int) -> HttpResponse:
    case = case_or_404(request, pk)
    goal = (
        coaching_goals_visible_to(request.user)
        .filter(case=case, pk=goal_id)
        .select_related("set_in")
        .first()
    )
    if goal is None:
        raise Http404("No such goal on this case.")
    sessions = list(coaching_sessions_visible_to(request.user).filter(case=case))
    return case_action_run(
        request,
        case,
        key=f"review:{goal.pk}",
        form=CoachingGoalReviewForm(
            request.POST,
            id_prefix=f"review{goal.pk}",
            sessions=sorted(
                review_sessions(goal, sessions), key=lambda s: s.scheduled_at, reverse=True
            ),
        ),
        perform=control_only(
            case,
            lambda data: coaching.coaching_goal_review(
                goal=goal,
                session=data["session"],
                outcome=data["outcome"],
                actor=request.user,
                expected_version=data["version"],
            ),
        ),
        notice="Goal reviewed.",
        anchor="coaching-goals",
    )


@require_POST
@role_required(*CASE_ROLES)
def group_enrol_next(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    form = GroupEnrolNextForm(request.POST, id_prefix="enrol")
    # Only a series this user may see, of the case's programme (the service checks it too).
    series_field = form.fields["series"]
    series_field.queryset = group_series_visible_to(request.user).filter(  # type: ignore[attr-defined]
        program_id=case.program_id
    )
    series_field.error_messages["invalid_choice"] = (
        "That series is not one of this programme's; reload the case."
    )
    return case_action_run(
        request,
        case,
        key="enrol",
        form=form,
        perform=control_only(
            case,
            lambda data: group_classes.group_enrol(
                case=case,
                series=data["series"],
                actor=request.user,
                expected_version=data["version"],
            ),
        ),
        notice="Enrolled in the group series; reminders for its sessions will follow.",
        anchor="group-classes",
    )


@require_POST
@role_required(*CASE_ROLES)
def lab_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="lab",
        form=LabRecordForm(request.POST, id_prefix="lab"),
        perform=control_only(
            case,
            lambda data: labs.case_lab_record(
                case=case,
                test=data["test"],
                value=data["value"],
                unit=data["unit"],
                collected_on=data["collected_on"],
                source=data["source"],
                actor=request.user,
                expected_version=data["version"],
            ),
        ),
        notice="Lab recorded; the trend and the care gap include it.",
        anchor="lab-trend",
    )


@require_POST
@role_required(*CASE_ROLES)
def lab_fix(request: AuthedRequest, pk: int, resource_pk: int) -> HttpResponse:
    """Correct a staff-entered lab, or withdraw it as entered in error. The case is
    found in the user's scope (404 outside it); the service finds the lab among its
    patient's staff-entered ones (an EHR feed's is refused)."""
    case = case_or_404(request, pk)

    def perform(data: dict[str, Any]) -> object:
        if data["action"] == "correct":
            return labs.case_lab_correct(
                case=case, resource_pk=resource_pk, value=data["value"],
                actor=request.user, expected_version=data["version"],
            )  # fmt: skip
        return labs.case_lab_enter_in_error(
            case=case, resource_pk=resource_pk, actor=request.user,
            expected_version=data["version"],
        )  # fmt: skip

    return case_action_run(
        request,
        case,
        key=f"labfix:{resource_pk}",
        form=LabFixForm(request.POST, id_prefix=f"labfix{resource_pk}"),
        perform=control_only(case, perform),
        notice=(
            "Lab marked entered in error; it no longer counts for the care gap."
            if request.POST.get("action") == "entered_in_error"
            else "Lab corrected; the trend and the care gap follow."
        ),
        anchor="lab-trend",
    )
