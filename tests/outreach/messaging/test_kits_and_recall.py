"""Mailed-kit return reminders and recall messages: scheduled as rules say, once, and
stopped when their reason goes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from navigator.models import CaseEvent, CaseEventKind, CaseStatus, KitMailing
from navigator.services.screenings import case_record_screening, kit_mail
from outreach.messaging.patient_reminders import recall_messages_schedule
from outreach.models import MessageState, PatientMessage, ReminderRule, ReminderTrigger
from patients.models import CareGap, CareGapStatus
from tests import factories

# Tuesday 24 November 2026, 10:00 in Boston.
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 24)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def texting_patient(**kwargs):
    defaults = {"sms_consent": True, "time_zone": "America/New_York", "phone": "+16175550123"}
    return factories.PatientFactory(**{**defaults, **kwargs})


# --- Kits -------------------------------------------------------------------------------------


def test_mailing_a_fit_kit_schedules_its_return_reminders_at_local_time():
    # Given a colorectal case (rules: 14 and 28 days after mailing, at 10:00)
    case = factories.CaseFactory(patient=texting_patient())

    # When the navigator records a FIT kit mailed today
    kit = kit_mail(
        case=case, modality=factories.modality("fit"), mailed_on=TODAY, actor=case.navigator.user
    )

    # Then two kit-return texts wait, 14 and 28 days on, at 10:00 in Boston
    messages = PatientMessage.objects.filter(subject_key=f"kit:{kit.pk}").order_by("due_at")
    assert [message.due_at for message in messages] == [
        dt.datetime(2026, 12, 8, 15, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 22, 15, 0, tzinfo=dt.UTC),
    ]
    assert {message.kind for message in messages} == {"kit_return"}
    assert "mail back" in messages[0].body
    # And the case moved on, with the kit on its timeline
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTING
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.KIT_MAILED).exists()


def test_the_result_coming_back_stops_the_kit_reminders_and_marks_the_kit_returned():
    case = factories.CaseFactory(patient=texting_patient())
    kit = kit_mail(
        case=case, modality=factories.modality("fit"), mailed_on=TODAY, actor=case.navigator.user
    )

    with time_machine.travel(NOW + dt.timedelta(days=16), tick=False):
        case_record_screening(
            case=case,
            modality=factories.modality("fit"),
            performed_on=TODAY + dt.timedelta(days=15),
            result="normal",
            actor=case.navigator.user,
        )

    states = set(
        PatientMessage.objects.filter(subject_key=f"kit:{kit.pk}").values_list("state", flat=True)
    )
    assert states == {MessageState.CANCELLED}
    kit.refresh_from_db()
    assert kit.returned_on == TODAY + dt.timedelta(days=15)


@pytest.mark.parametrize(
    ("modality", "program", "field", "message"),
    [
        ("colonoscopy", "colorectal", "modality", "is not done with a kit mailed home"),
        ("mammography", "breast", "modality", "is not a Colorectal cancer test"),
    ],
)
def test_only_a_home_test_of_the_cases_program_can_be_mailed(modality, program, field, message):
    case = factories.CaseFactory()

    with pytest.raises(ValidationError) as refused:
        kit_mail(
            case=case,
            modality=factories.modality(modality, program),
            mailed_on=TODAY,
            actor=case.navigator.user,
        )

    assert message in refused.value.message_dict[field][0]
    assert not KitMailing.objects.exists() and not PatientMessage.objects.exists()


def test_a_kit_cannot_be_mailed_tomorrow():
    case = factories.CaseFactory()

    with pytest.raises(ValidationError) as refused:
        kit_mail(
            case=case,
            modality=factories.modality("fit"),
            mailed_on=TODAY + dt.timedelta(days=1),
            actor=case.navigator.user,
        )

    assert "mailed_on" in refused.value.message_dict


def test_a_kit_mailed_long_ago_schedules_only_the_reminders_still_ahead():
    case = factories.CaseFactory(patient=texting_patient())

    kit = kit_mail(
        case=case,
        modality=factories.modality("fit"),
        mailed_on=TODAY - dt.timedelta(days=20),
        actor=case.navigator.user,
    )

    [message] = PatientMessage.objects.filter(subject_key=f"kit:{kit.pk}")
    assert message.due_at.date() == TODAY + dt.timedelta(days=8)


# --- Recall -----------------------------------------------------------------------------------


def care_gap(patient, *, next_due_on, program_code="colorectal", status=CareGapStatus.UP_TO_DATE):
    return CareGap.objects.create(
        patient=patient,
        program=factories.program(program_code),
        status=status,
        as_of=TODAY,
        summary="Up to date",
        next_due_on=next_due_on,
        rule_version=1,
    )


def test_a_patient_whose_screening_falls_due_in_30_days_gets_a_recall_message():
    patient = texting_patient(preferred_language="pt")
    care_gap(patient, next_due_on=TODAY + dt.timedelta(days=30))

    [message] = recall_messages_schedule(today=TODAY)

    assert message.kind == "recall" and message.case is None
    assert message.language == "pt"
    assert message.due_at == dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
    assert message.subject_key == f"recall:{patient.pk}:{factories.program().pk}:2026-12-24"


def test_two_patients_due_the_same_day_each_get_their_recall():
    for number in ("+16175550001", "+16175550002"):
        care_gap(texting_patient(phone=number), next_due_on=TODAY + dt.timedelta(days=12))

    assert len(recall_messages_schedule(today=TODAY)) == 2


def test_a_recall_is_made_once_however_often_and_on_whichever_day_the_rules_run():
    patient = texting_patient()
    care_gap(patient, next_due_on=TODAY + dt.timedelta(days=20))

    first = recall_messages_schedule(today=TODAY)
    second = recall_messages_schedule(today=TODAY)
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        later = recall_messages_schedule(today=TODAY + dt.timedelta(days=1))

    assert len(first) == 1 and second == [] and later == []
    assert PatientMessage.objects.count() == 1


def test_no_recall_for_a_patient_already_being_navigated_toward_the_screening():
    patient = texting_patient()
    care_gap(patient, next_due_on=TODAY + dt.timedelta(days=10))
    factories.CaseFactory(patient=patient)

    assert recall_messages_schedule(today=TODAY) == []


def test_no_recall_far_ahead_nor_to_a_patient_we_may_not_text():
    care_gap(texting_patient(), next_due_on=TODAY + dt.timedelta(days=45))
    care_gap(texting_patient(sms_consent=False), next_due_on=TODAY + dt.timedelta(days=5))
    care_gap(texting_patient(deceased=True), next_due_on=TODAY + dt.timedelta(days=5))

    assert recall_messages_schedule(today=TODAY) == []


def test_a_recall_rule_switched_off_sends_nothing():
    care_gap(texting_patient(), next_due_on=TODAY + dt.timedelta(days=10))
    ReminderRule.objects.filter(trigger=ReminderTrigger.BEFORE_NEXT_DUE).update(active=False)

    assert recall_messages_schedule(today=TODAY) == []
