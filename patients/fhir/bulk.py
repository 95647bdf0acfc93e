"""FHIR Bulk Data import jobs: create one from an export, import its batches, move it on.

A job (`FhirBulkImport`) is cut into batches of lines (`FhirBulkChunk`, byte offsets:
the restart cursor) when it is created. Workers (the `imports` queue) each claim the
next free batch of the current phase with FOR UPDATE SKIP LOCKED, import it (parse
and check every line, `bulk_read`; write set-based, `bulk_write`) and mark it done,
all in one transaction: a killed worker's batch rolls back and is claimed again, so a
restarted job imports nothing twice. Patients first (phase 0), then every other type
(phase 1); the worker that finds its phase finished moves the job on, and at the end
hands the touched patients to the care-gap recompute (`navigator.intake.fhir_bulk`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from config.collector import collector_paused
from config.enqueue import enqueue_on_commit
from navigator.models import User
from patients.fhir.bulk_read import (
    MAX_LINE_BYTES,
    BulkSourceError,
    LineRejection,
    chunk_lines,
    export_files,
    file_chunks,
    line_read,
)
from patients.fhir.bulk_write import BatchOutcome, batch_write
from patients.fhir.outcome import NOT_A_FEED
from patients.fhir.parse import BundleItem
from patients.models import (
    FhirBulkChunk,
    FhirBulkFile,
    FhirBulkImport,
    FhirBulkRejection,
    FhirBulkTouchedPatient,
    FhirImport,
    FhirSource,
)

# Lines per batch. 1,000 rather than 2,000: an export's Patient phase then has work for
# both workers from 1,000 patients on (a 2,000-patient export was one batch, one worker
# busy); a batch's fixed cost is about a dozen queries, small beside 1,000 lines.
DEFAULT_BATCH = 1000
# Workers started per phase (2 cores here; more where the `imports` queue has more).
WORKERS = 2
RUN_TASK = "patients.tasks.fhir_bulk_import_run"
CARE_GAPS_TASK = "patients.tasks.fhir_bulk_import_care_gaps"
Phase = FhirBulkImport.Phase
Status = FhirBulkImport.Status
logger = logging.getLogger(__name__)
MAX_LINE_MB = MAX_LINE_BYTES // (1024 * 1024)


def fhir_bulk_import_create(
    *,
    source: FhirSource,
    location: Path,
    actor: User | None,
    batch_size: int = DEFAULT_BATCH,
    start: bool = True,
) -> FhirBulkImport:
    """A job for the export at `location` (a folder of NDJSON or an $export manifest).

    Raises `BulkSourceError` when the location cannot be read (nothing is created). A
    file that is not NDJSON, or of a type we do not import, is listed with the
    reason and skipped. `start` queues the workers when the transaction commits.
    A clinic's staff-entry source is not a feed: it raises `BulkSourceError` too.
    """
    if source.is_staff_entry:
        raise BulkSourceError(NOT_A_FEED.format(key=source.key))
    files = export_files(location)
    cut = [(f, *file_chunks(f.path, batch_size)) if not f.skipped_reason else (f, [], "")
           for f in files]  # fmt: skip
    now = timezone.now()
    with transaction.atomic():
        job = FhirBulkImport.objects.create(
            source=source,
            location=str(location)[:500],
            batch_size=batch_size,
            created_by=actor if actor is not None and actor.pk else None,
            created_at=now,
        )
        chunks = []
        for export, pieces, refused in cut:
            phase = Phase.PATIENTS if export.resource_type == "Patient" else Phase.RESOURCES
            row = FhirBulkFile.objects.create(
                job=job,
                resource_type=export.resource_type[:64],
                path=str(export.path)[:500],
                phase=phase,
                lines=sum(piece[3] for piece in pieces),
                skipped_reason=(export.skipped_reason or refused)[:300],
            )
            chunks += [
                FhirBulkChunk(file=row, job=job, phase=phase, first_line=first, start=begin,
                              end=end, lines=lines)
                for first, begin, end, lines in pieces
            ]  # fmt: skip
        FhirBulkChunk.objects.bulk_create(chunks, batch_size=2000)
        if start:
            for _ in range(WORKERS):
                enqueue_on_commit(RUN_TASK, job.pk)
    return job


@dataclass
class BatchDone:
    chunk_id: int
    lines: int
    queries: int


def fhir_bulk_batch_next(*, job_id: int) -> BatchDone | None:
    """Claim, import and finish the next free batch of the job's phase; None if none is free."""
    job = FhirBulkImport.objects.select_related("source", "fhir_import").get(pk=job_id)
    if job.status in {Status.DONE, Status.FAILED, Status.CARE_GAPS}:
        return None
    claimed: list[FhirBulkChunk] = []
    try:
        return _batch_import(job, claimed)
    except DatabaseError:
        raise  # rolled back whole: the task retries it (bounded), or a restart claims it again
    except Exception as error:
        # Anything else would fail the same way on every retry: the job stops, and says
        # where and what (the error's type only: its text may quote a line).
        where = (
            f" in the {claimed[0].file.resource_type} batch from line {claimed[0].first_line}"
            if claimed
            else ""
        )
        logger.error("FHIR bulk job %s stopped%s: %s", job_id, where, type(error).__name__)
        fhir_bulk_fail(
            job_id=job_id,
            message=f"Stopped by an unexpected error{where} ({type(error).__name__}); "
            "nothing of that batch was written.",
        )
        return None


