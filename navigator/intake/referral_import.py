"""Import a clinic's referral CSV as a background job, in batches, by the rules of one referral.

`referral_import_start` (the request): reads and checks the whole file
(`patients.uploads.parse`, nothing written), refuses at once a file that cannot
be read, or a bad row in ALL_OR_NOTHING mode, then stores its checked rows
(`patients.uploads.checked_rows`: the file is read and checked once) in the
database with a queued `ReferralUpload` and enqueues the import task on commit.

`referral_import_run` (the task, by id): claims the job with a conditional update
(a second run of the same task finds it taken and does nothing), then imports the
good rows in batches of `BATCH_SIZE`, each one short transaction
(`referral_batch.referral_import_batch`):

- duplicates: the batch's upload keys looked up in one query (a row imported by an
  earlier upload, or earlier in this file, is counted and skipped);
- patients: the batch's MRNs looked up in one query; a row for a patient nobody has
  registered (the file's first row for that MRN) is checked as `patient_find_or_create`
  checks one (`patient_build`) and as `referral_create` checks eligibility
  (`eligibility_check`), then written with the others in bulk (`referral_write`):
  patients, race answers, phones, cases assigned in one go against the loads read once
  (`cases_open_for_new_patients`, the same scoring as a single assignment), referrals
  and events;
- a row for a patient who exists (in the database, or earlier in the file) goes through
  `referral_create` itself, in a savepoint: MRN matching, a merged record followed to the
  record kept, joining an open case, phones added. Only those rows cost a referral's
  queries. Their stored patients are locked first, before the bulk write locks the
  navigators: the order of a single referral (patient, then navigators), so that the
  two never deadlock.

A batch that commits moves `batches_done` on in the same transaction, conditionally:
a task restarted after a crash resumes at the first batch not committed, and a batch
two runners raced for is written once.

A task that finds the job held by another run comes back just after it would go stale
(`referral_import_held`): a job whose worker was killed is taken over. A task that gives
up (an unexpected error, the database still failing after its retries) ends the job
failed with its stored rows deleted (`referral_import_fail`), never queued for ever.

ALL_OR_NOTHING keeps its meaning: before any write, every row is checked by the same
rules (read-only, batch by batch, the file's own earlier rows counting as patients);
any problem fails the job with every row's error and nothing written. What can still
refuse a row at write time is a change made by someone else between the check and
that row's batch (an MRN registered meanwhile under another name, a program closed):
the job then stops at that batch, fails, and says how many rows the batches before
it imported (they stay: each batch is its own transaction, so that single referrals
never wait behind a whole file).

Logs carry ids and counts only, never a value from the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.intake.referral_batch import (
    BatchRefused,
    Superseded,
    referral_import_batch,
    referral_rows_plan,
)
from navigator.models import User
from patients.models import Clinic, Patient, ReferralUpload, ReferralUploadContent
from patients.uploads.checked_rows import rows_dump, rows_stored
from patients.uploads.parse import RowError, UploadRejected, UploadRow, referral_upload_parse

logger = logging.getLogger(__name__)

IMPORT_TASK = "patients.tasks.import_referral_upload"
# Rows per transaction: long enough to amortise its fixed queries, short enough that a
# single referral waits at most one batch for the navigators' locks.
BATCH_SIZE = 1000
# A running job whose task has not reported for this long lost its worker: the next
# run takes it over (a batch takes well under a second). Under the longest countdown a
# task may wait (CELERY_MAX_COUNTDOWN_SECONDS), so that a run finding the job held can
# come back once, after it went stale.
STALE_AFTER = dt.timedelta(minutes=4)
Status = ReferralUpload.Status


def problems_sentence(errors: Sequence[RowError], row_count: int) -> str:
    bad = len({error.line for error in errors})
    rows = "row" if row_count == 1 else "rows"
    return f"{bad} of {row_count} {rows} {'has' if bad == 1 else 'have'} problems"


# --- Starting a job (the request) -------------------------------------------------------------


def referral_import_start(
    *,
    clinic: Clinic,
    actor: User,
    file_bytes: bytes,
    filename: str,
    mode: str,
    enqueue: bool = True,
) -> ReferralUpload:
    """Check a CSV of referrals and queue its import: the queued upload (the job).

    Without `enqueue`, the caller runs the job itself (`referral_import_run`).

    Raises UploadRejected, with nothing written, for a file that cannot be read, a bad
    row in ALL_OR_NOTHING mode, or a file with no good row; ValidationError for a bad
    mode or a clinic the actor may not upload for.
    """
    if mode not in ReferralUpload.Mode.values:
        raise ValidationError({"mode": f"“{mode}” is not an upload mode."})
    if actor.is_clinic_staff and actor.clinic_id != clinic.pk:
        raise ValidationError({"clinic": "You can only upload referrals for your own clinic."})
    try:
        parsed = referral_upload_parse(file_bytes=file_bytes, filename=filename)
        if mode == ReferralUpload.Mode.ALL_OR_NOTHING and parsed.errors:
            raise UploadRejected(
                f"Nothing was imported: {problems_sentence(parsed.errors, parsed.row_count)}.",
                parsed.errors,
                row_count=parsed.row_count,
            )
        if not parsed.rows:
            raise UploadRejected(
                "Nothing was imported: every row has a problem.",
                parsed.errors,
                row_count=parsed.row_count,
            )
    except UploadRejected as rejected:
        logger.info(
            "Referral upload rejected for clinic %s by user %s (%s): %d rows, %d errors",
            clinic.pk,
            actor.pk,
            mode,
            rejected.row_count,
            len(rejected.errors),
        )
        raise
    with transaction.atomic():
        upload = ReferralUpload.objects.create(
            clinic=clinic,
            uploaded_by=actor,
            filename=(filename or "upload.csv")[:255],
            sha256=hashlib.sha256(file_bytes).hexdigest(),
            mode=mode,
            row_count=parsed.row_count,
            errors=[error.as_dict() for error in parsed.errors],
            # The rows refused while reading are dealt with already.
            processed_count=parsed.row_count - len(parsed.rows),
            status=Status.QUEUED,
        )
        # The rows checked above: the job only writes them.
        ReferralUploadContent.objects.create(upload=upload, data=rows_dump(parsed.rows))
        if enqueue:
            enqueue_on_commit(IMPORT_TASK, upload.pk)
    logger.info(
        "Referral upload %s queued for clinic %s by user %s (%s): %d rows, %d errors",
        upload.pk,
        clinic.pk,
        actor.pk,
        mode,
        upload.row_count,
        len(parsed.errors),
    )
    return upload


# --- Running a job (the task) -----------------------------------------------------------------


def _claim(upload_id: int) -> bool:
    """Take the job: queued, or running but abandoned by a worker that died."""
    now = timezone.now()
    queued = ReferralUpload.objects.filter(pk=upload_id, status=Status.QUEUED)
    stale = ReferralUpload.objects.filter(
        pk=upload_id, status=Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )
    for claimable in (queued, stale):
        if claimable.update(status=Status.RUNNING, heartbeat_at=now):
            ReferralUpload.objects.filter(pk=upload_id, started_at=None).update(started_at=now)
            return True
    return False


def referral_import_run(*, upload_id: int) -> ReferralUpload | None:
    """Import a queued upload: the finished upload, or None when another run has it
    (or it is finished). Safe to run twice; after a crash it resumes at its first batch
    not committed."""
    if not _claim(upload_id):
        return None
    upload = ReferralUpload.objects.select_related("clinic", "uploaded_by").get(pk=upload_id)
    try:
        _run(upload)
    except Exception:
        # Let the retry (or the next run) claim it at once; committed batches stay.
        ReferralUpload.objects.filter(pk=upload_id, status=Status.RUNNING).update(
            status=Status.QUEUED
        )
        raise
    upload.refresh_from_db()
    logger.info(
        "Referral upload %s for clinic %s by user %s (%s): %d rows, %d created, "
        "%d duplicates, %d errors; %s",
        upload.pk,
        upload.clinic_id,
        upload.uploaded_by_id,
        upload.mode,
        upload.row_count,
        upload.created_count,
        upload.duplicate_count,
        len(upload.errors),
        upload.status,
    )
    return upload


def referral_import_held(*, upload_id: int) -> bool:
    """Whether another run holds the job (running): a run that found it so comes back
    after `STALE_AFTER`, to take it over if that run's worker died meanwhile."""
    return ReferralUpload.objects.filter(pk=upload_id, status=Status.RUNNING).exists()


