"""The compliance officer's pages: search the audit trail by patient, user, action and
dates (45 CFR 164.308(a)(1)(ii)(D), information system activity review)."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from navigator.audit.forms import AuditSearchForm, PatientLookupForm
from navigator.audit.selectors import access_events, patient_for_mrn
from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required

PAGE_SIZE = 50
# Administrators pass every role check (navigator.permissions.has_role).
AUDIT_ROLES = (Role.COMPLIANCE,)


def _render(request: AuthedRequest, search: AuditSearchForm, lookup: PatientLookupForm):
    events = access_events(**search.filters()) if search.is_valid() else access_events().none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "search": search,
        "lookup": lookup,
        "page": page,
        "retention_years": settings.EQUINAV_AUDIT_RETENTION_DAYS // 365,
    }
    return render(request, "audit/search.html", context)


@role_required(*AUDIT_ROLES)
def audit_search(request: AuthedRequest) -> HttpResponse:
    """Accesses, newest first: by patient ("who looked at this patient"), by user ("what
    did this user look at"), by action and dates. Filters are ids and dates only."""
    return _render(request, AuditSearchForm(request.GET or None), PatientLookupForm())


@require_POST
@role_required(*AUDIT_ROLES)
def audit_patient_lookup(request: AuthedRequest) -> HttpResponse:
    """Clinic and MRN to the patient's number, then the search by that number."""
    lookup = PatientLookupForm(request.POST, id_prefix="lookup")
    if lookup.is_valid():
        patient = patient_for_mrn(
            clinic=lookup.cleaned_data["clinic"], mrn=lookup.cleaned_data["mrn"]
        )
        if patient is not None:
            return redirect(f"{reverse('audit:search')}?patient={patient.pk}")
        lookup.add_error("mrn", "No patient of that clinic has this MRN.")
    return _render(request, AuditSearchForm(None), lookup)
