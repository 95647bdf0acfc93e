"""The team view (each navigator's week), rebalancing cases, and covering a
colleague's caseload."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from navigator.forms.team import CoverageForm, RebalanceForm
from navigator.models import CASEWORK_ROLES, Role
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors.team import navigators_active, team_overview, week_start
from navigator.selectors.visibility import coverages_for, navigators_visible_to
from navigator.services import assignment as assignment_services
from navigator.services import coverage as coverage_services


def _team_context(
    request: AuthedRequest,
    *,
    rebalance_form: RebalanceForm | None = None,
    coverage_form: CoverageForm | None = None,
) -> dict[str, Any]:
    today = timezone.localdate()
    active = navigators_visible_to(request.user).filter(active=True)
    return {
        "navigators": team_overview(user=request.user, today=today),
        "today": today,
        "week_start": week_start(today),
        "rebalance_form": rebalance_form
        or RebalanceForm(
            id_prefix="rebalance",
            navigators=active,
            initial={"from_navigator": request.GET.get("from")},
        ),
        "coverage_form": coverage_form
        or CoverageForm(id_prefix="coverage", absent_choices=active, colleagues=active),
        "coverages": coverages_for(user=request.user).filter(cancelled_at=None, ends_on__gte=today),
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
        navigators=navigators_visible_to(request.user).filter(active=True),
    )
    if form.is_valid():
        try:
            rebalance = assignment_services.navigator_rebalance(
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
    active = navigators_active()
    absent_choices = active if user.sees_all_cases else active.filter(user=user)
    return CoverageForm(
        data,
        id_prefix="coverage",
        absent_choices=absent_choices,
        colleagues=active,
        initial={"absent": absent_choices.first()} if not user.sees_all_cases else None,
    )


@require_http_methods(["GET", "POST"])
@role_required(*CASEWORK_ROLES, Role.MANAGER)
def coverage(request: AuthedRequest) -> HttpResponse:
    """A navigator hands on their caseload while away; a manager anyone's."""
    form = _coverage_forms(request, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = coverage_services.coverage_create(actor=request.user, **form.cleaned_data)
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
    coverages = coverages_for(user=request.user).filter(
        cancelled_at=None, ends_on__gte=timezone.localdate()
    )
    return render(
        request,
        "navigator/coverage.html",
        {"form": form, "coverages": coverages, "today": timezone.localdate()},
        status=status,
    )


@require_POST
@role_required(*CASEWORK_ROLES, Role.MANAGER)
def coverage_cancel(request: AuthedRequest, coverage_id: int) -> HttpResponse:
    found = coverages_for(user=request.user).filter(pk=coverage_id).first()
    if found is None:
        raise Http404("No such cover.")
    try:
        coverage_services.coverage_cancel(coverage=found, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Cover by {found.covering} ended.")
    back = "navigator:team" if request.POST.get("next") == "team" else "navigator:coverage"
    return redirect(back)
