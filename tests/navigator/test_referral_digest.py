"""The clinics' daily referral digest: referral numbers and a count, once a day, to the
clinic users who asked for it, about their own clinic only, and nothing of the patient."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from navigator.intake.referrals import referral_create
from navigator.services import referral_digest
from navigator.services.referral_digest import (
    clinic_referral_digest_send,
    referral_digest_preference_set,
    referral_digests_enqueue,
)
from outreach.services.attempts import attempt_log
from patients import tasks
from patients.models import ClinicDigestPreference, Referral
from patients.services.patients import PatientInput
from tests import factories

pytestmark = pytest.mark.django_db


def refer(staff, *, mrn: str, family_name: str) -> Referral:
    return referral_create(
        clinic=staff.clinic,
        program=factories.program("colorectal"),
        patient_data=PatientInput(
            mrn=mrn,
            given_name="Maria",
            family_name=family_name,
            birth_date=dt.date(1966, 4, 30),
            sex="female",
        ),
        referring_clinician="Dr. Lee",
        actor=staff,
    )


@pytest.fixture(autouse=True)
def navigator_on_duty(db):
    return factories.NavigatorFactory()


@pytest.fixture
def subscriber(clinic_staff):
    referral_digest_preference_set(user=clinic_staff, enabled=True)
    return clinic_staff


@pytest.fixture
def south():
    staff = factories.ClinicStaffFactory(clinic=factories.ClinicFactory(code="south"))
    referral_digest_preference_set(user=staff, enabled=True)
    return staff


def test_a_subscriber_gets_the_numbers_and_the_count_and_nothing_of_the_patient(subscriber):
    first = refer(subscriber, mrn="A-1", family_name="Santos")
    second = refer(subscriber, mrn="A-2", family_name="Okafor")
    attempt_log(
        case=first.case_id,
        channel="phone",
        outcome="reached",
        actor=first.case.navigator.user,
        note="Colonoscopy prep worries",
    )

    sent = clinic_referral_digest_send(clinic_id=subscriber.clinic_id)

    assert sent == 1
    [email] = mail.outbox
    assert email.to == [subscriber.email]
    assert email.subject == "EquiNav: 2 referrals changed"
    assert f"#{first.pk}, #{second.pk}" in email.body
    assert f"{settings.EQUINAV_SITE_URL}/referrals/?changed=1" in email.body
    text = email.subject + email.body
    for phi in ("Santos", "Okafor", "Maria", "A-1", "A-2", "1966", "Colonoscopy", "prep"):
        assert phi not in text
    for step in ("Received", "reaching out", "Screening", "declined", "eligible", "Abnormal"):
        assert step not in text


def test_the_digest_goes_once_a_day_however_often_the_task_runs(subscriber):
    refer(subscriber, mrn="A-1", family_name="Santos")

    assert clinic_referral_digest_send(clinic_id=subscriber.clinic_id) == 1
    assert clinic_referral_digest_send(clinic_id=subscriber.clinic_id) == 0
    assert tasks.send_clinic_referral_digest(subscriber.clinic_id) == 0
    assert len(mail.outbox) == 1
    assert ClinicDigestPreference.objects.get(user=subscriber).last_sent_on == (
        timezone.localdate()
    )

    # The next day, another referral comes in.
    tomorrow = timezone.now() + dt.timedelta(days=1)
    another = refer(subscriber, mrn="A-2", family_name="Okafor")
    Referral.objects.filter(pk=another.pk).update(created_at=tomorrow - dt.timedelta(hours=1))
    assert clinic_referral_digest_send(clinic_id=subscriber.clinic_id, now=tomorrow) == 1
    assert len(mail.outbox) == 2


def test_a_failed_send_leaves_the_day_unclaimed_for_the_next_run(subscriber, monkeypatch):
    refer(subscriber, mrn="A-1", family_name="Santos")

    def broken(**kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(referral_digest, "send_mail", broken)
    with pytest.raises(OSError):
        clinic_referral_digest_send(clinic_id=subscriber.clinic_id)
    monkeypatch.undo()

    assert ClinicDigestPreference.objects.get(user=subscriber).last_sent_on is None
    assert clinic_referral_digest_send(clinic_id=subscriber.clinic_id) == 1


def test_each_clinic_hears_only_of_its_own_referrals(subscriber, south):
    ours = refer(subscriber, mrn="A-1", family_name="Santos")
    theirs = refer(south, mrn="S-1", family_name="Southerner")

    clinic_referral_digest_send(clinic_id=subscriber.clinic_id)
    clinic_referral_digest_send(clinic_id=south.clinic_id)

    by_recipient = {email.to[0]: email.body for email in mail.outbox}
    assert f"#{ours.pk}" in by_recipient[subscriber.email]
    assert f"#{theirs.pk}" not in by_recipient[subscriber.email]
    assert f"#{theirs.pk}" in by_recipient[south.email]
    assert f"#{ours.pk}" not in by_recipient[south.email]


def test_nobody_who_did_not_opt_in_gets_it_and_nothing_is_sent_when_nothing_changed(
    clinic_staff, subscriber
):
    colleague = factories.ClinicStaffFactory(clinic=clinic_staff.clinic)

    assert clinic_referral_digest_send(clinic_id=clinic_staff.clinic_id) == 0
    refer(clinic_staff, mrn="A-1", family_name="Santos")
    assert clinic_referral_digest_send(clinic_id=clinic_staff.clinic_id) == 1

    assert [email.to for email in mail.outbox] == [[subscriber.email]]
    assert colleague.email not in str([email.to for email in mail.outbox])


def test_a_referral_untouched_for_more_than_a_day_is_not_listed(subscriber):
    referral = refer(subscriber, mrn="A-1", family_name="Santos")
    later = timezone.now() + dt.timedelta(days=2)

    assert clinic_referral_digest_send(clinic_id=subscriber.clinic_id, now=later) == 0
    assert not mail.outbox
    assert referral.pk


def test_the_daily_task_hands_each_subscribing_clinic_to_its_own_task(
    subscriber, south, monkeypatch
):
    factories.ClinicStaffFactory(clinic=factories.ClinicFactory(code="quiet"))
    enqueued = []
    monkeypatch.setattr(
        referral_digest, "enqueue_on_commit", lambda name, *args: enqueued.append((name, *args))
    )

    assert referral_digests_enqueue() == 2
    assert tasks.send_referral_digests() == 2
    assert sorted(enqueued[:2]) == sorted(
        [
            ("patients.tasks.send_clinic_referral_digest", subscriber.clinic_id),
            ("patients.tasks.send_clinic_referral_digest", south.clinic_id),
        ]
    )


def test_the_digest_is_scheduled_daily():
    schedule = settings.CELERY_BEAT_SCHEDULE["referral-digest-daily"]

    assert schedule["task"] == "patients.tasks.send_referral_digests"
    assert schedule["schedule"].hour == {12}


# --- The toggle -------------------------------------------------------------------------


def test_clinic_staff_turn_the_digest_on_and_off_from_the_referral_list(client, clinic_staff):
    client.force_login(clinic_staff)
    url = reverse("patients:referral_digest_preference")

    client.post(url, {"enabled": "on"})
    assert ClinicDigestPreference.objects.get(user=clinic_staff).enabled
    page = client.get(reverse("patients:referral_list"))
    assert page.context["digest_form"].initial == {"enabled": True}
    assert "No names or health details are e-mailed." in page.content.decode()

    client.post(url, {})
    assert not ClinicDigestPreference.objects.get(user=clinic_staff).enabled


def test_only_clinic_staff_may_have_a_digest(client, manager):
    with pytest.raises(ValidationError):
        referral_digest_preference_set(user=manager, enabled=True)
    client.force_login(manager)

    response = client.post(reverse("patients:referral_digest_preference"), {"enabled": "on"})

    assert response.status_code == 403
    assert not ClinicDigestPreference.objects.exists()
