"""One batch of a referral import: checked by a single referral's rules, then written in
one short transaction.

- `referral_rows_plan`: every row of a batch checked without writing (the batch's MRNs
  looked up in one query): which rows register a new patient (written in bulk by
  `referral_write`), which name a known one (through `referral_create`), which are
  refused, with the error on its line and column;
- `referral_import_batch`: the batch's transaction: duplicates skipped (its upload keys
  looked up in one query), the known patients locked first (`_lock_patients`, the order
  of a single referral: patients, then navigators), the new rows written in bulk, the
  known ones through `referral_create` in a savepoint each, and the job's counts and
  `batches_done` moved on conditionally in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from navigator.intake import referral_write
from navigator.intake.referrals import eligibility_check, referral_create
from patients.models import Clinic, Patient, PatientMerge, Referral, ReferralUpload
from patients.mrn import mrn_key, mrn_normalise, patient_kept, patients_lock
from patients.services.patients import (
    NewPatient,
    patient_build,
    patient_input_check,
    patient_mismatch_error,
    patients_cleaner,
)
from patients.uploads.parse import RowError, UploadRow
from patients.uploads.template import COLUMNS

SERVICE_COLUMNS = {"phones": "phone"}


def service_errors(line: int, error: ValidationError) -> list[RowError]:
    """A service's refusal of a row, as row errors on the columns concerned."""
    if not hasattr(error, "error_dict"):
        return [RowError(line, "", " ".join(error.messages))]
    errors = []
    for key, messages in error.message_dict.items():
        column = SERVICE_COLUMNS.get(key, key)
        errors.append(RowError(line, column if column in COLUMNS else "", " ".join(messages)))
    return errors


class BatchRefused(Exception):
    """ALL_OR_NOTHING: a row of the batch was refused; the batch is rolled back."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("row refused")
        self.errors = errors


class Superseded(Exception):
    """Another run committed this batch first."""


@dataclass
class RowsPlan:
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


def referral_rows_plan(
    clinic: Clinic, rows: Sequence[UploadRow], in_file: dict[str, Patient]
) -> RowsPlan:
    """Check every row by a single referral's rules, without writing: which rows register
    a new patient (bulk), which name a known one (referral_create), which are refused.
    `in_file`: the patients of earlier good rows of the file, by MRN (updated)."""
    plan = RowsPlan()
    existing = _existing_patients(clinic, rows)
    cleaner = patients_cleaner()  # the batch's: each field's answer once per value
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
                new = patient_build(clinic=clinic, data=row.patient, cleaner=cleaner)
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
        plan = referral_rows_plan(clinic, todo, {})
        if plan.errors and all_or_nothing:
            raise BatchRefused(plan.errors)
        _lock_patients(plan.known_ids)
        created = referral_write.referral_rows_write_new(upload, plan.new)
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
                    raise BatchRefused(service_errors(row.line, error)) from None
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
            raise Superseded


def _lock_patients(ids: set[int]) -> None:
    """Lock the batch's stored patients (and the records they were merged into) before
    the navigators: a single referral locks its patient, then the navigators; the batch
    locking navigators first, then a patient, could deadlock with it."""
    for _ in range(10):  # a chain of merges, as patient_with_mrn_for_update follows it
        if not ids:
            return
        patients_lock(ids)
        ids = set(
            PatientMerge.objects.filter(duplicate__in=ids).values_list("survivor_id", flat=True)
        )
