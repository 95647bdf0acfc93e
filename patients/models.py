from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from patients.languages import language_name, validate_language_code


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() scans the tz database on disk each call: once is enough.
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(f"“{value}” is not a known IANA time zone.", code="invalid_time_zone")


def validate_not_in_future(value: dt.date) -> None:
    if value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future_date")


class Clinic(models.Model):
    code = models.SlugField(max_length=32, unique=True, help_text="Short code, e.g. 'chelsea'.")
    name = models.CharField(max_length=200, unique=True)
    phone = PhoneNumberField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class RaceEthnicity(models.TextChoices):
    """The 2024 OMB SPD 15 minimum categories, plus two honest non-answers."""

    AMERICAN_INDIAN_ALASKA_NATIVE = "aian", "American Indian or Alaska Native"
    ASIAN = "asian", "Asian"
    BLACK = "black", "Black or African American"
    HISPANIC_LATINO = "hispanic", "Hispanic or Latino"
    MIDDLE_EASTERN_NORTH_AFRICAN = "mena", "Middle Eastern or North African"
    NATIVE_HAWAIIAN_PACIFIC_ISLANDER = "nhpi", "Native Hawaiian or Pacific Islander"
    WHITE = "white", "White"
    DECLINED = "declined", "Declined to answer"
    UNKNOWN = "unknown", "Unknown"


class EnglishProficiency(models.TextChoices):
    VERY_WELL = "very_well", "Very well"
    WELL = "well", "Well"
    NOT_WELL = "not_well", "Not well"
    NOT_AT_ALL = "not_at_all", "Not at all"
    UNKNOWN = "unknown", "Unknown"


class InsuranceType(models.TextChoices):
    COMMERCIAL = "commercial", "Commercial"
    MEDICARE = "medicare", "Medicare"
    MEDICAID = "medicaid", "Medicaid"
    DUAL = "dual", "Medicare and Medicaid"
    OTHER_PUBLIC = "other_public", "Other public"
    UNINSURED = "uninsured", "Uninsured"
    UNKNOWN = "unknown", "Unknown"


class SmokingStatus(models.TextChoices):
    NEVER = "never", "Never smoked"
    FORMER = "former", "Former smoker"
    CURRENT = "current", "Current smoker"
    UNKNOWN = "unknown", "Unknown"


