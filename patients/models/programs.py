"""Screening and control programmes and their rules as data: modalities, exclusions,
rule versions; and the screening tests done (`ScreeningEvent`).

A programme is of one of two kinds (`ProgramKind`). A screening programme looks
for one test that closes a loop (colonoscopy every 10 years). A control programme
(diabetes) enrols the patients who have a condition and follows a lab value over
time against a target: its lab concepts, target, poor-control threshold and lab
intervals are fields here, versioned with the rest of the rules.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
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


class ProgramKind(models.TextChoices):
    # One test, a loop that closes (the patient is up to date until the next one is due).
    SCREENING = "screening", "Screening"
    # Enrolment while the condition lasts, a lab value kept under a target, periodic labs.
    CONTROL = "control", "Control"


# The fields a control programme must have (and a screening programme must leave
# empty): a DB constraint and `ScreeningProgram.clean` both read this.
CONTROL_FIELDS = (
    "condition_concept",
    "target_value",
    "target_unit",
    "poor_control_value",
    "lab_interval_months",
    "lab_interval_above_target_months",
)
_CONTROL_SET = (
    models.Q(condition_concept__isnull=False)
    & models.Q(target_value__isnull=False)
    & ~models.Q(target_unit="")
    & models.Q(poor_control_value__isnull=False)
    & models.Q(target_value__lte=models.F("poor_control_value"))
    & models.Q(lab_interval_months__isnull=False)
    & models.Q(lab_interval_above_target_months__isnull=False)
)
_CONTROL_EMPTY = (
    models.Q(condition_concept__isnull=True)
    & models.Q(target_value__isnull=True)
    & models.Q(target_unit="")
    & models.Q(poor_control_value__isnull=True)
    & models.Q(lab_interval_months__isnull=True)
    & models.Q(lab_interval_above_target_months__isnull=True)
)


class ScreeningProgram(models.Model):
    """A programme (colorectal screening, diabetes control, ...) with its eligibility,
    stored as data. The name is historical: a control programme is one too (`kind`)."""

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

    kind = models.CharField(
        max_length=16, choices=ProgramKind.choices, default=ProgramKind.SCREENING
    )
    # --- A control programme's rules (empty for a screening programme) -----------------
    condition_concept = models.ForeignKey(
        "CodeConcept",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Control: the condition that enrols a patient (e.g. diabetes).",
    )
    lab_concepts = models.ManyToManyField(
        "CodeConcept",
        blank=True,
        related_name="+",
        help_text="Control: the lab tests whose value is followed (e.g. HbA1c, GMI).",
    )
    target_value = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Control: the goal; a value below it is at target (HbA1c < 8 %).",
    )
    target_unit = models.CharField(
        max_length=16, blank=True, help_text="Control: UCUM unit of the target and threshold (%)."
    )
    poor_control_value = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Control: a value above it is poor control, a care gap (HbA1c > 9 %, CMS122).",
    )
    lab_interval_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text="Control: months to the next lab when the last value is at target.",
    )
    lab_interval_above_target_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text="Control: months to the next lab when the last value is not at target.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_age__lte=models.F("max_age")),
                name="program_age_range_ordered",
            ),
            models.CheckConstraint(
                condition=(
                    (models.Q(kind=ProgramKind.SCREENING) & _CONTROL_EMPTY)
                    | (models.Q(kind=ProgramKind.CONTROL) & _CONTROL_SET)
                ),
                name="program_kind_rules",
                violation_error_message=(
                    "A control programme needs its condition, target, unit, poor-control "
                    "threshold (at or above the target) and lab intervals; a screening "
                    "programme has none of them."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How messages name it: “Colorectal screening”, “Diabetes control”."""
        return self.name if self.is_control else f"{self.name} screening"

    @property
    def is_control(self) -> bool:
        return self.kind == ProgramKind.CONTROL

    def control_rules(self) -> dict[str, Any]:
        """A control programme's own rules as plain data, for the rules snapshot
        (patients.selectors.program_rules_snapshot): the numbers as text, exactly as
        entered (JSON has no decimals), the concepts by key."""

        def number(value: Decimal | None) -> str | None:
            return None if value is None else f"{value.normalize():f}"

        return {
            "condition": self.condition_concept.key if self.condition_concept else None,
            "labs": sorted(c.key for c in self.lab_concepts.all()),
            "target": number(self.target_value),
            "unit": self.target_unit,
            "poor_control": number(self.poor_control_value),
            "interval_months": self.lab_interval_months,
            "interval_above_target_months": self.lab_interval_above_target_months,
        }

    def clean(self) -> None:
        """Each missing or stray field named, in words a programme manager reads
        (the constraint says the same at once, for writes that skip validation).
        The lab concepts (many-to-many) are checked by the admin form and the seed."""
        super().clean()
        errors: dict[str, str] = {}
        if self.kind == ProgramKind.CONTROL:
            needed = {
                "condition_concept": "Name the condition that enrols patients (e.g. diabetes).",
                "target_value": "Give the target value (e.g. 8 for HbA1c < 8 %).",
                "target_unit": "Give the target's unit (e.g. %).",
                "poor_control_value": "Give the poor-control threshold (e.g. 9 %).",
                "lab_interval_months": "Say how often the lab is repeated at target (months).",
                "lab_interval_above_target_months": (
                    "Say how often the lab is repeated above target (months)."
                ),
            }
            for name, message in needed.items():
                if getattr(self, name) in (None, ""):
                    errors[name] = message
            if (
                self.target_value is not None
                and self.poor_control_value is not None
                and self.target_value > self.poor_control_value
            ):
                errors["poor_control_value"] = (
                    "The poor-control threshold cannot be below the target."
                )
        else:
            stray = [name for name in CONTROL_FIELDS if getattr(self, name) not in (None, "")]
            for name in stray:
                errors[name] = "Only a control programme has this; leave it empty for a screening."
        if errors:
            raise ValidationError(errors)

    def eligibility_problems(self, patient: Patient, on: dt.date) -> list[str]:
        # (A control programme's condition is read from the patient's clinical data by
        # the care-gap engine; here only what the patient row says.)
        """Why this patient is outside the program's criteria on a day (empty if inside)."""
        problems = []
        age = patient.age_on(on)
        if not self.min_age <= age <= self.max_age:
            problems.append(
                f"{self.label} is for ages {self.min_age}–{self.max_age}; the patient is {age}."
            )
        if self.sex != Sexes.ANY and patient.sex != self.sex:
            problems.append(f"{self.label} is for {self.get_sex_display().lower()} patients.")
        if self.min_pack_years is not None and (
            patient.smoking_status not in {SmokingStatus.CURRENT, SmokingStatus.FORMER}
            or (patient.smoking_pack_years or 0) < self.min_pack_years
        ):
            problems.append(
                f"{self.label} needs a smoking history of at least "
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
