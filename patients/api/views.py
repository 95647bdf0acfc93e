from __future__ import annotations

from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from config.api import roles_allowed
from navigator.intake.referrals import referral_create
from navigator.models import Role
from patients import selectors
from patients.api.serializers import (
    CareGapSerializer,
    PatientInputSerializer,
    PatientSerializer,
    ProgramSerializer,
    ReferralCreateSerializer,
    ReferralDetailSerializer,
    ReferralSerializer,
    patient_input_from,
)
from patients.models import Patient, Referral
from patients.mrn import mrn_key, mrn_normalise


def _nest_patient_errors(error: ValidationError) -> serializers.ValidationError:
    """Put the service's errors on patient fields where the request had them: under "patient"."""
    errors = as_serializer_error(error)
    patient_fields = set(PatientInputSerializer().fields)
    nested = {k: v for k, v in errors.items() if k in patient_fields}
    answer = {k: v for k, v in errors.items() if k not in patient_fields}
    if nested:
        answer["patient"] = nested
    return serializers.ValidationError(answer)


class ReferralViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Clinics refer patients here and follow what became of each referral."""

    serializer_class = ReferralSerializer
    permission_classes = [roles_allowed(Role.CLINIC_STAFF, Role.MANAGER)]
    filterset_fields = ["program__code"]

    def get_queryset(self):
        return selectors.referral_list(user=self.request.user)

    @extend_schema(responses={200: ReferralDetailSerializer})
    def retrieve(self, request, *args, **kwargs):
        """One referral, with where navigation stands in plain words (`loop`)."""
        try:
            referral = selectors.referral_detail(user=request.user, referral_id=int(kwargs["pk"]))
        except (Referral.DoesNotExist, ValueError, OverflowError):
            raise NotFound("No such referral.") from None
        return Response(ReferralDetailSerializer(referral).data)

    @extend_schema(request=ReferralCreateSerializer, responses={201: ReferralSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ReferralCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            referral = referral_create(
                clinic=data["clinic"],
                program=data["program"],
                patient_data=patient_input_from(data["patient"]),
                referring_clinician=data["referring_clinician"],
                reason=data["reason"],
                actor=request.user,
                eligibility_override_reason=data["eligibility_override_reason"],
            )
        except ValidationError as error:
            raise _nest_patient_errors(error) from error
        referral = self.get_queryset().get(pk=referral.pk)
        return Response(ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)


class PatientFilter(filters.FilterSet):
    class Meta:
        model = Patient
        fields = ["preferred_language"]


MRN_IN_URL = (
    "Find a patient by MRN with POST /api/patients/search/ (the MRN in the body): "
    "an MRN in the address would be kept in logs."
)


class PatientSearchSerializer(serializers.Serializer):
    mrn = serializers.CharField(max_length=64, help_text="MRN, however typed (case, spaces)")


class PatientViewSet(viewsets.ReadOnlyModelViewSet):
    """Patients the caller may see. Finding one by MRN is a POST (`search`): an MRN
    never travels in an address, where access logs would keep it."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter

    def get_queryset(self):
        return selectors.patients_with_details(user=self.request.user)

    def list(self, request, *args, **kwargs):
        if "mrn" in request.query_params:
            raise serializers.ValidationError({"mrn": [MRN_IN_URL]})
        return super().list(request, *args, **kwargs)

    @extend_schema(request=PatientSearchSerializer, responses=PatientSerializer(many=True))
    @action(
        detail=False,
        methods=["post"],
        url_path="search",
        filterset_class=None,
        pagination_class=None,
    )
    def search(self, request):
        """The patients with this MRN (however typed: case and spaces do not matter), a
        list: one a clinic at most."""
        query = PatientSearchSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        patients = (
            self.get_queryset()
            .alias(mrn_key=mrn_key())
            .filter(mrn_key=mrn_normalise(query.validated_data["mrn"]))
        )
        return Response(PatientSerializer(patients, many=True).data)

    @extend_schema(responses={200: CareGapSerializer(many=True)})
    @action(detail=True, url_path="care-gaps", pagination_class=None)
    def care_gaps(self, request, pk=None):
        """The patient's screening status per program, with its reasons and evidence."""
        patient = self.get_object()
        return Response(CareGapSerializer(selectors.care_gaps_for(patient), many=True).data)


class ProgramViewSet(viewsets.ReadOnlyModelViewSet):
    """Screening programs with their modalities and intervals (reference data)."""

    serializer_class = ProgramSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.programs_active()
