"""Call guides: the managers' pages that write them. The case page's panel that shows
the one for this moment of a case is `outreach.templatetags.outreach_tags.call_guide_panel`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from outreach import selectors
from outreach.forms import CallGuideForm, CallGuideNewForm
from outreach.models import CallStep
from outreach.services.call_guides import call_guide_create, call_guide_update
from patients.languages import language_name
from patients.models import ScreeningProgram


def _program_or_404(code: str) -> ScreeningProgram:
    program = selectors.program_by_code(code)
    if program is None:
        raise Http404("No such program.")
    return program


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def call_guide_list(request: AuthedRequest, code: str) -> HttpResponse:
    """A program's call guides by step and language; POST adds one."""
    program = _program_or_404(code)
    status = 200
    if request.method == "POST":
        form = CallGuideNewForm(request.POST, id_prefix="new")
        if form.is_valid():
            data = form.cleaned_data
            try:
                guide = call_guide_create(
                    program=program,
                    step=data["step"],
                    language=data["language"],
                    text=form.text(),
                    summary=data["summary"],
                    actor=request.user,
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, f"Guide added: {guide.title}.")
                return redirect("outreach:call_guide_edit", code=program.code, pk=guide.pk)
        status = 400
    else:
        form = CallGuideNewForm(id_prefix="new", initial={"summary": "New guide"})
    guides = selectors.call_guides_of(program)
    rows = [
        (
            CallStep(step).label,
            [(guide, language_name(guide.language)) for guide in guides if guide.step == step],
        )
        for step in CallStep.values
    ]
    return render(
        request,
        "outreach/call_guides.html",
        {"program": program, "rows": rows, "form": form},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def call_guide_edit(request: AuthedRequest, code: str, pk: int) -> HttpResponse:
    """One guide's text and its versions; POST saves a new version."""
    program = _program_or_404(code)
    guide = selectors.call_guide_of(program=program, guide_id=pk)
    if guide is None:
        raise Http404("No such call guide.")
    status = 200
    if request.method == "POST":
        form = CallGuideForm(request.POST, id_prefix="guide")
        if form.is_valid():
            try:
                version = call_guide_update(
                    guide=guide,
                    text=form.text(),
                    summary=form.cleaned_data["summary"],
                    actor=request.user,
                    expected_version=form.cleaned_data["version"],
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                if version is None:
                    messages.info(request, "Nothing changed.")
                else:
                    messages.success(request, f"Saved as version {version.number}.")
                return redirect("outreach:call_guide_edit", code=program.code, pk=guide.pk)
        status = 400
    else:
        form = CallGuideForm.for_guide(guide, id_prefix="guide")
    return render(
        request,
        "outreach/call_guide_edit.html",
        {
            "program": program,
            "guide": guide,
            "language": language_name(guide.language),
            "form": form,
            "history": selectors.call_guide_history(guide),
        },
        status=status,
    )
