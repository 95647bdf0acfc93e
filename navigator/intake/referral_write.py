"""The bulk write of a referral import batch's rows that register a new patient.

`referral_rows_write_new`: the patients (with race answers and phones), their cases
assigned in one go against the navigators' loads read once (`cases_open_for_new_patients`,
the same scoring as a single assignment), the referrals and the events `referral_create`
records, in a constant number of statements, inside the caller's transaction (the
batch's, `referral_batch`). On PostgreSQL the rows go in with COPY (`config.bulk_copy`).
"""

from __future__ import annotations

from django.utils import timezone

from config.bulk_copy import objects_copy, rows_copy
from navigator.models import CaseEvent, CaseEventKind
from navigator.services.case_opening import EVENT_FIELDS, cases_open_for_new_patients
from patients.models import Referral, ReferralUpload
from patients.services.patients import NewPatient, patients_bulk_create
from patients.uploads.parse import UploadRow


def referral_rows_write_new(
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
    # Keys rather than objects: setting a related object asks the database router.
    referrals = [
        Referral(
            clinic_id=upload.clinic_id,
            patient_id=item.patient.pk,
            program_id=row.program.pk,
            referring_clinician=row.referring_clinician.strip(),
            reason=row.reason,
            case_id=case.pk,
            created_by_id=upload.uploaded_by_id,
            created_at=now,
            eligibility_override_reason=override,
            eligibility_overridden_by_id=upload.uploaded_by_id if override else None,
            eligibility_overridden_at=now if override else None,
            upload_id=upload.pk,
            upload_key=row.key,
        )
        for (row, item, override, _p), case in zip(new, cases, strict=True)
    ]
    objects_copy(referrals)
    actor_id = upload.uploaded_by_id
    events: list[tuple[object, ...]] = []  # as EVENT_FIELDS
    for referral, (_row, _item, override, problems) in zip(referrals, new, strict=True):
        # What referral_create records after case_open.
        if override:
            events.append(
                (
                    referral.case_id,
                    CaseEventKind.ELIGIBILITY_OVERRIDDEN,
                    actor_id,
                    f"Eligibility overridden: {override}"[:300],
                    {"referral": referral.pk, "problems": problems, "reason": override},
                    now,
                )
            )
        events.append(
            (
                referral.case_id,
                CaseEventKind.REFERRED,
                actor_id,
                f"Referred by {referral.referring_clinician} ({clinic})"[:300],
                {"referral": referral.pk, "new_case": True},
                now,
            )
        )
    rows_copy(CaseEvent, EVENT_FIELDS, events)
    return len(referrals)
