"""Import a clinic's referral CSV as a background job, in batches, by the rules of one referral.

`referral_import_start` (the request): reads and checks the whole file
(`patients.uploads.parse`, nothing written), refuses at once a file that cannot
be read, or a bad row in ALL_OR_NOTHING mode, then stores the file in the
database with a queued `ReferralUpload` and enqueues the import task on commit.

`referral_import_run` (the task, by id): claims the job with a conditional update
(a second run of the same task finds it taken and does nothing), then imports the
good rows in batches of `BATCH_SIZE`, each one short transaction:

- duplicates: the batch's upload keys looked up in one query (a row imported by an
  earlier upload, or earlier in this file, is counted and skipped);
- patients: the batch's MRNs looked up in one query; a row for a patient nobody has
  registered (the file's first row for that MRN) is checked as `patient_find_or_create`
  checks one (`patient_build`) and as `referral_create` checks eligibility
  (`eligibility_check`), then written with the others in bulk: patients, race answers,
  phones, cases assigned in one go against the loads read once
  (`cases_open_for_new_patients`, the same scoring as a single assignment), referrals
  and events;
- a row for a patient who exists (in the database, or earlier in the file) goes through
  `referral_create` itself, in a savepoint: MRN matching, a merged record followed to the
  record kept, joining an open case, phones added. Only those rows cost a referral's
  queries. Their stored patients are locked first (`_lock_patients`), before the bulk
  write locks the navigators: the order of a single referral (patient, then navigators),
  so that the two never deadlock.

A batch that commits moves `batches_done` on in the same transaction, conditionally:
a task restarted after a crash resumes at the first batch not committed, and a batch
two runners raced for is written once.

A task that finds the job held by another run comes back just after it would go stale
(`referral_import_held`): a job whose worker was killed is taken over. A task that gives
up (an unexpected error, the database still failing after its retries) ends the job
failed with its stored file deleted (`referral_import_fail`), never queued for ever.

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
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.intake.referrals import eligibility_check, referral_create
from navigator.models import CaseEvent, CaseEventKind, User
from navigator.services.case_opening import cases_open_for_new_patients
from patients.models import (
    Clinic,
    Patient,
    PatientMerge,
    Referral,
    ReferralUpload,
    ReferralUploadContent,
)
from patients.mrn import mrn_key, mrn_normalise, patient_kept
from patients.services.patients import (
    NewPatient,
    patient_build,
    patient_input_check,
    patient_mismatch_error,
    patients_bulk_create,
)
from patients.uploads.parse import RowError, UploadRejected, UploadRow, referral_upload_parse
from patients.uploads.template import COLUMNS

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
SERVICE_COLUMNS = {"phones": "phone"}
Status = ReferralUpload.Status


def service_errors(line: int, error: ValidationError) -> list[RowError]:
    """A service's refusal of a row, as row errors on the columns concerned."""
    if not hasattr(error, "error_dict"):
        return [RowError(line, "", " ".join(error.messages))]
    errors = []
    for key, messages in error.message_dict.items():
        column = SERVICE_COLUMNS.get(key, key)
        errors.append(RowError(line, column if column in COLUMNS else "", " ".join(messages)))
    return errors


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
        ReferralUploadContent.objects.create(upload=upload, data=file_bytes)
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


