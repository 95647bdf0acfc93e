"""Celery tasks for care gaps and population measures: each loads what it needs and
calls one service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from navigator.intake import care_gaps, import_sweep, referral_import
from navigator.intake import fhir_bulk as intake_fhir_bulk
from navigator.services import referral_digest
from patients.caregaps.periods import (
    last_complete_quarter_end,
    parse_period_label,
    quarter_periods,
)
from patients.caregaps.population_measures import POPULATION_MEASURES
from patients.fhir import bulk as fhir_bulk
from patients.services import measure_populations

logger = logging.getLogger(__name__)

# A database that went away for a moment; anything else is a bug, not retried. The
# FHIR bulk import's tasks retry the same way (a retried batch was rolled back whole).
POPULATION_RETRY = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 30,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 3,
}


@shared_task
def refresh_care_gaps() -> dict[str, int]:
    """Nightly: hand the patients whose gaps may have changed to `refresh_care_gaps_batch`,
    a thousand a task, so that every `caregaps` worker process takes a share.

    Safe to run twice: a batch run twice writes the same gaps and opens no second case,
    and once a batch has run its patients are no longer due (each stale patient's stamp,
    `CareGapStamp`, now holds the data change its facts saw).
    """
    batches = care_gaps.care_gaps_refresh_enqueue(as_of=timezone.localdate())
    patients = sum(len(batch) for batch in batches)
    # Counts only: no patient details in logs.
    logger.info("care gaps refresh: %d patients due, %d batch tasks", patients, len(batches))
    return {"patients": patients, "batches": len(batches)}


@shared_task(**POPULATION_RETRY)
def refresh_care_gaps_batch(patient_ids: list[int], as_of: str) -> dict[str, int]:
    """`caregaps` queue: one batch of the nightly run (`as_of`: its day, "2026-06-01"):
    recompute, open and close cases, then queue the batch's stored population measures.
    Safe to run twice; a database error rolls the batch back whole and is retried."""
    result = care_gaps.care_gaps_refresh_batch(
        patient_ids=patient_ids, as_of=dt.date.fromisoformat(as_of)
    )
    # Counts only: no patient details in logs.
    logger.info(
        "care gaps batch refreshed: %d patients, %d cases opened, %d closed",
        result.patients,
        result.cases_opened,
        result.cases_closed,
    )
    return {
        "patients": result.patients,
        "cases_opened": result.cases_opened,
        "cases_closed": result.cases_closed,
    }


@shared_task
def refresh_care_gaps_for(patient_ids: list[int]) -> int:
    """After an import: bring these patients' gaps (and cases) up to date now, then their
    stored population measures (the nightly run will not see them as due any more)."""
    result = care_gaps.care_gaps_refresh_batch(patient_ids=patient_ids, as_of=timezone.localdate())
    return result.patients


@shared_task
def send_referral_digests() -> int:
    """Daily: hand each clinic with a digest subscriber to its own task."""
    return referral_digest.referral_digests_enqueue()


@shared_task
def send_clinic_referral_digest(clinic_id: int) -> int:
    """E-mail a clinic's subscribers the numbers of the referrals that changed (once a day)."""
    return referral_digest.clinic_referral_digest_send(clinic_id=clinic_id)


@shared_task(**POPULATION_RETRY)
def refresh_measure_populations(measure: str, periods: list[str]) -> dict[str, int]:
    """Compute one population measure for every patient in these periods ("2025Q1",
    "2025", "2025-02-01/2026-01-31") and list them. Safe to run twice: each run
    replaces the same rows (`measure_populations`)."""
    stats = measure_populations.population_measure_refresh(
        measure=measure, periods=[parse_period_label(text) for text in periods]
    )
    logger.info(
        "population measure %s refreshed: %d periods, %d patients, %d rows",
        measure,
        stats.periods_completed,
        stats.patients,
        stats.rows,
    )
    return {"patients": stats.patients, "rows": stats.rows, "periods": stats.periods_completed}


@shared_task(**POPULATION_RETRY)
def refresh_measure_populations_for(patient_ids: list[int]) -> int:
    """After a care-gap run: these patients' rows in every period already listed."""
    return measure_populations.stored_populations_refresh(patient_ids=patient_ids).rows


@shared_task
def compute_last_quarter_populations() -> int:
    """On the first day of each quarter: the quarter that just ended, every measure,
    one task each (each task is one measure's full refresh)."""
    end = last_complete_quarter_end(timezone.localdate())
    (period,) = quarter_periods(end, end)
    for key in POPULATION_MEASURES:
        measure_populations.measure_period_request(measure=key, period=period)
    return len(POPULATION_MEASURES)


