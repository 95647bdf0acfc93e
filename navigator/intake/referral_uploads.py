"""Import a clinic's referral CSV at once, in the caller's process: the management command
(and tests) use the job's own path, `navigator.intake.referral_import`, without a worker.

Every row follows the rules of a single referral (see `referral_import`); a row already
imported for the clinic (the same content, see `UploadRow.key`) is a duplicate, counted
and skipped: uploading the same file again creates nothing.
"""

from __future__ import annotations

from navigator.intake.referral_import import referral_import_run, referral_import_start
from navigator.models import User
from patients.models import Clinic, ReferralUpload
from patients.uploads.parse import RowError, UploadRejected


def referrals_upload(
    *, clinic: Clinic, actor: User, file_bytes: bytes, filename: str, mode: str
) -> ReferralUpload:
    """Check and import a CSV of referrals for `clinic`, as `actor`, now: the finished upload.

    ALL_OR_NOTHING imports nothing if any row is bad; GOOD_ROWS imports the good rows and
    records the bad. Raises UploadRejected when the job failed (nothing was imported, or
    it stopped; its `detail` says which), and ValidationError for a bad mode or a clinic
    the actor may not upload for.
    """
    upload = referral_import_start(
        clinic=clinic,
        actor=actor,
        file_bytes=file_bytes,
        filename=filename,
        mode=mode,
        enqueue=False,
    )
    referral_import_run(upload_id=upload.pk)
    upload.refresh_from_db()
    if upload.status == ReferralUpload.Status.FAILED:
        raise UploadRejected(
            upload.detail,
            [RowError(e["line"], e["column"], e["message"]) for e in upload.errors],
            row_count=upload.row_count,
        )
    return upload