class PreferredChannel(models.TextChoices):
    PHONE = "phone", "Phone"
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField(
        "MRN", max_length=64, blank=True, help_text="Medical record number at the clinic."
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    birth_date = models.DateField(validators=[validate_not_in_future])
    sex = models.CharField(max_length=16, choices=Sex.choices)
    preferred_language = models.CharField(
        max_length=8,
        default="en",
        validators=[validate_language_code],
        help_text="Preferred language for health care, as an ISO 639 code.",
    )
    english_proficiency = models.CharField(
        max_length=16, choices=EnglishProficiency.choices, default=EnglishProficiency.UNKNOWN
    )
    interpreter_needed = models.BooleanField(default=False)
    sms_consent = models.BooleanField("consents to SMS", default=False)
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    preferred_channel = models.CharField(
        max_length=8,
        choices=PreferredChannel.choices,
        blank=True,
        help_text="How the patient prefers to be reached.",
    )
    best_contact_times = models.CharField(
        max_length=200, blank=True, help_text="When the patient is easiest to reach, in words."
    )
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(
        max_length=64, default=settings.TIME_ZONE, validators=[validate_time_zone]
    )
    insurance_type = models.CharField(
        max_length=16, choices=InsuranceType.choices, default=InsuranceType.UNKNOWN
    )
    smoking_status = models.CharField(
        max_length=16, choices=SmokingStatus.choices, default=SmokingStatus.UNKNOWN
    )
    smoking_pack_years = models.PositiveSmallIntegerField(null=True, blank=True)
    deceased = models.BooleanField(default=False)
    # Set whenever clinical data arrives from an EHR feed, so that the nightly
    # care-gap run recomputes only patients whose data changed.
    clinical_data_changed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    care_gaps_computed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        constraints = [
            # Blank only for a patient from an EHR feed whose identifier could not be
            # linked safely (see DataQualityWarning): never two patients on one MRN.
            models.UniqueConstraint(
                fields=["clinic", "mrn"],
                condition=~models.Q(mrn=""),
                name="patient_mrn_unique_per_clinic",
            ),
        ]
        indexes = [
            models.Index(fields=["family_name", "given_name"]),
            models.Index(fields=["birth_date"]),
            models.Index(fields=["preferred_language"]),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} (MRN {self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def language_name(self) -> str:
        return language_name(self.preferred_language)

    @property
    def limited_english_proficiency(self) -> bool:
        return self.english_proficiency in {
            EnglishProficiency.WELL,
            EnglishProficiency.NOT_WELL,
            EnglishProficiency.NOT_AT_ALL,
        }

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class PatientRaceEthnicity(models.Model):
    """One row per category a patient identifies with (multi-select)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="race_ethnicities")
    category = models.CharField(max_length=16, choices=RaceEthnicity.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "category"], name="patient_race_ethnicity_unique"
            )
        ]
        indexes = [models.Index(fields=["category"])]

    def __str__(self) -> str:
        return self.get_category_display()


class PhoneType(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    HOME = "home", "Home"
    WORK = "work", "Work"


class PatientPhone(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="phones")
    number = PhoneNumberField()
    kind = models.CharField(max_length=8, choices=PhoneType.choices, default=PhoneType.MOBILE)
    rank = models.PositiveSmallIntegerField(default=0, help_text="0 is the number to try first.")
    is_bad = models.BooleanField(
        default=False, help_text="Wrong or disconnected: skipped when calling."
    )
    undeliverable = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why texts to this number cannot be delivered, as the SMS provider said.",
    )

    class Meta:
        ordering = ["rank", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "number"], name="patient_phone_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.number}"


class Sexes(models.TextChoices):
    ANY = "any", "Any"
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class ScreeningProgram(models.Model):
    """A screening (colorectal, breast, ...) with its eligibility, stored as data."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100, unique=True)
    min_age = models.PositiveSmallIntegerField()
    max_age = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=8, choices=Sexes.choices, default=Sexes.ANY)
    min_pack_years = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Smoking history required for eligibility (lung)."
    )
    guideline = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    due_soon_days = models.PositiveSmallIntegerField(
        default=60,
        validators=[MaxValueValidator(365)],
        help_text="A patient is “due soon” this many days before the next screening is due.",
    )
    open_cases_automatically = models.BooleanField(
        default=True,
        help_text="The nightly care-gap run opens a case for each newly overdue patient.",
    )
    # Bumped by patients.services.program_rules.program_rules_update with every change to
    # the rules (eligibility, modalities, exclusions); see RuleVersion.
    rule_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_age__lte=models.F("max_age")),
                name="program_age_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def eligibility_problems(self, patient: Patient, on: dt.date) -> list[str]:
        """Why this patient is outside the program's criteria on a day (empty if inside)."""
        problems = []
        age = patient.age_on(on)
        if not self.min_age <= age <= self.max_age:
            problems.append(
                f"{self.name} screening is for ages {self.min_age}–{self.max_age}; "
                f"the patient is {age}."
            )
        if self.sex != Sexes.ANY and patient.sex != self.sex:
            problems.append(
                f"{self.name} screening is for {self.get_sex_display().lower()} patients."
            )
        if self.min_pack_years is not None and (
            patient.smoking_status not in {SmokingStatus.CURRENT, SmokingStatus.FORMER}
            or (patient.smoking_pack_years or 0) < self.min_pack_years
        ):
            problems.append(
                f"{self.name} screening needs a smoking history of at least "
                f"{self.min_pack_years} pack-years."
            )
        return problems


