"""The demo's clinic side (used by the seed_demo command): navigators' work phones on
the referral pages, the clinic desk's daily digest on, its referral list marking what
changed since it last looked, and a referral with an eligibility override."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from navigator.intake.referrals import referral_create
from navigator.models import NavigatorProfile, User
from navigator.services.referral_digest import referral_digest_preference_set
from patients.models import Referral
from patients.services.patients import PatientInput
from patients.services.referrals import referral_seen_record


def clinic_loop(clinic, cervical, referrer: User, today: dt.date) -> None:
    """Issue 12 (10, 11): navigators' work phones on the referral pages, the clinic
    desk's daily digest on, its list marking what changed since it last looked (some
    opened a month ago, some just now, the rest never), and a trans man referred to
    cervical screening with an eligibility override (USPSTF 2018 screens people
    with a cervix, whatever the sex recorded)."""
    for index, profile in enumerate(NavigatorProfile.objects.order_by("pk")):
        NavigatorProfile.objects.filter(pk=profile.pk).update(
            work_phone=f"+1617555{index + 9100:04d}"
        )
    referral_digest_preference_set(user=referrer, enabled=True)
    referrals = list(Referral.objects.filter(clinic=clinic).order_by("pk")[:12])
    for index, referral in enumerate(referrals):
        at = timezone.now() - dt.timedelta(days=30) if index % 2 else timezone.now()
        referral_seen_record(referral=referral, user=referrer, at=at)
    referral_create(
        clinic=clinic,
        program=cervical,
        patient_data=PatientInput(
            mrn=f"{clinic.code[:3].upper()}760001",
            given_name="Alex",
            family_name="Moreno",
            birth_date=today - dt.timedelta(days=365 * 34),
            sex="male",
        ),  # fmt: skip
        referring_clinician="Dr. Alvarez",
        reason="Due for cervical screening",
        actor=referrer,
        eligibility_override_reason="Trans man with a cervix; never had a Pap test",
    )
