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
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from pghistory.models import Event

from navigator.audit.models import AccessAction, AccessedPatient, AccessEvent
from navigator.audit.recording import access_event_record


@dataclass(frozen=True)
class Purged:
    cutoff: dt.datetime
    accesses: int
    changes: int


def change_history_models() -> list[type[models.Model]]:
    """Every row-change history table (navigator.audit.history's `<Model>Change`)."""
    return [m for m in apps.get_models() if issubclass(m, Event)]


def _append_only(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.object_name}:append_only"


def audit_purge_expired(*, now: dt.datetime | None = None) -> Purged:
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.EQUINAV_AUDIT_RETENTION_DAYS)
    histories = change_history_models()
    protected: list[type[models.Model]] = [AccessEvent, AccessedPatient, *histories]
    uris = [_append_only(m) for m in protected]
    with transaction.atomic(), pgtrigger.ignore(*uris):
        expired = AccessEvent.objects.filter(at__lt=cutoff)
        AccessedPatient.objects.filter(event__in=expired.values("pk")).delete()
        accesses = expired.delete()[0]
        changes = sum(
            m.objects.filter(pgh_created_at__lt=cutoff).delete()[0]  # type: ignore[attr-defined]
            for m in histories
        )
    if accesses or changes:
        access_event_record(
            action=AccessAction.AUDIT_PURGE,
            detail={"before": cutoff.isoformat(), "accesses": accesses, "changes": changes},
        )
    return Purged(cutoff=cutoff, accesses=accesses, changes=changes)
