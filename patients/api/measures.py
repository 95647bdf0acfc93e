"""CMS measure reports as FHIR MeasureReport resources, for managers and payer reporting."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from config.db_router import reads_from_replica
from navigator.models import Role
from patients.api.fhir import FhirJSONRenderer
from patients.caregaps.measures.registry import MEASURES
from patients.caregaps.measures.reports import measure_report
from patients.fhir.outcome import issue, operation_outcome
from patients.models import FhirSource

EARLIEST_PERIOD = dt.date(2000, 1, 1)
FHIR_JSON = "application/fhir+json"


def problems_outcome(problems: dict[str, str], code: str = "invalid") -> dict:
    """An OperationOutcome with one error per query parameter."""
    return operation_outcome(
        [issue(message, where, code=code) for where, message in problems.items()]
    )


class MeasureReportQuery(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    patient = serializers.CharField(required=False, max_length=64)
    source = serializers.SlugField(required=False, max_length=64)

    def validate(self, attrs):
        start, end = attrs["period_start"], attrs["period_end"]
        if end < start:
            raise serializers.ValidationError({"period_end": "The period ends before it starts."})
        if start < EARLIEST_PERIOD:
            raise serializers.ValidationError({"period_start": "Periods start in 2000 or later."})
        if (end - start).days > 366 * 5:
            raise serializers.ValidationError({"period_end": "A period is at most five years."})
        if "source" in attrs:
            source = FhirSource.objects.ehr_feeds().filter(key=attrs["source"]).first()
            if source is None:
                raise serializers.ValidationError({"source": "No EHR feed has this key."})
            attrs["source"] = source
        return attrs


class MeasureReportView(APIView):
    """`GET /api/measures/<CMS130|CMS125|CMS124|CMS122>/report/`: a summary MeasureReport.

    With `patient=<the feed's Patient id>`, an individual report for that patient.
    """

    permission_classes = [roles_allowed(Role.MANAGER)]
    # A FHIR client asks for application/fhir+json: it is served, not refused (406).
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("period_start", OpenApiTypes.DATE, required=True),
            OpenApiParameter("period_end", OpenApiTypes.DATE, required=True),
            OpenApiParameter("patient", OpenApiTypes.STR, description="A feed's Patient id."),
            OpenApiParameter("source", OpenApiTypes.STR, description="An EHR feed's key."),
        ],
        # FHIR resources, answered as application/fhir+json (a MeasureReport, or an
        # OperationOutcome saying what was wrong).
        responses={
            (code, "application/fhir+json"): OpenApiTypes.OBJECT for code in (200, 400, 404)
        },
    )
    @reads_from_replica
    def get(self, request: Request, measure: str) -> Response:
        measure_id = measure.upper()
        if measure_id not in MEASURES:
            known = ", ".join(sorted(MEASURES))
            return self._fhir(
                problems_outcome(
                    {"measure": f"No measure “{measure}”; known: {known}."}, "not-found"
                ),
                404,
            )
        query = MeasureReportQuery(data=request.query_params)
        if not query.is_valid():
            problems = {field: " ".join(map(str, errors)) for field, errors in query.errors.items()}
            return self._fhir(problems_outcome(problems), 400)
        params = query.validated_data
        patient_id = params.get("patient")
        report = measure_report(
            measure_id=measure_id,
            period_start=params["period_start"],
            period_end=params["period_end"],
            source=params.get("source"),
            patient_resource_id=patient_id,
        )
        if patient_id is None:
            return self._fhir(report.as_fhir(), 200)
        if not report.patients:
            return self._fhir(
                problems_outcome(
                    {"patient": "No patient from an EHR feed has this id."}, "not-found"
                ),
                404,
            )
        if len(report.patients) > 1:
            return self._fhir(
                problems_outcome(
                    {"source": "Several feeds have a patient with this id; name the feed."}
                ),
                400,
            )
        return self._fhir(report.as_fhir(individual=report.patients[0]), 200)

    @staticmethod
    def _fhir(document: dict, status: int) -> Response:
        return Response(document, status=status, content_type=FHIR_JSON)
