from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from navigator.selectors.referrals import referral_loop
from patients.languages import is_language_code, language_name
from patients.models import (
    CareGap,
    Clinic,
    DemographicSource,
    EnglishProficiency,
    FollowUpPathway,
    InsuranceType,
    LanguageStatus,
    Patient,
    PhoneType,
    RaceEthnicity,
    Referral,
    ResultCategory,
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
    preferred_language = serializers.CharField(
        max_length=8,
        required=False,
        allow_blank=True,
        default="",
        help_text="ISO 639 code of the language the patient prefers for health care; "
        "left out or empty: not given (stored as 'en', with language_status 'not_asked' "
        "unless another status is sent).",
    )
    language_status = serializers.ChoiceField(
        choices=LanguageStatus.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Left out: 'recorded' when a language is given, else 'not_asked'. "
        "'declined', 'unknown' and 'not_asked' go without a language.",
    )
    language_source = serializers.ChoiceField(
        choices=DemographicSource.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Who gave the language; left out: 'ehr_unstated' (not said) when there "
        "is an answer.",
    )
    written_language = serializers.CharField(
        max_length=8,
        required=False,
        allow_blank=True,
        default="",
        help_text="ISO 639 code of the language letters and texts are written in; "
        "empty: the preferred language.",
    )
    english_proficiency = serializers.ChoiceField(
        choices=EnglishProficiency.choices, default=EnglishProficiency.UNKNOWN
    )
    interpreter_needed = serializers.BooleanField(default=False)
    race_ethnicity = serializers.ListField(
        child=serializers.ChoiceField(choices=RaceEthnicity.choices), default=list
    )
    race_ethnicity_source = serializers.ChoiceField(
        choices=DemographicSource.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Who gave the race/ethnicity answers; left out: 'ehr_unstated' (not said) "
        "when there are answers.",
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
        if value and not is_language_code(value):
            raise serializers.ValidationError(
                f"“{value}” is not an ISO 639 language code (e.g. 'en', 'es', 'ht')."
            )
        return value

    def validate_written_language(self, value: str) -> str:
        value = value.strip().lower()
        if value and not is_language_code(value):
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
    eligibility_override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1000,
        help_text=(
            "Only to refer a patient outside the program's criteria (e.g. cervical screening "
            "for a trans man with a cervix): why, in at least three words. Without it such a "
            "referral is refused. The care-gap engine and the eCQMs are not affected."
        ),
    )
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
        fields = ["code", "name", "role", "interval_months", "interval_note", "min_age"]


class ResultCategorySerializer(serializers.ModelSerializer):
    """A category results are recorded in; `tests` are the modality codes reporting in it."""

    tests = serializers.SlugRelatedField(
        source="modalities", slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = ResultCategory
        fields = ["code", "name", "meaning", "tests", "source"]


class FollowUpPathwaySerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    test = serializers.SlugRelatedField(
        source="modality", slug_field="code", read_only=True, allow_null=True
    )
    next_test = serializers.SlugRelatedField(
        source="next_modality", slug_field="code", read_only=True
    )

    class Meta:
        model = FollowUpPathway
        fields = ["category", "test", "kind", "next_step", "next_test", "target_days",
                  "limit_days", "source"]  # fmt: skip


class ProgramSerializer(serializers.ModelSerializer):
    modalities = ModalitySerializer(many=True, read_only=True)
    result_categories = serializers.SerializerMethodField()
    follow_up_pathways = serializers.SerializerMethodField()

    class Meta:
        model = ScreeningProgram
        fields = ["code", "name", "min_age", "max_age", "sex", "min_pack_years", "guideline",
                  "modalities", "result_categories", "follow_up_pathways"]  # fmt: skip

    @extend_schema_field(ResultCategorySerializer(many=True))
    def get_result_categories(self, program: ScreeningProgram) -> list[dict]:
        active = [c for c in program.result_categories.all() if c.active]
        return ResultCategorySerializer(active, many=True).data

    @extend_schema_field(FollowUpPathwaySerializer(many=True))
    def get_follow_up_pathways(self, program: ScreeningProgram) -> list[dict]:
        active = [p for p in program.follow_up_pathways.all() if p.active]
        return FollowUpPathwaySerializer(active, many=True).data


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
    written_language_effective = serializers.CharField(
        help_text="What letters and texts are written in: the written language, else the "
        "preferred one."
    )

    class Meta:
        model = Patient
        fields = [
            "id", "clinic", "mrn", "given_name", "family_name", "birth_date", "sex",
            "preferred_language", "language_name", "written_language",
            "written_language_effective", "language_status", "language_source",
            "english_proficiency", "limited_english_proficiency", "interpreter_needed",
            "race_ethnicity", "race_ethnicity_source", "phones",
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


class LoopFollowUpSerializer(serializers.Serializer):
    test = serializers.CharField(help_text="The diagnostic test an abnormal result called for.")
    due_on = serializers.DateField(allow_null=True, help_text="When it should be done by.")
    outcome = serializers.CharField(help_text="What became of it, in plain words.")


class ReferralLoopSerializer(serializers.Serializer):
    """Where navigation stands, in plain words: only what a referring clinic may know
    (never barriers, notes, message or attempt contents)."""

    navigator_name = serializers.CharField(help_text="The navigator's name; empty if none yet.")
    navigator_phone = serializers.CharField(help_text="Their work phone (E.164), or empty.")
    navigator_email = serializers.CharField(help_text="Their work e-mail, or empty.")
    step = serializers.CharField(help_text="The step of navigation, as a clinic reads it.")
    last_contact_on = serializers.DateField(
        allow_null=True, help_text="The day of the last contact attempt (never what was said)."
    )
    last_contact_reached = serializers.BooleanField(
        allow_null=True, help_text="Whether it reached the patient; null if none yet."
    )
    last_contact = serializers.CharField(
        help_text="“Patient reached”, “Tried; patient not reached” or “No contact yet”."
    )
    appointment_on = serializers.DateField(
        allow_null=True, help_text="The next booked appointment's day, else the latest one's."
    )
    appointment_status = serializers.CharField(help_text="Booked, Kept, No-show, Cancelled...")
    appointment_upcoming = serializers.BooleanField(help_text="It is booked and still ahead.")
    test_name = serializers.CharField(help_text="The screening test done; empty if none yet.")
    test_on = serializers.DateField(allow_null=True, help_text="The day it was done.")
    test_result = serializers.CharField(help_text="Its result: Normal, Abnormal, ...")
    follow_up = LoopFollowUpSerializer(
        allow_null=True, help_text="The diagnostic follow-up and its outcome; null if none."
    )
    closed_reason = serializers.CharField(help_text="Why the case closed; empty while open.")
    closed_on = serializers.DateField(allow_null=True, help_text="The day it closed.")


class ReferralDetailSerializer(ReferralSerializer):
    """One referral with where navigation stands (`loop`)."""

    loop = serializers.SerializerMethodField()
    eligibility_override_reason = serializers.CharField(
        read_only=True, help_text="Why the patient was referred outside the criteria, if so."
    )

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "eligibility_override_reason", "loop"]

    @extend_schema_field(ReferralLoopSerializer)
    def get_loop(self, referral: Referral) -> dict:
        return ReferralLoopSerializer(referral_loop(referral)).data


class CareGapSerializer(serializers.ModelSerializer):
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    # Null when no screening has been found (or its modality is unknown).
    last_modality = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    # The measure counts the test; an unresolved result means the screening is not
    # complete (patients.selectors.with_open_loop): said beside the status.
    loop_label = serializers.SerializerMethodField(
        help_text="“Diagnostic follow-up needed” or “Repeat test needed” while a result "
        "waits for its follow-up; empty otherwise."
    )
    loop_step = serializers.SerializerMethodField(help_text="The follow-up it waits for.")
    loop_due = serializers.SerializerMethodField(help_text="When the follow-up is due.")

    class Meta:
        model = CareGap
        fields = [
            "program", "status", "status_display", "summary", "reasons", "evidence",
            "last_screening_on", "last_modality", "next_due_on", "overdue_since", "as_of",
            "rule_version", "computed_at", "loop_label", "loop_step", "loop_due",
        ]  # fmt: skip

    def get_loop_label(self, gap: CareGap) -> str:
        return getattr(gap, "loop_label", "") or ""

    def get_loop_step(self, gap: CareGap) -> str:
        return getattr(gap, "loop_step", "") or ""

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_loop_due(self, gap: CareGap):
        return getattr(gap, "loop_due", None)
