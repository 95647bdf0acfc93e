"""Sending a patient message: once, at an allowed hour, within the caps, with bounded retries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from outreach.messaging.quiet_hours import reminder_instant
from outreach.messaging.schedule import message_schedule
from outreach.messaging.send import (
    MESSAGE_MAX_TRIES,
    MessageOutcome,
    message_retry_delay,
    message_send,
)
from outreach.messaging.sms_backends import FileBackend
from outreach.messaging.sweep import messages_claim_due
from outreach.models import MessageState, PatientMessage
from outreach.tasks import sweep_patient_messages
from tests import factories

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
NOON = dt.datetime(2026, 12, 2, 12, 0, tzinfo=NEW_YORK)
CONTEXT = {
    "first_name": "Rosa", "appointment_date": "3 Dec", "appointment_time": "9:30",
    "site": "Chelsea", "program_phone": "(617) 555-0111", "organization": "EquiNav",
    "navigator_name": "María",
}  # fmt: skip


@pytest.fixture
def sms_file(settings, tmp_path):
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.FileBackend"
    settings.EQUINAV_SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return FileBackend(tmp_path / "sms.jsonl")


def due_message(*, subject="appointment:1", due=NOON, channel="sms", **patient_kwargs):
    defaults = {"preferred_language": "es", "sms_consent": True, "time_zone": "America/New_York",
                "phone": "+16175550123", "email": "rosa@example.org"}  # fmt: skip
    patient = patient_kwargs.pop("patient", None) or factories.PatientFactory(
        **{**defaults, **patient_kwargs}
    )
    message, _ = message_schedule(
        patient=patient, kind="appointment_reminder", channel=channel, rule_key="appt-1d",
        subject_key=subject, due_at=due, context=CONTEXT,
    )  # fmt: skip
    return message


def claim_and_send(message, now=NOON):
    assert messages_claim_due(now=now) == [message.pk]
    return message_send(message_id=message.pk, now=now)


def test_a_claimed_message_is_sent_once_however_often_its_task_runs(sms_file):
    message = due_message()

    first = claim_and_send(message)
    again = message_send(message_id=message.pk, now=NOON)

    assert (first, again) == (MessageOutcome.SENT, MessageOutcome.SKIPPED)
    (sent,) = sms_file.read_all()
    assert sent["to"] == "+16175550123" and sent["body"].startswith("Hola Rosa")
    assert sent["idempotency_key"] == str(message.idempotency_key)
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.sent_at == NOON and message.tries == 1


def test_an_email_message_goes_through_djangos_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = due_message(channel="email")

    assert claim_and_send(message) == MessageOutcome.SENT
    (email,) = mail.outbox
    assert email.to == ["rosa@example.org"] and email.subject == "Su cita"


def test_a_patient_who_withdrew_consent_before_the_send_gets_nothing(sms_file):
    message = due_message()
    message.patient.sms_consent = False
    message.patient.save()

    assert claim_and_send(message) == MessageOutcome.SUPPRESSED
    assert sms_file.read_all() == []
    message.refresh_from_db()
    assert (message.state, message.state_reason) == ("suppressed", "SMS consent withdrawn")


def test_a_message_claimed_late_at_night_waits_for_8_00(sms_file):
    message = due_message(due=dt.datetime(2026, 12, 2, 20, 50, tzinfo=NEW_YORK))
    late = dt.datetime(2026, 12, 2, 21, 5, tzinfo=NEW_YORK)

    assert claim_and_send(message, now=late) == MessageOutcome.DEFERRED

    message.refresh_from_db()
    assert message.state == MessageState.SCHEDULED
    assert message.due_at == dt.datetime(2026, 12, 3, 8, 0, tzinfo=NEW_YORK)
    assert sms_file.read_all() == []


def test_a_second_message_the_same_day_waits_for_tomorrow(sms_file):
    first = due_message(subject="appointment:1")
    second = due_message(subject="appointment:2", patient=first.patient)
    messages_claim_due(now=NOON)

    outcomes = [message_send(message_id=m.pk, now=NOON) for m in (first, second)]

    assert outcomes == [MessageOutcome.SENT, MessageOutcome.DEFERRED]
    second.refresh_from_db()
    assert second.due_at == dt.datetime(2026, 12, 3, 8, 0, tzinfo=NEW_YORK)


def test_the_backoff_doubles_with_bounded_jitter():
    assert message_retry_delay(1, jitter=0) == dt.timedelta(minutes=1)
    assert message_retry_delay(3, jitter=0) == dt.timedelta(minutes=4)
    assert message_retry_delay(3, jitter=1) == dt.timedelta(minutes=6)


@pytest.fixture
def provider(twilio_provider):
    return twilio_provider


def test_a_provider_failing_twice_then_answering_sends_one_message_and_records_the_retries(
    provider,
):
    # Given a provider that answers 500, then times out, then accepts
    provider.script = [(500, {"code": 20500}, 0.0), (201, {"sid": "late"}, 1.0),
                       (201, {"sid": "SM1", "status": "queued"}, 0.0)]  # fmt: skip
    message = due_message()
    now = NOON
    outcomes = []

    # When the sweep and the task run until it is sent
    for _ in range(3):
        messages_claim_due(now=now)
        outcomes.append(message_send(message_id=message.pk, now=now))
        message.refresh_from_db()
        now = max(now, message.due_at)

    # Then: two retries recorded, one message sent, every try with the same key
    assert outcomes == [MessageOutcome.RETRY, MessageOutcome.RETRY, MessageOutcome.SENT]
    assert (message.state, message.tries, message.provider_id) == ("sent", 3, "SM1")
    keys = {r["headers"]["I-Twilio-Idempotency-Token"] for r in provider.requests}
    assert keys == {str(message.idempotency_key)}


def test_a_refused_number_fails_at_once_without_retrying(provider):
    provider.script = [(400, {"code": 21211}, 0.0)]
    message = due_message()

    assert claim_and_send(message) == MessageOutcome.FAILED

    message.refresh_from_db()
    assert message.state == MessageState.FAILED and "code 21211" in message.state_reason
    assert len(provider.requests) == 1


def test_it_gives_up_after_the_bounded_number_of_tries(provider):
    provider.script = [(503, {}, 0.0)] * MESSAGE_MAX_TRIES
    message = due_message()
    now = NOON

    for _ in range(MESSAGE_MAX_TRIES):
        messages_claim_due(now=now)
        message_send(message_id=message.pk, now=now)
        message.refresh_from_db()
        now = max(now, message.due_at)

    assert message.state == MessageState.FAILED
    assert message.state_reason == f"gave up after {MESSAGE_MAX_TRIES} tries"


def test_the_sweep_enqueues_a_send_only_after_its_claim_commits(
    sms_file, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(NOON, tick=False)
    message = due_message()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        claimed = sweep_patient_messages()

    assert claimed == 1 and len(callbacks) == 1
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert PatientMessage.objects.filter(state=MessageState.SENDING).count() == 0


@pytest.mark.parametrize(
    ("first", "last"),
    [(dt.date(2026, 3, 6), dt.date(2026, 3, 10)), (dt.date(2026, 10, 30), dt.date(2026, 11, 3))],
)
def test_a_daily_9am_reminder_goes_out_once_each_day_at_9_local_across_a_dst_change(
    sms_file, settings, first, last
):
    # Given a 9:00 reminder for each day around a daylight-saving change, scheduled ahead
    # (the weekly cap raised: five days in a row is the point here, not the cap)
    settings.EQUINAV_MESSAGES_PER_WEEK = 7

    patient = factories.PatientFactory(
        sms_consent=True, time_zone="America/New_York", phone="+16175550123"
    )
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    for day in days:
        message_schedule(
            patient=patient, kind="appointment_reminder", channel="sms", rule_key="daily-9",
            subject_key="appointment:1", context=CONTEXT,
            due_at=reminder_instant(anchor_day=day, days_before=0, at=dt.time(9), zone=NEW_YORK),
        )  # fmt: skip

    # When the sweep runs every 15 minutes, day and night, over the whole span
    moment = dt.datetime.combine(first, dt.time(0), tzinfo=NEW_YORK).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=NEW_YORK)
    while moment < end:
        for message_id in messages_claim_due(now=moment):
            message_send(message_id=message_id, now=moment)
        moment += dt.timedelta(minutes=15)

    # Then each day's reminder went out exactly once, at 9:00 on that day's clock
    sent = PatientMessage.objects.order_by("slot")
    assert [m.slot for m in sent] == days
    assert len(sms_file.read_all()) == len(days)
    for message in sent:
        local = message.sent_at.astimezone(NEW_YORK)
        assert (message.state, local.date(), local.time()) == (
            MessageState.SENT,
            message.slot,
            dt.time(9),
        )
