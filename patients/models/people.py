"""Patients and what describes them: demographics choices, race/ethnicity, phones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Trim, Upper
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from navigator.audit.history import history_track, never_deleted
from navigator.audit.recording import AuditedRead
from patients.languages import language_name, validate_language_code
from patients.models.clinics import Clinic
from patients.models.validators import validate_not_in_future, validate_time_zone


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


class RaceGroup(models.TextChoices):
    """What a patient's race/ethnicity answers add up to, one value per patient, for
    counting: the 2024 OMB SPD 15 combined question tabulated exclusively (Revisions
    to OMB's Statistical Policy Directive No. 15, 89 FR 22182, March 29, 2024). One
    category chosen: that category alone; two or more: "Multiracial and/or
    Multiethnic"; the two non-answers as given; no answer at all: not recorded."""

    AMERICAN_INDIAN_ALASKA_NATIVE = "aian", "American Indian or Alaska Native alone"
    ASIAN = "asian", "Asian alone"
    BLACK = "black", "Black or African American alone"
    HISPANIC_LATINO = "hispanic", "Hispanic or Latino alone"
    MIDDLE_EASTERN_NORTH_AFRICAN = "mena", "Middle Eastern or North African alone"
    NATIVE_HAWAIIAN_PACIFIC_ISLANDER = "nhpi", "Native Hawaiian or Pacific Islander alone"
    WHITE = "white", "White alone"
    MULTI = "multi", "Multiracial and/or Multiethnic"
    DECLINED = "declined", "Declined to answer"
    UNKNOWN = "unknown", "Unknown"
    NOT_RECORDED = "not_recorded", "Not recorded"


def race_group_of(categories: Iterable[str]) -> str:
    """The `RaceGroup` of a patient's chosen `RaceEthnicity` categories."""
    chosen = set(categories)
    real = chosen - {RaceEthnicity.DECLINED, RaceEthnicity.UNKNOWN}
    if len(real) > 1:
        return RaceGroup.MULTI
    if real:
        return real.pop()
    if RaceEthnicity.DECLINED in chosen:
        return RaceGroup.DECLINED
    if RaceEthnicity.UNKNOWN in chosen:
        return RaceGroup.UNKNOWN
    return RaceGroup.NOT_RECORDED


class EnglishProficiency(models.TextChoices):
    VERY_WELL = "very_well", "Very well"
    WELL = "well", "Well"
    NOT_WELL = "not_well", "Not well"
    NOT_AT_ALL = "not_at_all", "Not at all"
    DECLINED = "declined", "Declined to answer"
    # Also what every patient registered before "declined" existed has, asked or not.
    UNKNOWN = "unknown", "Unknown"


class DemographicSource(models.TextChoices):
    """Who gave a demographic answer (race/ethnicity, language): the patient's own
    answer is the standard to measure the others by (self-identification, OMB SPD 15
    2024; the IOM's "Race, Ethnicity, and Language Data" report, 2009)."""

    SELF_REPORTED = "self_reported", "Self-reported by the patient"
    PROXY = "proxy", "Reported by a family member or caregiver"
    OBSERVER = "observer", "Observed by staff"
    EHR_UNSTATED = "ehr_unstated", "From a record that does not say who answered"
    NEVER_RECORDED = "", "Never recorded"


# From most to least trustworthy: answers combined from two sources claim the weaker.
SOURCE_ORDER = (
    DemographicSource.SELF_REPORTED,
    DemographicSource.PROXY,
    DemographicSource.OBSERVER,
    DemographicSource.EHR_UNSTATED,
)


class LanguageStatus(models.TextChoices):
    """Whether `preferred_language` is an answer: the field defaults to English, so the
    language alone cannot tell an English speaker from a patient never asked."""

    RECORDED = "recorded", "Recorded"
    DECLINED = "declined", "Declined to answer"
    UNKNOWN = "unknown", "Unknown"
    NOT_ASKED = "not_asked", "Not asked"


# Speaks English less than "very well" (the US Census definition of limited English
# proficiency, which the ACS question these choices follow uses).
LIMITED_ENGLISH_LEVELS = frozenset(
    {EnglishProficiency.WELL, EnglishProficiency.NOT_WELL, EnglishProficiency.NOT_AT_ALL}
)


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


class Patient(AuditedRead, models.Model):
    audit_patient_attname = "id"

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
    written_language = models.CharField(
        max_length=8,
        blank=True,
        validators=[validate_language_code],
        help_text="The language letters and texts are written in, as an ISO 639 code; "
        "empty: the same as the preferred (spoken) language.",
    )
    english_proficiency = models.CharField(
        max_length=16, choices=EnglishProficiency.choices, default=EnglishProficiency.UNKNOWN
    )
    # Whether preferred_language (and with it English proficiency) is an answer, and who
    # gave it; preferred_language keeps "en" as a placeholder when it is not.
    language_status = models.CharField(
        max_length=16, choices=LanguageStatus.choices, default=LanguageStatus.NOT_ASKED
    )
    language_source = models.CharField(
        max_length=16, choices=DemographicSource.choices, blank=True, default=""
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
    # Denormalised from the race_ethnicities rows for counting by group (see RaceGroup);
    # written only by patients.services.patients.patient_race_set, with the rows.
    race_group = models.CharField(
        max_length=16,
        choices=RaceGroup.choices,
        default=RaceGroup.NOT_RECORDED,
        db_index=True,
        editable=False,
    )
    # Who gave the race/ethnicity answers; "" when there are none. Written with them,
    # by patient_race_set only.
    race_ethnicity_source = models.CharField(
        max_length=16, choices=DemographicSource.choices, blank=True, default="", editable=False
    )
    # Set whenever clinical data arrives from an EHR feed, so that the nightly
    # care-gap run recomputes only patients whose data changed.
    clinical_data_changed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the gaps were last computed: `CareGapStamp` (patients.models.care_gaps), a
    # narrow table of its own rather than a column of this wide, many-indexed row.
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
            # Finding a patient by MRN compares them trimmed and in capitals
            # (patients.mrn), rows stored before that rule included.
            models.Index(F("clinic"), Upper(Trim("mrn")), name="patient_clinic_mrn_key_idx"),
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
    def written_language_effective(self) -> str:
        """What letters and texts are written in: the written language, else the spoken one."""
        return self.written_language or self.preferred_language

    @property
    def written_language_name(self) -> str:
        return language_name(self.written_language_effective)

    @property
    def language_recorded(self) -> bool:
        return self.language_status == LanguageStatus.RECORDED

    @property
    def limited_english_proficiency(self) -> bool:
        return self.english_proficiency in LIMITED_ENGLISH_LEVELS

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


class PatientMerge(models.Model):
    """Two records found to be one person: everything of `duplicate` moved onto
    `survivor`. Nothing is deleted; the duplicate stays, merged, out of every list."""

    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_kept")
    duplicate = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="merged_into")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    # How many of each kind of record moved, for the audit trail.
    moved = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"Patient #{self.duplicate_id} merged into #{self.survivor_id}"


# A clinical record: never deleted; every change kept by triggers (navigator.audit.history).
history_track(never_deleted(Patient), patient_via="id")
