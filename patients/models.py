from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from patients.languages import language_name, validate_language_code


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
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


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=64, help_text="Medical record number at the clinic.")
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "mrn"], name="patient_mrn_unique_per_clinic"),
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

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["clinic", "-created_at"])]

    def __str__(self) -> str:
        return f"Referral #{self.pk} ({self.program})"

    @property
    def clinic_status(self) -> str:
        """The case's stage in the words a referring clinic sees."""
        return CLINIC_STATUS_LABELS[self.case.status]
