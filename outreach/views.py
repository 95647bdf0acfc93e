"""Outreach pages: the unreachable proposal's decisions, letters, and protocol editing.

The case actions answer like the case page's own (navigator.views): an HTMX post
gets the case's dynamic section back, a plain post a redirect to the case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from navigator.cases import StaleCaseError
from navigator.forms.base import CaseForm
from navigator.forms.case_actions import LetterMarkForm
from navigator.models import CASEWORK_ROLES, NavigationCase, Role
from navigator.permissions import AuthedRequest, role_required
from navigator.views.case_page import (
    case_action_run,
    case_or_404,
    case_page_context,
    case_page_render,
)
from outreach import selectors
from outreach.forms import (
    ProtocolForm,
    StepFormSet,
    UnreachableDecisionForm,
    UnreachableProposeForm,
)
from outreach.letters.case_letter import LetterError, letter_compose, letter_pdf
from outreach.letters.printed import letter_mark
from outreach.services import protocols, unreachable

CASE_ROLES = (*CASEWORK_ROLES, Role.MANAGER)


# --- Closing as unreachable ------------------------------------------------------------


def _unreachable_action(
    request: AuthedRequest,
    pk: int,
    *,
    form: CaseForm,
    perform: Callable[[NavigationCase, dict[str, Any]], object],
    notice: str,
) -> HttpResponse:
    """Validate, call one service, answer as the case page's actions do.

    A refusal comes back on the unreachable panel (`unreachable_form`), or, on a
    case closed meanwhile, at the top of the case with the other refusals.
    """
    case = case_or_404(request, pk)
    stale = False
    if form.is_valid():
        try:
            perform(case, form.cleaned_data)
        except ValidationError as error:
            stale = isinstance(error, StaleCaseError)
            form.add_service_error(error)
        else:
            if request.htmx:
                fresh = case_or_404(request, pk)
                # The notice shows on the panel while it stays, else at the top.
                at = "unreachable" if fresh.is_open and fresh.unreachable_proposed_at else ""
                return case_page_render(request, fresh, notice=notice, notice_at=at, partial=True)
            messages.success(request, notice)
            return redirect(reverse("navigator:case_detail", args=[pk]) + "#unreachable")
    # htmx swaps only 2xx answers, so the partial with its errors is a 200.
    status = 200 if request.htmx else (409 if stale else 400)
    context = case_page_context(request, case, {"unreachable": form})
    context["unreachable_form"] = form
    template = "navigator/_case_dynamic.html" if request.htmx else "navigator/case_detail.html"
    return render(request, template, context, status=status)


@require_POST
@role_required(*CASE_ROLES)
def unreachable_propose(request: AuthedRequest, pk: int) -> HttpResponse:
    return _unreachable_action(
        request,
        pk,
        form=UnreachableProposeForm(request.POST, id_prefix="unreachable"),
        perform=lambda case, data: unreachable.case_unreachable_propose(
            case=case, note=data["note"], actor=request.user, expected_version=data["version"]
        ),
        notice="Proposed for closing as unreachable; a manager decides.",
    )


@require_POST
@role_required(Role.MANAGER)
def unreachable_confirm(request: AuthedRequest, pk: int) -> HttpResponse:
    return _unreachable_action(
        request,
        pk,
        form=UnreachableDecisionForm(request.POST, id_prefix="unreachable"),
        perform=lambda case, data: unreachable.case_unreachable_confirm(
            case=case, note=data["note"], actor=request.user, expected_version=data["version"]
        ),
        notice="Case closed as unreachable.",
    )


@require_POST
@role_required(Role.MANAGER)
def unreachable_dismiss(request: AuthedRequest, pk: int) -> HttpResponse:
    return _unreachable_action(
        request,
        pk,
        form=UnreachableDecisionForm(request.POST, id_prefix="unreachable"),
        perform=lambda case, data: unreachable.case_unreachable_dismiss(
            case=case, note=data["note"], actor=request.user, expected_version=data["version"]
        ),
        notice="Kept open: the outreach goes on.",
    )


# --- Letters ---------------------------------------------------------------------------


@require_GET
@role_required(*CASE_ROLES)
def case_letter(request: AuthedRequest, pk: int) -> HttpResponse:
    """The case's outreach letter as a PDF, in the patient's language. Looking at it
    records nothing: marking it printed or mailed is `case_letter_mark`."""
    case = selectors.case_for_letter(user=request.user, case_id=pk)
    if case is None:
        raise Http404("No such case.")
    try:
        letter = letter_compose(case, today=timezone.localdate())
        pdf = letter_pdf(letter, title=f"Outreach letter, case {case.pk}")
    except LetterError as error:
        return render(
            request,
            "outreach/letter_refused.html",
            {"case": case, "message": str(error)},
            status=409,
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    # The case number only: a file name travels (downloads folder, print queue).
    response["Content-Disposition"] = f'inline; filename="letter-case-{case.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@role_required(*CASE_ROLES)
def case_letter_mark(request: AuthedRequest, pk: int) -> HttpResponse:
    """Record on the timeline that the case's letter was printed, or mailed."""
    case = case_or_404(request, pk)
    step = request.POST.get("step", "")
    return case_action_run(
        request,
        case,
        key="letter",
        form=LetterMarkForm(request.POST, id_prefix="letter"),
        perform=lambda data: letter_mark(case=case, step=data["step"], actor=request.user),
        notice=f"Letter marked {'mailed' if step == 'mailed' else 'printed'}.",
        anchor="contact",
    )


# --- Protocols -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def program_protocol(request: AuthedRequest, code: str) -> HttpResponse:
    """A program's outreach cadence and thresholds; POST replaces them, all or nothing."""
    program = selectors.program_by_code(code)
    if program is None:
        raise Http404("No such program.")
    protocol = selectors.protocol_for(program.pk)
    status = 200
    if request.method == "POST":
        form = ProtocolForm(request.POST, id_prefix="protocol")
        steps = StepFormSet(request.POST, prefix="steps")
        if form.is_valid() and steps.is_valid():
            try:
                changed = protocols.protocol_update(
                    program=program,
                    actor=request.user,
                    steps=steps.steps(),
                    **form.cleaned_data,
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                if changed is None:
                    messages.info(request, "Nothing changed.")
                else:
                    messages.success(
                        request,
                        f"{program.name} protocol saved; it applies from the next attempt logged.",
                    )
                return redirect("outreach:program_protocol", code=program.code)
        status = 400
    else:
        form = ProtocolForm.for_protocol(protocol, id_prefix="protocol")
        steps = StepFormSet(
            prefix="steps",
            initial=[
                {"order": s.order, "day": s.day, "channel": s.channel}
                for s in (protocol.steps.all() if protocol else [])
            ],
        )
    return render(
        request,
        "outreach/program_protocol.html",
        {
            "program": program,
            "protocol": protocol,
            "form": form,
            "steps": steps,
            "history": selectors.protocol_history(protocol) if protocol else [],
            "default_days": settings.EQUINAV_FOLLOW_UP_DAYS_NOT_REACHED,
        },
        status=status,
    )
