"""`POST /api/fhir/?source=<feed>`: FHIR R4 intake from an EHR feed.

Every answer is an OperationOutcome (application/fhir+json):

- 200: imported. The first issue (severity information) gives the counts
  ("3 created, 0 updated, 1 unchanged; skipped 1 MeasureReport"), any
  warnings follow (unknown code systems, skipped phone numbers, identifier
  conflicts, ...).
- 400: the input cannot be imported (JSON, Bundle.type, an invalid resource,
  a reference to something that is not a Patient, ...) or the feed is missing
  or unknown; an issue per problem, each naming its place. Nothing written.
- 422: every problem is a reference to a patient that is neither in the
  bundle nor known from the feed (send the Patient first). Nothing written.
- 409: another import changed the same records at the same moment; send again.
- 401/403: not signed in / not a program manager or admin.
- 406: the Accept header allows neither application/fhir+json nor application/json.
- 413: the body is over 20 MB. 415: neither application/fhir+json nor application/json.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from navigator.models import Role
from patients import selectors
from patients.fhir.importer import fhir_import
from patients.fhir.outcome import FhirImportError, Issue, issue, operation_outcome
from patients.fhir.parse import MAX_BYTES

FHIR_JSON = "application/fhir+json"
TOO_LARGE = f"The body is over {MAX_BYTES // (1024 * 1024)} MB."
# DRF's errors, as OperationOutcome issue types.
ISSUE_TYPES = {401: "login", 403: "forbidden", 405: "not-supported", 406: "not-supported"}


class RawBodyParser(BaseParser):
    """Leave the body to the importer, which reports JSON errors with line and column."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return None


class FhirJSONRenderer(JSONRenderer):
    """JSON as FHIR clients ask for it (`Accept: application/fhir+json`)."""

    media_type = FHIR_JSON
    format = "fhir"


def _status_for(issues: list[Issue]) -> int:
    codes = {problem["code"] for problem in issues}
    if codes == {"not-found"}:
        return 422
    if codes == {"conflict"}:
        return 409
    if "too-costly" in codes:
        return 413
    return 400


OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR OperationOutcome.")


class FhirImportView(APIView):
    """Import a Bundle (transaction, batch or collection) or a single resource.

    All or nothing: an invalid bundle gets an OperationOutcome naming each
    problem and nothing is written. Success answers an OperationOutcome whose
    first issue gives the counts, followed by any warnings. Program managers
    and admins only.
    """

    permission_classes = [roles_allowed(Role.MANAGER)]
    parser_classes = [RawBodyParser]
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    @extend_schema(
        operation_id="fhir_import",
        parameters=[
            OpenApiParameter(
                "source", OpenApiTypes.STR, required=True, description="The EHR feed's key."
            )
        ],
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        # As the client accepts: application/fhir+json, or application/json when asked for.
        responses={
            (status, media): OUTCOME
            for status in (200, 400, 401, 403, 406, 409, 413, 415, 422)
            for media in (FHIR_JSON, "application/json")
        },
    )
    def post(self, request: Request) -> Response:
        key = request.query_params.get("source", "")
        source = selectors.fhir_source_by_key(key) if key else None
        if source is None:
            message = (
                "Name the EHR feed: ?source=<key>." if not key else selectors.fhir_feed_missing(key)
            )
            code = "required" if not key else "not-found"
            return self._answer([issue(message, "source", code=code)], 400)
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in {FHIR_JSON, "application/json"}:
            return self._answer(
                [issue("Send application/fhir+json (or application/json).", code="not-supported")],
                415,
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BYTES:
            return self._answer([issue(TOO_LARGE, code="too-costly")], 413)
        try:
            body = request.body
        except RequestDataTooBig:
            return self._answer([issue(TOO_LARGE, code="too-costly")], 413)
        try:
            result = fhir_import(source=source, payload=body, origin="api", actor=request.user)
        except FhirImportError as error:
            return self._answer(error.issues, _status_for(error.issues))
        summary = issue(
            f"Imported: {result.summary()}.", severity="information", code="informational"
        )
        return self._answer([summary, *result.warnings], 200)

    def handle_exception(self, exc: Exception) -> Response:
        """DRF's own refusals (sign in, role, method) as OperationOutcomes too."""
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.APIException) and isinstance(response.data, dict):
            detail = str(response.data.get("detail") or exc.detail)
            code = ISSUE_TYPES.get(response.status_code, "processing")
            if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
                code = "login"
            response.data = operation_outcome([issue(detail, code=code)])
        return response

    @staticmethod
    def _answer(issues: list[Issue], status: int) -> Response:
        # Rendered as the client accepts: application/fhir+json unless it asks for JSON.
        return Response(operation_outcome(issues), status=status)
