"""The case page: what it shows, its forms, and how a case action (here or in
outreach) validates, calls its service and answers HTMX or a plain post."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from navigator.cases import StaleCaseError
from navigator.equity.svg import render_chart
from navigator.forms.base import EquiNavForm, choice
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
    LetterMarkForm,
    NoteForm,
    ScreeningForm,
    TaskDoneForm,
)
from navigator.forms.coaching import LabFixForm
from navigator.forms.follow_ups import FollowUpCloseDecisionForm, FollowUpCloseProposeForm
from navigator.models import (
    CASEWORK_ROLES,
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    CaseBarrier,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
    Role,
)
from navigator.permissions import AuthedRequest, has_role, role_required
from navigator.selectors import cases as case_selectors
from navigator.selectors.cases import barrier_types_active, open_follow_up
from navigator.selectors.labs import case_lab_trend
from navigator.selectors.visibility import navigators_visible_to
from navigator.views.control_case import control_case_context
from navigator.views.lab_chart import lab_test_name, lab_trend_chart
from navigator.worklist.rules import PREP_CALL_WINDOW
from outreach import selectors as outreach_selectors
from outreach.models import CaseTask, Channel, InterpreterRequest, Purpose
from outreach.services.interpreters import INTERPRETER_MOVES
from patients.caregaps.control import value_words
from patients.models import PreferredChannel
from patients.selectors import care_gaps_for
from patients.services.labs import is_staff_entered

CASE_ROLES = (*CASEWORK_ROLES, Role.MANAGER)


def case_or_404(request: AuthedRequest, pk: int) -> NavigationCase:
    """The case if this user may see it, else 404 (the same answer as for no case at all,
    so that ids outside one's caseload reveal nothing)."""
    try:
        return case_selectors.case_detail(user=request.user, case_id=pk)
    except NavigationCase.DoesNotExist:
        raise Http404("No such case.") from None


def _barrier_form(barrier: CaseBarrier, bound: dict[str, EquiNavForm]) -> EquiNavForm | None:
    key = f"barrier:{barrier.pk}"
    if key in bound:
        form = bound[key]
    elif barrier.status == BarrierStatus.RESOLVED:
        return None
    else:
        form = BarrierUpdateForm(id_prefix=f"barrier{barrier.pk}")
    # Offer only the steps forward (one button each); the service refuses a step back anyway.
    order = list(BarrierStatus.values)
    choice(form, "status").widget.choices = [
        (value, BARRIER_BUTTONS[value])
        for value, _ in BarrierStatus.choices
        if value != BarrierStatus.IDENTIFIED and order.index(value) >= order.index(barrier.status)
    ]
    return form


# The buttons that move a barrier on: their status, and what they say.
BARRIER_BUTTONS = {
    BarrierStatus.IDENTIFIED: "Identified",
    BarrierStatus.ACTION_TAKEN: "Save action taken",
    BarrierStatus.RESOLVED: "Resolve",
}


def _appointment_form(
    appointment: Appointment, bound: dict[str, EquiNavForm]
) -> EquiNavForm | None:
    key = f"appointment:{appointment.pk}"
    if key in bound:
        return bound[key]
    if appointment.status != AppointmentStatus.BOOKED:
        return None
    return AppointmentOutcomeForm(
        id_prefix=f"appointment{appointment.pk}",
        starts_at=appointment.scheduled_at,
    )


def _interpreter_form(
    interpreter: InterpreterRequest, bound: dict[str, EquiNavForm]
) -> EquiNavForm | None:
    key = f"interpreter:{interpreter.pk}"
    if key in bound:
        return bound[key]
    if interpreter.is_final:
        return None
    return InterpreterUpdateForm(
        id_prefix=f"interpreter{interpreter.pk}",
        next_statuses=INTERPRETER_MOVES[interpreter.status],
        initial={"provider": interpreter.provider},
    )


def _task_form(task: CaseTask, bound: dict[str, EquiNavForm]) -> EquiNavForm:
    key = f"task:{task.pk}"
    return bound.get(key) or TaskDoneForm(id_prefix=f"task{task.pk}", initial={"task": task.pk})


# A patient's preferred way to be reached, as a contact channel.
PREFERRED_CHANNELS = {
    PreferredChannel.PHONE: Channel.PHONE,
    PreferredChannel.SMS: Channel.SMS,
    PreferredChannel.EMAIL: Channel.EMAIL,
    PreferredChannel.LETTER: Channel.LETTER,
}

# A symbol for each kind of timeline entry (decorative: the kind is also written out),
# and the group that colours it.
TIMELINE_KINDS: dict[str, tuple[str, str]] = {
    CaseEventKind.OPENED: ("+", "case"),
    CaseEventKind.REFERRED: ("↘", "case"),
    CaseEventKind.ASSIGNED: ("→", "case"),
    CaseEventKind.STATUS_CHANGED: ("⇄", "case"),
    CaseEventKind.ATTEMPT_LOGGED: ("☎", "contact"),
    CaseEventKind.BARRIER_ADDED: ("⚑", "barrier"),
    CaseEventKind.BARRIER_UPDATED: ("⚑", "barrier"),
    CaseEventKind.APPOINTMENT_BOOKED: ("◷", "appointment"),
    CaseEventKind.APPOINTMENT_UPDATED: ("◷", "appointment"),
    CaseEventKind.SCREENING_RECORDED: ("✓", "appointment"),
    CaseEventKind.FOLLOW_UP_SET: ("↻", "case"),
    CaseEventKind.REMINDER_CREATED: ("!", "case"),
    CaseEventKind.UNREACHABLE_PROPOSED: ("!", "barrier"),
    CaseEventKind.UNREACHABLE_DISMISSED: ("↻", "case"),
    CaseEventKind.PHONE_MARKED_BAD: ("☒", "barrier"),
    CaseEventKind.LETTER_PRINTED: ("✉", "contact"),
    CaseEventKind.LETTER_MAILED: ("✉", "contact"),
    CaseEventKind.NOTE: ("✎", "note"),
    CaseEventKind.MESSAGE_SUPPRESSED: ("✉", "barrier"),
    CaseEventKind.MESSAGE_FAILED: ("✉", "barrier"),
    CaseEventKind.INBOUND_MESSAGE: ("✉", "contact"),
    CaseEventKind.SMS_OPT_OUT: ("⊘", "barrier"),
    CaseEventKind.SMS_OPT_IN: ("✓", "contact"),
    CaseEventKind.KIT_MAILED: ("✉", "appointment"),
    CaseEventKind.TASK_CREATED: ("!", "case"),
    CaseEventKind.TASK_DONE: ("✓", "case"),
    CaseEventKind.INTERPRETER_REQUESTED: ("⇆", "contact"),
    CaseEventKind.INTERPRETER_UPDATED: ("⇆", "contact"),
    CaseEventKind.COACHING_BOOKED: ("◷", "appointment"),
    CaseEventKind.COACHING_UPDATED: ("◷", "appointment"),
    CaseEventKind.GOAL_SET: ("★", "note"),
    CaseEventKind.GOAL_REVIEWED: ("★", "note"),
    CaseEventKind.GROUP_ENROLLED: ("+", "case"),
    CaseEventKind.GROUP_ENROLMENT_UPDATED: ("⇄", "case"),
    CaseEventKind.GROUP_ATTENDANCE: ("✓", "contact"),
    CaseEventKind.LAB_RECORDED: ("✓", "appointment"),
    CaseEventKind.LAB_CORRECTED: ("✎", "appointment"),
    CaseEventKind.LAB_ENTERED_IN_ERROR: ("☒", "barrier"),
}


def _attempt_initial(case: NavigationCase, diagnostic_needed: bool) -> dict[str, Any]:
    """What a one-click attempt assumes: the protocol's channel, the first good number,
    a prep call when the appointment is near."""
    patient = case.patient
    channel = case.next_channel if case.next_channel in Channel.values else ""
    channel = channel or PREFERRED_CHANNELS.get(patient.preferred_channel, Channel.PHONE)
    if channel == Channel.SMS and not patient.sms_consent:
        channel = Channel.PHONE
    good = next((phone for phone in patient.phones.all() if not phone.is_bad), None)
    now = timezone.now()
    soon = any(
        appointment.status == AppointmentStatus.BOOKED
        and now < appointment.scheduled_at <= now + PREP_CALL_WINDOW
        for appointment in case.appointments.all()
    )
    if soon:
        purpose = Purpose.PREP_CALL
    elif diagnostic_needed:
        purpose = Purpose.RESULT_FOLLOW_UP
    else:
        purpose = Purpose.OUTREACH
    return {
        "channel": channel,
        "phone": good.pk if good else None,
        "purpose": purpose,
    }


def case_page_context(
    request: AuthedRequest, case: NavigationCase, bound: dict[str, EquiNavForm] | None = None
) -> dict[str, Any]:
    """Everything the case page draws: the case, its timeline, panels and their forms
    (`bound` keeps a refused form as it was submitted, with its errors)."""
    bound = bound or {}
    user = request.user
    today = timezone.localdate()
    is_open = case.is_open
    gaps = sorted(care_gaps_for(case.patient), key=lambda gap: gap.program_id != case.program_id)
    follow_up = open_follow_up(case) if is_open else None
    diagnostic = follow_up.next_modality if follow_up is not None else None
    diagnostic_booked = diagnostic is not None and any(
        a.purpose == AppointmentPurpose.DIAGNOSTIC and a.status == AppointmentStatus.BOOKED
        for a in case.appointments.all()
    )
    context: dict[str, Any] = {
        "case": case,
        "patient": case.patient,
        "patient_age": case.patient.age_on(today),
        "phones": list(case.patient.phones.all()),
        "care_gap": gaps[0] if gaps and gaps[0].program_id == case.program_id else None,
        "other_care_gaps": [gap for gap in gaps if gap.program_id != case.program_id],
        "next_channel": (
            Channel(case.next_channel).label if case.next_channel in Channel.values else ""
        ),
        "follow_up_overdue": case.follow_up_overdue(today),
        "timeline": [
            (event, *TIMELINE_KINDS.get(event.kind, ("•", "case"))) for event in case.events.all()
        ],
        "barrier_rows": [
            (barrier, _barrier_form(barrier, bound) if is_open else None)
            for barrier in case.barriers.all()
        ],
        "appointment_rows": [
            (appointment, _appointment_form(appointment, bound) if is_open else None)
            for appointment in case.appointments.all()
        ],
        "interpreter_rows": [
            (interpreter, _interpreter_form(interpreter, bound) if is_open else None)
            for interpreter in case.interpreter_requests.all()
        ],
        "interpreter_needed": case.needs_interpreter or case.patient.interpreter_needed,
        "screenings": case.screenings.all(),
        "kits": case.kits.all(),
        "open_tasks": [
            (task, _task_form(task, bound))
            for task in outreach_selectors.case_tasks_open_on(user=user, case=case)
        ],
        "diagnostic": diagnostic,
        "follow_up": follow_up,
        "follow_up_overdue_result": follow_up is not None and follow_up.overdue(today),
        "follow_up_past_limit": follow_up is not None and follow_up.past_limit(today),
        "follow_ups": list(case.follow_ups.all()),
        "can_act": is_open,
        "can_assign": is_open and has_role(user, Role.MANAGER),
    }
    context |= _lab_trend_context(user, case, context["care_gap"], bound, is_open)
    # A control programme (diabetes) has no screening test, kit or result to record:
    # its work is labs over time and coaching (views/control_case.py).
    is_control = case.program.is_control
    context["is_control"] = is_control
    context |= control_case_context(user, case, bound)
    if is_open:
        # Before any result: the screening itself. After one that calls for a follow-up,
        # only the follow-up's test is booked and recorded.
        awaiting_screening = (
            not is_control and case.status != CaseStatus.COMPLETED and follow_up is None
        )
        context["attempt_form"] = bound.get("attempt") or AttemptForm(
            id_prefix="attempt", case=case, initial=_attempt_initial(case, diagnostic is not None)
        )
        context["interpreter_form"] = bound.get("interpreter") or InterpreterRequestForm(
            id_prefix="interpreter", case=case
        )
        context["note_form"] = bound.get("note") or NoteForm(id_prefix="note")
        context["letter_form"] = bound.get("letter") or LetterMarkForm(id_prefix="letter")
        context["barrier_form"] = bound.get("barrier") or BarrierAddForm(
            id_prefix="barrier", barrier_types=barrier_types_active()
        )
        # A refused form is always shown again, so that its errors are seen.
        # A control case books its lab draws and clinic visits here.
        if awaiting_screening or is_control or "appointment" in bound:
            context["appointment_form"] = bound.get("appointment") or AppointmentBookForm(
                id_prefix="appointment", case=case
            )
        if (diagnostic is not None and not diagnostic_booked) or "diagnostic" in bound:
            context["diagnostic_form"] = bound.get("diagnostic") or AppointmentBookForm(
                id_prefix="diagnostic",
                case=case,
                initial={"purpose": AppointmentPurpose.DIAGNOSTIC, "modality": diagnostic},
            )
        kit_form = bound.get("kit") or KitMailForm(id_prefix="kit", case=case)
        kit_for_follow_up = follow_up is not None and follow_up.next_modality.mailed_kit
        if (
            (awaiting_screening or kit_for_follow_up)
            and cast(KitMailForm, kit_form).has_kits
            or "kit" in bound
        ):
            context["kit_form"] = kit_form
        if follow_up is not None or "follow_up_close" in bound or "follow_up_decision" in bound:
            context["follow_up_close_form"] = bound.get(
                "follow_up_close"
            ) or FollowUpCloseProposeForm(id_prefix="follow_up_close")
            context["follow_up_decision_form"] = bound.get(
                "follow_up_decision"
            ) or FollowUpCloseDecisionForm(id_prefix="follow_up_decision")
            context["can_decide_follow_up"] = has_role(user, Role.MANAGER)
        if awaiting_screening or follow_up is not None or "screening" in bound:
            context["screening_form"] = bound.get("screening") or ScreeningForm(
                id_prefix="screening", case=case
            )
        status_form = bound.get("status") or CaseTransitionForm(id_prefix="status", case=case)
        if status_form.errors or cast(CaseTransitionForm, status_form).has_targets:
            context["status_form"] = status_form
        context["follow_up_form"] = bound.get("follow_up") or FollowUpForm(
            id_prefix="follow_up", initial={"next_follow_up": case.next_follow_up}
        )
        if context["can_assign"]:
            context["assign_form"] = bound.get("assign") or CaseAssignForm(
                id_prefix="assign",
                navigators=navigators_visible_to(user).filter(active=True),
            )
    else:
        # The forms are gone from a closed case; a refusal must still be seen.
        context["closed_errors"] = [
            message
            for form in bound.values()
            for errors in form.errors.values()
            for message in errors
        ]
    return context


def _lab_trend_context(
    user, case: NavigationCase, care_gap, bound: dict[str, EquiNavForm], is_open: bool
) -> dict[str, Any]:
    """A control programme's case: the lab trend, its chart, its numbers in words, and
    (open case) the staff-entered labs, newest first, each with its correction form."""
    trend = case_lab_trend(
        user=user, case=case, next_due_on=care_gap.next_due_on if care_gap else None
    )
    if trend is None:
        return {"lab_trend": None}
    chart = lab_trend_chart(trend)
    fix_rows = [
        (
            reading,
            f"{lab_test_name(reading)} {value_words(reading)}",
            bound.get(f"labfix:{reading.pk}") or LabFixForm(id_prefix=f"labfix{reading.pk}"),
        )
        for reading in reversed(trend.readings)
        if is_open and is_staff_entered(reading.assessment.observation)
    ]
    shown = {f"labfix:{reading.pk}" for reading, _, _ in fix_rows}
    return {
        "lab_trend": trend,
        "lab_chart": render_chart(chart, chart_id="lab-trend-chart") if chart else "",
        "lab_last_words": f"{lab_test_name(trend.last)} {value_words(trend.last)}"
        if trend.last
        else "",
        # A due date passed: overdue, not a date ahead (due today is due, not late).
        "lab_overdue": trend.next_due_on is not None and trend.next_due_on < timezone.localdate(),
        "lab_target_words": f"{trend.target.normalize():f} {trend.unit}",
        "lab_poor_words": f"{trend.poor_control.normalize():f} {trend.unit}",
        "lab_fix_rows": fix_rows,
        # A correction refused for a lab with no row here (an EHR feed's, another
        # patient's, one withdrawn meanwhile): its errors, above the table.
        "lab_fix_errors": [
            message
            for key, form in bound.items()
            if key.startswith("labfix:") and key not in shown
            for errors in form.errors.values()
            for message in errors
        ],
    }


def case_page_render(
    request: AuthedRequest,
    case: NavigationCase,
    *,
    bound: dict[str, EquiNavForm] | None = None,
    notice: str = "",
    notice_at: str = "",
    partial: bool = False,
    status: int = 200,
) -> HttpResponse:
    """The case page, or with `partial` only its main column for an htmx swap."""
    context = case_page_context(request, case, bound)
    context["notice"] = notice
    # The section the notice shows in: where the navigator just acted.
    context["notice_at"] = notice_at if case.is_open or notice_at != "contact" else ""
    template = "navigator/_case_dynamic.html" if partial else "navigator/case_detail.html"
    return render(request, template, context, status=status)


@require_GET
@role_required(*CASE_ROLES)
def case_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return case_page_render(request, case_or_404(request, pk))


def case_action_run(
    request: AuthedRequest,
    case: NavigationCase,
    *,
    key: str,
    form: EquiNavForm,
    perform: Callable[[dict[str, Any]], object],
    notice: str,
    anchor: str,
) -> HttpResponse:
    """Validate `form`, call the one service in `perform`, and answer HTMX or not.

    `perform` gets the cleaned data, whose `version` (the case version the form was
    drawn from) the service checks: a stale form comes back with its input kept and
    what changed, and nothing is saved.
    """
    stale = False
    if form.is_valid():
        try:
            perform(form.cleaned_data)
        except ValidationError as error:
            stale = isinstance(error, StaleCaseError)
            form.add_service_error(error)
        else:
            if request.htmx:
                fresh = case_or_404(request, case.pk)
                return case_page_render(
                    request, fresh, notice=notice, notice_at=anchor, partial=True
                )
            messages.success(request, notice)
            return redirect(reverse("navigator:case_detail", args=[case.pk]) + f"#{anchor}")
    # htmx swaps only 2xx answers, so the partial with its errors is a 200.
    status = 200 if request.htmx else (409 if stale else 400)
    # The page drawn again shows the case as it is now (`case` was read before the
    # attempt), and its forms carry that version: checked, the form can go again.
    return case_page_render(
        request, case, bound={key: form}, partial=bool(request.htmx), status=status
    )
