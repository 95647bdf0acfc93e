"""The unreachable panel on the case page (navigator/_unreachable.html)."""

from __future__ import annotations

from typing import Any

from django import template

from navigator.cases import ALLOWED_TRANSITIONS
from navigator.models import CaseStatus, NavigationCase, Role
from navigator.permissions import has_role
from outreach.forms import UnreachableDecisionForm, UnreachableProposeForm
from outreach.selectors import unreachable_proposal

register = template.Library()


@register.simple_tag(takes_context=True)
def unreachable_panel(context: template.Context, case: NavigationCase) -> dict[str, Any]:
    """What the panel shows: the proposal (if any), who may decide, and its form.

    A form refused by the service comes back as `unreachable_form`, with its errors.
    """
    bound = context.get("unreachable_form")
    can_propose = CaseStatus.CLOSED_UNREACHABLE in ALLOWED_TRANSITIONS[case.status]
    # A proposal made before the screening was recorded no longer applies.
    proposed = case.unreachable_proposed_at is not None and can_propose
    form_class = UnreachableDecisionForm if proposed else UnreachableProposeForm
    form = bound if isinstance(bound, form_class) else form_class(id_prefix="unreachable")
    return {
        "proposal": unreachable_proposal(case),
        "proposed": proposed,
        "can_decide": has_role(context["user"], Role.MANAGER),
        "can_propose": can_propose,
        "form": form,
    }
