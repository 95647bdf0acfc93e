"""What a test's result means for the loop, as data each program defines.

- `ResultCategory`: the words a result is recorded in (FIT negative/positive,
  BI-RADS 0–6, ASCCP cytology categories, Lung-RADS), each with its meaning for
  the loop (`ResultMeaning`) and the tests that report in it;
- `FollowUpPathway`: (a test's result category) → (the next step, the test it
  needs, its time target), seeded from guidelines with their sources and edited
  by managers, versioned with the program's other rules.

A result whose category has an active pathway keeps the case open until the
next step is recorded; a `DIAGNOSIS` hands the case to treatment navigation; any
other result closes the loop.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from patients.models.programs import ScreeningModality, ScreeningProgram, ScreeningResult


class ResultMeaning(models.TextChoices):
    NORMAL = "normal", "Normal or benign"
    ABNORMAL = "abnormal", "Abnormal"
    INADEQUATE = "inadequate", "Inadequate sample or view"
    DIAGNOSIS = "diagnosis", "Cancer or precancer needing treatment"


# The coarse result the eCQM reports and older records use, for each meaning.
RESULT_FOR_MEANING = {
    ResultMeaning.NORMAL: ScreeningResult.NORMAL,
    ResultMeaning.ABNORMAL: ScreeningResult.ABNORMAL,
    ResultMeaning.INADEQUATE: ScreeningResult.INCONCLUSIVE,
    ResultMeaning.DIAGNOSIS: ScreeningResult.ABNORMAL,
}


class ResultCategory(models.Model):
    """A category a program records results in, e.g. "BI-RADS 4: suspicious"."""

    program = models.ForeignKey(
        ScreeningProgram, on_delete=models.CASCADE, related_name="result_categories"
    )
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=120)
    meaning = models.CharField(max_length=16, choices=ResultMeaning.choices)
    modalities = models.ManyToManyField(
        ScreeningModality,
        related_name="result_categories",
        help_text="The tests whose results are reported in this category.",
    )
    order = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program", "order", "name"]
        verbose_name_plural = "result categories"
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="result_category_code_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def result(self) -> str:
        return RESULT_FOR_MEANING[ResultMeaning(self.meaning)]


class FollowUpKind(models.TextChoices):
    DIAGNOSTIC = "diagnostic", "Diagnostic follow-up"
    REPEAT = "repeat", "Repeat test"


class FollowUpPathway(models.Model):
    """What a result calls for next: (test, result category) → next test, within days.

    Pathways are never deleted (follow-ups point at the one that set them); a
    manager deactivates one and adds another, and the program's rule version
    records both.
    """

    program = models.ForeignKey(
        ScreeningProgram, on_delete=models.CASCADE, related_name="follow_up_pathways"
    )
    category = models.ForeignKey(ResultCategory, on_delete=models.PROTECT, related_name="pathways")
    modality = models.ForeignKey(
        ScreeningModality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The test whose result this is; empty for any test reporting the category.",
    )
    kind = models.CharField(max_length=16, choices=FollowUpKind.choices)
    next_step = models.CharField(
        max_length=200, help_text="In plain words, e.g. “Diagnostic colonoscopy”."
    )
    next_modality = models.ForeignKey(
        ScreeningModality,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The test that answers this follow-up when it is recorded.",
    )
    target_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(730)],
        help_text="The program's target: days from the result to the next step.",
    )
    limit_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
        help_text="The guideline's outer limit, if any (6 months for colonoscopy after FIT).",
    )
    source = models.CharField(max_length=300)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["program", "category__order", "pk"]
        constraints = [
            # One active pathway per (category, test), and one for "any test".
            models.UniqueConstraint(
                fields=["category", "modality"],
                condition=models.Q(active=True, modality__isnull=False),
                name="one_active_pathway_per_result",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=models.Q(active=True, modality__isnull=True),
                name="one_active_pathway_per_category",
            ),
            models.CheckConstraint(
                condition=models.Q(limit_days__isnull=True)
                | models.Q(limit_days__gte=models.F("target_days")),
                name="pathway_limit_after_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.next_step} within {self.target_days} days"