class ScreeningModality(models.Model):
    program = models.ForeignKey(
        ScreeningProgram, on_delete=models.CASCADE, related_name="modalities"
    )
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=100)
    interval_months = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="How long a normal result keeps the patient up to date.",
    )
    interval_note = models.CharField(max_length=200, blank=True)
    min_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Only from this age (e.g. hrHPV testing from 30)."
    )
    concept = models.ForeignKey(
        "CodeConcept",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="modalities",
        help_text="The codes that show, in EHR data, that this test was done.",
    )
    diagnostic_follow_up = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The diagnostic test an abnormal result calls for (colonoscopy after FIT).",
    )
    mailed_kit = models.BooleanField(
        default=False, help_text="Done with a kit mailed to the patient (FIT, stool DNA)."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program", "interval_months", "name"]
        verbose_name_plural = "screening modalities"
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="modality_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ScreeningResult(models.TextChoices):
    NORMAL = "normal", "Normal"
    ABNORMAL = "abnormal", "Abnormal"
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    # A test reported by the EHR without an interpretation we can read.
    NOT_REPORTED = "not_reported", "Result not reported"


# What a navigator may record by hand.
RECORDABLE_RESULTS = [
    (value, label) for value, label in ScreeningResult.choices if value != "not_reported"
]


class ScreeningEvent(models.Model):
    """A screening test that was done, and its result."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    modality = models.ForeignKey(ScreeningModality, on_delete=models.PROTECT)
    performed_on = models.DateField(validators=[validate_not_in_future])
    result = models.CharField(max_length=16, choices=ScreeningResult.choices)
    case = models.ForeignKey(
        "navigator.NavigationCase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="screenings",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # Set when the test came from an EHR feed rather than a navigator.
    clinical_resource = models.ForeignKey(
        "ClinicalResource", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-performed_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.modality} on {self.performed_on}: {self.get_result_display()}"


# What a referring clinic may know of a case: its stage, never its barriers,
# notes or attempts.
CLINIC_STATUS_LABELS = {
    "new": "Received",
    "assigned": "Received",
    "contacting": "Navigator reaching out",
    "scheduled": "Screening scheduled",
    "completed": "Screening completed",
    "closed": "Screening completed",
    "closed_unreachable": "Closed: could not reach",
    "declined": "Patient declined",
    "ineligible": "Not eligible",
}


class Referral(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="referrals")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    program = models.ForeignKey(ScreeningProgram, on_delete=models.PROTECT)
    referring_clinician = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    case = models.ForeignKey(
        "navigator.NavigationCase", on_delete=models.PROTECT, related_name="referrals"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made"
    )
    created_at = models.DateTimeField(default=timezone.now)
    upload = models.ForeignKey(
        "ReferralUpload",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    # For a referral from a CSV upload: a digest of its row, so that uploading
    # the same file again creates nothing new.
    upload_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["clinic", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "upload_key"],
                condition=~models.Q(upload_key=""),
                name="referral_upload_row_once",
            )
        ]

    def __str__(self) -> str:
        return f"Referral #{self.pk} ({self.program})"

    @property
    def clinic_status(self) -> str:
        """The case's stage in the words a referring clinic sees."""
        return CLINIC_STATUS_LABELS[self.case.status]


class ReferralUpload(models.Model):
    """One CSV of referrals a clinic uploaded, and what became of its rows."""

    class Mode(models.TextChoices):
        GOOD_ROWS = "good_rows", "Import the good rows"
        ALL_OR_NOTHING = "all_or_nothing", "Import nothing if any row is bad"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    row_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d})"


# --- Codes and value sets ---------------------------------------------------------


class ConceptKind(models.TextChoices):
    SCREENING = "screening", "Screening test"
    EXCLUSION = "exclusion", "Exclusion"
    ENCOUNTER = "encounter", "Qualifying encounter"
    OTHER = "other", "Other"


class CodeConcept(models.Model):
    """Something the care-gap engine asks about (“colonoscopy”, “hospice”), in codes.

    Its codes are the official value sets named in `value_set_urls` once
    `load_valuesets` has loaded them, and until then the built-in starter codes.
    """

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ConceptKind.choices)
    description = models.TextField(blank=True)
    value_set_urls = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class ConceptCode(models.Model):
    """A built-in starter code for a concept."""

    concept = models.ForeignKey(CodeConcept, on_delete=models.CASCADE, related_name="codes")
    system = models.CharField(max_length=200)
    code = models.CharField(max_length=64)
    display = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["concept", "system", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["concept", "system", "code"], name="concept_code_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system}|{self.code}"


class ValueSet(models.Model):
    """An official value set (e.g. from VSAC), loaded from a FHIR ValueSet expansion."""

    url = models.CharField(max_length=300, unique=True)
    version = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300, blank=True)
    content_hash = models.CharField(max_length=64)
    code_count = models.PositiveIntegerField(default=0)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "url"]

    def __str__(self) -> str:
        return self.title or self.name or self.url


class ValueSetCode(models.Model):
    value_set = models.ForeignKey(ValueSet, on_delete=models.CASCADE, related_name="codes")
    system = models.CharField(max_length=200)
    code = models.CharField(max_length=64)
    display = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["value_set", "system", "code"], name="value_set_code_unique"
            )
        ]
        indexes = [models.Index(fields=["system", "code"])]

    def __str__(self) -> str:
        return f"{self.system}|{self.code}"


