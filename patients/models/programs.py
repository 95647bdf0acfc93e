"""Screening programs and their rules as data: modalities, exclusions, rule versions;
and the screening tests done (`ScreeningEvent`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from navigator.audit.history import history_track, never_deleted
from navigator.audit.recording import AuditedRead
from patients.models.codes import CodeConcept
from patients.models.people import Patient, SmokingStatus
from patients.models.validators import validate_not_in_future


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


class ModalityRole(models.TextChoices):
    SCREENING = "screening", "Screening test"
    # A test done only to follow up a result (diagnostic imaging, biopsy, colposcopy):
    # it answers a follow-up and never counts as the program's screening.
    DIAGNOSTIC = "diagnostic", "Diagnostic test"


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
    mailed_kit = models.BooleanField(
        default=False, help_text="Done with a kit mailed to the patient (FIT, stool DNA)."
    )
    role = models.CharField(
        max_length=16, choices=ModalityRole.choices, default=ModalityRole.SCREENING
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


class ScreeningEvent(AuditedRead, models.Model):
    """A screening test that was done, and its result."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    modality = models.ForeignKey(ScreeningModality, on_delete=models.PROTECT)
    performed_on = models.DateField(validators=[validate_not_in_future])
    result = models.CharField(max_length=16, choices=ScreeningResult.choices)
    # The program's words for the result (BI-RADS 4, FIT positive, ...); `result` is
    # its coarse meaning. Empty for tests from an EHR feed and older records.
    category = models.ForeignKey(
        "ResultCategory", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The day the result came back: never before the test, never in the future.
    # Empty for tests recorded before it was asked, and for those from an EHR feed.
    resulted_on = models.DateField(null=True, blank=True)
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
        return f"{self.modality} on {self.performed_on}: {self.result_words}"

    @property
    def result_words(self) -> str:
        category = self.category if self.category_id else None
        return category.name if category is not None else self.get_result_display()


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


# A clinical record: never deleted; every change kept by triggers (navigator.audit.history).
history_track(never_deleted(ScreeningEvent), patient_via="patient_id")
