"""The safety net's actions on the case page (propose closing a case whose result is
unresolved; a manager confirms or keeps it open) and the managers' list of every
result that called for a follow-up."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from navigator.forms.follow_ups import FollowUpCloseDecisionForm, FollowUpCloseProposeForm
from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors.follow_ups import follow_up_board
from navigator.services import follow_ups
from navigator.views.case_page import CASE_ROLES, case_action_run, case_or_404


@require_POST
@role_required(*CASE_ROLES)
def follow_up_close_propose(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="follow_up_close",
        form=FollowUpCloseProposeForm(request.POST, id_prefix="follow_up_close"),
        perform=lambda data: follow_ups.follow_up_close_propose(
            case=case,
            reason=data["reason"],
            note=data["note"],
            actor=request.user,
            expected_version=data["version"],
        ),
        notice="Closing proposed: a program manager confirms it or keeps the case open.",
        anchor="result-follow-up",
    )


@require_POST
@role_required(Role.MANAGER)
def follow_up_close_confirm(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="follow_up_decision",
        form=FollowUpCloseDecisionForm(request.POST, id_prefix="follow_up_decision"),
        perform=lambda data: follow_ups.follow_up_close_confirm(
            case=case, actor=request.user, expected_version=data["version"]
        ),
        notice="Case closed without the follow-up, for the reason given.",
        anchor="result-follow-up",
    )


@require_POST
@role_required(Role.MANAGER)
def follow_up_close_dismiss(request: AuthedRequest, pk: int) -> HttpResponse:
    case = case_or_404(request, pk)
    return case_action_run(
        request,
        case,
        key="follow_up_decision",
        form=FollowUpCloseDecisionForm(request.POST, id_prefix="follow_up_decision"),
        perform=lambda data: follow_ups.follow_up_close_dismiss(
            case=case, actor=request.user, note=data["note"], expected_version=data["version"]
        ),
        notice="Kept open: the follow-up is still needed.",
        anchor="result-follow-up",
    )


@require_GET
@role_required(Role.MANAGER)
def follow_up_list(request: AuthedRequest) -> HttpResponse:
    """Every result that called for a follow-up: open ones by days since the result,
    overdue first, with the counts on top; then those done or closed lately."""
    board = follow_up_board(user=request.user, today=timezone.localdate())
    return render(request, "navigator/follow_ups.html", {"board": board})
