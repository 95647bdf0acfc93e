"""The admin shows case records but never changes them: every change to a case goes
through its service, which locks, checks and records it on the timeline."""

from __future__ import annotations

import pytest

from navigator.models import Appointment, CaseBarrier, NavigationCase
from outreach.models import ContactAttempt
from patients.models import ScreeningEvent
from tests import factories

pytestmark = pytest.mark.django_db

CASE_RECORDS = [
    ("navigator", "navigationcase", NavigationCase, factories.CaseFactory),
    ("navigator", "casebarrier", CaseBarrier, factories.CaseBarrierFactory),
    ("navigator", "appointment", Appointment, factories.AppointmentFactory),
    ("patients", "screeningevent", ScreeningEvent, factories.ScreeningEventFactory),
    ("outreach", "contactattempt", ContactAttempt, factories.ContactAttemptFactory),
]


@pytest.fixture
def superuser_client(client):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(("app", "model", "model_class", "factory"), CASE_RECORDS)
def test_a_superuser_sees_a_case_record_in_the_admin_but_cannot_add_change_or_delete_it(
    superuser_client, app, model, model_class, factory
):
    # Given a case record
    record = factory()
    before = model_class.objects.filter(pk=record.pk).values().get()
    base = f"/admin/{app}/{model}/"

    # When a superuser lists it, opens it, and tries to add, change and delete
    listing = superuser_client.get(base)
    shown = superuser_client.get(f"{base}{record.pk}/change/")
    added = superuser_client.get(f"{base}add/")
    changed = superuser_client.post(f"{base}{record.pk}/change/", {"note": "edited in admin"})
    deleted = superuser_client.post(f"{base}{record.pk}/delete/", {"post": "yes"})

    # Then it is listed and shown, and every change is refused and changes nothing
    assert listing.status_code == 200
    assert shown.status_code == 200
    assert (added.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert model_class.objects.filter(pk=record.pk).values().get() == before
