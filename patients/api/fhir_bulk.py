"""`GET /api/fhir/bulk-imports/` and `/api/fhir/bulk-imports/<job_id>/`: FHIR bulk import
jobs and their progress, for program managers and admins (as FHIR import is).

A job: its status, per file the lines read and resources created / updated /
unchanged / rejected, the care gaps recomputed, and the rejected lines (file, line,
reason; the first 500). Jobs are started by `manage.py fhir_bulk_import`.
"""

from __future__ import annotations

from pathlib import Path

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from navigator.models import Role
from patients.fhir.bulk import fhir_bulk_progress
from patients.models import FhirBulkImport, FhirBulkRejection

SHOWN_REJECTIONS = 500
LISTED_JOBS = 50


class BulkFileSerializer(serializers.Serializer):
    resource_type = serializers.CharField()
    file = serializers.CharField(source="path", help_text="The file's name.")
    lines = serializers.IntegerField()
    lines_read = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    batches = serializers.IntegerField()
    batches_done = serializers.IntegerField()
    skipped_reason = serializers.CharField(help_text="Why the whole file was skipped, if it was.")


class BulkRejectionSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField()
    reason = serializers.CharField()


class BulkImportSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = FhirBulkImport
        fields = [
            "id", "source", "status", "phase", "batch_size", "created_at", "started_at",
            "imported_at", "finished_at", "care_gap_patients", "care_gaps_recomputed", "message",
        ]  # fmt: skip
        read_only_fields = fields


class BulkImportDetailSerializer(BulkImportSerializer):
    files = BulkFileSerializer(many=True)
    rejections = BulkRejectionSerializer(many=True)

    class Meta(BulkImportSerializer.Meta):
        fields = [*BulkImportSerializer.Meta.fields, "files", "rejections"]
        read_only_fields = fields


class BulkImportListView(APIView):
    """The latest FHIR bulk import jobs (50), newest first."""

    permission_classes = [roles_allowed(Role.MANAGER)]

    @extend_schema(operation_id="fhir_bulk_import_list", responses=BulkImportSerializer(many=True))
    def get(self, request: Request) -> Response:
        jobs = FhirBulkImport.objects.select_related("source")[:LISTED_JOBS]
        return Response(BulkImportSerializer(jobs, many=True).data)


class BulkImportDetailView(APIView):
    """One FHIR bulk import job: status, progress per file, rejected lines."""

    permission_classes = [roles_allowed(Role.MANAGER)]

    @extend_schema(operation_id="fhir_bulk_import_detail", responses=BulkImportDetailSerializer)
    def get(self, request: Request, job_id: int) -> Response:
        job = get_object_or_404(FhirBulkImport.objects.select_related("source"), pk=job_id)
        rejections = FhirBulkRejection.objects.filter(file__job=job).select_related("file")
        job.files_progress = fhir_bulk_progress(job)  # type: ignore[attr-defined]
        data = BulkImportSerializer(job).data
        data["files"] = BulkFileSerializer(job.files_progress, many=True).data  # type: ignore[attr-defined]
        data["rejections"] = [
            {"file": Path(r.file.path).name, "line": r.line, "reason": r.reason}
            for r in rejections[:SHOWN_REJECTIONS]
        ]
        return Response(data)
