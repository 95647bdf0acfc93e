"""`POST /api/referrals/upload/`: a CSV of referrals; `GET .../template/`: the CSV template;
`GET /api/referrals/uploads/<id>/`: the import job and its progress.

POST answers 202 Accepted once the file is read and checked: the job (queued), its
address in `Location`; a worker imports the rows (navigator.intake.referral_import).
400: nothing will be imported (the file cannot be read, or a bad row all or nothing):
`detail`, and `errors` by line and column.
GET answers the job: status, rows processed, counts and the rows not imported.
Clinic staff see their own clinic's jobs only (another's: 404).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import IgnoresAcceptMixin, roles_allowed
from navigator.intake.referral_import import referral_import_start
from navigator.models import Role
from patients import selectors
from patients.models import Clinic, ReferralUpload
from patients.uploads.parse import MAX_BYTES, MAX_ROWS, UploadRejected
from patients.uploads.template import TEMPLATE_FILENAME, template_csv


class ReferralUploadFileSerializer(serializers.Serializer):
    # An empty file reaches the service, which explains it like every other bad file.
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=f"CSV, UTF-8, at most {MAX_ROWS:,} rows and {MAX_BYTES // (1024 * 1024)} MB; "
        "see GET /api/referrals/upload/template/.",
    )
    mode = serializers.ChoiceField(
        choices=ReferralUpload.Mode.choices,
        help_text="all_or_nothing: import nothing if any row is bad. "
        "good_rows: import the good rows, list the bad.",
    )
    clinic = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Clinic.objects.filter(active=True),
        required=False,
        help_text="The clinic's code: required of managers; clinic staff may omit it.",
    )


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        allow_null=True, help_text="CSV line (the header is line 1); null: the whole file."
    )
    column = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ReferralUploadSerializer(serializers.ModelSerializer):
    clinic = serializers.SlugRelatedField(slug_field="code", read_only=True)
    rows = serializers.IntegerField(source="row_count", read_only=True)
    created = serializers.IntegerField(source="created_count", read_only=True)
    duplicates = serializers.IntegerField(
        source="duplicate_count", read_only=True, help_text="Rows imported before: skipped."
    )
    errors = RowErrorSerializer(many=True, read_only=True, help_text="Rows not imported.")

    class Meta:
        model = ReferralUpload
        fields = [
            "id", "clinic", "filename", "mode", "uploaded_at", "rows", "created", "duplicates",
            "errors",
        ]  # fmt: skip
        read_only_fields = fields


class ReferralUploadJobSerializer(ReferralUploadSerializer):
    status = serializers.ChoiceField(
        choices=ReferralUpload.Status.choices,
        read_only=True,
        help_text="queued, running, then done or failed (`detail` says why).",
    )
    processed = serializers.IntegerField(
        source="processed_count", read_only=True, help_text="Rows dealt with so far."
    )
    percent = serializers.IntegerField(read_only=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta(ReferralUploadSerializer.Meta):
        fields = [
            *ReferralUploadSerializer.Meta.fields,
            "status", "processed", "percent", "detail", "uploaded_by", "started_at",
            "finished_at", "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, upload: ReferralUpload) -> str:
        return reverse("api:referral-upload-job", kwargs={"upload_id": upload.pk})


class ReferralUploadRejectedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    rows = serializers.IntegerField(help_text="Data rows read (0 when the file was unreadable).")
    errors = RowErrorSerializer(many=True)


def _field_rejection(detail: Any) -> dict[str, Any]:
    """A field error in the schema's 400 shape (`detail`, `rows`, `errors`), keeping the
    `{field: [message]}` keys that callers already read."""
    fields = detail if isinstance(detail, dict) else {"": detail}
    errors = [
        {"line": None, "column": field, "message": str(message)}
        for field, messages in fields.items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]
    return {
        "detail": "Nothing was imported: the request is invalid.",
        "rows": 0,
        "errors": errors,
        **{field: messages for field, messages in fields.items() if field},
    }


class ReferralUploadView(APIView):
    permission_classes = [roles_allowed(Role.CLINIC_STAFF, Role.MANAGER)]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="referrals_upload",
        summary="Upload a CSV of referrals",
        request={"multipart/form-data": ReferralUploadFileSerializer},
        responses={
            202: OpenApiResponse(
                ReferralUploadJobSerializer,
                description="Checked and queued: the job; `Location` is its address.",
            ),
            400: OpenApiResponse(
                ReferralUploadRejectedSerializer,
                description="Nothing was imported. A field of the request that is invalid "
                "is also named as {field: [message]}.",
                examples=[
                    OpenApiExample(
                        "A bad row, all or nothing",
                        value={
                            "detail": "Nothing was imported: 1 of 3 rows has problems.",
                            "rows": 3,
                            "errors": [
                                {
                                    "line": 3,
                                    "column": "birth_date",
                                    "message": "“31/02/1970” is not a date in YYYY-MM-DD form.",
                                }
                            ],
                        },
                    )
                ],
            ),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            return self._upload(request)
        except serializers.ValidationError as invalid:
            return Response(_field_rejection(invalid.detail), status=400)

    def _upload(self, request: Request) -> Response:
        form = ReferralUploadFileSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = request.user
        clinic = form.validated_data.get("clinic")
        if user.is_clinic_staff:
            if clinic is not None and clinic.pk != user.clinic_id:
                raise serializers.ValidationError(
                    {"clinic": ["You can only upload referrals for your own clinic."]}
                )
            clinic = user.clinic
        elif clinic is None:
            raise serializers.ValidationError(
                {"clinic": ["Name the clinic the referrals are for (its code)."]}
            )
        upload_file = form.validated_data["file"]
        try:
            upload = referral_import_start(
                clinic=clinic,
                actor=user,
                # One byte over the limit is enough to refuse a file that is too large.
                file_bytes=upload_file.read(MAX_BYTES + 1),
                filename=upload_file.name or "upload.csv",
                mode=form.validated_data["mode"],
            )
        except UploadRejected as rejected:
            return Response(rejected.as_dict(), status=400)
        body = ReferralUploadJobSerializer(upload).data
        return Response(body, status=202, headers={"Location": body["url"]})


class ReferralUploadJobView(APIView):
    permission_classes = [roles_allowed(Role.CLINIC_STAFF, Role.MANAGER)]

    @extend_schema(
        operation_id="referrals_upload_job",
        summary="An upload's import job: status, progress, counts and rejected rows",
        responses={200: ReferralUploadJobSerializer},
    )
    def get(self, request: Request, upload_id: int) -> Response:
        upload = get_object_or_404(selectors.uploads_visible_to(request.user), pk=upload_id)
        return Response(ReferralUploadJobSerializer(upload).data)


class ReferralUploadTemplateView(IgnoresAcceptMixin, APIView):
    permission_classes = [roles_allowed(Role.CLINIC_STAFF, Role.MANAGER)]

    @extend_schema(
        operation_id="referrals_upload_template",
        summary="The CSV template: the header, a comment line describing each column, an example",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> HttpResponse:
        return template_response()


def template_response() -> HttpResponse:
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILENAME}"'
    return response
