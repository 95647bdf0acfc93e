"""Reminders before coaching sessions and group classes, through the patient-message
machinery (outreach/messaging/patient_reminders.py, the task in outreach/tasks.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from navigator.services.coaching import coaching_session_book, coaching_session_set_status
from navigator.services.group_classes import group_enrol, group_enrolment_set_status
from outreach.models import MessageState, PatientMessage, ReminderRule, ReminderTrigger
from outreach.tasks import schedule_group_reminders
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 6, 14, 0, tzinfo=dt.UTC)


def _rule(trigger, program_code="colorectal"):
    # The rule the test relies on, in place of any the migrations seeded for it.
    program = factories.program(program_code)
    ReminderRule.objects.filter(program=program, trigger=trigger).delete()
    return ReminderRule.objects.create(
        program=program, kind="appointment_reminder", trigger=trigger,
        days=1, at_time=dt.time(10, 0), channel="sms",
    )  # fmt: skip


def _texting_case(language="es", **kwargs):
    return factories.ControlCaseFactory(
        patient__preferred_language=language, patient__sms_consent=True,
        patient__phone="+16175550123", patient__time_zone="America/New_York", **kwargs,
    )  # fmt: skip


def test_booking_a_session_schedules_its_reminder_in_the_patients_language():
    _rule(ReminderTrigger.BEFORE_COACHING_SESSION, "diabetes")
    case = _texting_case(program=factories.program("diabetes"))

    with time_machine.travel(NOW, tick=False):
        session = coaching_session_book(
            case=case, scheduled_at=NOW + dt.timedelta(days=3), actor=case.navigator.user
        )

    [message] = PatientMessage.objects.filter(subject_key=f"coaching:{session.pk}")
    assert (message.language, message.state, message.case) == ("es", MessageState.SCHEDULED, case)
    # the day before, at 10:00 in the patient's zone (EDT)
    assert message.due_at == dt.datetime(2026, 4, 8, 14, 0, tzinfo=dt.UTC)


def test_cancelling_the_session_cancels_its_reminder():
    _rule(ReminderTrigger.BEFORE_COACHING_SESSION, "diabetes")
    case = _texting_case(program=factories.program("diabetes"))
    with time_machine.travel(NOW, tick=False):
        session = coaching_session_book(
            case=case, scheduled_at=NOW + dt.timedelta(days=3), actor=case.navigator.user
        )
        coaching_session_set_status(session=session, status="cancelled", actor=case.navigator.user)

    message = PatientMessage.objects.get(subject_key=f"coaching:{session.pk}")
    assert (message.state, message.state_reason) == ("cancelled", "coaching session cancelled")


def test_a_patient_without_consent_gets_the_reminder_kept_as_suppressed():
    _rule(ReminderTrigger.BEFORE_COACHING_SESSION, "diabetes")
    case = factories.ControlCaseFactory(
        program=factories.program("diabetes"),
        patient__preferred_language="es", patient__sms_consent=False,
        patient__time_zone="America/New_York",
    )  # fmt: skip

    with time_machine.travel(NOW, tick=False):
        coaching_session_book(
            case=case, scheduled_at=NOW + dt.timedelta(days=3), actor=case.navigator.user
        )

    [message] = PatientMessage.objects.filter(patient=case.patient)
    assert message.state == MessageState.SUPPRESSED
    assert "no SMS consent" in message.state_reason


def test_enrolling_schedules_each_upcoming_class_reminder_once_on_commit(
    django_capture_on_commit_callbacks,
):
    # Given a series with a class ahead and one past, and a rule the day before
    _rule(ReminderTrigger.BEFORE_GROUP_SESSION)
    series = factories.GroupSeriesFactory()
    ahead = factories.GroupSessionFactory(series=series, starts_at=NOW + dt.timedelta(days=5))
    factories.GroupSessionFactory(series=series, starts_at=NOW - dt.timedelta(days=2))
    case = _texting_case()

    with time_machine.travel(NOW, tick=False):
        # When the patient is enrolled (the task runs once the enrolment commits)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            group_enrol(case=case, series=series, actor=case.navigator.user)
        # and the task runs again
        schedule_group_reminders(ahead.pk)

    # Then one reminder exists, for the class ahead, in Spanish
    assert len(callbacks) == 1
    [message] = PatientMessage.objects.filter(patient=case.patient)
    assert message.subject_key == f"group:{ahead.pk}:{case.patient_id}"
    assert message.language == "es"


def test_withdrawing_cancels_the_patients_class_reminders_and_the_task_makes_none_again():
    _rule(ReminderTrigger.BEFORE_GROUP_SESSION)
    series = factories.GroupSeriesFactory()
    ahead = factories.GroupSessionFactory(series=series, starts_at=NOW + dt.timedelta(days=5))
    case = _texting_case()
    with time_machine.travel(NOW, tick=False):
        enrolment = group_enrol(case=case, series=series, actor=case.navigator.user)
        schedule_group_reminders(ahead.pk)
        group_enrolment_set_status(
            enrolment=enrolment, status="withdrawn", actor=case.navigator.user
        )
        made = schedule_group_reminders(ahead.pk)

    [message] = PatientMessage.objects.filter(patient=case.patient)
    assert message.state == MessageState.CANCELLED
    assert made == 0


def test_withdrawing_cancels_every_session_of_the_series_and_no_other_patients():
    # Given a patient and a classmate with reminders for two sessions of one series
    _rule(ReminderTrigger.BEFORE_GROUP_SESSION)
    series = factories.GroupSeriesFactory()
    sessions = [
        factories.GroupSessionFactory(series=series, starts_at=NOW + dt.timedelta(days=days))
        for days in (5, 12)
    ]
    case, classmate = _texting_case(), _texting_case()
    with time_machine.travel(NOW, tick=False):
        enrolment = group_enrol(case=case, series=series, actor=case.navigator.user)
        group_enrol(case=classmate, series=series, actor=classmate.navigator.user)
        for session in sessions:
            schedule_group_reminders(session.pk)

        # When the patient withdraws
        group_enrolment_set_status(
            enrolment=enrolment, status="withdrawn", actor=case.navigator.user
        )

    # Then both of their reminders are cancelled, the classmate's are still pending
    mine = PatientMessage.objects.filter(patient=case.patient)
    theirs = PatientMessage.objects.filter(patient=classmate.patient)
    assert sorted(m.state for m in mine) == [MessageState.CANCELLED] * 2
    assert theirs.count() == 2
    assert not theirs.filter(state=MessageState.CANCELLED).exists()


def test_the_task_for_a_session_gone_by_schedules_nothing():
    _rule(ReminderTrigger.BEFORE_GROUP_SESSION)
    session = factories.GroupSessionFactory(starts_at=NOW - dt.timedelta(days=1))
    factories.GroupEnrolmentFactory(series=session.series)

    with time_machine.travel(NOW, tick=False):
        assert schedule_group_reminders(session.pk) == 0
        assert schedule_group_reminders(999_999) == 0


def test_a_manager_adds_a_coaching_reminder_rule_for_no_test_and_only_as_a_reminder(manager):
    from django.core.exceptions import ValidationError

    from outreach.services.rules import reminder_rule_save

    colorectal = factories.program("colorectal")
    common = {
        "program": colorectal, "actor": manager, "trigger": ReminderTrigger.BEFORE_GROUP_SESSION,
        "days": 2, "at_time": dt.time(10, 0), "channel": "sms",
    }  # fmt: skip

    rule = reminder_rule_save(kind="appointment_reminder", **common)
    with pytest.raises(ValidationError) as wrong_kind:
        reminder_rule_save(kind="kit_return", **common)
    with pytest.raises(ValidationError) as with_a_test:
        reminder_rule_save(
            kind="appointment_reminder", modality=colorectal.modalities.first(), **common
        )

    assert rule is not None and rule.trigger == "before_group"
    assert "kind" in wrong_kind.value.message_dict
    assert "about no test" in with_a_test.value.message_dict["modality"][0]
