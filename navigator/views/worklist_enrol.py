"""The worklist row's "Enrol in the next Spanish-language series" (issue 16): a control
case's patient put in the next group class series in their language with room, over
HTMX (the row's form is swapped for what happened) or, without JavaScript, a plain
POST that goes back to the worklist with a message.

Found through `cases_visible_to` like every case action: a case outside the user's
caseload and the one they cover is not found (404). The one service it calls
(`navigator.services.group_placement.group_enrol_next`) refuses, with nothing
changed, a bad language, a case that is not a control programme's or is closed, a
patient already on a series, or no series with room; the refusal is said in words.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors.visibility import cases_visible_to
from navigator.services.group_placement import group_enrol_next

CARE_TEAM = (Role.NAVIGATOR, Role.MANAGER)
RESULT = "navigator/_worklist_enrol_result.html"


class NextSeriesForm(forms.Form):
    language = forms.CharField(
        max_length=8,
        error_messages={"required": "Say in which language the series should be."},
    )


def _answer(request: AuthedRequest, *, ok: bool, text: str, status: int) -> HttpResponse:
    if request.htmx:
        # htmx swaps only 2xx answers: a refusal in the row is a 200 too.
        return render(request, RESULT, {"ok": ok, "text": text})
    if ok:
        messages.success(request, text)
        return redirect("navigator:worklist")
    return render(request, "navigator/worklist_enrol.html", {"ok": ok, "text": text}, status=status)


@require_POST
@role_required(*CARE_TEAM)
def worklist_group_enrol(request: AuthedRequest, pk: int) -> HttpResponse:
    case = cases_visible_to(request.user).select_related("program").filter(pk=pk).first()
    if case is None:
        raise Http404("No such case.")
    form = NextSeriesForm(request.POST)
    if not form.is_valid():
        text = " ".join(message for errors in form.errors.values() for message in errors)
        return _answer(request, ok=False, text=text, status=400)
    try:
        enrolment = group_enrol_next(
            case=case, language=form.cleaned_data["language"], actor=request.user
        )
    except ValidationError as refused:
        return _answer(request, ok=False, text=" ".join(refused.messages), status=400)
    # No patient's name in a message: a flash message may travel in a cookie.
    text = f"Case #{case.pk}'s patient is enrolled in {enrolment.series.name}."
    return _answer(request, ok=True, text=text, status=200)
