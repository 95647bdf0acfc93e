"""Keeping the audit trail exactly as long as configured, and no longer.

`audit_purge_expired` removes accesses and row-change history older than
`EQUINAV_AUDIT_RETENTION_DAYS`, never under six years. The append-only triggers let a
row that old go and nothing younger (audit migration 0003), so the purge needs no
way around them. It leaves its own row saying what it removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from navigator.audit.models import AccessAction, AccessedPatient, AccessEvent, RowChange
from navigator.audit.recording import access_event_record


@dataclass(frozen=True)
class Purged:
    cutoff: dt.datetime
    accesses: int
    changes: int


# HIPAA keeps the documentation its safeguards require six years (45 CFR
# 164.316(b)(2)(i)): a shorter setting (a typo, a 0) must never empty the trail.
MINIMUM_RETENTION_DAYS = 6 * 365 + 2


class RetentionTooShort(ImproperlyConfigured):
    pass


def audit_purge_expired(*, now: dt.datetime | None = None) -> Purged:
    days = settings.EQUINAV_AUDIT_RETENTION_DAYS
    if days < MINIMUM_RETENTION_DAYS:
        raise RetentionTooShort(
            f"EQUINAV_AUDIT_RETENTION_DAYS is {days}; the audit trail is kept at least "
            f"{MINIMUM_RETENTION_DAYS} days (six years). Nothing was purged."
        )
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    with transaction.atomic():
        expired = AccessEvent.objects.filter(at__lt=cutoff)
        AccessedPatient.objects.filter(event__in=expired.values("pk")).delete()
        accesses = expired.delete()[0]
        changes = RowChange.objects.filter(at__lt=cutoff).delete()[0]
    if accesses or changes:
        access_event_record(
            action=AccessAction.AUDIT_PURGE,
            detail={"before": cutoff.isoformat(), "accesses": accesses, "changes": changes},
        )
    return Purged(cutoff=cutoff, accesses=accesses, changes=changes)
