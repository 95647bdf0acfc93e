"""Patient messages are database rows: scheduled once, out of quiet hours, claimed once."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from navigator.cases import case_transition
from navigator.models import CaseEventKind
from navigator.services.appointments import appointment_book, appointment_set_status
from navigator.services.screenings import case_record_screening
from outreach.messaging.schedule import message_schedule
from outreach.messaging.stops import messages_cancel_pending
from outreach.messaging.sweep import messages_claim_due, sending_lease
from outreach.models import MessageState, PatientMessage, TemplateKind
from tests import factories

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
CONTEXT = {
    "first_name": "Rosa",
    "appointment_date": "3 Dec",
    "appointment_time": "9:30",
    "site": "Chelsea",
    "program_phone": "(617) 555-0111",
    "organization": "EquiNav",
    "navigator_name": "María",
}


def texting_patient(**kwargs):
    defaults = {
        "preferred_language": "es",
        "sms_consent": True,
        "time_zone": "America/New_York",
        "phone": "+16175550123",
    }
    return factories.PatientFactory(**{**defaults, **kwargs})


def schedule(patient, *, due_at, subject_key="appointment:1", rule_key="appt-1d", case=None,
             channel="sms"):  # fmt: skip
    return message_schedule(
        patient=patient,
        kind=TemplateKind.APPOINTMENT_REMINDER,
        channel=channel,
        rule_key=rule_key,
        subject_key=subject_key,
        due_at=due_at,
        context=CONTEXT,
        case=case,
    )


def test_a_message_is_a_row_in_the_patients_language_due_outside_quiet_hours():
    patient = texting_patient()
    late_evening = dt.datetime(2026, 12, 2, 22, 0, tzinfo=NEW_YORK)

    message, created = schedule(patient, due_at=late_evening)

    assert created
    assert message.state == MessageState.SCHEDULED
    assert message.language == "es" and message.body.startswith("Hola Rosa")
    assert message.recipient == "+16175550123"
    assert message.due_at == dt.datetime(2026, 12, 3, 8, 0, tzinfo=NEW_YORK)
    assert message.slot == dt.date(2026, 12, 2)


def test_scheduling_the_same_rule_subject_and_day_twice_gives_one_row():
    patient = texting_patient()
    due = dt.datetime(2026, 12, 2, 10, 0, tzinfo=NEW_YORK)

    first, _ = schedule(patient, due_at=due)
    again, created = schedule(patient, due_at=due + dt.timedelta(hours=3))

    assert not created
    assert again.pk == first.pk
    assert PatientMessage.objects.count() == 1


def test_a_message_rolled_back_with_its_cause_leaves_nothing():
    patient = texting_patient()

    with pytest.raises(RuntimeError), transaction.atomic():
        schedule(patient, due_at=timezone.now())
        raise RuntimeError("the appointment booking failed")

    assert not PatientMessage.objects.exists()


def test_without_a_template_in_the_patients_language_the_navigator_is_asked_to_call():
    # Given a Vietnamese-speaking patient on an open case
    patient = texting_patient(preferred_language="vi")
    case = factories.CaseFactory(
        patient=patient, next_follow_up=timezone.localdate() + dt.timedelta(days=9)
    )

    message, _ = schedule(patient, due_at=timezone.now(), case=case)

    # Then nothing goes out in another language, and the case asks for a call today
    assert message.state == MessageState.SUPPRESSED
    assert message.body == ""
    assert "in Vietnamese: a navigator calls with an interpreter" in message.state_reason
    event = case.events.get(kind=CaseEventKind.MESSAGE_SUPPRESSED)
    assert event.summary.endswith("Call instead.")
    case.refresh_from_db()
    assert case.next_follow_up == timezone.localdate()


@pytest.mark.parametrize(
    ("patient_kwargs", "reason"),
    [
        ({"sms_consent": False}, "no SMS consent recorded"),
        ({"phone": None}, "no working mobile number"),
    ],
)
def test_an_sms_without_consent_or_a_mobile_number_is_suppressed_with_the_reason(
    patient_kwargs, reason
):
    patient = texting_patient(**patient_kwargs)

    message, _ = schedule(patient, due_at=timezone.now())

    assert message.state == MessageState.SUPPRESSED
    assert message.state_reason == f"Not sent by SMS: {reason}."


def test_an_email_needs_an_address():
    patient = texting_patient(email="")

    message, _ = schedule(patient, due_at=timezone.now(), channel="email")

    assert message.state == MessageState.SUPPRESSED
    assert message.state_reason == "Not sent by email: no email address."


def test_a_naive_due_time_is_refused():
    with pytest.raises(Exception, match="time zone"):
        schedule(texting_patient(), due_at=dt.datetime(2026, 12, 2, 10))  # noqa: DTZ001


# --- Claiming --------------------------------------------------------------------------------


def test_only_due_messages_are_claimed_and_only_once():
    patient = texting_patient()
    now = timezone.now()
    due, _ = schedule(patient, due_at=now - dt.timedelta(hours=1), subject_key="appointment:1")
    later, _ = schedule(patient, due_at=now + dt.timedelta(days=1), subject_key="appointment:2")
    PatientMessage.objects.filter(pk=due.pk).update(due_at=now - dt.timedelta(minutes=1))

    first = messages_claim_due(now=now)
    second = messages_claim_due(now=now)

    assert first == [due.pk]
    assert second == []
    due.refresh_from_db()
    assert due.state == MessageState.SENDING and due.claimed_at == now


def test_a_message_left_sending_by_a_dead_worker_is_claimed_again_after_the_lease():
    patient = texting_patient()
    now = timezone.now()
    message, _ = schedule(patient, due_at=now)
    PatientMessage.objects.filter(pk=message.pk).update(due_at=now)
    messages_claim_due(now=now)

    assert messages_claim_due(now=now + sending_lease() - dt.timedelta(seconds=1)) == []
    assert messages_claim_due(now=now + sending_lease() + dt.timedelta(seconds=1)) == [message.pk]


def test_suppressed_and_cancelled_messages_are_never_claimed():
    patient = texting_patient(sms_consent=False)
    now = timezone.now()
    schedule(patient, due_at=now)
    PatientMessage.objects.update(due_at=now)

    assert messages_claim_due(now=now) == []


# --- Stopping ----------------------------------------------------------------------------------


def test_pending_messages_about_a_subject_are_cancelled_and_sent_ones_kept():
    patient = texting_patient()
    now = timezone.now()
    pending, _ = schedule(patient, due_at=now, subject_key="appointment:7", rule_key="appt-7d")
    sent, _ = schedule(patient, due_at=now, subject_key="appointment:7", rule_key="appt-1d")
    PatientMessage.objects.filter(pk=sent.pk).update(state=MessageState.SENT)
    other, _ = schedule(patient, due_at=now, subject_key="appointment:8")

    stopped = messages_cancel_pending(subject_key="appointment:7", reason="appointment moved")

    assert stopped == 1
    states = dict(PatientMessage.objects.values_list("pk", "state"))
    assert states == {
        pending.pk: MessageState.CANCELLED,
        sent.pk: MessageState.SENT,
        other.pk: MessageState.SCHEDULED,
    }


def test_an_opt_out_suppresses_everything_pending_for_the_patient():
    patient = texting_patient()
    now = timezone.now()
    for n in range(3):
        schedule(patient, due_at=now, subject_key=f"appointment:{n}")

    messages_cancel_pending(patient=patient, reason="texted STOP", suppress=True)

    assert set(PatientMessage.objects.values_list("state", "state_reason")) == {
        (MessageState.SUPPRESSED, "texted STOP")
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_claim_disjoint_messages_on_postgresql(require_postgres):
    # Given 60 due messages (scheduled for later, so that no send is enqueued as each
    # commits, whatever the hour of the run; then made due)
    patient = texting_patient()
    now = timezone.now()
    for n in range(60):
        schedule(patient, due_at=now + dt.timedelta(hours=1), subject_key=f"appointment:{n}")
    PatientMessage.objects.update(due_at=now)
    barrier = threading.Barrier(2)
    claims: list[list[int]] = [[], []]

    def sweep(index: int) -> None:
        barrier.wait()
        try:
            claims[index] = messages_claim_due(now=now, limit=40)
        finally:
            connection.close()

    # When two workers sweep at the same moment
    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then no message is claimed twice, and between them they took every one
    assert not set(claims[0]) & set(claims[1])
    assert len(claims[0]) + len(claims[1]) == 60


# --- Reminders stop when their reason does ------------------------------------------------------


def booked_case_with_reminder():
    patient = texting_patient()
    case = factories.CaseFactory(patient=patient)
    actor = case.navigator.user
    appointment = appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=5),
        site="Chelsea Endoscopy",
        actor=actor,
    )
    message, _ = schedule(
        patient, due_at=timezone.now(), case=case, subject_key=f"appointment:{appointment.pk}"
    )
    return case, appointment, message, actor


def test_closing_the_case_cancels_its_pending_messages_in_the_same_transaction():
    case, _, message, actor = booked_case_with_reminder()

    case_transition(case=case, to_status="declined", actor=actor, note="not interested")

    message.refresh_from_db()
    assert message.state == MessageState.CANCELLED
    assert message.state_reason == "case declined"


def test_cancelling_the_appointment_cancels_its_reminders():
    _, appointment, message, actor = booked_case_with_reminder()

    appointment_set_status(appointment=appointment, status="cancelled", actor=actor)

    message.refresh_from_db()
    assert (message.state, message.state_reason) == (
        MessageState.CANCELLED,
        "appointment cancelled",
    )


def test_rebooking_cancels_the_old_appointments_reminders():
    case, _, message, actor = booked_case_with_reminder()

    appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=9),
        site="Revere",
        actor=actor,
    )

    message.refresh_from_db()
    assert message.state_reason == "appointment rescheduled"


def test_recording_the_screening_cancels_the_cases_pending_messages():
    case, _, message, actor = booked_case_with_reminder()

    case_record_screening(
        case=case,
        modality=factories.modality("fit"),
        performed_on=timezone.localdate(),
        result="normal",
        actor=actor,
    )

    message.refresh_from_db()
    assert (message.state, message.state_reason) == (
        MessageState.CANCELLED,
        "screening recorded",
    )


def test_a_failed_close_leaves_the_messages_pending():
    case, _, message, actor = booked_case_with_reminder()

    with pytest.raises(ValidationError):
        case_transition(case=case, to_status="closed", actor=actor)  # not from scheduled

    message.refresh_from_db()
    assert message.state == MessageState.SCHEDULED


# --- Reminder rules scheduled by a booking --------------------------------------------------------


def test_booking_a_colonoscopy_schedules_the_programs_reminders_in_local_time():
    # Given a Spanish-speaking patient who texts, and a colonoscopy 10 days ahead at 9:30
    case = factories.CaseFactory(patient=texting_patient())
    with time_machine.travel(dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC), tick=False):
        appointment = appointment_book(
            case=case,
            scheduled_at=dt.datetime(2026, 12, 3, 9, 30, tzinfo=NEW_YORK),
            site="Chelsea Endoscopy",
            modality=factories.modality("colonoscopy"),
            actor=case.navigator.user,
        )

    # Then the reminders (7 and 1 days) and the prep instructions (3 and 1 days) are rows
    messages = PatientMessage.objects.filter(subject_key=f"appointment:{appointment.pk}")
    got = sorted(
        (m.kind, m.due_at.astimezone(NEW_YORK).strftime("%m-%d %H:%M"), m.state) for m in messages
    )
    assert got == [
        ("appointment_reminder", "11-26 10:00", "scheduled"),
        ("appointment_reminder", "12-02 10:00", "scheduled"),
        ("prep_instructions", "11-30 09:00", "scheduled"),
        ("prep_instructions", "12-02 09:00", "scheduled"),
    ]
    reminder = messages.get(kind="appointment_reminder", slot=dt.date(2026, 12, 2))
    assert "el 3 de diciembre de 2026 a las 9:30, en Chelsea Endoscopy" in reminder.body


def test_a_mammogram_gets_no_colonoscopy_prep_instructions():
    patient = texting_patient(preferred_language="en")
    case = factories.CaseFactory(patient=patient, program=factories.program("breast"))

    appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=10),
        site="Imaging",
        modality=factories.modality("mammography", "breast"),
        actor=case.navigator.user,
    )

    assert set(PatientMessage.objects.values_list("kind", flat=True)) == {"appointment_reminder"}


def test_reminders_whose_time_has_passed_are_not_scheduled():
    case = factories.CaseFactory(patient=texting_patient())

    appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=2),
        site="Chelsea",
        actor=case.navigator.user,
    )

    assert list(PatientMessage.objects.values_list("slot", flat=True)) == [
        (timezone.now() + dt.timedelta(days=1)).astimezone(NEW_YORK).date()
    ]


def test_a_reminder_the_day_before_a_dst_change_is_at_10_00_local_time():
    case = factories.CaseFactory(patient=texting_patient())
    with time_machine.travel(dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC), tick=False):
        appointment_book(
            case=case,
            scheduled_at=dt.datetime(2026, 3, 9, 9, 0, tzinfo=NEW_YORK),
            site="Chelsea",
            actor=case.navigator.user,
        )

    day_before = PatientMessage.objects.get(slot=dt.date(2026, 3, 8))
    assert day_before.due_at == dt.datetime(2026, 3, 8, 14, 0, tzinfo=dt.UTC)  # 10:00 EDT


def test_rebooking_replaces_the_old_reminders_with_new_ones():
    case = factories.CaseFactory(patient=texting_patient())
    actor = case.navigator.user
    first = appointment_book(
        case=case, scheduled_at=timezone.now() + dt.timedelta(days=10), site="A", actor=actor
    )

    second = appointment_book(
        case=case, scheduled_at=timezone.now() + dt.timedelta(days=12), site="B", actor=actor
    )

    old = PatientMessage.objects.filter(subject_key=f"appointment:{first.pk}")
    new = PatientMessage.objects.filter(subject_key=f"appointment:{second.pk}")
    assert {m.state for m in old} == {MessageState.CANCELLED}
    assert {m.state for m in new} == {MessageState.SCHEDULED}
    assert new.count() == 2


def test_a_booking_rolled_back_leaves_no_reminder():
    case = factories.CaseFactory(patient=texting_patient())

    with pytest.raises(RuntimeError), transaction.atomic():
        appointment_book(
            case=case,
            scheduled_at=timezone.now() + dt.timedelta(days=10),
            site="A",
            actor=case.navigator.user,
        )
        raise RuntimeError("something after the booking failed")

    assert not PatientMessage.objects.exists()


def test_the_case_page_lists_the_patients_messages_with_their_state(client):
    case = factories.CaseFactory(patient=texting_patient(preferred_language="vi"))
    schedule(case.patient, due_at=timezone.now(), case=case)
    client.force_login(case.navigator.user)

    page = client.get(f"/cases/{case.pk}/").content.decode()

    assert "Messages to the patient" in page
    assert "Appointment reminder" in page
    assert "Suppressed" in page
    assert "in Vietnamese: a navigator calls with an interpreter instead." in page
