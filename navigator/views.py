"""Server-rendered pages for navigators and managers.

Each page reads through the scoping selectors and each form calls one service.
Action forms post with HTMX and get back the case's dynamic section; without
JavaScript the same forms post normally and redirect back to the case.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from navigator import selectors, services
from navigator import worklist as worklist_rules
from navigator.forms import (
    AppointmentBookForm,
    AppointmentOutcomeForm,
    AttemptForm,
    BarrierAddForm,
    BarrierUpdateForm,
    CaseAssignForm,
    CaseFilterForm,
    CaseTransitionForm,
    CompletionReportForm,
    CoverageForm,
    EquiNavForm,
    FollowUpForm,
    KitMailForm,
    NoteForm,
    RebalanceForm,
    ScreeningForm,
    TaskDoneForm,
    WorklistFilterForm,
    choice,
)
from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentPurpose,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseEventKind,
    CaseStatus,
    NavigationCase,
    NavigatorProfile,
    Role,
)
from navigator.permissions import AuthedRequest, has_role, role_required
from outreach.models import CaseTask, Channel, Purpose
from outreach.selectors import reminders_pending_for, tasks_visible_to
from outreach.services.attempts import attempt_log
from outreach.services.navigator_tasks import case_task_done
from patients.models import PreferredChannel
from patients.selectors import care_gaps_for

PAGE_SIZE = 50
CASE_ROLES = (Role.NAVIGATOR, Role.MANAGER)


# --- Lists ---------------------------------------------------------------------------


def _with_ages(cases, today) -> list[NavigationCase]:
    rows = list(cases)
    for case in rows:
        case.patient_age = case.patient.age_on(today)
    return rows


def _worklist_owner(request: AuthedRequest, form: WorklistFilterForm) -> NavigatorProfile | None:
    """Whose worklist: `?navigator=` (checked), else the navigator's own (None)."""
    navigator_id = form.cleaned_data.get("navigator")
    if navigator_id is None:
        if "navigator" not in form.errors and not request.user.is_navigator:
            raise PermissionDenied("Managers open a navigator's worklist from the team view.")
        return None
    owner = selectors.worklist_owner(user=request.user, navigator_id=navigator_id)
    if owner is None:
        # Not found and not yours look the same: a navigator learns nothing of others.
        raise Http404("No such navigator's worklist for you.")
    return owner


