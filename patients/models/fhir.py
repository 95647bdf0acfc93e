"""Clinical data from EHR feeds: sources, patient links, resources kept as received, imports,
data-quality warnings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.models.clinics import Clinic
from patients.models.people import Patient


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
