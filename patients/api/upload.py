"""`POST /api/referrals/upload/`: a CSV of referrals; `GET .../template/`: the template."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import roles_allowed
from navigator.models import Role
from patients.models import Clinic, ReferralUpload
from patients.uploads import UploadRejected, referrals_upload, template_csv


class UploadRequest(serializers.Serializer):
    # An empty file reaches the service, which explains it like every other bad file.
    file = serializers.FileField(allow_empty_file=True)
    mode = serializers.ChoiceField(choices=ReferralUpload.Mode.choices)
    clinic = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Clinic.objects.filter(active=True),
        required=False,
        help_text="The clinic's code (managers); clinic staff upload for their own clinic.",
    )


class ReferralUploadView(APIView):
    permission_classes = [roles_allowed(Role.CLINIC_STAFF, Role.MANAGER)]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UploadRequest},
        responses={
            201: inline_serializer(
                "ReferralUploadResult",
                {
                    "id": serializers.IntegerField(),
                    "rows": serializers.IntegerField(),
                    "created": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            ),
            400: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request: Request) -> Response:
        form = UploadRequest(data=request.data)
        form.is_valid(raise_exception=True)
        user = request.user
        clinic = user.clinic if user.is_clinic_staff else form.validated_data.get("clinic")
        if clinic is None:
            raise serializers.ValidationError({"clinic": "Name the clinic the referrals are for."})
        upload_file = form.validated_data["file"]
        try:
            result = referrals_upload(
                clinic=clinic,
                actor=user,
                file_bytes=upload_file.read(),
                filename=upload_file.name or "upload.csv",
                mode=form.validated_data["mode"],
            )
        except UploadRejected as rejected:
            return Response(
                {
                    "detail": "Nothing was imported.",
                    "errors": [e.as_dict() for e in rejected.errors],
                },
                status=400,
            )
        upload = result.upload
        return Response(
            {
                "id": upload.pk,
                "rows": upload.row_count,
                "created": upload.created_count,
                "duplicates": upload.duplicate_count,
                "errors": upload.errors,
            },
            status=201,
        )


class ReferralUploadTemplateView(APIView):
    permission_classes = [roles_allowed(Role.CLINIC_STAFF, Role.MANAGER)]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        return csv_template_response()


def csv_template_response() -> HttpResponse:
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="equinav-referrals-template.csv"'
    return response
