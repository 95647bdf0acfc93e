"""The two lists of cases: a navigator's worklist (most urgent first, each row
saying why) and the manager's list of every case."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

from navigator.forms.lists import CaseFilterForm, WorklistFilterForm
from navigator.models import NavigationCase, NavigatorProfile, Role
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors import cases as case_selectors
from navigator.selectors.visibility import navigators_visible_to
from navigator.selectors.worklist import (
    worklist_calls_today,
    worklist_cases,
    worklist_navigators,
    worklist_owner,
    worklist_rows,
    worklist_tasks_due,
)
from navigator.worklist.asides_html import asides_html
from navigator.worklist.filter_html import filters_key, menus_fetched
from navigator.worklist.query import DEFAULT_SORT, SORTS
from navigator.worklist.row_html import rows_html
from navigator.worklist.rules import Moment
from outreach.selectors import reminders_shown_for

PAGE_SIZE = 50

# The worklist's filters that say nothing about a patient: they may travel in the
# page's URL. The search box (a name, an MRN, a phone number, a birth date) never
# does: the form posts it (see `worklist`).
URL_FILTERS = ("program", "status", "language", "clinic", "barrier", "overdue", "sort", "navigator")
MENU_FILTERS = ("program", "status", "language", "clinic", "barrier", "overdue", "sort")
SEARCH_IN_URL = "Search with the form: a search in the address would be kept in logs."


def _with_ages(cases, today) -> list[NavigationCase]:
    rows = list(cases)
    for case in rows:
        case.patient_age = case.patient.age_on(today)
    return rows


def _worklist_owner(request: AuthedRequest, form: WorklistFilterForm) -> NavigatorProfile | None:
    """Whose worklist: `?navigator=` (checked), else the navigator's own (None)."""
    navigator_id = form.cleaned_data.get("navigator")
    if navigator_id is None:
        if "navigator" not in form.errors and not request.user.is_navigator:
            raise PermissionDenied("Managers open a navigator's worklist from the team view.")
        return None
    owner = worklist_owner(user=request.user, navigator_id=navigator_id)
    if owner is None:
        # Not found and not yours look the same: a navigator learns nothing of others.
        raise Http404("No such navigator's worklist for you.")
    return owner


def _worklist_url(data: QueryDict) -> str:
    """The worklist's address for what was asked, without the search (PHI) or the
    page when a search narrowed the list (that page is of another list)."""
    params = [
        (key, data[key])
        for key in URL_FILTERS
        if data.get(key) and not (key == "sort" and data[key] == DEFAULT_SORT)
    ]
    if data.get("page") and not (data.get("q") or "").strip():
        params.append(("page", data["page"]))
    return reverse("navigator:worklist") + (f"?{urlencode(params)}" if params else "")


def _filters_open(form: WorklistFilterForm) -> bool:
    """The filters are shown unfolded when one of them is in use (or refused), an
    order other than "what to do first" included."""
    in_use = [key for key in MENU_FILTERS if form.data.get(key)]
    if in_use == ["sort"] and form.data.get("sort") == DEFAULT_SORT:
        in_use = []
    return bool(in_use) or any(key in form.errors for key in MENU_FILTERS)


