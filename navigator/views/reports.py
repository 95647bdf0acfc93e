"""The old completion report's address: it now sends to the navigation outcomes page
(one programme at a time, ineligible cases left out, completion within 90 and 180
days with cases too new to have had the time left out), keeping the programme and
the period asked for."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from navigator.permissions import AuthedRequest, role_required
from navigator.views.equity import EQUITY_ROLES
from patients.models import ScreeningProgram


@require_GET
@role_required(*EQUITY_ROLES)
def report(request: AuthedRequest) -> HttpResponse:
    """Redirect to the navigation page; the old parameters (`program` as a programme
    id or code, `start`, `end`) become its `program`, `period_start`, `period_end`."""
    params: dict[str, str] = {}
    program = request.GET.get("program", "").strip()
    if program.isdigit():
        codes = ScreeningProgram.objects.filter(pk=int(program)).values_list("code", flat=True)
        params["program"] = codes.first() or program
    elif program:
        params["program"] = program
    for old, new in (("start", "period_start"), ("end", "period_end")):
        if request.GET.get(old):
            params[new] = request.GET[old]
    url = reverse("navigator:equity_navigation")
    return HttpResponseRedirect(f"{url}?{urlencode(params)}" if params else url)
