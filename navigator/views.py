"""Server-rendered pages for navigators and managers.

Each page reads through the scoping selectors and each form calls one service.
Action forms post with HTMX and get back the case's dynamic section; without
JavaScript the same forms post normally and redirect back to the case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from navigator import selectors, services
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
    EquiNavForm,
    FollowUpForm,
    ScreeningForm,
    choice,
)
from navigator.models import (
    Appointment,
    AppointmentStatus,
    BarrierStatus,
    BarrierType,
    CaseBarrier,
    CaseStatus,
    NavigationCase,
    Role,
)
from navigator.permissions import AuthedRequest, has_role, role_required
from outreach.selectors import reminders_pending_for
from outreach.services import attempt_log

PAGE_SIZE = 50
CASE_ROLES = (Role.NAVIGATOR, Role.MANAGER)


# --- Lists ---------------------------------------------------------------------------


def _with_ages(cases, today) -> list[NavigationCase]:
    rows = list(cases)
    for case in rows:
        case.patient_age = case.patient.age_on(today)
    return rows


@require_GET
@role_required(Role.NAVIGATOR)
def worklist(request: AuthedRequest) -> HttpResponse:
    today = timezone.localdate()
    page = Paginator(selectors.worklist_for(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    reminders = list(reminders_pending_for(request.user)[:PAGE_SIZE])
    return render(
        request,
        "navigator/worklist.html",
        {
            "page": page,
            "cases": _with_ages(page, today),
            "reminders": reminders,
            "today": today,
        },
    )


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
        following = (
            BarrierStatus.ACTION_TAKEN
            if barrier.status == BarrierStatus.IDENTIFIED
            else BarrierStatus.RESOLVED
        )
        form = BarrierUpdateForm(id_prefix=f"barrier{barrier.pk}", initial={"status": following})
    # Offer only the steps forward; the service refuses a step back anyway.
    order = list(BarrierStatus.values)
    choice(form, "status").widget.choices = [
        (value, label)
        for value, label in BarrierStatus.choices
        if order.index(value) >= order.index(barrier.status)
    ]
    return form


def _appointment_form(
    appointment: Appointment, bound: dict[str, EquiNavForm]
) -> EquiNavForm | None:
    key = f"appointment:{appointment.pk}"
    if key in bound:
        return bound[key]
    if appointment.status != AppointmentStatus.BOOKED:
        return None
    return AppointmentOutcomeForm(id_prefix=f"appointment{appointment.pk}")


def _case_context(
    request: AuthedRequest, case: NavigationCase, bound: dict[str, EquiNavForm] | None = None
) -> dict[str, Any]:
    bound = bound or {}
    user = request.user
    today = timezone.localdate()
    is_open = case.is_open
    context: dict[str, Any] = {
        "case": case,
        "patient": case.patient,
        "patient_age": case.patient.age_on(today),
        "follow_up_overdue": case.follow_up_overdue(today),
        "events": case.events.all(),
        "barrier_rows": [
            (barrier, _barrier_form(barrier, bound) if is_open else None)
            for barrier in case.barriers.all()
        ],
        "appointment_rows": [
            (appointment, _appointment_form(appointment, bound) if is_open else None)
            for appointment in case.appointments.all()
        ],
        "screenings": case.screenings.all(),
        "can_act": is_open,
        "can_assign": is_open and has_role(user, Role.MANAGER),
    }
    if is_open:
        awaiting_screening = case.status != CaseStatus.COMPLETED
        context["attempt_form"] = bound.get("attempt") or AttemptForm(
            id_prefix="attempt", initial={"interpreter_used": case.needs_interpreter}
        )
        context["barrier_form"] = bound.get("barrier") or BarrierAddForm(
            id_prefix="barrier", barrier_types=BarrierType.objects.filter(active=True)
        )
        # A refused form is always shown again, so that its errors are seen.
        if awaiting_screening or "appointment" in bound:
            context["appointment_form"] = bound.get("appointment") or AppointmentBookForm(
                id_prefix="appointment", case=case
            )
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
    partial: bool = False,
    status: int = 200,
) -> HttpResponse:
    context = _case_context(request, case, bound)
    context["notice"] = notice
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
    """Validate `form`, call the one service in `perform`, and answer HTMX or not."""
    if form.is_valid():
        try:
            perform(form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if request.htmx:
                fresh = _get_case(request, case.pk)
                return _render_case(request, fresh, notice=notice, partial=True)
            messages.success(request, notice)
            return redirect(reverse("navigator:case_detail", args=[case.pk]) + f"#{anchor}")
    # htmx swaps only 2xx answers, so the partial with its errors is a 200.
    return _render_case(
        request,
        case,
        bound={key: form},
        partial=bool(request.htmx),
        status=200 if request.htmx else 400,
    )


@require_POST
@role_required(*CASE_ROLES)
def attempt_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="attempt",
        form=AttemptForm(request.POST, id_prefix="attempt"),
        perform=lambda data: attempt_log(
            case=case,
            channel=data["channel"],
            direction=data["direction"],
            outcome=data["outcome"],
            interpreter_used=data["interpreter_used"],
            note=data["note"],
            next_follow_up=data["next_follow_up"],
            actor=request.user,
        ),
        notice="Contact attempt logged.",
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
            barrier=barrier, status=data["status"], action=data["action"], actor=request.user
        ),
        notice="Barrier updated.",
        anchor="barriers",
    )


@require_POST
@role_required(*CASE_ROLES)
def appointment_create(request: AuthedRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    return _case_action(
        request,
        case,
        key="appointment",
        form=AppointmentBookForm(request.POST, id_prefix="appointment", case=case),
        perform=lambda data: services.appointment_book(
            case=case,
            scheduled_at=data["scheduled_at"],
            site=data["site"],
            modality=data["modality"],
            note=data["note"],
            actor=request.user,
        ),
        notice="Appointment booked.",
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
            appointment=appointment, status=data["status"], actor=request.user
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
            case=case, to_status=data["status"], note=data["note"], actor=request.user
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
            case=case, on=data["next_follow_up"], actor=request.user
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
            case=case, navigator=data["navigator"], actor=request.user, reason="reassigned"
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
