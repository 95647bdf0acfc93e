"""Writes for referrals: the referral record itself.

A referral that opens or joins a navigation case is intake orchestration:
`navigator.intake.referrals.referral_create` finds the patient, opens the case
and then records the referral here.
"""

from __future__ import annotations

from navigator.models import NavigationCase, User
from patients.models import Clinic, Patient, Referral, ScreeningProgram


def referral_record(
    *,
    clinic: Clinic,
    patient: Patient,
    program: ScreeningProgram,
    referring_clinician: str,
    reason: str,
    case: NavigationCase,
    actor: User,
) -> Referral:
    """Store a clinic's referral of a patient to a program, on the case it opened or joined."""
    return Referral.objects.create(
        clinic=clinic,
        patient=patient,
        program=program,
        referring_clinician=referring_clinician.strip(),
        reason=reason,
        case=case,
        created_by=actor,
    )