class _BatchRefused(Exception):
    """ALL_OR_NOTHING: a row of the batch was refused; the batch is rolled back."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("row refused")
        self.errors = errors


class _Superseded(Exception):
    """Another run committed this batch first."""


def _finish(upload: ReferralUpload, *, status: str, detail: str = "", **fields: object) -> None:
    with transaction.atomic():
        ReferralUpload.objects.filter(pk=upload.pk).update(
            status=status, detail=detail[:300], finished_at=timezone.now(), **fields
        )
        # The file names patients: it is kept only as long as its import needs it.
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
    parsed = referral_upload_parse(file_bytes=bytes(data), filename=upload.filename)
    rows = parsed.rows
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
        except _BatchRefused as refused:
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
        except _Superseded:
            return
    done = ReferralUpload.objects.get(pk=upload.pk)
    if not done.created_count and not done.duplicate_count:
        _finish(
            upload, status=Status.FAILED, detail="Nothing was imported: every row has a problem."
        )
    else:
        _finish(upload, status=Status.DONE)


@dataclass
class _Plan:
    new: list[tuple[UploadRow, NewPatient, str, list[str]]] = field(default_factory=list)
    known: list[UploadRow] = field(default_factory=list)  # through referral_create
    known_ids: set[int] = field(default_factory=set)  # their patients already stored
    errors: list[RowError] = field(default_factory=list)


def _existing_patients(clinic: Clinic, rows: Sequence[UploadRow]) -> dict[str, Patient]:
    """The clinic's patients named by the rows' MRNs, by normalised MRN (one query, and
    one more only when some were merged: those are followed per row by referral_create)."""
    mrns = {mrn_normalise(row.patient.mrn) for row in rows}
    if not mrns:
        return {}
    found: dict[str, list[Patient]] = {}
    for patient in (
        Patient.objects.alias(key=mrn_key())
        .filter(clinic=clinic, key__in=mrns)
        .annotate(normalised=mrn_key())
        .order_by("pk")
    ):
        found.setdefault(patient.normalised, []).append(patient)
    merged = (
        set(
            PatientMerge.objects.filter(
                duplicate__in=[p.pk for group in found.values() for p in group]
            ).values_list("duplicate_id", flat=True)
        )
        if found
        else set()
    )
    existing = {}
    for mrn, group in found.items():
        kept = [p for p in group if p.pk not in merged]
        if kept:
            existing[mrn] = kept[0]
        else:
            # Merged into a record kept elsewhere: referral_create follows the chain.
            existing[mrn] = group[0]
            group[0].merged_away = True  # type: ignore[attr-defined]
    return existing


def _plan(clinic: Clinic, rows: Sequence[UploadRow], in_file: dict[str, Patient]) -> _Plan:
    """Check every row by a single referral's rules, without writing: which rows register
    a new patient (bulk), which name a known one (referral_create), which are refused.
    `in_file`: the patients of earlier good rows of the file, by MRN (updated)."""
    plan = _Plan()
    existing = _existing_patients(clinic, rows)
    for row in rows:
        try:
            if not row.program.active:
                raise ValidationError(
                    {"program": f"The {row.program} program is not accepting referrals."}
                )
            if not row.referring_clinician.strip():
                raise ValidationError({"referring_clinician": "Name the referring clinician."})
            mrn = mrn_normalise(row.patient.mrn)
            patient = existing.get(mrn) or in_file.get(mrn)
            if patient is None:
                new = patient_build(clinic=clinic, data=row.patient)
                override, problems = eligibility_check(
                    program=row.program,
                    patient=new.patient,
                    override_reason=row.eligibility_override_reason,
                )
                plan.new.append((row, new, override, problems))
                in_file[mrn] = new.patient
                continue
            # What referral_create will check: the input as patient_find_or_create
            # does, then the match and eligibility against the record kept.
            patient_input_check(data=row.patient)
            merged = getattr(patient, "merged_away", False)
            kept = patient_kept(patient=patient) if merged else patient
            if kept is not None:
                mismatch = patient_mismatch_error(clinic=clinic, existing=kept, data=row.patient)
                if mismatch:
                    raise ValidationError({"mrn": mismatch}, code="mrn_conflict")
                eligibility_check(
                    program=row.program,
                    patient=kept,
                    override_reason=row.eligibility_override_reason,
                )
            plan.known.append(row)
            if patient.pk is not None:
                plan.known_ids.add(patient.pk)
        except ValidationError as error:
            plan.errors += service_errors(row.line, error)
    return plan


def referral_import_check(*, clinic: Clinic, rows: Sequence[UploadRow]) -> list[RowError]:
    """Every row checked by the import's rules, batch by batch, writing nothing."""
    in_file: dict[str, Patient] = {}
    errors: list[RowError] = []
    for start in range(0, len(rows), BATCH_SIZE):
        errors += _plan(clinic, rows[start : start + BATCH_SIZE], in_file).errors
    return errors


def referral_import_batch(*, upload: ReferralUpload, rows: Sequence[UploadRow], index: int) -> None:
    """Import one batch of good rows in one transaction; its counts, errors and
    `batches_done` move on in the same transaction."""
    for attempt in range(2):
        try:
            _import_batch(upload, rows, index)
            return
        except IntegrityError:
            # An MRN registered by somebody else since the lookup: look again, once.
            if attempt:
                raise


