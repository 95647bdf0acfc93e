"""A program's follow-up pathways, for managers: the page and its forms. What each
result calls for next, with its source, a form to change each and one to add one;
every change is a new rules version (patients.services.result_pathways)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from navigator.forms.base import EquiNavForm
from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from patients import selectors
from patients.models import (
    FollowUpKind,
    FollowUpPathway,
    ResultCategory,
    ScreeningModality,
    ScreeningProgram,
)
from patients.result_pathways import pathways_of
from patients.services.result_pathways import (
    PathwayChange,
    follow_up_pathway_add,
    follow_up_pathway_update,
)

SUMMARY_HELP = "What changed and why; it goes into the rules' history."


class PathwayChangeForm(EquiNavForm):
    pathway = forms.IntegerField(widget=forms.HiddenInput)
    next_step = forms.CharField(label="Next step", max_length=200)
    target_days = forms.IntegerField(
        label="Target (days after the result)", min_value=1, max_value=730
    )
    limit_days = forms.IntegerField(
        label="Outer limit (days)", min_value=1, max_value=730, required=False
    )
    active = forms.BooleanField(label="Applies", required=False)
    summary = forms.CharField(label="Why", max_length=300, help_text=SUMMARY_HELP)

    @classmethod
    def for_pathway(cls, pathway: FollowUpPathway, **kwargs) -> PathwayChangeForm:
        return cls(
            id_prefix=f"pathway-{pathway.pk}",
            initial={
                "pathway": pathway.pk,
                "next_step": pathway.next_step,
                "target_days": pathway.target_days,
                "limit_days": pathway.limit_days,
                "active": pathway.active,
            },
            **kwargs,
        )


class PathwayAddForm(EquiNavForm):
    category = forms.ModelChoiceField(
        queryset=ResultCategory.objects.none(), label="Result category", empty_label="Choose…"
    )
    modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(),
        label="For the test",
        required=False,
        empty_label="Any test reporting this category",
    )
    kind = forms.ChoiceField(label="Kind", choices=FollowUpKind.choices)
    next_step = forms.CharField(label="Next step", max_length=200)
    next_modality = forms.ModelChoiceField(
        queryset=ScreeningModality.objects.none(),
        label="Test that answers it",
        empty_label="Choose…",
    )
    target_days = forms.IntegerField(
        label="Target (days after the result)", min_value=1, max_value=730
    )
    limit_days = forms.IntegerField(
        label="Outer limit (days)", min_value=1, max_value=730, required=False
    )
    source = forms.CharField(label="Source (guideline or decision)", max_length=300)
    summary = forms.CharField(label="Why", max_length=300, help_text=SUMMARY_HELP)

    def __init__(self, *args, program: ScreeningProgram, **kwargs):
        super().__init__(*args, id_prefix="pathway-add", **kwargs)
        categories = ResultCategory.objects.filter(program=program, active=True)
        modalities = ScreeningModality.objects.filter(program=program, active=True)
        self.fields["category"].queryset = categories  # type: ignore[attr-defined]
        self.fields["modality"].queryset = modalities  # type: ignore[attr-defined]
        self.fields["next_modality"].queryset = modalities  # type: ignore[attr-defined]


def _page(request, program: ScreeningProgram, *, bound=None, add_form=None, status=200):
    rows = [
        (pathway, bound if bound is not None and bound.initial.get("pathway") == pathway.pk
         else PathwayChangeForm.for_pathway(pathway))
        for pathway in pathways_of(program).order_by("-active", "category__order", "pk")
    ]  # fmt: skip
    categories = program.result_categories.prefetch_related("modalities").order_by("order")
    return render(
        request,
        "patients/program_pathways.html",
        {
            "program": program,
            "rows": rows,
            "categories": categories,
            "add_form": add_form or PathwayAddForm(program=program),
        },
        status=status,
    )


def _saved(request, version) -> None:
    if version is None:
        messages.info(request, "Nothing changed; no new version was recorded.")
    else:
        messages.success(
            request,
            f"Rules version {version.number} saved. Results recorded from now on follow it; "
            "follow-ups already open keep their dates.",
        )


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def program_pathways(request: AuthedRequest, code: str) -> HttpResponse:
    program = selectors.program_by_code(code)
    if program is None:
        raise Http404("No such program.")
    if request.method == "GET":
        return _page(request, program)
    if request.POST.get("action") == "add":
        form = PathwayAddForm(request.POST, program=program)
        if form.is_valid():
            data = form.cleaned_data
            try:
                version = follow_up_pathway_add(
                    program=program,
                    category=data["category"],
                    modality=data["modality"],
                    kind=data["kind"],
                    next_step=data["next_step"],
                    next_modality=data["next_modality"],
                    target_days=data["target_days"],
                    limit_days=data["limit_days"],
                    source=data["source"],
                    summary=data["summary"],
                    actor=request.user,
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                _saved(request, version)
                return redirect("patients:program_pathways", code=program.code)
        return _page(request, program, add_form=form, status=400)
    pathway = FollowUpPathway.objects.filter(
        program=program, pk=_int(request.POST.get("pathway"))
    ).first()
    if pathway is None:
        raise Http404("No such pathway in this program.")
    change_form = PathwayChangeForm(request.POST, id_prefix=f"pathway-{pathway.pk}",
                                    initial={"pathway": pathway.pk})  # fmt: skip
    if change_form.is_valid():
        data = change_form.cleaned_data
        try:
            version = follow_up_pathway_update(
                pathway=pathway,
                change=PathwayChange(
                    next_step=data["next_step"],
                    target_days=data["target_days"],
                    limit_days=data["limit_days"],
                    active=data["active"],
                ),
                summary=data["summary"],
                actor=request.user,
            )
        except ValidationError as error:
            change_form.add_service_error(error)
        else:
            _saved(request, version)
            return redirect("patients:program_pathways", code=program.code)
    return _page(request, program, bound=change_form, status=400)


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None
