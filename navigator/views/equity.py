"""The disparities dashboard's pages: the dashboard, its CSV and its PDF, all drawn
from one `equity_dashboard` result with the same parameters as `GET /api/equity/`;
the navigation outcomes page (`navigation`) and its CSV, drawn from one
`navigation_page`; and the data-quality page and its CSV, from one `data_quality`.
Each CSV takes its page's parameters and scope (a bad one is a 400 naming it) and
writes rows built on floor 3 (`tables`, `navigation_export`, `quality_export`)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from config.db_router import reads_from_replica
from navigator.equity import navigation_export, quality_export
from navigator.equity.chart_marks import interval, percent
from navigator.equity.dashboard import EquityResult, equity_dashboard
from navigator.equity.dimensions import NOT_RECORDED
from navigator.equity.navigation import FUNNEL_STEPS, STEPS
from navigator.equity.navigation_page import (
    FUNNEL_NUMERATORS,
    NavigationPage,
    NavigationQuery,
    navigation_page,
    overdue_measures,
)
from navigator.equity.navigation_tables import group_lines
from navigator.equity.pdf_report import equity_pdf
from navigator.equity.presentation import dashboard_charts
from navigator.equity.quality import QualityTable, completeness_minimum, data_quality
from navigator.equity.quality_export import quality_sections
from navigator.equity.query import EquityQuery, EquityQueryError
from navigator.equity.scope import equity_scope
from navigator.equity.stats import GroupStatistics
from navigator.equity.svg import render_chart
from navigator.equity.tables import HEADERS, csv_rows, table_row
from navigator.forms.equity import EquityForm, NavigationForm
from navigator.models import CASEWORK_ROLES, Role
from navigator.permissions import AuthedRequest, role_required
from patients.models import Patient

EQUITY_ROLES = (Role.MANAGER, *CASEWORK_ROLES, Role.CLINIC_STAFF)


def _answer(request: AuthedRequest) -> tuple[EquityForm, EquityResult | None, dict[str, str]]:
    """The form as filled in and, when its parameters hold, the result."""
    scope = equity_scope(request.user)
    form = EquityForm(request.GET, scope=scope, id_prefix="equity")
    params = form.params()
    try:
        query = EquityQuery.from_params(params, scope=scope)
        result = equity_dashboard(user=request.user, query=query)
    except EquityQueryError as error:
        form.is_valid()  # bind, then show the parameters' errors on their fields
        for field, message in error.errors.items():
            target = field if field in form.fields else None
            if field in ("period_start", "period_end") and not request.GET.get(field):
                target = "period"
            form.add_error(target, message)
        return form, None, params
    form = EquityForm(
        request.GET,
        scope=scope,
        id_prefix="equity",
        periods=result.periods if result.measure.kind != "navigation" else (),
        groups=[(str(g.key), g.label) for g in result.groups],
    )
    form.is_valid()
    return form, result, params


@require_GET
@role_required(*EQUITY_ROLES)
@reads_from_replica
def dashboard(request: AuthedRequest) -> HttpResponse:
    form, result, params = _answer(request)
    context: dict[str, Any] = {"form": form, "result": result}
    if result is None:
        return render(request, "navigator/equity/dashboard.html", context, status=400)
    charts = dashboard_charts(result)
    query_string = urlencode({k: v for k, v in params.items() if v})
    two_way_rows = []
    if result.two_way is not None:
        for row_key, row_label in result.two_way.rows:
            total = result.two_way.row_totals[row_key]
            if total.denominator == 0 and row_key != NOT_RECORDED:
                continue
            cells = [
                table_row(result.two_way.cells[(row_key, column)])
                for column, _ in result.two_way.columns
            ]
            two_way_rows.append(
                {
                    "label": row_label,
                    "cells": cells,
                    "total": table_row(result.two_way.row_totals[row_key]),
                }
            )
    context.update(
        headers=HEADERS,
        rows=[table_row(group) for group in _listed(result.groups)],
        empty_groups=[
            g.label for g in result.groups if g.denominator == 0 and g.key != NOT_RECORDED
        ],
        two_way_rows=two_way_rows,
        two_way_columns=result.two_way.columns if result.two_way else (),
        two_way_reference=(
            dict(result.two_way.columns).get(result.two_way.reference_column)
            if result.two_way
            else None
        ),
        quarter_rows=[
            {"period": row.period, "rows": [table_row(g) for g in _listed(row.groups)]}
            for row in result.quarters
        ],
        adjusted_rows=[
            {
                "label": group.label,
                "rate": percent(result.age_adjusted[group.key].rate or 0.0),
                "ci": interval(
                    result.age_adjusted[group.key].ci_low, result.age_adjusted[group.key].ci_high
                ),
                "crude": table_row(group).rate,
            }
            for group in result.groups
            if group.key in result.age_adjusted and result.age_adjusted[group.key].rate is not None
        ],
        rates_chart=render_chart(charts.rates, chart_id="equity-rates") if charts.rates else "",
        trend_chart=render_chart(charts.trend, chart_id="equity-trend") if charts.trend else "",
        gap_charts=[
            render_chart(chart, chart_id=f"equity-gap-{index}")
            for index, chart in enumerate(charts.gaps)
        ],
        csv_url=f"{reverse('navigator:equity_csv')}?{query_string}",
        pdf_url=f"{reverse('navigator:equity_pdf')}?{query_string}",
    )
    return render(request, "navigator/equity/dashboard.html", context)


QUALITY_MONTHS = (3, 6, 12, 24)
QUALITY_MONTHS_ERROR = "Choose 3, 6, 12 or 24 months."


def _quality_table(request: AuthedRequest) -> tuple[int, QualityTable | None]:
    """The months asked for and, when they are one of the choices, the table of the
    user's scope (managers: every clinic; clinic staff: their own); else None."""
    try:
        months = int(request.GET.get("months") or 12)
    except ValueError:
        return 0, None
    if months not in QUALITY_MONTHS:
        return months, None
    scope = equity_scope(request.user)
    table = data_quality(
        patients=Patient.objects.filter(scope.patient_q()),
        months=months,
        today=timezone.localdate(),
    )
    return months, table


