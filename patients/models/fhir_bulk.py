"""FHIR Bulk Data imports: a job, its NDJSON files, the batches (chunks) they are read in,
each rejected line, and the patients whose data changed (for the care-gap recompute)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.models.fhir import FhirImport, FhirSource


class FhirBulkImport(models.Model):
    """One FHIR Bulk Data export imported from a feed: NDJSON files, in batches.

    Patients are imported first (phase "patients"), then every other type
    ("resources"), then the care gaps of the touched patients ("care_gaps").
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        CARE_GAPS = "care_gaps", "Recomputing care gaps"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Phase(models.IntegerChoices):
        PATIENTS = 0, "Patients"
        RESOURCES = 1, "Other resources"

    source = models.ForeignKey(FhirSource, on_delete=models.PROTECT, related_name="bulk_imports")
    location = models.CharField(max_length=500, help_text="The folder or manifest imported.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    phase = models.PositiveSmallIntegerField(choices=Phase.choices, default=Phase.PATIENTS)
    batch_size = models.PositiveIntegerField(default=2000)
    # The audit record (FhirImport) every bulk import writes, as a bundle import does.
    fhir_import = models.OneToOneField(
        FhirImport, on_delete=models.PROTECT, null=True, blank=True, related_name="bulk_import"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    care_gap_patients = models.PositiveIntegerField(default=0)
    care_gaps_recomputed = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Bulk import #{self.pk} from {self.source}"


class FhirBulkFile(models.Model):
    """One NDJSON file of an export: one resource type, read in chunks."""

    job = models.ForeignKey(FhirBulkImport, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=64)
    path = models.CharField(max_length=500)
    phase = models.PositiveSmallIntegerField(choices=FhirBulkImport.Phase.choices)
    lines = models.PositiveIntegerField(default=0)
    # Set when the whole file is refused (not NDJSON, unreadable, a type we do not import).
    skipped_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["phase", "pk"]

    def __str__(self) -> str:
        return f"{self.resource_type} ({self.path})"


class FhirBulkChunk(models.Model):
    """A batch of lines of one file, by byte offsets: the restart cursor.

    Claimed, imported and marked done in one transaction (claimed with FOR UPDATE
    SKIP LOCKED): a killed worker's batch rolls back and stays pending, so a
    restarted job imports it again and nothing twice.
    """

    file = models.ForeignKey(FhirBulkFile, on_delete=models.CASCADE, related_name="chunks")
    job = models.ForeignKey(FhirBulkImport, on_delete=models.CASCADE, related_name="chunks")
    phase = models.PositiveSmallIntegerField(choices=FhirBulkImport.Phase.choices)
    first_line = models.PositiveIntegerField(help_text="1-based line number of the first line.")
    start = models.BigIntegerField(help_text="Byte offset of the first line.")
    end = models.BigIntegerField(help_text="Byte offset after the last line.")
    lines = models.PositiveIntegerField()
    done = models.BooleanField(default=False)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    queries = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["job", "phase", "done"])]

    def __str__(self) -> str:
        return f"{self.file} lines {self.first_line}+{self.lines}"


class FhirBulkRejection(models.Model):
    """A line that was not imported, and why (nothing of it was written)."""

    file = models.ForeignKey(FhirBulkFile, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["file", "line"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class FhirBulkTouchedPatient(models.Model):
    """A patient whose data the job changed: their care gaps are recomputed at the end."""

    job = models.ForeignKey(FhirBulkImport, on_delete=models.CASCADE, related_name="touched")
    patient_id = models.BigIntegerField()
    recomputed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "patient_id"], name="fhir_bulk_touched_unique")
        ]
        indexes = [models.Index(fields=["job", "recomputed"])]

    def __str__(self) -> str:
        return f"#{self.patient_id}"
