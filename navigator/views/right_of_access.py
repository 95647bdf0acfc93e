"""A patient's right of access (45 CFR 164.524): a program manager downloads everything
EquiNav holds on one patient, as a FHIR Bundle or as a PDF, from the patient page.

Managers only: an administrator without the manager role, a navigator and clinic
staff are refused (403), whoever the patient is. The download is a POST, so that no
prefetch or crawler starts it and nothing about it lands in a logged address but
the patient's id; the file's name carries no PHI (`patient-12-export-2026-12-04.pdf`),
and the PHI middleware marks the answer no-store. Every export is audited
(`export_audited`). The API's twin is `navigator/api/right_of_access.py`.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from navigator.audit.models import AccessAction
from navigator.audit.recording import audit_mark_action, audit_security_event
from navigator.models import Role, User
from navigator.permissions import AuthedRequest, role_required
from navigator.right_of_access.fhir_bundle import patient_bundle
from navigator.right_of_access.pdf import patient_pdf
from navigator.right_of_access.records import patient_record_for
from patients.models import Patient

FHIR_JSON = "application/fhir+json"
KINDS = ("fhir", "pdf")


def export_audited(request: HttpRequest, *, patient_id: int, kind: str) -> None:
    """Record in the audit trail that `request`'s user exported the patient's record.

    A security event of its own (right_of_access_export, with the patient and the
    format); the request's own row says "exported" rather than "changed" (a POST that
    changes nothing)."""
    audit_security_event(
        action=AccessAction.RIGHT_OF_ACCESS_EXPORT,
        request=request,
        user=request.user,
        detail={"patient_id": str(patient_id), "format": kind},
    )
    audit_mark_action(AccessAction.EXPORT)


def can_export(user: User) -> bool:
    """Program managers only (an administrator's role is not enough)."""
    return bool(user.is_authenticated and user.is_active and user.is_manager)


def export_response(request: HttpRequest, *, patient_id: int, kind: str) -> HttpResponse:
    """The patient's record as an attachment of `kind` ("fhir" or "pdf"), audited.

    Raises Patient.DoesNotExist for a patient the user may not see (or a merged one)."""
    user: User = request.user  # type: ignore[assignment]
    record = patient_record_for(user=user, patient_id=patient_id)
    now = timezone.now()
    today = timezone.localdate(now)
    if kind == "fhir":
        body = json.dumps(patient_bundle(record, now=now), indent=1).encode()
        response = HttpResponse(body, content_type=FHIR_JSON)
        extension = "fhir.json"
    else:
        pdf = patient_pdf(record, prepared_on=today)
        response = HttpResponse(pdf, content_type="application/pdf")
        extension = "pdf"
    filename = f"patient-{patient_id}-export-{today.isoformat()}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    export_audited(request, patient_id=patient_id, kind=kind)
    return response


@require_POST
@role_required(Role.MANAGER)
def patient_export(request: AuthedRequest, pk: int, kind: str) -> HttpResponse:
    """POST /patients/<id>/right-of-access/<fhir|pdf>/: the download."""
    if not can_export(request.user):
        raise PermissionDenied("Only a program manager can export a patient's record.")
    if kind not in KINDS:
        raise Http404("No such export.")
    try:
        return export_response(request, patient_id=pk, kind=kind)
    except Patient.DoesNotExist:
        raise Http404("No such patient.") from None
