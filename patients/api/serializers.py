from __future__ import annotations

from django.utils import timezone
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from patients.languages import is_language_code, language_name
from patients.models import (
    CareGap,
    Clinic,
    EnglishProficiency,
    InsuranceType,
    Patient,
    PhoneType,
    RaceEthnicity,
    Referral,
    ScreeningModality,
    ScreeningProgram,
    Sex,
    SmokingStatus,
    validate_time_zone,
)
from patients.services.patients import PatientInput, PhoneInput

# --- Input -----------------------------------------------------------------------


class PhoneInputSerializer(serializers.Serializer):
    number = PhoneNumberField()
    kind = serializers.ChoiceField(choices=PhoneType.choices, default=PhoneType.MOBILE)


class PatientInputSerializer(serializers.Serializer):
    mrn = serializers.CharField(max_length=64)
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    preferred_language = serializers.CharField(max_length=8, default="en")
    english_proficiency = serializers.ChoiceField(
        choices=EnglishProficiency.choices, default=EnglishProficiency.UNKNOWN
    )
    interpreter_needed = serializers.BooleanField(default=False)
    race_ethnicity = serializers.ListField(
        child=serializers.ChoiceField(choices=RaceEthnicity.choices), default=list
    )
    phones = PhoneInputSerializer(many=True, default=list)
    sms_consent = serializers.BooleanField(default=False)
    best_contact_times = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="When the patient is easiest to reach, in words (e.g. 'weekday mornings').",
    )
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    address_line1 = serializers.CharField(required=False, allow_blank=True, default="")
    address_line2 = serializers.CharField(required=False, allow_blank=True, default="")
    city = serializers.CharField(required=False, allow_blank=True, default="")
    state = serializers.CharField(required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(required=False, allow_blank=True, default="")
    time_zone = serializers.CharField(required=False, allow_blank=True, default="")
    insurance_type = serializers.ChoiceField(
        choices=InsuranceType.choices, default=InsuranceType.UNKNOWN
    )
    smoking_status = serializers.ChoiceField(
        choices=SmokingStatus.choices, default=SmokingStatus.UNKNOWN
    )
    smoking_pack_years = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=300, default=None
    )

    def validate_birth_date(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError("The birth date is in the future.")
        if value.year < 1900:
            raise serializers.ValidationError("The birth date is before 1900.")
        return value

    def validate_preferred_language(self, value: str) -> str:
        value = value.strip().lower()
        if not is_language_code(value):
            raise serializers.ValidationError(
                f"“{value}” is not an ISO 639 language code (e.g. 'en', 'es', 'ht')."
            )
        return value

    def validate_time_zone(self, value: str) -> str:
        if value:
            try:
                validate_time_zone(value)
            except Exception as error:
                raise serializers.ValidationError(str(error.messages[0])) from error
        return value


def patient_input_from(validated: dict) -> PatientInput:
    """The service's input from a PatientInputSerializer's validated data."""
    data = dict(validated)
    phones = [PhoneInput(number=p["number"].as_e164, kind=p["kind"]) for p in data.pop("phones")]
    return PatientInput(**data, phones=phones)


class ReferralCreateSerializer(serializers.Serializer):
    clinic = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Clinic.objects.filter(active=True),
        required=False,
        help_text="Clinic code. Clinic staff may omit it: their own clinic is used.",
    )
    program = serializers.SlugRelatedField(
        slug_field="code", queryset=ScreeningProgram.objects.filter(active=True)
    )
    referring_clinician = serializers.CharField(max_length=200)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    patient = PatientInputSerializer()

    def validate(self, attrs):
        user = self.context["request"].user
        clinic = attrs.get("clinic")
        if user.is_clinic_staff:
            if clinic is not None and clinic.pk != user.clinic_id:
                raise serializers.ValidationError(
                    {"clinic": "You can only refer patients to your own clinic."}
                )
            attrs["clinic"] = user.clinic
        elif clinic is None:
            raise serializers.ValidationError({"clinic": "Name the referring clinic."})
        return attrs


# --- Output ----------------------------------------------------------------------


class ClinicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Clinic
        fields = ["code", "name"]


class ModalitySerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningModality
        fields = ["code", "name", "interval_months", "interval_note", "min_age"]


class ProgramSerializer(serializers.ModelSerializer):
    modalities = ModalitySerializer(many=True, read_only=True)

    class Meta:
        model = ScreeningProgram
        fields = ["code", "name", "min_age", "max_age", "sex", "min_pack_years", "guideline",
                  "modalities"]  # fmt: skip


class ProgramBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningProgram
        fields = ["code", "name"]


class PatientBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="full_name")

    class Meta:
        model = Patient
        fields = ["id", "mrn", "name", "birth_date"]


class PatientSerializer(serializers.ModelSerializer):
    clinic = ClinicSerializer()
    race_ethnicity = serializers.SerializerMethodField()
    phones = serializers.SerializerMethodField()
    language_name = serializers.SerializerMethodField()
    limited_english_proficiency = serializers.BooleanField()

    class Meta:
        model = Patient
        fields = [
            "id", "clinic", "mrn", "given_name", "family_name", "birth_date", "sex",
            "preferred_language", "language_name", "english_proficiency",
            "limited_english_proficiency", "interpreter_needed", "race_ethnicity", "phones",
            "sms_consent", "best_contact_times", "email", "address_line1", "address_line2",
            "city", "state", "postal_code", "time_zone", "insurance_type",
        ]  # fmt: skip

    def get_race_ethnicity(self, patient) -> list[str]:
        return [r.category for r in patient.race_ethnicities.all()]

    def get_phones(self, patient) -> list[dict]:
        return [
            {"number": p.number.as_e164, "kind": p.kind, "is_bad": p.is_bad}
            for p in patient.phones.all()
        ]

    def get_language_name(self, patient) -> str:
        return language_name(patient.preferred_language)


class ReferralSerializer(serializers.ModelSerializer):
    """What a clinic sees of its referral: no barriers, notes or attempts."""

    clinic = ClinicSerializer()
    patient = PatientBriefSerializer()
    program = ProgramBriefSerializer()
    status = serializers.CharField(source="case.status")
    status_label = serializers.CharField(source="clinic_status")

    class Meta:
        model = Referral
        fields = ["id", "clinic", "patient", "program", "referring_clinician", "reason",
                  "created_at", "status", "status_label"]  # fmt: skip


class CareGapSerializer(serializers.ModelSerializer):
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    last_modality = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CareGap
        fields = [
            "program", "status", "status_display", "summary", "reasons", "evidence",
            "last_screening_on", "last_modality", "next_due_on", "overdue_since", "as_of",
            "rule_version", "computed_at",
        ]  # fmt: skip
