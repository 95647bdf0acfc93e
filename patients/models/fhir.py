"""Clinical data from EHR feeds: sources, patient links, resources kept as received, imports,
data-quality warnings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.models.clinics import Clinic
from patients.models.people import Patient

# The key prefix of a clinic's staff-entry source (`staff-entry-<clinic id>`), reserved:
# no EHR feed may take it, so that the lab service never files labs under a feed.
STAFF_ENTRY_KEY_PREFIX = "staff-entry-"


class FhirSourceKind(models.TextChoices):
    # An EHR (or lab system) that sends FHIR: imported into, listed, monitored.
    EHR = "ehr", "EHR feed"
    # Where a clinic's labs copied by hand from outside reports are kept
    # (patients.services.labs): made on first use, never imported into, not a feed.
    STAFF_ENTRY = "staff_entry", "Entered by staff"


class FhirSourceQuerySet(models.QuerySet["FhirSource"]):
    def ehr_feeds(self) -> FhirSourceQuerySet:
        """The EHR feeds only: what import targets, feed lists and feed-health pages
        read (a clinic's staff-entry source is none of them)."""
        return self.filter(kind=FhirSourceKind.EHR)


class FhirSource(models.Model):
    """An EHR feed (`kind` ehr), or a clinic's staff-entry source: where labs copied by
    hand from outside reports are kept as the same FHIR resources (`kind` staff_entry).
    A patient's identity is its resource id within its feed."""

    key = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(
        max_length=16,
        choices=FhirSourceKind.choices,
        default=FhirSourceKind.EHR,
        help_text="An EHR feed, or the clinic's labs entered by staff (never imported into).",
    )
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

    objects = FhirSourceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind=FhirSourceKind.STAFF_ENTRY)
                | ~models.Q(key__startswith=STAFF_ENTRY_KEY_PREFIX),
                name="fhir_source_staff_entry_key_reserved",
                violation_error_message=(
                    f"Keys starting “{STAFF_ENTRY_KEY_PREFIX}” are kept for the labs staff "
                    "enter; give the EHR feed another key."
                ),
            ),
            models.UniqueConstraint(
                fields=["clinic"],
                condition=models.Q(kind=FhirSourceKind.STAFF_ENTRY),
                name="fhir_source_one_staff_entry_per_clinic",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_staff_entry(self) -> bool:
        return self.kind == FhirSourceKind.STAFF_ENTRY


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
