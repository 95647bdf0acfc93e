"""The clinics' daily referral digest: an e-mail to each clinic user who asked for it,
listing by number the referrals whose case changed (as the clinic sees it) in the
last day, with a link to the list. Nothing else: no names, MRNs, dates of birth,
results or steps, since an e-mail leaves our hands.

A beat task (`patients.tasks.send_referral_digests`) asks `referral_digests_enqueue`
to hand each clinic with a subscriber to `patients.tasks.send_clinic_referral_digest`,
which calls `clinic_referral_digest_send`. Each user's day is claimed with a
conditional update of `ClinicDigestPreference.last_sent_on`, so a task run twice
the same day (a redelivery, a second beat) sends nothing more.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.models import Role, User
from navigator.selectors.referrals import referrals_changed_since
from patients.models import ClinicDigestPreference

logger = logging.getLogger(__name__)

DIGEST_WINDOW = dt.timedelta(days=1)


def referral_digest_preference_set(*, user: User, enabled: bool) -> ClinicDigestPreference:
    """A clinic user turns their daily digest on or off."""
    if not user.is_clinic_staff or user.clinic_id is None:
        raise ValidationError(
            {"enabled": "The daily referral digest is for clinic staff, about their clinic."}
        )
    with transaction.atomic():
        preference, _created = ClinicDigestPreference.objects.select_for_update().get_or_create(
            user=user
        )
        if preference.enabled != enabled:
            preference.enabled = enabled
            preference.save(update_fields=["enabled"])
    return preference


def _subscribers():
    return ClinicDigestPreference.objects.filter(
        enabled=True,
        user__is_active=True,
        user__role=Role.CLINIC_STAFF,
        user__clinic__isnull=False,
    ).exclude(user__email="")


def referral_digests_enqueue() -> int:
    """Hand each clinic that has a subscriber to its own task; how many were."""
    clinic_ids = sorted(set(_subscribers().values_list("user__clinic_id", flat=True)))
    for clinic_id in clinic_ids:
        enqueue_on_commit("patients.tasks.send_clinic_referral_digest", clinic_id)
    return len(clinic_ids)


def digest_text(referral_ids: list[int]) -> tuple[str, str]:
    """The subject and body: the count and the referral numbers, and a link."""
    count = len(referral_ids)
    noun = "referral" if count == 1 else "referrals"
    url = f"{settings.EQUINAV_SITE_URL}{reverse('patients:referral_list')}?changed=1"
    numbers = ", ".join(f"#{pk}" for pk in referral_ids)
    return (
        f"EquiNav: {count} {noun} changed",
        f"{count} of your clinic's {noun} changed in the last day: {numbers}.\n\n"
        f"See what changed (sign-in needed): {url}\n\n"
        "You get this e-mail because you turned on the daily referral digest; turn it off "
        "on the referrals page.\n",
    )


def clinic_referral_digest_send(
    *, clinic_id: int, on: dt.date | None = None, now: dt.datetime | None = None
) -> int:
    """E-mail each subscriber of a clinic the referrals that changed in the last day,
    once a day; how many e-mails went. Nothing changed: nothing is sent (or claimed)."""
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    referral_ids = referrals_changed_since(clinic_id=clinic_id, since=now - DIGEST_WINDOW)
    if not referral_ids:
        return 0
    subject, body = digest_text(referral_ids)
    sent = 0
    for preference_id, email in (
        _subscribers().filter(user__clinic_id=clinic_id).values_list("pk", "user__email")
    ):
        with transaction.atomic():
            claimed = (
                ClinicDigestPreference.objects.filter(pk=preference_id, enabled=True)
                .filter(Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=on))
                .update(last_sent_on=on)
            )
            if not claimed:
                continue
            # A failure to send rolls the claim back: the next run tries again.
            send_mail(subject=subject, message=body, from_email=None, recipient_list=[email])
            sent += 1
    # Counts only: nothing of the patients in the log.
    logger.info(
        "referral digest for clinic %s: %d referrals, %d e-mails",
        clinic_id,
        len(referral_ids),
        sent,
    )
    return sent