@shared_task(bind=True, **POPULATION_RETRY)
def fhir_bulk_import_run(self, job_id: int) -> str:
    """`imports` queue: import a FHIR bulk job's free batches, then move the job on.

    Safe to run twice, and several at once: each batch is claimed, imported and
    marked done in one transaction (`patients.fhir.bulk`). A batch that raises anything
    but a database error fails the job there; a database error is retried, and the
    last retry failing fails the job too (it would otherwise stay running for ever)."""
    try:
        return fhir_bulk.fhir_bulk_work(job_id=job_id)
    except DatabaseError as error:
        _fhir_bulk_fail_on_last_retry(
            self,
            job_id,
            f"Stopped: the database failed {self.max_retries + 1} times "
            f"({type(error).__name__}). Import the export again: what was "
            "imported is not written twice.",
        )
        raise


def _fhir_bulk_fail_on_last_retry(task: Task, job_id: int, message: str) -> None:
    """On a FHIR bulk task's last retry, fail its job (it would otherwise stay running
    for ever); a database still down then is only logged, the task's error raised."""
    if task.request.retries < task.max_retries:
        return
    try:
        fhir_bulk.fhir_bulk_fail(job_id=job_id, message=message)
    except DatabaseError:
        logger.error("FHIR bulk job %s: could not be marked failed", job_id)


@shared_task(bind=True, **POPULATION_RETRY)
def fhir_bulk_import_care_gaps(self, job_id: int) -> str:
    """`caregaps` queue: recompute the care gaps of the patients a bulk import touched,
    in batches; the last one finishes the job. Safe to run twice. Any error but a
    database one fails the job there (`fhir_bulk_care_gaps_work`); a database error is
    retried, and the last retry failing fails the job too, as `fhir_bulk_import_run`."""
    try:
        return intake_fhir_bulk.fhir_bulk_care_gaps_work(job_id=job_id)
    except DatabaseError as error:
        _fhir_bulk_fail_on_last_retry(
            self,
            job_id,
            f"Stopped while recomputing care gaps: the database failed "
            f"{self.max_retries + 1} times ({type(error).__name__}). The resources "
            "were imported; the nightly refresh recomputes the care gaps left.",
        )
        raise


# The referral import's retries. A database error is retried (a retried batch was rolled
# back whole); anything else is a bug or the time limit, not retried: the job fails and
# its stored file (patients' data) is deleted, as after the last retry.
IMPORT_DB_RETRIES = 3
# A run that finds the job held by another comes back after the job would go stale, so
# that a job whose worker was killed (its task redelivered at once) is taken over.
IMPORT_TAKEOVER_WAITS = 6


@shared_task(
    bind=True,
    max_retries=IMPORT_DB_RETRIES + IMPORT_TAKEOVER_WAITS,
    # 100,000 rows take well under a minute; the default limit (5 minutes) is for
    # requests-sized work, this is a file.
    soft_time_limit=25 * 60,
    time_limit=30 * 60,
)
def import_referral_upload(self, upload_id: int, waits: int = 0) -> dict[str, object] | None:
    """Import a queued referral upload (queue `imports`). Safe to run twice: the job is
    claimed with a conditional update, and a restarted one resumes at its first batch
    not committed. `waits`: how many times this task came back to a held job."""
    try:
        upload = referral_import.referral_import_run(upload_id=upload_id)
    except DatabaseError as error:
        tries = self.request.retries - waits
        if tries < IMPORT_DB_RETRIES:
            raise self.retry(
                exc=error, countdown=min(10 * 2**tries, settings.CELERY_MAX_COUNTDOWN_SECONDS)
            ) from error
        referral_import.referral_import_fail(upload_id=upload_id)
        raise
    except Exception:
        referral_import.referral_import_fail(upload_id=upload_id)
        raise
    if upload is None:
        if waits < IMPORT_TAKEOVER_WAITS and referral_import.referral_import_held(
            upload_id=upload_id
        ):
            raise self.retry(
                args=(upload_id,),
                kwargs={"waits": waits + 1},
                countdown=min(
                    referral_import.STALE_AFTER.total_seconds() + 15,
                    settings.CELERY_MAX_COUNTDOWN_SECONDS,
                ),
            )
        return None
    return {"upload": upload.pk, "status": upload.status, "created": upload.created_count}


@shared_task
def resume_stuck_imports() -> dict[str, list[int]]:
    """Beat, every few minutes: re-enqueue the task of each import job whose task was
    lost (queued past its grace, or running with no sign of work); on the embedded
    broker a lost task is never redelivered. Safe to run twice: so are those tasks."""
    result = import_sweep.imports_resume_stuck()
    return {"referral_uploads": result.referral_uploads, "fhir_bulk_jobs": result.fhir_bulk_jobs}
