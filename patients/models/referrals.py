"""Referrals from clinics, single or from a CSV upload, and the stage words a clinic sees."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from navigator.audit.history import history_track, never_deleted
from navigator.audit.recording import AuditedRead
from patients.models.clinics import Clinic
from patients.models.people import Patient
from patients.models.programs import ScreeningProgram

CLINIC_STATUS_LABELS = {
    "new": "Received",
    "assigned": "Received",
    "contacting": "Navigator reaching out",
    "scheduled": "Screening scheduled",
    # The test was done and its result calls for more: the loop is still open.
    "follow_up_needed": "Diagnostic follow-up needed",
    "repeat_needed": "Repeat test needed",
    # The loop closed: a normal result, or the follow-up done and recorded.
    "completed": "Screening complete",
    "closed": "Screening complete",
    "treatment": "Diagnosis made: handed to treatment navigation",
    "follow_up_closed": "Closed: follow-up not done",
    "closed_unreachable": "Closed: could not reach",
    "declined": "Patient declined",
    "ineligible": "Not eligible",
}


class Referral(AuditedRead, models.Model):
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
    upload = models.ForeignKey(
        "ReferralUpload",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    # For a referral from a CSV upload: a digest of its row, so that uploading
    # the same file again creates nothing new.
    upload_key = models.CharField(max_length=64, blank=True)
    # A clinician may refer a patient outside the program's criteria (a trans man with
    # a cervix to cervical screening) with a reason; blank when the patient was eligible.
    # It changes navigation only: the care-gap engine and the eCQMs follow their specs.
    eligibility_override_reason = models.TextField(blank=True)
    eligibility_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    eligibility_overridden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["clinic", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "upload_key"],
                condition=~models.Q(upload_key=""),
                name="referral_upload_row_once",
            )
        ]

    def __str__(self) -> str:
        return f"Referral #{self.pk} ({self.program})"

    @property
    def clinic_status(self) -> str:
        """The case's stage in the words a referring clinic sees."""
        return CLINIC_STATUS_LABELS[self.case.status]


class ReferralUpload(models.Model):
    """One CSV of referrals a clinic uploaded, and what became of its rows."""

    class Mode(models.TextChoices):
        GOOD_ROWS = "good_rows", "Import the good rows"
        ALL_OR_NOTHING = "all_or_nothing", "Import nothing if any row is bad"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    row_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    # The import job (navigator.intake.referral_import): checked when sent, imported
    # by a Celery task in batches; `batches_done` is where a restarted task resumes.
    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    processed_count = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the task running it last reported: a claim older than the stale limit is
    # taken over by the next run (the worker died).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d})"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return min(100, self.processed_count * 100 // max(self.row_count, 1))


class ReferralUploadContent(models.Model):
    """The upload's checked rows (`patients.uploads.checked_rows`; the file itself for a
    job queued by an earlier version), kept in the database (never on a disk the web and
    the workers may not share) until its import finishes, then deleted: they name
    patients."""

    upload = models.OneToOneField(
        ReferralUpload, on_delete=models.CASCADE, primary_key=True, related_name="content"
    )
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"File of upload #{self.upload_id}"


class ReferralSeen(models.Model):
    """When a user last opened a referral, so the list can mark what changed since."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="seen_by")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "referral"], name="referral_seen_once")
        ]

    def __str__(self) -> str:
        return f"Referral #{self.referral_id} seen by user #{self.user_id}"


class ClinicDigestPreference(models.Model):
    """A clinic user's choice of a daily e-mail listing the referrals that changed, and
    the last day it went out (claimed with a conditional update: one e-mail a day)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic_digest"
    )
    enabled = models.BooleanField(default=False)
    last_sent_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Digest for user #{self.user_id}: {'on' if self.enabled else 'off'}"


# A clinical record: never deleted; every change kept by triggers (navigator.audit.history).
history_track(never_deleted(Referral), patient_via="patient_id")
