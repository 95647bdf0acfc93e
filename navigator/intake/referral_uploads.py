"""Import a clinic's referral CSV: every row checked, then all or nothing, or the good rows.

`referrals_upload` parses the file (`patients.uploads.parse`, which writes
nothing), then sends each row through `referral_create`, so a bulk referral
follows exactly the rules of a single one (MRN matching, eligibility, one open
case per program); a row that service refuses is a row error like any other. A
row already imported for the clinic (the same content, see `UploadRow.key`) is
a duplicate, counted and skipped: uploading the same file again creates nothing.

Logs carry ids and counts only, never a value from the file.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from navigator.intake.referrals import referral_create
from navigator.models import User
from patients.models import Clinic, Referral, ReferralUpload
from patients.uploads.parse import RowError, UploadRejected, referral_upload_parse
from patients.uploads.template import COLUMNS

logger = logging.getLogger(__name__)

SERVICE_COLUMNS = {"phones": "phone"}


def _service_errors(line: int, error: ValidationError) -> list[RowError]:
    """referral_create's refusal of a row, as row errors on the columns concerned."""
    if not hasattr(error, "error_dict"):
        return [RowError(line, "", " ".join(error.messages))]
    errors = []
    for key, messages in error.message_dict.items():
        column = SERVICE_COLUMNS.get(key, key)
        errors.append(RowError(line, column if column in COLUMNS else "", " ".join(messages)))
    return errors


def _problems(errors: list[RowError], row_count: int) -> str:
    bad = len({error.line for error in errors})
    rows = "row" if row_count == 1 else "rows"
    return f"{bad} of {row_count} {rows} {'has' if bad == 1 else 'have'} problems"


def referrals_upload(
    *, clinic: Clinic, actor: User, file_bytes: bytes, filename: str, mode: str
) -> ReferralUpload:
    """Import a CSV of referrals for `clinic`, as `actor`: the upload, with its counts and errors.

    ALL_OR_NOTHING imports nothing if any row is bad; GOOD_ROWS imports the
    good rows and records the bad. Raises UploadRejected whenever nothing was
    imported (and nothing was written), and ValidationError for a bad mode or a
    clinic the actor may not upload for.
    """
    if mode not in ReferralUpload.Mode.values:
        raise ValidationError({"mode": f"“{mode}” is not an upload mode."})
    if actor.is_clinic_staff and actor.clinic_id != clinic.pk:
        raise ValidationError({"clinic": "You can only upload referrals for your own clinic."})
    try:
        upload = _referrals_upload(
            clinic=clinic, actor=actor, file_bytes=file_bytes, filename=filename, mode=mode
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
    logger.info(
        "Referral upload %s for clinic %s by user %s (%s): %d rows, %d created, "
        "%d duplicates, %d errors",
        upload.pk,
        clinic.pk,
        actor.pk,
        mode,
        upload.row_count,
        upload.created_count,
        upload.duplicate_count,
        len(upload.errors),
    )
    return upload


def _referrals_upload(
    *, clinic: Clinic, actor: User, file_bytes: bytes, filename: str, mode: str
) -> ReferralUpload:
    parsed = referral_upload_parse(file_bytes=file_bytes, filename=filename)
    all_or_nothing = mode == ReferralUpload.Mode.ALL_OR_NOTHING
    if all_or_nothing and parsed.errors:
        raise UploadRejected(
            f"Nothing was imported: {_problems(parsed.errors, parsed.row_count)}.",
            parsed.errors,
            row_count=parsed.row_count,
        )
    with transaction.atomic():
        # One upload per clinic at a time, so that the same file sent twice at
        # once (a double click) finds the first copy's rows and skips them. NO KEY
        # UPDATE does not hold up single referrals (their inserts take KEY SHARE).
        list(Clinic.objects.select_for_update(no_key=True).filter(pk=clinic.pk))
        upload = ReferralUpload.objects.create(
            clinic=clinic,
            uploaded_by=actor,
            filename=(filename or "upload.csv")[:255],
            sha256=hashlib.sha256(file_bytes).hexdigest(),
            mode=mode,
            row_count=parsed.row_count,
        )
        already = set(
            Referral.objects.filter(
                clinic=clinic, upload_key__in=[row.key for row in parsed.rows]
            ).values_list("upload_key", flat=True)
        )
        errors = list(parsed.errors)
        created = duplicates = 0
        for row in parsed.rows:
            if row.key in already:
                duplicates += 1
                continue
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
                errors += _service_errors(row.line, error)
                continue
            already.add(row.key)
            created += 1
        errors.sort(key=lambda error: error.line or 0)
        # Raising inside the atomic block rolls back every row written above.
        if all_or_nothing and errors:
            raise UploadRejected(
                f"Nothing was imported: {_problems(errors, parsed.row_count)}.",
                errors,
                row_count=parsed.row_count,
            )
        if not created and not duplicates:
            raise UploadRejected(
                "Nothing was imported: every row has a problem.",
                errors,
                row_count=parsed.row_count,
            )
        upload.created_count = created
        upload.duplicate_count = duplicates
        upload.errors = [error.as_dict() for error in errors]
        upload.save(update_fields=["created_count", "duplicate_count", "errors"])
    return upload