def referral_import_fail(*, upload_id: int) -> ReferralUpload | None:
    """End a job its task gave up on (an unexpected error, the database failing after the
    retries): failed, saying what was imported, its file deleted. None when it is not
    queued (finished, or taken by another run)."""
    with transaction.atomic():
        upload = (
            ReferralUpload.objects.select_for_update()
            .filter(pk=upload_id, status=Status.QUEUED)
            .first()
        )
        if upload is None:
            return None
        rows = "row" if upload.created_count == 1 else "rows"
        _finish(
            upload,
            status=Status.FAILED,
            detail=(
                f"The import stopped on an unexpected error. {upload.created_count} {rows} "
                "of the file were imported before it stopped; upload the file again to "
                "import the rest (rows already imported are skipped)."
            ),
        )
    logger.warning("Referral upload %s failed on an unexpected error", upload.pk)
    upload.refresh_from_db()
    return upload


def _finish(upload: ReferralUpload, *, status: str, detail: str = "", **fields: object) -> None:
    with transaction.atomic():
        ReferralUpload.objects.filter(pk=upload.pk).update(
            status=status, detail=detail[:300], finished_at=timezone.now(), **fields
        )
        # The stored rows name patients: they are kept only as long as the import needs them.
        ReferralUploadContent.objects.filter(upload_id=upload.pk).delete()