def _import_batch(upload: ReferralUpload, rows: Sequence[UploadRow], index: int) -> None:
    clinic, actor = upload.clinic, upload.uploaded_by
    all_or_nothing = upload.mode == ReferralUpload.Mode.ALL_OR_NOTHING
    with transaction.atomic():
        # One batch per clinic at a time, so that the same file sent twice at once finds
        # the first copy's rows and skips them. NO KEY UPDATE does not hold up single
        # referrals (their inserts take KEY SHARE).
        list(Clinic.objects.select_for_update(no_key=True).filter(pk=clinic.pk))
        already = set(
            Referral.objects.filter(
                clinic=clinic, upload_key__in=[row.key for row in rows]
            ).values_list("upload_key", flat=True)
        )
        todo = []
        for row in rows:
            if row.key not in already:
                todo.append(row)
                already.add(row.key)  # the same row twice in the file: once
        duplicates = len(rows) - len(todo)
        plan = _plan(clinic, todo, {})
        if plan.errors and all_or_nothing:
            raise _BatchRefused(plan.errors)
        _lock_patients(plan.known_ids)
        created = _write_new(upload, plan.new)
        errors = plan.errors
        for row in plan.known:
            try:
                with transaction.atomic():  # a refused row leaves nothing behind
                    referral = referral_create(
                        clinic=clinic,
                        program=row.program,
                        patient_data=row.patient,
                        referring_clinician=row.referring_clinician,
                        reason=row.reason,
                        actor=actor,
                        eligibility_override_reason=row.eligibility_override_reason,
                    )
                    Referral.objects.filter(pk=referral.pk).update(
                        upload=upload, upload_key=row.key
                    )
            except ValidationError as error:
                if all_or_nothing:
                    raise _BatchRefused(service_errors(row.line, error)) from None
                errors += service_errors(row.line, error)
                continue
            created += 1
        current = ReferralUpload.objects.only("errors").get(pk=upload.pk).errors
        merged = sorted(
            current + [error.as_dict() for error in errors], key=lambda e: e["line"] or 0
        )
        moved = ReferralUpload.objects.filter(pk=upload.pk, batches_done=index).update(
            batches_done=index + 1,
            processed_count=F("processed_count") + len(rows),
            created_count=F("created_count") + created,
            duplicate_count=F("duplicate_count") + duplicates,
            errors=merged,
            heartbeat_at=timezone.now(),
        )
        if not moved:
            raise _Superseded


def _lock_patients(ids: set[int]) -> None:
    """Lock the batch's stored patients (and the records they were merged into) before
    the navigators: a single referral locks its patient, then the navigators; the batch
    locking navigators first, then a patient, could deadlock with it."""
    for _ in range(10):  # a chain of merges, as patient_with_mrn_for_update follows it
        if not ids:
            return
        list(
            Patient.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ids = set(
            PatientMerge.objects.filter(duplicate__in=ids).values_list("survivor_id", flat=True)
        )


def _write_new(
    upload: ReferralUpload, new: list[tuple[UploadRow, NewPatient, str, list[str]]]
) -> int:
    """The rows registering a new patient, in a constant number of statements."""
    if not new:
        return 0
    clinic, actor = upload.clinic, upload.uploaded_by
    patients_bulk_create(new=[item for _row, item, _o, _p in new])
    cases = cases_open_for_new_patients(
        openings=[(item.patient, row.program) for row, item, _o, _p in new],
        actor=actor,
        source=f"referral from {clinic}",
        events_after=[1 + bool(override) for _r, _i, override, _p in new],
    )
    now = timezone.now()
    referrals = [
        Referral(
            clinic=clinic,
            patient=item.patient,
            program=row.program,
            referring_clinician=row.referring_clinician.strip(),
            reason=row.reason,
            case=case,
            created_by=actor,
            created_at=now,
            eligibility_override_reason=override,
            eligibility_overridden_by=actor if override else None,
            eligibility_overridden_at=now if override else None,
            upload=upload,
            upload_key=row.key,
        )
        for (row, item, override, _p), case in zip(new, cases, strict=True)
    ]
    Referral.objects.bulk_create(referrals)
    events = []
    for referral, (_row, _item, override, problems) in zip(referrals, new, strict=True):
        # What referral_create records after case_open.
        if override:
            events.append(
                CaseEvent(
                    case=referral.case,
                    kind=CaseEventKind.ELIGIBILITY_OVERRIDDEN,
                    actor=actor,
                    summary=f"Eligibility overridden: {override}"[:300],
                    data={"referral": referral.pk, "problems": problems, "reason": override},
                    at=now,
                )
            )
        events.append(
            CaseEvent(
                case=referral.case,
                kind=CaseEventKind.REFERRED,
                actor=actor,
                summary=f"Referred by {referral.referring_clinician} ({clinic})"[:300],
                data={"referral": referral.pk, "new_case": True},
                at=now,
            )
        )
    CaseEvent.objects.bulk_create(events)
    return len(referrals)
