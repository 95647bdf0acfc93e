"""The case page's outreach panels: closing as unreachable (navigator/_unreachable.html)
and the call guide (outreach/_call_guide.html)."""

from __future__ import annotations

from typing import Any

from django import template

from navigator.cases import ALLOWED_TRANSITIONS
from navigator.models import CaseStatus, NavigationCase, Role
from navigator.permissions import has_role
from outreach.forms import CallGuidePickForm, UnreachableDecisionForm, UnreachableProposeForm
from outreach.selectors import call_guide_for, unreachable_proposal

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


@register.simple_tag(takes_context=True)
def call_guide_panel(context: template.Context, case: NavigationCase) -> dict[str, Any]:
    """The call guide for this moment of the case, in the patient's language; or the
    step and language picked with ?guide_step=&guide_lang= (codes only, no PHI).

    A step or language that is not one is said in the panel, which then shows the
    guide for this moment."""
    request = context.get("request")
    pick = CallGuidePickForm(request.GET if request is not None else {})
    errors: list[str] = []
    if pick.is_valid():
        step, language = pick.cleaned_data["guide_step"], pick.cleaned_data["guide_lang"]
    else:
        errors = [str(message) for field_errors in pick.errors.values() for message in field_errors]
        step = pick.cleaned_data.get("guide_step", "")
        language = pick.cleaned_data.get("guide_lang", "")
    chosen = call_guide_for(case, step or None, language=language.lower() or None)
    return {"pick": chosen, "errors": errors, "open": bool(step or language or errors)}


@register.filter
def guide_lines(text: str) -> list[str]:
    """A guide's text as its lines, without the "- " a manager may start them with."""
    lines = (line.strip() for line in (text or "").splitlines())
    return [line.removeprefix("- ").removeprefix("• ").strip() for line in lines if line]
