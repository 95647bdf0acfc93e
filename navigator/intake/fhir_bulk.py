"""The end of a FHIR bulk import: the care gaps (and cases) of the patients it touched,
in batches, recorded on the job (`patients.fhir.bulk` imports; this follows it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.intake.care_gaps import POPULATIONS_TASK, care_gaps_refresh
from patients.fhir.bulk import (
    BatchDone,
    fhir_bulk_advance,
    fhir_bulk_batch_next,
    fhir_bulk_fail,
    fhir_bulk_phase_wait,
)
from patients.models import FhirBulkImport, FhirBulkTouchedPatient

logger = logging.getLogger(__name__)
CARE_GAP_BATCH = 1000
CARE_GAPS_TASK = "patients.tasks.fhir_bulk_import_care_gaps"


def fhir_bulk_care_gaps_batch(*, job_id: int, batch_size: int = CARE_GAP_BATCH) -> int:
    """Recompute the next free batch of the job's touched patients; 0 when none is free.

    Claimed (SKIP LOCKED), recomputed and marked in one transaction: a killed worker's
    batch is claimed again, and a batch done is never redone.
    """
    with transaction.atomic():
        rows = list(
            FhirBulkTouchedPatient.objects.select_for_update(skip_locked=True)
            .filter(job_id=job_id, recomputed=False)
            .order_by("patient_id")
            .values_list("pk", "patient_id")[:batch_size]
        )
        if not rows:
            return 0
        refreshed = care_gaps_refresh(
            as_of=timezone.localdate(),
            patient_ids=[patient_id for _, patient_id in rows],
            batch_size=batch_size,
        )
        # Their data changed, so may their stored population measures; the nightly run
        # will not see them as due now that their gaps are current.
        if refreshed.patient_ids:
            enqueue_on_commit(POPULATIONS_TASK, refreshed.patient_ids)
        FhirBulkTouchedPatient.objects.filter(pk__in=[pk for pk, _ in rows]).update(recomputed=True)
        FhirBulkImport.objects.filter(pk=job_id).update(
            care_gaps_recomputed=F("care_gaps_recomputed") + len(rows)
        )
    return len(rows)


def fhir_bulk_care_gaps_work(*, job_id: int, seconds: float = 120.0) -> str:
    """A worker on the `caregaps` queue: batches for up to `seconds` (then queue itself
    again), and finish the job when every touched patient is recomputed.

    A database error is raised (the batch rolled back whole; the task retries it). Any
    other error would fail the same way on every run: the job ends FAILED saying so, as
    an import batch's does (`fhir_bulk_batch_next`), rather than stay in its care-gap
    step for ever."""
    deadline = time.monotonic() + seconds
    try:
        while fhir_bulk_care_gaps_batch(job_id=job_id):
            if time.monotonic() > deadline:
                enqueue_on_commit(CARE_GAPS_TASK, job_id)
                return FhirBulkImport.Status.CARE_GAPS
    except DatabaseError:
        raise
    except Exception as error:
        # The error's type only: its text may quote a patient's data.
        logger.error(
            "FHIR bulk job %s: care-gap recompute stopped: %s", job_id, type(error).__name__
        )
        return fhir_bulk_fail(
            job_id=job_id,
            message=f"Stopped by an unexpected error while recomputing care gaps "
            f"({type(error).__name__}): the resources were imported; the care gaps of the "
            "batch it stopped at were not recomputed (the nightly refresh will).",
        )
    return fhir_bulk_finish(job_id=job_id)


def fhir_bulk_finish(*, job_id: int) -> str:
    """Done, once every touched patient's care gaps are recomputed; the job's status."""
    with transaction.atomic():
        job = FhirBulkImport.objects.select_for_update().get(pk=job_id)
        pending = FhirBulkTouchedPatient.objects.filter(job_id=job_id, recomputed=False)
        if job.status == FhirBulkImport.Status.CARE_GAPS and not pending.exists():
            job.status, job.finished_at = FhirBulkImport.Status.DONE, timezone.now()
            job.save(update_fields=["status", "finished_at"])
        return job.status


def fhir_bulk_run_inline(
    *, job_id: int, on_batch: Callable[[BatchDone | int], None] | None = None
) -> str:
    """The whole job in this process, no worker needed (the command's --inline, tests,
    the benchmark): the same batches, claims and steps as the Celery workers take.
    `on_batch` hears of each batch (a `BatchDone`, or the patients recomputed)."""
    status = fhir_bulk_advance(job_id=job_id, queue=False)
    while status == FhirBulkImport.Status.RUNNING:
        claimed = False
        while (done := fhir_bulk_batch_next(job_id=job_id)) is not None:
            claimed = True
            if on_batch is not None:
                on_batch(done)
        status = fhir_bulk_advance(job_id=job_id, queue=False)
        if not claimed and status == FhirBulkImport.Status.RUNNING:
            # The phase's last batches are another worker's: wait for them (on their row
            # locks, so the next phase starts the moment they commit).
            fhir_bulk_phase_wait(job_id=job_id)
    while recomputed := fhir_bulk_care_gaps_batch(job_id=job_id):
        if on_batch is not None:
            on_batch(recomputed)
    return fhir_bulk_finish(job_id=job_id)
