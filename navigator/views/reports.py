"""The completion report page."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from navigator.forms.reports import CompletionReportForm
from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors.reports import SMALL_GROUP, RateRow, completion_report


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _display_row(row: RateRow) -> dict[str, Any]:
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
    context: dict[str, Any] = {"form": form, "small_group_size": SMALL_GROUP}
    if not form.is_valid():
        return render(request, "navigator/report.html", context, status=400)
    program = form.cleaned_data["program"]
    result = completion_report(
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
