"""Keeping the audit trail exactly as long as configured, and no longer.

`audit_purge_expired` removes accesses and row-change history older than
`EQUINAV_AUDIT_RETENTION_DAYS`. It is the one writer allowed past the append-only
triggers, which it bypasses by name for its own transaction (`pgtrigger.ignore`),
and it leaves its own row saying what it removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pgtrigger
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils import timezone

from navigator.audit.models import AccessAction, AccessedPatient, AccessEvent, RowChange
from navigator.audit.recording import access_event_record


@dataclass(frozen=True)
class Purged:
    cutoff: dt.datetime
    accesses: int
    changes: int


def _append_only(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.object_name}:append_only"


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
    protected: list[type[models.Model]] = [AccessEvent, AccessedPatient, RowChange]
    uris = [_append_only(m) for m in protected]
    with transaction.atomic(), pgtrigger.ignore(*uris):
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
