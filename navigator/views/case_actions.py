"""The case page's actions: each validates its form and calls one service, then
answers through `case_page.case_action_run`."""

from __future__ import annotations

import re

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_POST

from navigator import cases
from navigator.forms.case_actions import (
    AppointmentBookForm,
    AppointmentOutcomeForm,
    AttemptForm,
    BarrierAddForm,
    BarrierUpdateForm,
    CaseAssignForm,
    CaseTransitionForm,
    FollowUpForm,
    InterpreterRequestForm,
    InterpreterUpdateForm,
    KitMailForm,
    NoteForm,
    ScreeningForm,
    TaskDoneForm,
)
from navigator.models import AppointmentPurpose, AppointmentStatus, BarrierStatus, Role
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors.cases import barrier_types_active
from navigator.selectors.visibility import (
    appointments_visible_to,
    barriers_visible_to,
    navigators_visible_to,
)
from navigator.services import appointments, assignment, barriers, follow_up, notes, screenings
from navigator.views.case_page import CASE_ROLES, case_action_run, case_or_404
from outreach import selectors as outreach_selectors
from outreach.services.attempts import attempt_log
from outreach.services.interpreters import (
    INTERPRETER_MOVES,
    interpreter_request_create,
    interpreter_request_update,
)
from outreach.services.navigator_tasks import case_task_done