def _batch_import(job: FhirBulkImport, claimed: list[FhirBulkChunk]) -> BatchDone | None:
    """The batch claimed (appended to `claimed`), imported and marked done, atomically."""
    job_id = job.pk
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count), transaction.atomic():
        chunk = (
            FhirBulkChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("file")
            .filter(job_id=job_id, phase=job.phase, done=False)
            .order_by("pk")
            .first()
        )
        if chunk is None:
            return None
        claimed.append(chunk)
        # The collector off for the batch: see config/collector.py.
        with collector_paused():
            outcome = _chunk_import(job, chunk)
        if outcome.rejections:
            FhirBulkRejection.objects.bulk_create(
                [FhirBulkRejection(file=chunk.file, line=r.line, reason=r.reason[:500])
                 for r in outcome.rejections]
            )  # fmt: skip
        if outcome.touched:
            _touched_record(job_id, sorted(outcome.touched))
        chunk.done, chunk.done_at = True, timezone.now()
        chunk.created, chunk.updated, chunk.unchanged = (
            outcome.created, outcome.updated, outcome.unchanged,
        )  # fmt: skip
        chunk.rejected, chunk.warnings = len(outcome.rejections), len(outcome.warnings)
        chunk.queries = queries[0] + 1  # this update included
        chunk.save(update_fields=["done", "done_at", "created", "updated", "unchanged",
                                  "rejected", "warnings", "queries"])  # fmt: skip
    return BatchDone(chunk.pk, chunk.lines, chunk.queries)


def _touched_record(job_id: int, patient_ids: list[int]) -> None:
    """The job's touched patients, a patient already listed left as it is (one query).

    On PostgreSQL the ids travel as one bigint array: bulk_create would build a model
    instance per patient and send each column as an array anyway."""
    if connection.vendor != "postgresql":
        FhirBulkTouchedPatient.objects.bulk_create(
            [FhirBulkTouchedPatient(job_id=job_id, patient_id=pk) for pk in patient_ids],
            ignore_conflicts=True,
        )
        return
    meta = FhirBulkTouchedPatient._meta
    column = {field.name: field.column for field in meta.concrete_fields}
    job, patient, recomputed = column["job"], column["patient_id"], column["recomputed"]
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{meta.db_table}" ("{job}", "{patient}", "{recomputed}") '  # noqa: S608 - names from the model, values bound
            "SELECT %s, unnest(%s::bigint[]), false ON CONFLICT DO NOTHING",
            [job_id, patient_ids],
        )


