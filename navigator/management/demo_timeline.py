"""The demo's past: each case's whole story moved back by days, so that reports and
timelines look lived-in. The timeline is never rewritten anywhere else; seed_demo runs
this with that trigger bypassed by name (pgtrigger.ignore)."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import F

from navigator.management import demo_results
from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    CaseBarrier,
    CaseEvent,
    CaseStatus,
    NavigationCase,
)
from outreach.models import ContactAttempt
from patients.models import Referral


def case_backdate(case: NavigationCase, stage: str, rng: random.Random, today: dt.date) -> None:
    """Spread the demo over the past year, so reports and timelines look lived-in."""
    if stage in {CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.SCHEDULED}:
        days = rng.randint(0, 14)
    else:
        days = rng.randint(20, 330)
    shift = dt.timedelta(days=days)
    NavigationCase.objects.filter(pk=case.pk).update(
        opened_at=F("opened_at") - shift,
        completed_at=F("completed_at") - shift,
        closed_at=F("closed_at") - shift,
    )
    CaseEvent.objects.filter(case=case).update(at=F("at") - shift)
    ContactAttempt.objects.filter(case=case).update(attempted_at=F("attempted_at") - shift)
    Referral.objects.filter(case=case).update(created_at=F("created_at") - shift)
    CaseBarrier.objects.filter(case=case).update(
        identified_on=F("identified_on") - shift,
        action_on=F("action_on") - shift,
        resolved_on=F("resolved_on") - shift,
    )
    # Booked when the rest happened, even when it is still ahead.
    Appointment.objects.filter(case=case).update(created_at=F("created_at") - shift)
    if stage != CaseStatus.SCHEDULED:
        Appointment.objects.filter(case=case).update(scheduled_at=F("scheduled_at") - shift)
        demo_results.results_shift(case, shift)
    case.refresh_from_db()
    if case.status in OPEN_STATUSES and case.status != CaseStatus.COMPLETED:
        # Some follow-ups are overdue, some due today, some ahead.
        NavigationCase.objects.filter(pk=case.pk).update(
            next_follow_up=today + dt.timedelta(days=rng.randint(-6, 10))
        )