@require_POST
@role_required(*CASE_ROLES)
def attempt_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="attempt",
        form=AttemptForm(request.POST, id_prefix="attempt", case=case),
        perform=lambda data: attempt_log(
            case=case,
            channel=data["channel"],
            direction=data["direction"],
            outcome=data["outcome"],
            purpose=data["purpose"],
            phone=data["phone"],
            interpreted_by=data["interpreted_by"],
            interpreter_used=data["interpreter_used"],
            note=data["note"],
            next_follow_up=data["next_follow_up"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Contact attempt logged.",
        anchor="contact",
    )


@require_POST
@role_required(*CASE_ROLES)
def interpreter_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="interpreter",
        form=InterpreterRequestForm(request.POST, id_prefix="interpreter", case=case),
        perform=lambda data: interpreter_request_create(
            case=case,
            language=data["language"],
            modality=data["modality"],
            needed_at=data["needed_at"],
            appointment=data["appointment"],
            provider=data["provider"],
            note=data["note"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Interpreter requested.",
        anchor="interpreter",
    )


@require_POST
@role_required(*CASE_ROLES)
def interpreter_update(request: AuthedRequest, pk: int, request_id: int) -> HttpResponse:
    case = case_or_404(request, pk)
    interpreter = (
        outreach_selectors.interpreter_requests_visible_to(request.user)
        .filter(case=case, pk=request_id)
        .first()
    )
    if interpreter is None:
        raise Http404("No such interpreter request on this case.")
    return case_action_run(
        request,
        case,
        key=f"interpreter:{interpreter.pk}",
        form=InterpreterUpdateForm(
            request.POST,
            id_prefix=f"interpreter{interpreter.pk}",
            next_statuses=INTERPRETER_MOVES[interpreter.status],
        ),
        perform=lambda data: interpreter_request_update(
            interpreter_request=interpreter,
            status=data["status"],
            provider=data["provider"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Interpreter request updated.",
        anchor="interpreter",
    )


@require_POST
@role_required(*CASE_ROLES)
def note_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="note",
        form=NoteForm(request.POST, id_prefix="note"),
        perform=lambda data: notes.case_note_add(case=case, text=data["text"], actor=request.user),
        notice="Note added.",
        anchor="timeline",
    )


@require_POST
@role_required(*CASE_ROLES)
def barrier_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="barrier",
        form=BarrierAddForm(
            request.POST,
            id_prefix="barrier",
            barrier_types=barrier_types_active(),
        ),
        perform=lambda data: barriers.barrier_add(
            case=case,
            barrier_type=data["barrier_type"],
            note=data["note"],
            action=data["action"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Barrier added.",
        anchor="barriers",
    )


@require_POST
@role_required(*CASE_ROLES)
def barrier_update(request: AuthedRequest, pk: int, barrier_id: int) -> HttpResponse:
    case = case_or_404(request, pk)
    barrier = barriers_visible_to(request.user).filter(case=case, pk=barrier_id).first()
    if barrier is None:
        raise Http404("No such barrier on this case.")
    return case_action_run(
        request,
        case,
        key=f"barrier:{barrier.pk}",
        form=BarrierUpdateForm(request.POST, id_prefix=f"barrier{barrier.pk}"),
        perform=lambda data: barriers.barrier_update(
            barrier=barrier,
            status=data["status"],
            action=data["action"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Barrier resolved."
        if request.POST.get("status") == BarrierStatus.RESOLVED
        else "Barrier updated.",
        anchor="barriers",
    )


@require_POST
@role_required(*CASE_ROLES)
def appointment_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    diagnostic = request.POST.get("purpose") == AppointmentPurpose.DIAGNOSTIC
    key = "diagnostic" if diagnostic else "appointment"
    return case_action_run(
        request,
        case,
        key=key,
        form=AppointmentBookForm(request.POST, id_prefix=key, case=case),
        perform=lambda data: appointments.appointment_book(
            case=case,
            scheduled_at=data["scheduled_at"],
            site=data["site"],
            modality=data.get("modality"),
            note=data["note"],
            purpose=data["purpose"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Diagnostic appointment booked." if diagnostic else "Appointment booked.",
        anchor="appointments",
    )


@require_POST
@role_required(*CASE_ROLES)
def appointment_update(request: AuthedRequest, pk: int, appointment_id: int) -> HttpResponse:
    case = case_or_404(request, pk)
    appointment = appointments_visible_to(request.user).filter(case=case, pk=appointment_id).first()
    if appointment is None:
        raise Http404("No such appointment on this case.")
    return case_action_run(
        request,
        case,
        key=f"appointment:{appointment.pk}",
        form=AppointmentOutcomeForm(
            request.POST,
            id_prefix=f"appointment{appointment.pk}",
            starts_at=appointment.scheduled_at
            if appointment.status == AppointmentStatus.BOOKED
            else None,
        ),
        perform=lambda data: appointments.appointment_set_status(
            appointment=appointment,
            status=data["status"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Appointment outcome recorded.",
        anchor="appointments",
    )


@require_POST
@role_required(*CASE_ROLES)
def screening_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="screening",
        form=ScreeningForm(request.POST, id_prefix="screening", case=case),
        perform=lambda data: screenings.case_record_screening(
            case=case,
            modality=data["modality"],
            performed_on=data["performed_on"],
            result=data["result"],
            resulted_on=data["resulted_on"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Result recorded; the case shows what comes next.",
        anchor="screenings",
    )


@require_POST
@role_required(*CASE_ROLES)
def case_transition(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="status",
        form=CaseTransitionForm(request.POST, id_prefix="status", case=case),
        perform=lambda data: cases.case_transition(
            case=case,
            to_status=data["status"],
            note=data["note"].strip(),
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Status changed.",
        anchor="case-summary",
    )


@require_POST
@role_required(*CASE_ROLES)
def follow_up_set(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="follow_up",
        form=FollowUpForm(request.POST, id_prefix="follow_up"),
        perform=lambda data: follow_up.case_set_follow_up(
            case=case,
            on=data["next_follow_up"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Next follow-up set.",
        anchor="case-summary",
    )


@require_POST
@role_required(Role.MANAGER)
def case_assign(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="assign",
        form=CaseAssignForm(
            request.POST,
            id_prefix="assign",
            navigators=navigators_visible_to(request.user).filter(active=True),
        ),
        perform=lambda data: assignment.case_assign(
            case=case,
            navigator=data["navigator"],
            actor=request.user,
            reason=f"reassigned by {cases.actor_name(request.user)}",
            expected_version=data["version"],
        ),
        notice="Case reassigned.",
        anchor="case-summary",
    )


@require_POST
@role_required(*CASE_ROLES)
def kit_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="kit",
        form=KitMailForm(request.POST, id_prefix="kit", case=case),
        perform=lambda data: screenings.kit_mail(
            case=case,
            modality=data["modality"],
            mailed_on=data["mailed_on"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Kit recorded as mailed; its return reminders are scheduled.",
        anchor="appointments",
    )


def _posted_id(value: str | None) -> int:
    """A posted id, or 0 (which matches nothing) for anything that is not one."""
    return int(value) if value and re.fullmatch(r"[0-9]{1,18}", value) else 0


@require_POST
@role_required(*CASE_ROLES)
def task_done(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    task = outreach_selectors.case_task_on(
        user=request.user, case=case, task_id=_posted_id(request.POST.get("task"))
    )
    if task is None:
        raise Http404("No such task on this case.")
    return case_action_run(
        request,
        case,
        key=f"task:{task.pk}",
        form=TaskDoneForm(request.POST, id_prefix=f"task{task.pk}"),
        perform=lambda data: case_task_done(task=task, actor=request.user, note=data["note"]),
        notice="Task done.",
        # The task leaves the list: the notice shows where its "done" entry appears.
        anchor="timeline",
    )
