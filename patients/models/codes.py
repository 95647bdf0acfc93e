"""Codes: the concepts the care-gap engine asks about, their starter codes, official value sets."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ConceptKind(models.TextChoices):
    SCREENING = "screening", "Screening test"
    EXCLUSION = "exclusion", "Exclusion"
    ENCOUNTER = "encounter", "Qualifying encounter"
    # What a control programme follows and enrols on (HbA1c, GMI; diabetes).
    LAB = "lab", "Lab test"
    CONDITION = "condition", "Condition"
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