@require_GET
@role_required(Role.NAVIGATOR, Role.MANAGER)
def worklist(request: AuthedRequest) -> HttpResponse:
    """Open cases, most urgent first, each row saying why (rules: navigator.worklist).

    Managers open any navigator's list with `?navigator=<id>`; a navigator may
    open a colleague's only while covering for them. The filter form swaps the
    list in place with htmx, and works as a plain GET form without it.
    """
    form = WorklistFilterForm(request.GET, id_prefix="worklist")
    valid = form.is_valid()
    owner = _worklist_owner(request, form)
    moment = worklist_rules.Moment.current()
    navigators = selectors.worklist_navigators(user=request.user, navigator=owner, on=moment.today)
    cases = (
        selectors.worklist_for(
            user=request.user, navigators=navigators, filters=form.filters(), moment=moment
        )
        if valid
        else NavigationCase.objects.none()
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    sort = form.cleaned_data.get("sort") or worklist_rules.DEFAULT_SORT
    context = {
        "form": form,
        "page": page,
        "cases": selectors.worklist_rows(page, user=request.user, navigator=owner, moment=moment),
        "owner": owner,
        "own_list": owner is None or owner.user_id == request.user.pk,
        "sort": worklist_rules.SORTS[sort],
        "today": moment.today,
    }
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    if partial:
        # htmx swaps only 2xx answers, so the list with its errors is a 200.
        response = render(request, "navigator/_worklist_results.html", context)
    else:
        context["reminders"] = list(
            reminders_pending_for(owner.user if owner else request.user)[:PAGE_SIZE]
        )
        context["covered"] = [n for n in navigators if n.covered_until is not None]
        # The navigators' own tasks due by today (escalations are the managers').
        context["tasks"] = list(
            CaseTask.objects.filter(
                for_manager=False,
                done_at=None,
                case__status__in=sorted(OPEN_STATUSES),
                due_on__lte=moment.today,
                case__navigator__in=navigators,
                case__in=selectors.cases_visible_to(request.user),
            )
            .select_related("case__patient")
            .order_by("due_on", "pk")[:PAGE_SIZE]
        )
        response = render(request, "navigator/worklist.html", context, status=200 if valid else 400)
    # The same URL answers a page or (to htmx) a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@role_required(Role.MANAGER)
def case_list(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    navigators = selectors.navigators_visible_to(request.user)
    form = CaseFilterForm(request.GET, navigators=navigators, id_prefix="filter")
    cases = selectors.case_list(user=request.user)
    status = 200
    if form.is_valid():
        if form.cleaned_data["status"]:
            cases = cases.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["program"]:
            cases = cases.filter(program=form.cleaned_data["program"])
        if form.cleaned_data["navigator"]:
            cases = cases.filter(navigator=form.cleaned_data["navigator"])
        if form.cleaned_data["unreachable_proposed"]:
            cases = cases.filter(status__in=OPEN_STATUSES, unreachable_proposed_at__isnull=False)
    else:
        cases, status = cases.none(), 400
    page = Paginator(cases.order_by("-opened_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "navigator/case_list.html",
        {"form": form, "page": page, "cases": _with_ages(page, today), "today": today},
        status=status,
    )


# --- The case page ----------------------------------------------------------------------


def _get_case(request: AuthedRequest, pk: int) -> NavigationCase:
    try:
        return selectors.case_detail(user=request.user, case_id=pk)
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
    return AppointmentOutcomeForm(id_prefix=f"appointment{appointment.pk}")


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
PREP_CALL_DAYS = 7

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
    CaseEventKind.NOTE: ("✎", "note"),
    CaseEventKind.MESSAGE_SUPPRESSED: ("✉", "barrier"),
    CaseEventKind.MESSAGE_FAILED: ("✉", "barrier"),
    CaseEventKind.INBOUND_MESSAGE: ("✉", "contact"),
    CaseEventKind.SMS_OPT_OUT: ("⊘", "barrier"),
    CaseEventKind.SMS_OPT_IN: ("✓", "contact"),
    CaseEventKind.KIT_MAILED: ("✉", "appointment"),
    CaseEventKind.TASK_CREATED: ("!", "case"),
    CaseEventKind.TASK_DONE: ("✓", "case"),
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
        and now < appointment.scheduled_at <= now + dt.timedelta(days=PREP_CALL_DAYS)
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
        "interpreter_used": case.needs_interpreter or patient.interpreter_needed,
    }


def _case_context(
    request: AuthedRequest, case: NavigationCase, bound: dict[str, EquiNavForm] | None = None
) -> dict[str, Any]:
    bound = bound or {}
    user = request.user
    today = timezone.localdate()
    is_open = case.is_open
    gaps = sorted(care_gaps_for(case.patient), key=lambda gap: gap.program_id != case.program_id)
    diagnostic = services.diagnostic_follow_up_needed(case) if is_open else None
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
        "screenings": case.screenings.all(),
        "kits": case.kits.all(),
        "open_tasks": [
            (task, _task_form(task, bound))
            for task in CaseTask.objects.filter(tasks_visible_to(user), case=case, done_at=None)
        ],
        "diagnostic": diagnostic,
        "can_act": is_open,
        "can_assign": is_open and has_role(user, Role.MANAGER),
    }
    if is_open:
        awaiting_screening = case.status != CaseStatus.COMPLETED
        context["attempt_form"] = bound.get("attempt") or AttemptForm(
            id_prefix="attempt", case=case, initial=_attempt_initial(case, diagnostic is not None)
        )
        context["note_form"] = bound.get("note") or NoteForm(id_prefix="note")
        context["barrier_form"] = bound.get("barrier") or BarrierAddForm(
            id_prefix="barrier", barrier_types=BarrierType.objects.filter(active=True)
        )
        # A refused form is always shown again, so that its errors are seen.
        if awaiting_screening or "appointment" in bound:
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
        if awaiting_screening and cast(KitMailForm, kit_form).has_kits or "kit" in bound:
            context["kit_form"] = kit_form
        if awaiting_screening or "screening" in bound:
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
                navigators=selectors.navigators_visible_to(user).filter(active=True),
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


def _render_case(
    request: AuthedRequest,
    case: NavigationCase,
    *,
    bound: dict[str, EquiNavForm] | None = None,
    notice: str = "",
    notice_at: str = "",
    partial: bool = False,
    status: int = 200,
) -> HttpResponse:
    context = _case_context(request, case, bound)
    context["notice"] = notice
    # The section the notice shows in: where the navigator just acted.
    context["notice_at"] = notice_at if case.is_open or notice_at != "contact" else ""
    template = "navigator/_case_dynamic.html" if partial else "navigator/case_detail.html"
    return render(request, template, context, status=status)


@require_GET
@role_required(*CASE_ROLES)
def case_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _render_case(request, _get_case(request, pk))


def _case_action(
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
            stale = isinstance(error, services.StaleCaseError)
            form.add_service_error(error)
        else:
            if request.htmx:
                fresh = _get_case(request, case.pk)
                return _render_case(request, fresh, notice=notice, notice_at=anchor, partial=True)
            messages.success(request, notice)
            return redirect(reverse("navigator:case_detail", args=[case.pk]) + f"#{anchor}")
    # htmx swaps only 2xx answers, so the partial with its errors is a 200.
    status = 200 if request.htmx else (409 if stale else 400)
    # The page drawn again shows the case as it is now (`case` was read before the
    # attempt), and its forms carry that version: checked, the form can go again.
    return _render_case(request, case, bound={key: form}, partial=bool(request.htmx), status=status)


@require_POST
@role_required(*CASE_ROLES)
def attempt_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    return _case_action(
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
def note_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="note",
        form=NoteForm(request.POST, id_prefix="note"),
        perform=lambda data: services.case_note_add(
            case=case, text=data["text"], actor=request.user, expected_version=data["version"]
        ),
        notice="Note added.",
        anchor="timeline",
    )


@require_POST
@role_required(*CASE_ROLES)
def barrier_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="barrier",
        form=BarrierAddForm(
            request.POST,
            id_prefix="barrier",
            barrier_types=BarrierType.objects.filter(active=True),
        ),
        perform=lambda data: services.barrier_add(
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
    case = _get_case(request, pk)
    barrier = selectors.barriers_visible_to(request.user).filter(case=case, pk=barrier_id).first()
    if barrier is None:
        raise Http404("No such barrier on this case.")
    return _case_action(
        request,
        case,
        key=f"barrier:{barrier.pk}",
        form=BarrierUpdateForm(request.POST, id_prefix=f"barrier{barrier.pk}"),
        perform=lambda data: services.barrier_update(
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
    case = _get_case(request, pk)
    diagnostic = request.POST.get("purpose") == AppointmentPurpose.DIAGNOSTIC
    key = "diagnostic" if diagnostic else "appointment"
    return _case_action(
        request,
        case,
        key=key,
        form=AppointmentBookForm(request.POST, id_prefix=key, case=case),
        perform=lambda data: services.appointment_book(
            case=case,
            scheduled_at=data["scheduled_at"],
            site=data["site"],
            modality=data["modality"],
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
    case = _get_case(request, pk)
    appointment = (
        selectors.appointments_visible_to(request.user).filter(case=case, pk=appointment_id).first()
    )
    if appointment is None:
        raise Http404("No such appointment on this case.")
    return _case_action(
        request,
        case,
        key=f"appointment:{appointment.pk}",
        form=AppointmentOutcomeForm(request.POST, id_prefix=f"appointment{appointment.pk}"),
        perform=lambda data: services.appointment_set_status(
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
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="screening",
        form=ScreeningForm(request.POST, id_prefix="screening", case=case),
        perform=lambda data: services.case_record_screening(
            case=case,
            modality=data["modality"],
            performed_on=data["performed_on"],
            result=data["result"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Screening recorded; the case is completed.",
        anchor="screenings",
    )


@require_POST
@role_required(*CASE_ROLES)
def case_transition(request: AuthedRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="status",
        form=CaseTransitionForm(request.POST, id_prefix="status", case=case),
        perform=lambda data: services.case_transition(
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
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="follow_up",
        form=FollowUpForm(request.POST, id_prefix="follow_up"),
        perform=lambda data: services.case_set_follow_up(
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
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="assign",
        form=CaseAssignForm(
            request.POST,
            id_prefix="assign",
            navigators=selectors.navigators_visible_to(request.user).filter(active=True),
        ),
        perform=lambda data: services.case_assign(
            case=case,
            navigator=data["navigator"],
            actor=request.user,
            reason=f"reassigned by {services.actor_name(request.user)}",
            expected_version=data["version"],
        ),
        notice="Case reassigned.",
        anchor="case-summary",
    )


# --- Report --------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _display_row(row: selectors.RateRow) -> dict[str, Any]:
    interval = row.interval
    return {
        "label": row.label,
        "opened": row.opened,
        "completed": row.completed,
        "rate": _percent(row.rate),
        "interval": (f"{interval[0] * 100:.1f}–{interval[1] * 100:.1f}%" if interval else "—"),
        "small_group": row.small_group,
    }


@require_GET
@role_required(Role.MANAGER)
def report(request: AuthedRequest) -> HttpResponse:
    form = CompletionReportForm(request.GET, id_prefix="report")
    context: dict[str, Any] = {"form": form, "small_group_size": selectors.SMALL_GROUP}
    if not form.is_valid():
        return render(request, "navigator/report.html", context, status=400)
    program = form.cleaned_data["program"]
    result = selectors.completion_report(
        start=form.cleaned_data["start"],
        end=form.cleaned_data["end"],
        program_id=program.pk if program else None,
    )
    sections = [
        ("program", "By program", "Program", result.by_program),
        ("navigator", "By navigator", "Navigator", result.by_navigator),
        ("race", "By race and ethnicity", "Race or ethnicity", result.by_race_ethnicity),
        ("language", "By preferred language", "Language", result.by_language),
    ]
    context.update(
        report=result,
        program=program,
        definition=result.as_dict()["definition"],
        overall_rows=[_display_row(result.overall)],
        sections=[
            {"id": key, "title": title, "column": column, "rows": [_display_row(r) for r in rows]}
            for key, title, column, rows in sections
        ],
    )
    return render(request, "navigator/report.html", context)


# --- Team: overview, rebalancing, covering ---------------------------------------------------


def _team_context(
    request: AuthedRequest,
    *,
    rebalance_form: RebalanceForm | None = None,
    coverage_form: CoverageForm | None = None,
) -> dict[str, Any]:
    today = timezone.localdate()
    active = selectors.navigators_visible_to(request.user).filter(active=True)
    return {
        "navigators": selectors.team_overview(user=request.user, today=today),
        "today": today,
        "week_start": selectors.week_start(today),
        "rebalance_form": rebalance_form
        or RebalanceForm(
            id_prefix="rebalance",
            navigators=active,
            initial={"from_navigator": request.GET.get("from")},
        ),
        "coverage_form": coverage_form
        or CoverageForm(id_prefix="coverage", absent_choices=active, colleagues=active),
        "coverages": selectors.coverages_for(user=request.user).filter(
            cancelled_at=None, ends_on__gte=today
        ),
    }


@require_GET
@role_required(Role.MANAGER)
def team(request: AuthedRequest) -> HttpResponse:
    return render(request, "navigator/team.html", _team_context(request))


@require_POST
@role_required(Role.MANAGER)
def navigator_rebalance(request: AuthedRequest) -> HttpResponse:
    form = RebalanceForm(
        request.POST,
        id_prefix="rebalance",
        navigators=selectors.navigators_visible_to(request.user).filter(active=True),
    )
    if form.is_valid():
        try:
            rebalance = services.navigator_rebalance(
                from_navigator=form.cleaned_data["from_navigator"],
                actor=request.user,
                count=form.cleaned_data["count"],
                to_navigators=list(form.cleaned_data["to_navigators"]) or None,
                deactivate=form.cleaned_data["deactivate"],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, rebalance.summary + ".")
            return redirect("navigator:team")
    context = _team_context(request, rebalance_form=form)
    return render(request, "navigator/team.html", context, status=400)


def _coverage_forms(request: AuthedRequest, data=None) -> CoverageForm:
    user = request.user
    active = NavigatorProfile.objects.filter(active=True).select_related("user")
    absent_choices = active if user.sees_all_cases else active.filter(user=user)
    return CoverageForm(
        data,
        id_prefix="coverage",
        absent_choices=absent_choices,
        colleagues=active,
        initial={"absent": absent_choices.first()} if not user.sees_all_cases else None,
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.NAVIGATOR, Role.MANAGER)
def coverage(request: AuthedRequest) -> HttpResponse:
    """A navigator hands on their caseload while away; a manager anyone's."""
    form = _coverage_forms(request, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = services.coverage_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(
                    request,
                    f"{created.covering} covers {created.absent}'s cases from "
                    f"{created.starts_on:%Y-%m-%d} to {created.ends_on:%Y-%m-%d}.",
                )
                return redirect("navigator:coverage")
        status = 400
    coverages = selectors.coverages_for(user=request.user).filter(
        cancelled_at=None, ends_on__gte=timezone.localdate()
    )
    return render(
        request,
        "navigator/coverage.html",
        {"form": form, "coverages": coverages, "today": timezone.localdate()},
        status=status,
    )


@require_POST
@role_required(Role.NAVIGATOR, Role.MANAGER)
def coverage_cancel(request: AuthedRequest, coverage_id: int) -> HttpResponse:
    found = selectors.coverages_for(user=request.user).filter(pk=coverage_id).first()
    if found is None:
        raise Http404("No such cover.")
    try:
        services.coverage_cancel(coverage=found, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Cover by {found.covering} ended.")
    back = "navigator:team" if request.POST.get("next") == "team" else "navigator:coverage"
    return redirect(back)


@require_POST
@role_required(*CASE_ROLES)
def kit_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="kit",
        form=KitMailForm(request.POST, id_prefix="kit", case=case),
        perform=lambda data: services.kit_mail(
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
    case = _get_case(request, pk)
    task = (
        CaseTask.objects.filter(tasks_visible_to(request.user), case=case)
        .filter(pk=_posted_id(request.POST.get("task")))
        .first()
    )
    if task is None:
        raise Http404("No such task on this case.")
    return _case_action(
        request,
        case,
        key=f"task:{task.pk}",
        form=TaskDoneForm(request.POST, id_prefix=f"task{task.pk}"),
        perform=lambda data: case_task_done(task=task, actor=request.user, note=data["note"]),
        notice="Task done.",
        # The task leaves the list: the notice shows where its "done" entry appears.
        anchor="timeline",
    )
