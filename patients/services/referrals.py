"""Writes for referrals: the referral record itself.

A referral that opens or joins a navigation case is intake orchestration:
`navigator.intake.referrals.referral_create` finds the patient, opens the case
and then records the referral here.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from navigator.models import NavigationCase, User
from patients.models import Clinic, Patient, Referral, ReferralSeen, ScreeningProgram


def referral_record(
    *,
    clinic: Clinic,
    patient: Patient,
    program: ScreeningProgram,
    referring_clinician: str,
    reason: str,
    case: NavigationCase,
    actor: User,
    eligibility_override_reason: str = "",
) -> Referral:
    """Store a clinic's referral of a patient to a program, on the case it opened or joined,
    with the clinician's reason if they referred a patient outside the program's criteria."""
    overridden = bool(eligibility_override_reason)
    return Referral.objects.create(
        clinic=clinic,
        patient=patient,
        program=program,
        referring_clinician=referring_clinician.strip(),
        reason=reason,
        case=case,
        created_by=actor,
        eligibility_override_reason=eligibility_override_reason,
        eligibility_overridden_by=actor if overridden else None,
        eligibility_overridden_at=timezone.now() if overridden else None,
    )


def referral_seen_record(*, referral: Referral, user: User, at: dt.datetime | None = None) -> None:
    """Remember that `user` opened `referral` now, so its list stops marking it changed."""
    at = at or timezone.now()
    with transaction.atomic():
        ReferralSeen.objects.update_or_create(
            user=user, referral=referral, defaults={"seen_at": at}
        )