def _chunk_import(job: FhirBulkImport, chunk: FhirBulkChunk) -> BatchOutcome:
    file_type = chunk.file.resource_type
    try:
        raw_lines = chunk_lines(Path(chunk.file.path), chunk.start, chunk.end)
    except OSError as error:
        reason = f"The file cannot be read ({error.strerror or error})."
        return BatchOutcome(
            rejections=[LineRejection(chunk.first_line + i, reason) for i in range(chunk.lines)]
        )
    items: list[tuple[int, BundleItem]] = []
    rejections: list[LineRejection] = []
    warnings = []
    for offset, raw in enumerate(raw_lines):
        number = chunk.first_line + offset
        if raw is None:
            rejections.append(LineRejection(number, f"Longer than {MAX_LINE_MB} MB: not read."))
            continue
        try:
            item, found, rejection = line_read(raw, number, file_type)
        except Exception as error:  # one odd line must not stop the batch
            # Its type only: an exception's text may quote the line (PHI).
            logger.warning(
                "FHIR bulk job %s: %s line %s could not be read (%s)",
                job.pk, file_type, number, type(error).__name__,
            )  # fmt: skip
            item, found = None, []
            rejection = LineRejection(number, f"Could not be read: {type(error).__name__}.")
        if rejection is not None:
            rejections.append(rejection)
        elif item is not None:
            items.append((number, item))
            warnings += found
    now = timezone.now()
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                outcome = batch_write(
                    source=job.source, items=items, now=now, fhir_import=job.fhir_import
                )
            break
        except IntegrityError:
            # Another worker created the same patient a moment ago: the second attempt
            # sees it and links to (or leaves) it, as a bundle import would.
            if attempt == 2:
                raise
    outcome.rejections = sorted(rejections + outcome.rejections, key=lambda r: r.line)
    outcome.warnings += warnings
    return outcome


def fhir_bulk_advance(*, job_id: int, queue: bool = True) -> str:
    """Move the job on when its phase is finished: to the next phase, or to the care gaps.

    Called by every worker once it finds no free batch; the job row's lock makes
    exactly one of them move it. Returns the job's status afterwards. `queue`
    starts the next phase's workers (False: the caller runs them in its process).
    """
    with transaction.atomic():
        job = FhirBulkImport.objects.select_for_update().get(pk=job_id)
        if job.status not in {Status.QUEUED, Status.RUNNING}:
            return job.status
        now = timezone.now()
        if job.status == Status.QUEUED:
            job.status, job.started_at = Status.RUNNING, now
        pending = FhirBulkChunk.objects.filter(job=job, done=False)
        if pending.filter(phase=job.phase).exists():
            job.save(update_fields=["status", "started_at"])
            return job.status
        if job.phase == Phase.PATIENTS and pending.exists():
            job.phase = Phase.RESOURCES
            job.save(update_fields=["status", "started_at", "phase"])
            for _ in range(WORKERS if queue else 0):
                enqueue_on_commit(RUN_TASK, job.pk)
            return job.status
        totals = job.chunks.aggregate(
            created=Sum("created", default=0),
            updated=Sum("updated", default=0),
            unchanged=Sum("unchanged", default=0),
        )
        skipped = dict(
            job.files.exclude(skipped_reason="")
            .values_list("resource_type")
            .annotate(n=Count("pk"))
            .values_list("resource_type", "n")
        )
        if totals["created"] or totals["updated"]:
            # The audit record a bundle import writes, once for the whole export.
            job.fhir_import = FhirImport.objects.create(
                source_id=job.source_id,
                received_at=job.created_at,
                received_by_id=job.created_by_id,
                origin=f"bulk import #{job.pk}",
                created=totals["created"],
                updated=totals["updated"],
                unchanged=totals["unchanged"],
                skipped=skipped,
            )
        job.imported_at = now
        job.care_gap_patients = job.touched.count()
        if job.care_gap_patients:
            job.status = Status.CARE_GAPS
            for _ in range(WORKERS if queue else 0):
                enqueue_on_commit(CARE_GAPS_TASK, job.pk)
        else:
            job.status, job.finished_at = Status.DONE, now
            job.message = "Nothing changed." if not totals["created"] else ""
        job.save()
        return job.status


