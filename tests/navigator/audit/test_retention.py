"""The audit trail is kept for the configured period, then purged, and the purge says
what it removed."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from navigator.audit.models import AccessAction, AccessedPatient, AccessEvent
from navigator.audit.recording import access_event_record
from navigator.audit.retention import RetentionTooShort, audit_purge_expired
from tests import factories

pytestmark = pytest.mark.django_db


def _row_at(at: dt.datetime, patient_id: int) -> AccessEvent:
    """A row written at `at` (rows are never updated, so the clock is moved instead)."""
    with time_machine.travel(at, tick=False):
        return access_event_record(
            action=AccessAction.VIEW, username="old", patient_ids=[patient_id]
        )


def test_rows_past_the_retention_period_go_and_younger_ones_stay(settings):
    # Given a retention of six years and rows just past and just within it
    settings.EQUINAV_AUDIT_RETENTION_DAYS = 6 * 366
    now = timezone.now()
    patient = factories.PatientFactory()
    old = _row_at(now - dt.timedelta(days=6 * 366 + 1), patient.pk)
    young = _row_at(now - dt.timedelta(days=6 * 366 - 1), patient.pk)

    # When the nightly purge runs
    purged = audit_purge_expired(now=now)

    # Then only the old row and its patient row are gone, and the purge left its own row
    assert purged.accesses == 1
    assert not AccessEvent.objects.filter(pk=old.pk).exists()
    assert not AccessedPatient.objects.filter(event_id=old.pk).exists()
    assert AccessEvent.objects.filter(pk=young.pk).exists()
    assert AccessEvent.objects.filter(action=AccessAction.AUDIT_PURGE).count() == 1


def test_a_second_purge_finds_nothing_and_records_nothing():
    audit_purge_expired()

    purged = audit_purge_expired()

    assert (purged.accesses, purged.changes) == (0, 0)
    assert not AccessEvent.objects.exists()


def test_the_default_retention_is_at_least_six_years():
    from config import settings as project_settings

    assert project_settings.EQUINAV_AUDIT_RETENTION_DAYS >= 6 * 365


@pytest.mark.parametrize("days", [-1, 0, 30, 6 * 365])
def test_a_retention_shorter_than_six_years_purges_nothing_and_says_why(settings, days):
    # Given a row written today and a retention setting shorter than six years
    settings.EQUINAV_AUDIT_RETENTION_DAYS = days
    access_event_record(action=AccessAction.VIEW, username="today")

    # When the purge runs, it refuses with the reason, and the row stays
    with pytest.raises(RetentionTooShort, match="at least 2192 days"):
        audit_purge_expired()
    assert AccessEvent.objects.filter(username="today").exists()
