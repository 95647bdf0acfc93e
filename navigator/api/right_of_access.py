"""`POST /api/patients/<id>/right-of-access/fhir/` and `.../pdf/`: everything EquiNav
holds on one patient (45 CFR 164.524), as a FHIR R4 Bundle (application/fhir+json) or
a PDF, for program managers only (anyone else: 403; a patient not found: 404).

The export itself, its file name and its audit record are the page's
(`navigator.views.right_of_access.export_response`).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from navigator.views.right_of_access import FHIR_JSON, can_export, export_response
from patients.models import Patient


class ManagersOnly(permissions.BasePermission):
    """Program managers; not administrators without the manager role."""

    message = "Only a program manager can export a patient's record."

    def has_permission(self, request, view) -> bool:
        return can_export(request.user)


class _ExportView(APIView):
    permission_classes = [ManagersOnly]
    kind = ""

    def perform_content_negotiation(self, request, force=False):
        # The file is the answer whatever the Accept header asks for; a refusal is JSON.
        return super().perform_content_negotiation(request, force=True)

    def post(self, request: Request, id: int) -> HttpResponse:  # noqa: A002 (the path's name)
        try:
            return export_response(request._request, patient_id=id, kind=self.kind)
        except Patient.DoesNotExist:
            raise Http404("No such patient.") from None


class FhirExportView(_ExportView):
    kind = "fhir"

    @extend_schema(
        operation_id="patients_right_of_access_fhir",
        summary="Everything held on the patient, as a FHIR R4 Bundle (managers only)",
        request=None,
        responses={(200, FHIR_JSON): OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, id: int) -> HttpResponse:  # noqa: A002
        return super().post(request, id)


class PdfExportView(_ExportView):
    kind = "pdf"

    @extend_schema(
        operation_id="patients_right_of_access_pdf",
        summary="Everything held on the patient, as a readable PDF (managers only)",
        request=None,
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def post(self, request: Request, id: int) -> HttpResponse:  # noqa: A002
        return super().post(request, id)