def fhir_bulk_phase_wait(*, job_id: int, seconds: float = 0.5) -> None:
    """Wait, at most `seconds`, until the batches of the job's current phase that other
    workers are importing are finished (committed or rolled back).

    For a worker that found no free batch while the phase is not finished: on
    PostgreSQL it waits on those batches' row locks (each is released the moment its
    worker's transaction ends), so it carries on with the next phase at once rather
    than after a fixed sleep; elsewhere (SQLite: one writer) it sleeps `seconds`."""
    if connection.vendor != "postgresql":
        time.sleep(seconds)
        return
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # A setting, not a value: formatted from a float, never from input.
                cursor.execute(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'")
            list(
                FhirBulkChunk.objects.select_for_update(of=("self",))
                .filter(job_id=job_id, done=False, phase=F("job__phase"))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
    except DatabaseError:
        pass  # still held after `seconds` (lock_timeout): the caller looks again


def fhir_bulk_fail(*, job_id: int, message: str) -> str:
    """Stop a job that cannot go on (importing, or recomputing its care gaps): FAILED
    with the message (no patient values in it). A job already finished is left as it
    is. Returns the job's status afterwards."""
    with transaction.atomic():
        job = FhirBulkImport.objects.select_for_update().get(pk=job_id)
        if job.status not in {Status.QUEUED, Status.RUNNING, Status.CARE_GAPS}:
            return job.status
        job.status, job.finished_at, job.message = Status.FAILED, timezone.now(), message[:500]
        job.save(update_fields=["status", "finished_at", "message"])
        return job.status


def fhir_bulk_work(*, job_id: int, seconds: float = 120.0) -> str:
    """A worker: import free batches for up to `seconds` (then queue itself again, well
    inside the task time limit), and move the job on when there are none left."""
    deadline = time.monotonic() + seconds
    fhir_bulk_advance(job_id=job_id)  # queued → running
    while fhir_bulk_batch_next(job_id=job_id) is not None:
        if time.monotonic() > deadline:
            enqueue_on_commit(RUN_TASK, job_id)
            return Status.RUNNING
    return fhir_bulk_advance(job_id=job_id)


def fhir_bulk_restart(*, job_id: int, queue: bool = True) -> FhirBulkImport:
    """Queue the workers again for a job that stopped (a worker killed, the broker lost):
    it carries on from its batches not done; those done are never imported again.
    `queue` False: the caller runs it in its own process."""
    job = FhirBulkImport.objects.get(pk=job_id)
    task = CARE_GAPS_TASK if job.status == Status.CARE_GAPS else RUN_TASK
    if queue and job.status not in {Status.DONE, Status.FAILED}:
        for _ in range(WORKERS):
            enqueue_on_commit(task, job.pk)
    return job


@dataclass
class FileProgress:
    resource_type: str
    path: str
    lines: int
    lines_read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    batches: int
    batches_done: int
    skipped_reason: str


def fhir_bulk_progress(job: FhirBulkImport) -> list[FileProgress]:
    """Each file's progress, summed over its batches (one query)."""
    done = Q(chunks__done=True)
    rows = job.files.order_by("phase", "pk").annotate(
        read=Sum("chunks__lines", filter=done, default=0),
        n_created=Sum("chunks__created", default=0),
        n_updated=Sum("chunks__updated", default=0),
        n_unchanged=Sum("chunks__unchanged", default=0),
        n_rejected=Sum("chunks__rejected", default=0),
        batches=Count("chunks"),
        batches_done=Count("chunks", filter=done),
    )
    return [
        FileProgress(
            row.resource_type, Path(row.path).name, row.lines, row.read, row.n_created,
            row.n_updated, row.n_unchanged, row.n_rejected, row.batches, row.batches_done,
            row.skipped_reason,
        )
        for row in rows
    ]  # fmt: skip