class ProgramExclusion(models.Model):
    """A reason a patient is not screened for a program, as data.

    It applies when every concept in `all_of` has evidence (a Condition whose
    prevalence has begun, a completed Procedure, an Encounter, ...) within
    `lookback_months` before the day (any time before, if blank), and the
    patient is at least `min_age`.
    """

    program = models.ForeignKey(
        ScreeningProgram, on_delete=models.CASCADE, related_name="exclusions"
    )
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    all_of = models.ManyToManyField(CodeConcept, related_name="exclusions")
    lookback_months = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(1200)]
    )
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program", "name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="exclusion_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    """One change to a program's rules: who, when, and the rules before and after."""

    program = models.ForeignKey(
        ScreeningProgram, on_delete=models.CASCADE, related_name="rule_versions"
    )
    number = models.PositiveIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    changed_at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=300)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict)

    class Meta:
        ordering = ["program", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="rule_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.program} rules v{self.number}"


# --- Clinical data from EHR feeds -------------------------------------------------


class FhirSource(models.Model):
    """An EHR feed. A patient's identity is its resource id within its feed."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        related_name="fhir_sources",
        help_text="The clinic whose patients this feed sends.",
    )
    mrn_system = models.CharField(
        max_length=300,
        blank=True,
        help_text="The identifier system that holds the clinic's MRN; blank: the first one.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PatientSourceLink(models.Model):
    source = models.ForeignKey(FhirSource, on_delete=models.PROTECT, related_name="links")
    resource_id = models.CharField(max_length=64)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="source_links")
    linked_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "resource_id"], name="patient_source_link_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source.key}/Patient/{self.resource_id}"


class ClinicalResource(models.Model):
    """A FHIR resource about a patient, kept as received; the engine reads it."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="clinical_resources"
    )
    source = models.ForeignKey(FhirSource, on_delete=models.PROTECT, related_name="resources")
    resource_type = models.CharField(max_length=40)
    resource_id = models.CharField(max_length=64)
    resource = models.JSONField()
    content_hash = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "resource_type", "resource_id"],
                name="clinical_resource_unique",
            )
        ]
        indexes = [models.Index(fields=["patient", "resource_type"])]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"


class FhirImport(models.Model):
    """One bundle (or file of resources) received from a feed, and its counts."""

    source = models.ForeignKey(FhirSource, on_delete=models.PROTECT, related_name="imports")
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    origin = models.CharField(max_length=300, blank=True, help_text="File name or “api”.")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True, help_text="Count per resource type.")

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"Import #{self.pk} from {self.source}"


class DataQualityWarning(models.Model):
    """Something in a feed that needs a person: never silently merged or dropped."""

    class Kind(models.TextChoices):
        IDENTIFIER_CONFLICT = "identifier_conflict", "Identifier shared by different patients"

    source = models.ForeignKey(FhirSource, on_delete=models.PROTECT, related_name="warnings")
    fhir_import = models.ForeignKey(
        FhirImport, on_delete=models.CASCADE, null=True, blank=True, related_name="warnings"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.CharField(max_length=500)
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    other_patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.message


# --- Care gaps ----------------------------------------------------------------------


class CareGapStatus(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    EXCLUDED = "excluded", "Excluded"
    UP_TO_DATE = "up_to_date", "Up to date"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"


class CareGap(models.Model):
    """A patient's screening status for one program, as of a day, with its reasons."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_gaps")
    program = models.ForeignKey(ScreeningProgram, on_delete=models.CASCADE)
    status = models.CharField(max_length=16, choices=CareGapStatus.choices)
    as_of = models.DateField()
    summary = models.CharField(max_length=300)
    reasons = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    last_screening_on = models.DateField(null=True, blank=True)
    last_modality = models.ForeignKey(
        ScreeningModality, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    next_due_on = models.DateField(null=True, blank=True)
    overdue_since = models.DateField(null=True, blank=True)
    # The first day on which this status could change without new data
    # (a due date, a birthday at an age limit): the nightly run looks again then.
    recheck_on = models.DateField(null=True, blank=True)
    rule_version = models.PositiveIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["program__name"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "program"], name="care_gap_unique")
        ]
        indexes = [
            models.Index(fields=["program", "status"]),
            models.Index(fields=["recheck_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.program}: {self.get_status_display()}"

    @property
    def further_reasons(self) -> list[str]:
        """The reasons the summary line does not already say."""
        return [reason for reason in self.reasons if reason != self.summary]