@require_GET
@role_required(Role.MANAGER, Role.CLINIC_STAFF)
@reads_from_replica
def data_quality_page(request: AuthedRequest) -> HttpResponse:
    """How complete race, ethnicity and language are, per clinic and month: the numbers
    under every stratified figure (managers: every clinic; clinic staff: their own)."""
    months, table = _quality_table(request)
    if table is None:
        return render(
            request,
            "navigator/equity/quality.html",
            {"error": QUALITY_MONTHS_ERROR, "choices": QUALITY_MONTHS},
            status=400,
        )
    return render(
        request,
        "navigator/equity/quality.html",
        {
            "table": table,
            "months": months,
            "choices": QUALITY_MONTHS,
            "minimum": f"{completeness_minimum():.0%}",
            "sections": quality_sections(table),
            "csv_url": f"{reverse('navigator:equity_quality_csv')}?{urlencode({'months': months})}",
        },
    )


@require_GET
@role_required(Role.MANAGER, Role.CLINIC_STAFF)
@reads_from_replica
def data_quality_csv(request: AuthedRequest) -> HttpResponse:
    """The data-quality table as CSV: same `months`, same scope, same hidden cells."""
    months, table = _quality_table(request)
    if table is None:
        return _bad_request(f"months: {QUALITY_MONTHS_ERROR}")
    filename = quality_export.csv_filename(months, today=timezone.localdate())
    return _csv_response(quality_export.csv_rows(table), filename)


def _listed(groups: list[GroupStatistics]) -> list[GroupStatistics]:
    """The page lists the groups with someone in them, and "Not recorded" always
    (missing data is shown, never dropped); the empty ones are named in one line."""
    return [g for g in groups if g.denominator != 0 or g.key == NOT_RECORDED]


def _filename(result: EquityResult, extension: str) -> str:
    # Measure keys and dates only: nothing about a patient in a file name.
    return (
        f"equity-{result.measure.key.replace(':', '-')}-{timezone.localdate():%Y%m%d}.{extension}"
    )


def _bad_request(text: str) -> HttpResponse:
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def _form_errors(form: EquityForm) -> str:
    return "\n".join(f"{f}: {'; '.join(str(m) for m in e)}" for f, e in form.errors.items())


