"""`AccessAuditMiddleware`: one audit row for every request a signed-in user makes, and
for any other that touched a patient;
`ChangeContextMiddleware`: who made the changes the history triggers keep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from pghistory.middleware import HistoryMiddleware

from navigator.audit.models import AccessAction
from navigator.audit.recording import access_event_record, collecting

# What a browser fetches that reads nothing of anyone's (WhiteNoise answers static
# files before this middleware; these are the app's own).
_NOT_ACCESSES = ("/static/", "/favicon.ico", "/healthz")
_EXPORT_TYPES = ("text/csv", "application/pdf", "application/fhir+json")


def _action(request: HttpRequest, response: HttpResponse, patients: int, named: str | None):
    if named:
        return named
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return AccessAction.CHANGE
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    if content_type in _EXPORT_TYPES or "attachment" in response.get("Content-Disposition", ""):
        return AccessAction.EXPORT
    return AccessAction.LIST if patients > 1 else AccessAction.VIEW


class AccessAuditMiddleware:
    """Collects the patients a request touches (see `navigator.audit.recording`) and,
    once the response is ready, records who, when, from where, which route, which
    patients and what was done. Placed after authentication; the REST framework
    authenticates tokens inside the view and sets `request.user` on the same request,
    so the user is read after the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_NOT_ACCESSES):
            return self.get_response(request)
        with collecting() as collector:
            response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if not signed_in and not collector.patient_ids:
            return response
        # A request nobody signed in for that touched patients (the SMS provider's
        # signed webhooks: an opt-out, a delivery receipt) is recorded as anonymous.
        access_event_record(
            action=_action(request, response, len(collector.patient_ids), collector.action),
            request=request,
            user=user if signed_in else None,
            status_code=response.status_code,
            patient_ids=collector.patient_ids,
        )
        return response


class ChangeContextMiddleware(HistoryMiddleware):
    """django-pghistory's middleware: the row-change triggers store the request's user,
    path (never the query string) and request id with each change. It adds the
    context to SQL through a psycopg-specific wrapper, so on SQLite, which has no
    triggers to read it, the request passes straight through."""

    def get_context(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().get_context(request), "request_id": getattr(request, "request_id", "")}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if connection.vendor != "postgresql":
            return self.get_response(request)
        return super().__call__(request)
