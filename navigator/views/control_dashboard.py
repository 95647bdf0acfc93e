"""A control programme's dashboard (issue 16, item 5) and its CSV, drawn from one
`control_page` with the equity dashboard's roles and scope: managers and
administrators every patient, clinic staff their clinic's, navigators their
caseload's; the compliance officer nothing (403). A bad parameter is a 400 naming it."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from config.db_router import reads_from_replica
from navigator.equity import control_export
from navigator.equity.control_page import ControlPage, ControlQuery, control_page, control_programs
from navigator.equity.query import EquityQueryError
from navigator.equity.scope import equity_scope
from navigator.equity.svg import render_chart
from navigator.forms.equity import ControlForm
from navigator.permissions import AuthedRequest, role_required
from navigator.views.equity import EQUITY_ROLES, _bad_request, _csv_response


def _answer(
    request: AuthedRequest, programs: list[tuple[str, str]]
) -> tuple[dict[str, str], ControlPage | EquityQueryError]:
    params = {key: str(value) for key, value in request.GET.items()}
    default = programs[0][0] if programs else None
    try:
        query = ControlQuery.from_params(params, user=request.user, default=default)
        return params, control_page(user=request.user, query=query)
    except EquityQueryError as error:
        return params, error


@require_GET
@role_required(*EQUITY_ROLES)
@reads_from_replica
def page(request: AuthedRequest) -> HttpResponse:
    scope = equity_scope(request.user)
    programs = control_programs()
    params, result = _answer(request, programs)
    context: dict[str, Any] = {"page": None}
    if isinstance(result, EquityQueryError):
        form = ControlForm(params, scope=scope, programs=programs, id_prefix="control")
        form.is_valid()  # bind, then show the parameters' errors on their fields
        for field, message in result.errors.items():
            form.add_error(field if field in form.fields else None, message)
        context["form"] = form
        return render(request, "navigator/equity/control.html", context, status=400)
    filled = {"program": result.query.program, "stratify": result.query.stratify}
    context.update(
        form=ControlForm(filled, scope=scope, programs=programs, id_prefix="control"),
        page=result,
        share_lines=control_export.share_lines(result),
        change_lines=control_export.change_lines(result),
        chart=render_chart(result.chart, chart_id="control-poor"),
        csv_url=f"{reverse('navigator:equity_control_csv')}?{urlencode(filled)}",
    )
    return render(request, "navigator/equity/control.html", context)


@require_GET
@role_required(*EQUITY_ROLES)
@reads_from_replica
def csv_export(request: AuthedRequest) -> HttpResponse:
    """Every table of the page as CSV: same parameters, scope and hidden cells."""
    _, result = _answer(request, control_programs())
    if isinstance(result, EquityQueryError):
        return _bad_request("\n".join(f"{f}: {m}" for f, m in result.errors.items()))
    # Programme code and date only: nothing about a patient in a file name.
    filename = f"control-{result.program.code}-{timezone.localdate():%Y%m%d}.csv"
    return _csv_response(control_export.csv_rows(result), filename)
