"""Group class pages (issue 16): the series list, a manager's new series and its
sessions, a series' page (sessions, roster, enrolling a patient, ending an enrolment),
attendance per session (HTMX, a row at a time) and the printable roster.

Every object is found through the scoping selectors (`navigator.selectors.coaching`):
a roster row outside the user's caseload, or a session whose attendance they do not
take, is not found (404), as a case outside it is. Each form calls one service; a
service's refusal ("the series is full") is shown on the form, with status 400.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from navigator.cases import StaleCaseError
from navigator.forms.group_classes import (
    GroupAttendanceForm,
    GroupEnrolForm,
    GroupEnrolmentStatusForm,
    GroupSeriesForm,
    GroupSessionForm,
)
from navigator.models import (
    CASEWORK_ROLES,
    AttendanceStatus,
    EnrolmentStatus,
    GroupSeries,
    GroupSession,
    Role,
)
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors.coaching import (
    group_enrol_candidates,
    group_enrolments_visible_to,
    group_makeup_sessions,
    group_roster,
    group_series_listed,
    group_series_visible_to,
    group_sessions_of,
)
from navigator.services import group_classes as services

CARE_TEAM = (*CASEWORK_ROLES, Role.MANAGER)
# What every attendance row is drawn with: a row is saved (or refused) only once its
# session has begun, so a row sent back alone is of a started session.
ROW_CONTEXT = {"statuses": AttendanceStatus.choices, "started": True}


def _series_or_404(request: AuthedRequest, series_id: int) -> GroupSeries:
    series = (
        group_series_visible_to(request.user)
        .select_related("facilitator", "program")
        .filter(pk=series_id)
        .first()
    )
    if series is None:
        raise Http404("No such group series.")
    return series


def _takes_attendance(user, series: GroupSeries) -> bool:
    return user.sees_all_cases or user.pk == series.facilitator_id


@require_GET
@role_required(*CARE_TEAM)
def group_series_list(request: AuthedRequest) -> HttpResponse:
    now = timezone.now()
    upcoming: list[GroupSeries] = []
    past: list[GroupSeries] = []
    for series in group_series_listed(user=request.user):
        last_start = series.last_start  # type: ignore[attr-defined]  # annotated
        ended = last_start is not None and last_start < now
        (past if ended else upcoming).append(series)
    return render(request, "navigator/group_series_list.html", {"upcoming": upcoming, "past": past})


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def group_series_create(request: AuthedRequest) -> HttpResponse:
    form = GroupSeriesForm(request.POST if request.method == "POST" else None, id_prefix="series")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                series = services.group_series_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, f"{series.name} is set up: now add its sessions.")
                return redirect("navigator:group_series_detail", series_id=series.pk)
        status = 400
    return render(request, "navigator/group_series_form.html", {"form": form}, status=status)


def _series_context(
    request: AuthedRequest,
    series: GroupSeries,
    *,
    enrol_form: GroupEnrolForm | None = None,
    session_form: GroupSessionForm | None = None,
    error: str = "",
) -> dict[str, Any]:
    user = request.user
    roster = [
        {
            "enrolment": enrolment,
            "attended": sum(
                a.status == AttendanceStatus.ATTENDED for a in enrolment.attendance.all()
            ),
        }
        for enrolment in group_roster(user=user, series_id=series.pk)
    ]
    sessions = list(group_sessions_of(series.pk))
    return {
        "series": series,
        "sessions": sessions,
        "roster": roster,
        # Seats are the whole series' (a navigator sees only their own patients' rows).
        "seats_taken": series.enrolments.filter(status=EnrolmentStatus.ENROLLED).count(),
        "takes_attendance": _takes_attendance(user, series),
        "now": timezone.now(),
        "enrol_form": enrol_form
        or GroupEnrolForm(
            id_prefix="enrol",
            cases=group_enrol_candidates(user=user, series=series),
            by_number=user.sees_all_cases,
        ),
        "session_form": (
            session_form
            or GroupSessionForm(id_prefix="session", initial={"number": len(sessions) + 1})
        )
        if user.sees_all_cases
        else None,
        "error": error,
    }


@require_GET
@role_required(*CARE_TEAM)
def group_series_detail(request: AuthedRequest, series_id: int) -> HttpResponse:
    series = _series_or_404(request, series_id)
    return render(request, "navigator/group_series_detail.html", _series_context(request, series))


@require_POST
@role_required(Role.MANAGER)
def group_session_create(request: AuthedRequest, series_id: int) -> HttpResponse:
    series = _series_or_404(request, series_id)
    form = GroupSessionForm(request.POST, id_prefix="session")
    if form.is_valid():
        try:
            session = services.group_session_add(
                series=series, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Session {session.number} added.")
            return redirect("navigator:group_series_detail", series_id=series.pk)
    context = _series_context(request, series, session_form=form)
    return render(request, "navigator/group_series_detail.html", context, status=400)


@require_POST
@role_required(*CARE_TEAM)
def group_enrol(request: AuthedRequest, series_id: int) -> HttpResponse:
    series = _series_or_404(request, series_id)
    form = GroupEnrolForm(
        request.POST,
        id_prefix="enrol",
        cases=group_enrol_candidates(user=request.user, series=series),
        by_number=request.user.sees_all_cases,
    )
    if form.is_valid():
        case = form.cleaned_data["case"]
        try:
            services.group_enrol(case=case, series=series, actor=request.user)
        except (ValidationError, StaleCaseError) as error:
            form.add_service_error(_as_validation_error(error))
        else:
            # No patient's name in a flash message: it may travel in a cookie.
            messages.success(request, f"Case #{case.pk}'s patient is enrolled in {series.name}.")
            return redirect("navigator:group_series_detail", series_id=series.pk)
    context = _series_context(request, series, enrol_form=form)
    return render(request, "navigator/group_series_detail.html", context, status=400)


def _as_validation_error(error: Exception) -> ValidationError:
    if isinstance(error, ValidationError):
        return error
    return ValidationError(str(error) or "Someone changed this case meanwhile; reload and retry.")


@require_POST
@role_required(*CARE_TEAM)
def group_enrolment_status(request: AuthedRequest, enrolment_id: int) -> HttpResponse:
    """Withdraw a patient or mark the series completed: the roster row's form carries
    the case's version, so a roster drawn before someone changed the case is refused."""
    enrolment = (
        group_enrolments_visible_to(request.user)
        .select_related("series__facilitator", "series__program")
        .filter(pk=enrolment_id)
        .first()
    )
    if enrolment is None:
        raise Http404("No such enrolment.")
    series = enrolment.series
    form = GroupEnrolmentStatusForm(request.POST)
    error = ""
    if form.is_valid():
        was = enrolment.status
        try:
            services.group_enrolment_set_status(
                enrolment=enrolment,
                status=form.cleaned_data["status"],
                actor=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except (ValidationError, StaleCaseError) as refused:
            error = " ".join(_as_validation_error(refused).messages)
        else:
            enrolment.refresh_from_db(fields=["status"])
            ended = enrolment.get_status_display().lower()
            # The same end sent again (a second click) changed nothing: say so.
            said = (
                f"Case #{enrolment.case_id}'s enrolment was already {ended}; nothing changed."
                if was == enrolment.status
                else f"Case #{enrolment.case_id}'s enrolment: {ended}."
            )
            messages.success(request, said)
            return redirect("navigator:group_series_detail", series_id=series.pk)
    else:
        error = " ".join(_messages_of(form))
    context = _series_context(request, series, error=error)
    return render(request, "navigator/group_series_detail.html", context, status=400)


def _messages_of(form) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


def _session_for_attendance(request: AuthedRequest, session_id: int) -> GroupSession:
    session = (
        GroupSession.objects.filter(pk=session_id, series__in=group_series_visible_to(request.user))
        .select_related("series__facilitator", "series__program")
        .first()
    )
    # Only the facilitator or a manager takes attendance: to anyone else the session's
    # attendance (the whole roster) is out of scope, as a case outside their caseload.
    if session is None or not _takes_attendance(request.user, session.series):
        raise Http404("No such session.")
    return session


def _attendance_rows(request: AuthedRequest, session: GroupSession) -> list[dict[str, Any]]:
    roster = group_roster(user=request.user, series_id=session.series_id)
    rows = []
    for enrolment in roster:
        if enrolment.status == EnrolmentStatus.WITHDRAWN:
            continue
        marked = next((a for a in enrolment.attendance.all() if a.session_id == session.pk), None)
        rows.append({"enrolment": enrolment, "attendance": marked})
    return rows


@require_http_methods(["GET", "POST"])
@role_required(*CARE_TEAM)
def group_attendance(request: AuthedRequest, session_id: int) -> HttpResponse:
    """The session's roster with attended / absent / excused per patient. Each row
    posts on its own (HTMX swaps that row back); a make-up from a series of the same
    curriculum is the form below the roster."""
    session = _session_for_attendance(request, session_id)
    series = session.series
    visible = group_enrolments_visible_to(request.user).select_related("patient")
    makeup_sessions = group_makeup_sessions(series=series)
    form = None
    status = 200
    if request.method == "POST":
        form = GroupAttendanceForm(
            request.POST,
            id_prefix="makeup" if request.POST.get("makeup_for") else "",
            enrolments=visible.filter(series__curriculum=series.curriculum),
            makeup_sessions=makeup_sessions,
        )
        if form.is_valid():
            try:
                attendance = services.group_attendance_record(
                    session=session, actor=request.user, **form.cleaned_data
                )
            except (ValidationError, PermissionDenied) as refused:
                if isinstance(refused, PermissionDenied):
                    raise Http404("No such session.") from refused
                form.add_service_error(refused)
            else:
                if request.htmx and not form.cleaned_data["makeup_for"]:
                    row = {"enrolment": attendance.enrolment, "attendance": attendance}
                    return render(
                        request,
                        "navigator/_attendance_row.html",
                        {"row": row, "session": session, "saved": True, **ROW_CONTEXT},
                    )
                enrolment = form.cleaned_data["enrolment"]
                messages.success(
                    request,
                    f"Case #{enrolment.case_id}: {attendance.get_status_display().lower()}.",
                )
                return redirect("navigator:group_attendance", session_id=session.pk)
        status = 400
        enrolment = form.cleaned_data.get("enrolment")
        if request.htmx and not request.POST.get("makeup_for") and enrolment is not None:
            # htmx swaps only 2xx answers: the row with its error is a 200 (as the case
            # page's refused forms are).
            marked = enrolment.attendance.filter(session=session).first()
            row = {"enrolment": enrolment, "attendance": marked}
            return render(
                request,
                "navigator/_attendance_row.html",
                {
                    "row": row,
                    "session": session,
                    "row_errors": _messages_of(form),
                    **ROW_CONTEXT,
                },
            )
    makeup_form = form if form is not None and request.POST.get("makeup_for") else None
    context = {
        "session": session,
        "series": series,
        "rows": _attendance_rows(request, session),
        **ROW_CONTEXT,
        "started": session.starts_at <= timezone.now(),
        "form": form if makeup_form is None else None,
        "makeup_form": makeup_form
        or GroupAttendanceForm(
            id_prefix="makeup",
            enrolments=visible.filter(
                series__curriculum=series.curriculum, status=EnrolmentStatus.ENROLLED
            ).exclude(series=series),
            makeup_sessions=makeup_sessions,
            initial={"status": "attended"},
        ),
    }
    return render(request, "navigator/group_attendance.html", context, status=status)


@require_GET
@role_required(*CARE_TEAM)
def group_roster_print(request: AuthedRequest, series_id: int) -> HttpResponse:
    """The roster on paper for the room: names, MRN, a column per session. The URL
    names the series' id only; the page says it holds protected health information."""
    series = _series_or_404(request, series_id)
    sessions = list(group_sessions_of(series.pk))
    rows = []
    for enrolment in group_roster(user=request.user, series_id=series.pk):
        if enrolment.status == EnrolmentStatus.WITHDRAWN:
            continue
        by_session = {a.session_id: a for a in enrolment.attendance.all()}
        rows.append({"enrolment": enrolment, "marks": [by_session.get(s.pk) for s in sessions]})
    return render(
        request,
        "navigator/group_roster_print.html",
        {"series": series, "sessions": sessions, "rows": rows, "printed_at": timezone.now()},
    )
