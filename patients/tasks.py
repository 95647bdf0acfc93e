"""Celery tasks for care gaps: each loads what it needs and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from navigator.intake import care_gaps
from navigator.services import referral_digest

logger = logging.getLogger(__name__)


@shared_task
def refresh_care_gaps() -> dict[str, int]:
    """Nightly: recompute the gaps that may have changed; open and close cases from them.

    Safe to run twice: a second run finds nothing due (each patient's
    `care_gaps_computed_at` moved on) and case opening skips open cases.
    """
    result = care_gaps.care_gaps_refresh(as_of=timezone.localdate())
    # Counts only: no patient details in logs.
    logger.info(
        "care gaps refreshed: %d patients, %d cases opened, %d closed",
        result.patients,
        result.cases_opened,
        result.cases_closed,
    )
    return {
        "patients": result.patients,
        "cases_opened": result.cases_opened,
        "cases_closed": result.cases_closed,
    }


@shared_task
def refresh_care_gaps_for(patient_ids: list[int]) -> int:
    """After an import: bring these patients' gaps (and cases) up to date now."""
    result = care_gaps.care_gaps_refresh(as_of=timezone.localdate(), patient_ids=patient_ids)
    return result.patients


@shared_task
def send_referral_digests() -> int:
    """Daily: hand each clinic with a digest subscriber to its own task."""
    return referral_digest.referral_digests_enqueue()


@shared_task
def send_clinic_referral_digest(clinic_id: int) -> int:
    """E-mail a clinic's subscribers the numbers of the referrals that changed (once a day)."""
    return referral_digest.clinic_referral_digest_send(clinic_id=clinic_id)