def _csv_response(rows: Iterable[list[str]], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow(row)
    return response


@require_GET
@role_required(*EQUITY_ROLES)
@reads_from_replica
def dashboard_csv(request: AuthedRequest) -> HttpResponse:
    form, result, _ = _answer(request)
    if result is None:
        return _bad_request(_form_errors(form))
    return _csv_response(csv_rows(result), _filename(result, "csv"))


@require_GET
@role_required(*EQUITY_ROLES)
@reads_from_replica
def dashboard_pdf(request: AuthedRequest) -> HttpResponse:
    form, result, _ = _answer(request)
    if result is None:
        return _bad_request(_form_errors(form))
    response = HttpResponse(equity_pdf(result), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(result, "pdf")}"'
    return response


def _navigation_answer(
    request: AuthedRequest,
) -> tuple[dict[str, str], NavigationPage | EquityQueryError]:
    """The parameters as given, and the page they ask for or the error naming each
    bad one."""
    today = timezone.localdate()
    params = {key: str(value) for key, value in request.GET.items()}
    try:
        query = NavigationQuery.from_params(params, scope=equity_scope(request.user), today=today)
        return params, navigation_page(user=request.user, query=query, today=today)
    except EquityQueryError as error:
        return params, error


@require_GET
@role_required(*EQUITY_ROLES)
@reads_from_replica
def navigation(request: AuthedRequest) -> HttpResponse:
    """What happened to one programme's navigation cases, by one dimension, within
    the user's scope; a bad parameter is a 400 with the error on its field."""
    scope = equity_scope(request.user)
    params, page = _navigation_answer(request)
    program = params.get("program") or "colorectal"
    context: dict[str, Any] = {"page": None}
    if isinstance(page, EquityQueryError):
        form = NavigationForm(
            params, scope=scope, overdue=overdue_measures(program), id_prefix="navigation"
        )
        form.is_valid()  # bind, then show the parameters' errors on their fields
        for field, message in page.errors.items():
            form.add_error(field if field in form.fields else None, message)
        context["form"] = form
        return render(request, "navigator/equity/navigation.html", context, status=400)
    query = page.query
    filled = {
        "program": query.program,
        "period_start": query.period_start.isoformat(),
        "period_end": query.period_end.isoformat(),
        "stratify": query.stratify,
        "overdue_measure": params.get("overdue_measure", ""),
    }
    form = NavigationForm(
        filled, scope=scope, overdue=overdue_measures(query.program), id_prefix="navigation"
    )
    navigators = None
    if page.navigators is not None:
        navigators = group_lines(page.navigators, navigation_export.NAVIGATOR_STEPS)
    context.update(
        form=form,
        page=page,
        funnel_steps=[label for _, label in FUNNEL_STEPS[1:]],
        funnel_lines=group_lines(page.funnel, FUNNEL_NUMERATORS),
        funnel_chart=render_chart(page.chart, chart_id="navigation-funnel"),
        completion_lines=group_lines(page.completion, ["completion_90", "completion_180"]),
        step_labels=[label for _, label in STEPS],
        follow_up_lines=navigation_export.follow_up_lines(page),
        navigator_lines=navigators,
        navigated_rows=navigation_export.navigated_rows(page.navigated),
        dashboard_url=reverse("navigator:equity"),
        csv_url=(
            f"{reverse('navigator:equity_navigation_csv')}?"
            f"{urlencode({k: v for k, v in filled.items() if v})}"
        ),
    )
    return render(request, "navigator/equity/navigation.html", context)


@require_GET
@role_required(*EQUITY_ROLES)
@reads_from_replica
def navigation_csv(request: AuthedRequest) -> HttpResponse:
    """Every table of the navigation page as CSV: same parameters, scope and hidden
    cells; a bad parameter is a 400 naming it."""
    _, page = _navigation_answer(request)
    if isinstance(page, EquityQueryError):
        return _bad_request("\n".join(f"{f}: {m}" for f, m in page.errors.items()))
    filename = navigation_export.csv_filename(page, today_text=f"{timezone.localdate():%Y%m%d}")
    return _csv_response(navigation_export.csv_rows(page), filename)