def _run(upload: ReferralUpload) -> None:
    data = (
        ReferralUploadContent.objects.filter(upload_id=upload.pk)
        .values_list("data", flat=True)
        .first()
    )
    if data is None:
        _finish(upload, status=Status.FAILED, detail="The file is no longer stored.")
        return
    rows = rows_stored(bytes(data), upload.filename)
    batches = [rows[start : start + BATCH_SIZE] for start in range(0, len(rows), BATCH_SIZE)]
    all_or_nothing = upload.mode == ReferralUpload.Mode.ALL_OR_NOTHING
    if all_or_nothing and upload.batches_done == 0:
        errors = referral_import_check(clinic=upload.clinic, rows=rows)
        if errors:
            errors.sort(key=lambda error: error.line or 0)
            _finish(
                upload,
                status=Status.FAILED,
                detail=f"Nothing was imported: {problems_sentence(errors, upload.row_count)}.",
                errors=[error.as_dict() for error in errors],
                processed_count=upload.row_count,
            )
            return
    for index in range(upload.batches_done, len(batches)):
        try:
            referral_import_batch(upload=upload, rows=batches[index], index=index)
        except BatchRefused as refused:
            done = ReferralUpload.objects.get(pk=upload.pk)
            _finish(
                upload,
                status=Status.FAILED,
                detail=(
                    f"Stopped at line {refused.errors[0].line}: a record changed after the "
                    f"file was checked. {done.created_count} rows of the lines before it "
                    "were imported; fix the row and upload the file again (they are skipped)."
                ),
                errors=done.errors + [error.as_dict() for error in refused.errors],
            )
            return
        except Superseded:
            return
    done = ReferralUpload.objects.get(pk=upload.pk)
    if not done.created_count and not done.duplicate_count:
        _finish(
            upload, status=Status.FAILED, detail="Nothing was imported: every row has a problem."
        )
    else:
        _finish(upload, status=Status.DONE)


def referral_import_check(*, clinic: Clinic, rows: Sequence[UploadRow]) -> list[RowError]:
    """Every row checked by the import's rules, batch by batch, writing nothing."""
    in_file: dict[str, Patient] = {}
    errors: list[RowError] = []
    for start in range(0, len(rows), BATCH_SIZE):
        errors += referral_rows_plan(clinic, rows[start : start + BATCH_SIZE], in_file).errors
    return errors