@require_http_methods(["GET", "POST"])
@role_required(Role.NAVIGATOR, Role.MANAGER)
def worklist(request: AuthedRequest) -> HttpResponse:
    """Open cases, most urgent first, each row saying why (rules: navigator.worklist).

    Managers open any navigator's list with `?navigator=<id>`; a navigator may
    open a colleague's only while covering for them. The filter form posts (so that
    what is typed in the search box stays out of URLs and access logs) and htmx
    swaps the list in place, narrowing it as the navigator types; without
    JavaScript it is a plain form. The filters that say nothing about a patient
    are still the page's address (`?program=...`), pushed to the browser's history.
    """
    data = request.POST if request.method == "POST" else request.GET
    form = WorklistFilterForm(
        data,
        id_prefix="worklist",
        search_url=reverse("navigator:worklist"),
        refuse_search="" if request.method == "POST" else SEARCH_IN_URL,
    )
    valid = form.is_valid()
    owner = _worklist_owner(request, form)
    moment = Moment.current()
    navigators = worklist_navigators(user=request.user, navigator=owner, on=moment.today)
    cases = (
        worklist_cases(
            user=request.user, navigators=navigators, filters=form.filters(), moment=moment
        )
        if valid
        else NavigationCase.objects.none()
    )
    page = Paginator(cases, PAGE_SIZE).get_page(data.get("page"))
    sort = form.cleaned_data.get("sort") or DEFAULT_SORT
    worker = owner.user if owner else request.user
    rows = worklist_rows(page, user=request.user, navigator=owner, moment=moment)
    own_list = owner is None or owner.user_id == request.user.pk
    filters_open = _filters_open(form)
    # The menus' rows, fetched here rather than while drawing them: they are part of
    # the key the drawn form is kept under (navigator.worklist.filter_html).
    menus_fetched(form)
    context = {
        "form": form,
        "page": page,
        "cases": rows,
        "rows_html": rows_html(rows, csrf_token=get_token(request)),
        "owner": owner,
        "own_list": own_list,
        "sort": SORTS[sort],
        "today": moment.today,
        "filters_open": filters_open,
        "filters_key": filters_key(
            form,
            filters_open=filters_open,
            clear_navigator=owner.pk if owner and not own_list else None,
        ),
        "searched": bool((data.get("q") or "").strip()),
        "filtered": any(data.get(key) for key in ("q", *MENU_FILTERS) if key != "sort"),
    }
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    if partial:
        # htmx swaps only 2xx answers, so the list with its errors is a 200.
        response = render(request, "navigator/_worklist_results.html", context)
        if request.method == "POST":
            # The address of the list shown, without the search: a new entry in the
            # history when a filter changed, the same one as the navigator types.
            url = _worklist_url(data)
            current = request.htmx.current_url_abs_path or ""
            response["HX-Replace-Url" if current == url else "HX-Push-Url"] = url
    else:
        context["calls_today"] = worklist_calls_today(
            user=request.user, navigators=navigators, caller=worker, moment=moment
        )
        context["worker"] = worker
        context["reminders"] = reminders_shown_for(worker, limit=PAGE_SIZE)
        context["covered"] = [n for n in navigators if n.covered_until is not None]
        # The navigators' own tasks due by today (escalations are the managers').
        context["tasks"] = worklist_tasks_due(
            user=request.user, navigators=navigators, today=moment.today, limit=PAGE_SIZE
        )
        context["asides_html"] = asides_html(
            context["reminders"], context["tasks"], today=moment.today
        )
        response = render(request, "navigator/worklist.html", context, status=200 if valid else 400)
    # The same URL answers a page or (to htmx) a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def case_list(request: AuthedRequest) -> HttpResponse:
    """Every case, newest first. Filters come in the address; a search (name, MRN,
    phone, birth date) comes in a POST body, never a logged URL, and answers its first
    page of matches."""
    today = timezone.localdate()
    navigators = navigators_visible_to(request.user)
    searching = request.method == "POST"
    form = CaseFilterForm(
        request.POST if searching else request.GET,
        navigators=navigators,
        searching=searching,
        id_prefix="filter",
    )
    status = 200
    if form.is_valid():
        cases = case_selectors.case_list(user=request.user, **form.filters())
    else:
        cases, status = case_selectors.case_list(user=request.user).none(), 400
    page = Paginator(cases.order_by("-opened_at", "-pk"), PAGE_SIZE).get_page(
        None if searching else request.GET.get("page")
    )
    return render(
        request,
        "navigator/case_list.html",
        {
            "form": form,
            "page": page,
            "cases": _with_ages(page, today),
            "today": today,
            "searching": searching,
        },
        status=status,
    )
