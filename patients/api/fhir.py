"""`POST /api/fhir/?source=<feed>`: FHIR R4 intake from an EHR feed."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from navigator.models import Role
from patients.fhir.importer import MAX_BYTES, fhir_import
from patients.fhir.outcome import FhirImportError, issue, operation_outcome
from patients.models import FhirSource

FHIR_JSON = "application/fhir+json"


class RawBodyParser(BaseParser):
    """Leave the body to the importer, which reports JSON errors with line and column."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return None


class FhirImportView(APIView):
    """Import a Bundle (transaction, batch or collection) or a single resource.

    All or nothing: an invalid bundle gets an OperationOutcome naming each
    problem and nothing is written. Success answers an OperationOutcome whose
    first issue gives the counts, followed by any warnings.
    """

    permission_classes = [roles_allowed(Role.MANAGER)]
    parser_classes = [RawBodyParser]

    @extend_schema(
        parameters=[OpenApiParameter("source", OpenApiTypes.STR, required=True)],
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            413: OpenApiTypes.OBJECT,
            422: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request: Request) -> Response:
        key = request.query_params.get("source", "")
        source = FhirSource.objects.filter(key=key).first() if key else None
        if source is None:
            message = "Name the EHR feed: ?source=<key>." if not key else f"No feed “{key}”."
            return self._answer([issue(message, "source", code="required")], 400)
        content_type = (request.content_type or "").split(";")[0].strip()
        if content_type not in {FHIR_JSON, "application/json"}:
            return self._answer(
                [issue("Send application/fhir+json (or application/json).", code="not-supported")],
                415,
            )
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > MAX_BYTES:
            return self._answer(
                [issue(f"The body is over {MAX_BYTES // (1024 * 1024)} MB.", code="too-costly")],
                413,
            )
        try:
            body = request.body
        except RequestDataTooBig:
            return self._answer(
                [issue(f"The body is over {MAX_BYTES // (1024 * 1024)} MB.", code="too-costly")],
                413,
            )
        try:
            result = fhir_import(source=source, payload=body, origin="api", actor=request.user)
        except FhirImportError as error:
            not_found = all(problem["code"] == "not-found" for problem in error.issues)
            return self._answer(error.issues, 422 if not_found else 400)
        summary = issue(
            f"Imported: {result.summary()}.", severity="information", code="informational"
        )
        return self._answer([summary, *result.warnings], 200)

    @staticmethod
    def _answer(issues, status: int) -> Response:
        return Response(operation_outcome(issues), status=status, content_type=FHIR_JSON)
