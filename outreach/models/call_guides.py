"""Call guides: what navigators say on each kind of call, per program and language,
with every change kept as a version."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.languages import validate_language_code


class CallStep(models.TextChoices):
    """The moments a navigator calls a patient about, each with its own call guide."""

    FIRST_CALL = "first_call", "First call"
    PREP_CALL = "prep_call", "Prep call before an appointment"
    ABNORMAL_RESULT_CALL = "abnormal_result_call", "Abnormal result call"
    REMINDER_CALL = "reminder_call", "Reminder call"


class CallGuide(models.Model):
    """What a navigator says on one kind of call, per program, step and language:
    talking points, common barriers and answers, preparation, and the sources.
    Managers edit it (`outreach.services.call_guides`); each change is a
    `CallGuideVersion`."""

    program = models.ForeignKey(
        "patients.ScreeningProgram", on_delete=models.CASCADE, related_name="call_guides"
    )
    step = models.CharField(max_length=24, choices=CallStep.choices)
    language = models.CharField(
        max_length=8, validators=[validate_language_code], help_text="ISO 639 code."
    )
    title = models.CharField(max_length=120)
    talking_points = models.TextField()
    barriers_and_answers = models.TextField()
    prep_instructions = models.TextField(
        blank=True, help_text="How to prepare for the test (bowel prep, no deodorant…)."
    )
    source = models.TextField(help_text="The guidelines and patient materials it follows.")
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["program", "step", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "step", "language"], name="one_call_guide_per_step_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.program} {self.get_step_display().lower()} guide ({self.language})"


class CallGuideVersion(models.Model):
    """One change to a call guide: who, when, why, and the guide before and after
    (shaped like `patients.RuleVersion`, which numbers a program's care-gap rules)."""

    guide = models.ForeignKey(CallGuide, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=300)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict)

    class Meta:
        ordering = ["guide", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["guide", "number"], name="call_guide_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.guide} v{self.number}"

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """Each part of the guide this version changed: its name, before and after."""
        return [
            (name.replace("_", " ").capitalize(), self.before.get(name, ""), value)
            for name, value in self.after.items()
            if self.before.get(name) != value
        ]
