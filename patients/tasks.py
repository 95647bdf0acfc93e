"""Celery tasks for care gaps: each loads what it needs and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from navigator.intake import care_gaps

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
