"""The background imports' sweeper: re-enqueue the task of an import job whose task was
lost, so that no job stays queued or running for ever.

On the embedded SQLite broker a task lost with its worker (killed, the machine
restarted) is never redelivered: its `ReferralUpload` would stay QUEUED (the task never
ran) or RUNNING with a heartbeat gone stale (`referral_import.STALE_AFTER`), and a FHIR
bulk job likewise. Beat runs `imports_resume_stuck` every few minutes; re-enqueueing is
safe because both tasks are safe to run twice: a referral job is claimed with a
conditional update and resumes at its first batch not committed, a FHIR bulk batch is
claimed FOR UPDATE SKIP LOCKED and done batches are never redone.

A QUEUED job younger than `QUEUED_GRACE` is left alone: its task may simply be waiting
in the queue behind others.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import Max, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.intake.referral_import import IMPORT_TASK, STALE_AFTER
from patients.fhir.bulk import fhir_bulk_restart
from patients.models import FhirBulkImport, ReferralUpload

logger = logging.getLogger(__name__)

# A queued job's task may wait this long in a busy queue before it is taken for lost.
QUEUED_GRACE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class SweepResult:
    referral_uploads: list[int]
    fhir_bulk_jobs: list[int]


def stuck_referral_uploads(*, now: dt.datetime) -> list[int]:
    """Uploads whose task was lost: queued past the grace, or running without a
    heartbeat for `STALE_AFTER` (the next run's claim takes such a job over)."""
    queued = Q(status=ReferralUpload.Status.QUEUED, uploaded_at__lt=now - QUEUED_GRACE)
    stale = Q(status=ReferralUpload.Status.RUNNING) & (
        Q(heartbeat_at__lt=now - STALE_AFTER) | Q(heartbeat_at=None)
    )
    return list(
        ReferralUpload.objects.filter(queued | stale).order_by("pk").values_list("pk", flat=True)
    )


def stuck_fhir_bulk_jobs(*, now: dt.datetime) -> list[int]:
    """FHIR bulk jobs not finished whose last sign of work (created, started, a batch
    done, imported) is older than `STALE_AFTER`, or `QUEUED_GRACE` for a queued job.

    A care-gap step has no per-batch time: one longer than `STALE_AFTER` gets its
    workers queued again, which only adds workers (its batches are claimed SKIP LOCKED)."""
    Status = FhirBulkImport.Status
    jobs = FhirBulkImport.objects.filter(
        status__in=[Status.QUEUED, Status.RUNNING, Status.CARE_GAPS]
    ).annotate(
        last_seen=Greatest(
            "created_at",
            Coalesce("started_at", "created_at"),
            Coalesce("imported_at", "created_at"),
            Coalesce(Max("chunks__done_at"), "created_at"),
        )
    )
    stuck = jobs.filter(
        Q(status=Status.QUEUED, last_seen__lt=now - QUEUED_GRACE)
        | Q(status__in=[Status.RUNNING, Status.CARE_GAPS], last_seen__lt=now - STALE_AFTER)
    )
    return list(stuck.order_by("pk").values_list("pk", flat=True))


def imports_resume_stuck(*, now: dt.datetime | None = None) -> SweepResult:
    """Re-enqueue the task of every import job whose task was lost (on commit)."""
    now = now or timezone.now()
    uploads = stuck_referral_uploads(now=now)
    for upload_id in uploads:
        enqueue_on_commit(IMPORT_TASK, upload_id)
    jobs = stuck_fhir_bulk_jobs(now=now)
    for job_id in jobs:
        fhir_bulk_restart(job_id=job_id)
    if uploads or jobs:
        # Ids only: the jobs' files name patients.
        logger.warning(
            "import sweep: re-enqueued referral uploads %s, FHIR bulk jobs %s", uploads, jobs
        )
    return SweepResult(referral_uploads=uploads, fhir_bulk_jobs=jobs)
