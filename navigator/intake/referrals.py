"""A clinic refers a patient: match or register the patient, open or join a case, record it.

Sits above the patients services (patient, referral records) and the case
kernel (`case_open`, events), which know nothing of each other.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import event_record
from navigator.models import CaseEventKind, User
from navigator.services.case_opening import case_open
from patients.models import Clinic, Patient, Referral, ScreeningProgram
from patients.services.patients import PatientInput, patient_find_or_create
from patients.services.referrals import referral_record

# A reason to screen outside the criteria says why, in a few words at least.
OVERRIDE_MIN_WORDS = 3


def eligibility_check(
    *, program: ScreeningProgram, patient: Patient, override_reason: str
) -> tuple[str, list[str]]:
    """(the override reason to record, the problems it overrides) for referring `patient`
    to `program`; ValidationError when the patient is outside the criteria without a
    reason of a few words. Both the single referral and the bulk import ask here."""
    override_reason = " ".join(override_reason.split())
    problems = program.eligibility_problems(patient, timezone.localdate())
    if not problems:
        # Nothing to override: a reason given anyway is not recorded.
        return "", []
    if not override_reason:
        raise ValidationError({"program": problems}, code="ineligible")
    if len(override_reason.split()) < OVERRIDE_MIN_WORDS:
        raise ValidationError(
            {
                "eligibility_override_reason": (
                    f"Say in at least {OVERRIDE_MIN_WORDS} words why this patient should "
                    "be screened although: " + " ".join(problems)
                )
            },
            code="override_reason_too_short",
        )
    return override_reason, problems


def referral_create(
    *,
    clinic: Clinic,
    program: ScreeningProgram,
    patient_data: PatientInput,
    referring_clinician: str,
    actor: User,
    reason: str = "",
    eligibility_override_reason: str = "",
) -> Referral:
    """A clinic refers a patient: match or create the patient, open or join a case.

    A patient outside the program's criteria (`ScreeningProgram.eligibility_problems`)
    is refused, unless the clinician overrides with a reason of a few words: the
    referral then records the reason, who and when, and the case's timeline says so.
    The override is for navigation only; the care-gap engine and the eCQMs keep
    following their specifications.
    """
    if actor.is_clinic_staff and actor.clinic_id != clinic.pk:
        raise ValidationError({"clinic": "You can only refer patients to your own clinic."})
    if not program.active:
        raise ValidationError({"program": f"The {program} program is not accepting referrals."})
    if not referring_clinician.strip():
        raise ValidationError({"referring_clinician": "Name the referring clinician."})
    with transaction.atomic():
        patient, _created = patient_find_or_create(clinic=clinic, data=patient_data)
        override_reason, problems = eligibility_check(
            program=program, patient=patient, override_reason=eligibility_override_reason
        )
        case, case_created = case_open(
            patient=patient, program=program, actor=actor, source=f"referral from {clinic}"
        )
        referral = referral_record(
            clinic=clinic,
            patient=patient,
            program=program,
            referring_clinician=referring_clinician,
            reason=reason,
            case=case,
            actor=actor,
            eligibility_override_reason=override_reason,
        )
        if override_reason:
            event_record(
                case=case,
                kind=CaseEventKind.ELIGIBILITY_OVERRIDDEN,
                actor=actor,
                summary=f"Eligibility overridden: {override_reason}"[:300],
                data={
                    "referral": referral.pk,
                    "problems": problems,
                    "reason": override_reason,
                },
            )
        event_record(
            case=case,
            kind=CaseEventKind.REFERRED,
            actor=actor,
            summary=f"Referred by {referral.referring_clinician} ({clinic})"
            + ("" if case_created else "; joined the case already open"),
            data={"referral": referral.pk, "new_case": case_created},
        )
        return referral
