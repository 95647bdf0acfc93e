"""The SMS provider's webhooks: texts from patients, and delivery status of ours."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.urls import reverse

from navigator.models import CaseEvent, CaseEventKind
from navigator.selectors.worklist import worklist_for, worklist_rows
from navigator.worklist import rules
from navigator.worklist.filters import Filters
from outreach.messaging.schedule import message_schedule
from outreach.messaging.send import message_send
from outreach.messaging.sms_backends import twilio_signature
from outreach.messaging.sms_keywords import OPT_OUT_KEYWORDS
from outreach.models import (
    CaseTask,
    ContactAttempt,
    InboundSms,
    MessageState,
    PatientMessage,
    SmsOptOut,
    TaskKind,
    TemplateKind,
)
from patients.models import Patient, PatientPhone
from tests import factories

TOKEN = "webhook-test-auth-token"
SITE = "http://testserver"
NUMBER = "+16175550123"
# A Tuesday at 23:30 in Boston: a reminder could not go out now, a reply to STOP must.
LATE_EVENING = dt.datetime(2026, 11, 25, 4, 30, tzinfo=dt.UTC)
CONTEXT = {
    "first_name": "Rosa",
    "appointment_date": "3 Dec",
    "appointment_time": "9:30",
    "site": "Chelsea",
    "program_phone": "(617) 555-0111",
    "organization": "EquiNav",
    "navigator_name": "María",
}

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(LATE_EVENING)]


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.EQUINAV_SITE_URL = SITE
    settings.EQUINAV_SMS_BACKEND = "outreach.messaging.sms_backends.FileBackend"


@pytest.fixture
def sent_texts(settings, tmp_path):
    settings.EQUINAV_SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    from outreach.messaging.sms_backends import FileBackend

    return FileBackend(tmp_path / "sms.jsonl")


def post_signed(client, name: str, params: dict[str, str], *, signature: str | None = None):
    url = reverse(f"api:{name}")
    signature = signature or twilio_signature(SITE + url, params, TOKEN)
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


def text_in(client, body: str, *, sid: str = "SM0001", number: str = NUMBER):
    return post_signed(
        client, "sms-inbound", {"MessageSid": sid, "From": number, "To": "+16175550000",
                                "Body": body},
    )  # fmt: skip


def texting_patient(**kwargs):
    defaults = {"sms_consent": True, "time_zone": "America/New_York", "phone": NUMBER}
    return factories.PatientFactory(**{**defaults, **kwargs})


def pending_reminders(patient, case=None, *, channel="sms", count=2, subject="appointment:1"):
    return [
        message_schedule(
            patient=patient,
            kind=TemplateKind.APPOINTMENT_REMINDER,
            channel=channel,
            rule_key=f"{channel}-rule:{index}",
            subject_key=subject,
            due_at=LATE_EVENING + dt.timedelta(days=index + 1),
            context=CONTEXT,
            case=case,
        )[0]
        for index in range(count)
    ]


def send_due(sent_texts):
    """What a worker would do with every message due now."""
    for message in PatientMessage.objects.filter(state=MessageState.SCHEDULED):
        message_send(message_id=message.pk)
    return sent_texts.read_all()


# --- Opting out -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [*sorted(OPT_OUT_KEYWORDS), "stop", "  Stop!  ", "opt-out", "Unsubscribe.", "sToPaLl"],
)
def test_each_opt_out_keyword_stops_every_pending_text_and_confirms_once(client, sent_texts, body):
    # Given a patient with two reminders waiting and an email one too
    patient = texting_patient(email="rosa@example.org")
    navigated = factories.CaseFactory(patient=patient)
    texts = pending_reminders(patient, navigated)
    [email] = pending_reminders(patient, navigated, channel="email", count=1)

    # When the patient texts the keyword, late at night
    response = text_in(client, body)

    # Then consent is withdrawn, the texts are suppressed, the email is not touched
    assert response.status_code == 200 and "<Response>" in response.content.decode()
    patient.refresh_from_db()
    assert not patient.sms_consent
    assert SmsOptOut.objects.filter(number=NUMBER).exists()
    for message in texts:
        message.refresh_from_db()
        assert message.state == MessageState.SUPPRESSED
        assert "texted" in message.state_reason
    email.refresh_from_db()
    assert email.state == MessageState.SCHEDULED
    # And one confirmation goes out at once, quiet hours notwithstanding
    [confirmation] = send_due(sent_texts)
    assert confirmation["to"] == NUMBER
    assert "no more messages" in confirmation["body"]
    assert CaseEvent.objects.filter(case=navigated, kind=CaseEventKind.SMS_OPT_OUT).exists()


def test_a_second_stop_is_not_confirmed_again(client, sent_texts):
    texting_patient()

    text_in(client, "STOP", sid="SM1")
    send_due(sent_texts)
    text_in(client, "STOP", sid="SM2")

    assert len(send_due(sent_texts)) == 1


def test_a_text_queued_before_the_stop_is_not_sent_even_if_claimed(client, sent_texts):
    # Given a reminder a worker has already claimed
    patient = texting_patient()
    [message] = pending_reminders(patient, count=1)
    PatientMessage.objects.filter(pk=message.pk).update(state=MessageState.SENDING)

    # When the patient texts STOP before the worker gets to it
    text_in(client, "STOP")
    outcome = message_send(message_id=message.pk)

    # Then it is not sent
    message.refresh_from_db()
    assert outcome == "skipped" or message.state == MessageState.SUPPRESSED
    assert message.state == MessageState.SUPPRESSED
    assert [text["body"] for text in send_due(sent_texts)] == [
        PatientMessage.objects.get(kind=TemplateKind.OPT_OUT_CONFIRMATION).body
    ]


def test_an_opted_out_number_gets_no_new_reminder_whoever_it_belongs_to(client):
    text_in(client, "STOP")
    newcomer = texting_patient(sms_consent=True)

    [message] = pending_reminders(newcomer, count=1)

    assert message.state == MessageState.SUPPRESSED
    assert message.state_reason == "Not sent by SMS: the patient's mobile number texted STOP."


def test_a_family_sharing_a_mobile_opts_out_together(client):
    mother, daughter = texting_patient(), texting_patient(phone=None)
    PatientPhone.objects.create(patient=daughter, number=NUMBER, kind="mobile")

    text_in(client, "STOP")

    assert not Patient.objects.filter(pk__in=[mother.pk, daughter.pk], sms_consent=True).exists()


# --- Opting back in, and HELP ---------------------------------------------------------------


@pytest.mark.parametrize("body", ["START", "unstop", " Start. "])
def test_start_opts_the_number_back_in(client, body):
    patient = texting_patient()
    text_in(client, "STOP", sid="SM1")

    text_in(client, body, sid="SM2")

    patient.refresh_from_db()
    assert patient.sms_consent and patient.sms_consent_at == LATE_EVENING
    assert not SmsOptOut.objects.exists()
    [message] = pending_reminders(patient, count=1)
    assert message.state == MessageState.SCHEDULED


def test_help_is_answered_with_the_program_and_how_to_stop(client, sent_texts):
    texting_patient(preferred_language="es")

    text_in(client, "help")

    [reply] = send_due(sent_texts)
    assert reply["to"] == NUMBER
    assert "(617) 555-0100" in reply["body"] and "STOP" in reply["body"]
    assert "navegación" in reply["body"]  # in the patient's language


def test_help_from_a_patient_whose_consent_was_never_given_is_still_answered(client, sent_texts):
    texting_patient(sms_consent=False)

    text_in(client, "HELP")

    assert len(send_due(sent_texts)) == 1


# --- Anything else is for the navigator ----------------------------------------------------


def test_any_other_text_goes_on_the_timeline_and_to_the_navigator(client):
    # Given a patient's open case
    navigated = factories.CaseFactory(patient=texting_patient())

    # When she texts a question
    response = text_in(client, "Can I take my blood pressure pill before the prep?")

    # Then it is on the timeline, a task for her navigator, and a call-back on the worklist
    assert response.status_code == 200
    event = CaseEvent.objects.get(case=navigated, kind=CaseEventKind.INBOUND_MESSAGE)
    assert "blood pressure pill" in event.summary and event.actor is None
    [task] = CaseTask.objects.filter(case=navigated, kind=TaskKind.PATIENT_REPLIED)
    assert not task.for_manager
    attempt = ContactAttempt.objects.get(case=navigated)
    assert (attempt.direction, attempt.channel, attempt.created_by) == ("inbound", "sms", None)
    user, moment = navigated.navigator.user, rules.Moment.current()
    cases = worklist_for(user=user, filters=Filters(), moment=moment)
    [row] = worklist_rows(cases, user=user, moment=moment)
    assert row.reasons[0].code == "called_back"


def test_the_stop_keyword_inside_a_sentence_is_a_message_not_an_opt_out(client):
    navigated = factories.CaseFactory(patient=texting_patient())

    text_in(client, "please stop calling me at work")

    navigated.patient.refresh_from_db()
    assert navigated.patient.sms_consent
    assert CaseTask.objects.filter(kind=TaskKind.PATIENT_REPLIED).count() == 1


def test_a_text_from_an_unknown_number_is_kept_for_the_managers(client):
    response = text_in(client, "Who is this?", number="+16175559999")

    assert response.status_code == 200
    inbound = InboundSms.objects.get()
    assert inbound.patient is None and inbound.case is None and inbound.body == "Who is this?"


def test_a_webhook_sent_twice_acts_once(client):
    navigated = factories.CaseFactory(patient=texting_patient())

    text_in(client, "Hello", sid="SMretry")
    text_in(client, "Hello", sid="SMretry")

    assert InboundSms.objects.count() == 1
    assert CaseTask.objects.filter(case=navigated).count() == 1


# --- Refused requests change nothing -------------------------------------------------------


def test_a_request_with_a_wrong_signature_is_refused_and_changes_nothing(client):
    patient = texting_patient()

    response = post_signed(
        client,
        "sms-inbound",
        {"MessageSid": "SM1", "From": NUMBER, "Body": "STOP"},
        signature="bm90IHRoZSBzaWduYXR1cmU=",
    )

    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["detail"]
    patient.refresh_from_db()
    assert patient.sms_consent and not InboundSms.objects.exists()


def test_a_request_signed_for_other_parameters_is_refused(client):
    url = reverse("api:sms-inbound")
    signature = twilio_signature(SITE + url, {"MessageSid": "SM1", "From": NUMBER}, TOKEN)

    response = client.post(
        url,
        {"MessageSid": "SM1", "From": NUMBER, "Body": "STOP"},
        HTTP_X_TWILIO_SIGNATURE=signature,
    )

    assert response.status_code == 403


def test_webhooks_are_off_without_an_auth_token(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""

    response = text_in(client, "STOP")

    assert response.status_code == 403
    assert "TWILIO_AUTH_TOKEN" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"From": NUMBER, "Body": "hi"}, "MessageSid"),
        ({"MessageSid": "SM1", "Body": "hi"}, "From"),
        ({"MessageSid": "SM1", "From": "not a number", "Body": "hi"}, "From"),
    ],
)
def test_a_signed_request_with_missing_or_bad_fields_gets_a_400_naming_the_field(
    client, params, field
):
    response = post_signed(client, "sms-inbound", params)

    assert response.status_code == 400
    assert field in response.json()
    assert not InboundSms.objects.exists()


# --- Delivery status ------------------------------------------------------------------------


def sent_message(patient, *, provider_id="SMout1"):
    [message] = pending_reminders(patient, factories.CaseFactory(patient=patient), count=1)
    PatientMessage.objects.filter(pk=message.pk).update(
        state=MessageState.SENT, provider_id=provider_id, sent_at=LATE_EVENING
    )
    return message


def status(client, sid: str, value: str, code: str = ""):
    params = {"MessageSid": sid, "MessageStatus": value}
    if code:
        params["ErrorCode"] = code
    return post_signed(client, "sms-status", params)


def test_a_delivered_callback_marks_the_message_delivered(client):
    message = sent_message(texting_patient())

    response = status(client, "SMout1", "delivered")

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED and message.delivered_at == LATE_EVENING


def test_a_late_sent_callback_does_not_undo_delivered(client):
    message = sent_message(texting_patient())

    status(client, "SMout1", "delivered")
    status(client, "SMout1", "sent")

    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED


def test_an_undeliverable_number_is_flagged_on_the_patient_and_skipped(
    client, django_capture_on_commit_callbacks
):
    # Given a text to a number that turns out to be a landline
    patient = texting_patient()
    message = sent_message(patient)

    # When the provider reports it undelivered with 30006
    with django_capture_on_commit_callbacks(execute=True):
        status(client, "SMout1", "undelivered", "30006")

    # Then the message failed with the reason, the number is flagged, the managers know
    message.refresh_from_db()
    assert message.state == MessageState.FAILED
    assert "landline" in message.state_reason
    phone = PatientPhone.objects.get(patient=patient)
    assert phone.undeliverable.startswith("Texts undeliverable: a landline")
    assert CaseTask.objects.filter(kind=TaskKind.MESSAGE_FAILED).count() == 1
    assert CaseEvent.objects.filter(kind=CaseEventKind.PHONE_MARKED_BAD).count() == 1
    # And the next reminder is not sent to it
    [later] = pending_reminders(patient, count=1, subject="appointment:2")
    assert later.state == MessageState.SUPPRESSED


def test_a_failure_that_says_nothing_about_the_number_does_not_flag_it(client):
    patient = texting_patient()
    sent_message(patient)

    status(client, "SMout1", "failed", "30001")

    assert PatientPhone.objects.get(patient=patient).undeliverable == ""


def test_a_number_the_carrier_says_unsubscribed_is_an_opt_out(client):
    patient = texting_patient()
    sent_message(patient)

    status(client, "SMout1", "undelivered", "21610")

    assert SmsOptOut.objects.filter(number=NUMBER).exists()


def test_a_status_for_a_message_we_never_sent_is_a_404(client):
    response = status(client, "SMnobody", "delivered")

    assert response.status_code == 404
    assert "MessageSid" in response.json()["detail"]


def test_an_unknown_status_is_a_400_and_changes_nothing(client):
    message = sent_message(texting_patient())

    response = status(client, "SMout1", "exploded")

    assert response.status_code == 400 and "MessageStatus" in response.json()
    message.refresh_from_db()
    assert message.state == MessageState.SENT


def test_the_send_asks_the_provider_for_status_callbacks(sent_texts):
    patient = texting_patient()
    with time_machine.travel(dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC), tick=False):
        [message] = pending_reminders(patient, count=1)
        PatientMessage.objects.filter(pk=message.pk).update(
            due_at=dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
        )
        with mock.patch("outreach.messaging.send.get_sms_backend", return_value=sent_texts):
            message_send(message_id=message.pk)

    [text] = sent_texts.read_all()
    assert text["status_callback"] == SITE + reverse("api:sms-status")


def test_a_text_from_a_number_a_family_shares_goes_to_the_managers_not_onto_a_case(client):
    # Whose words they are cannot be told: one's news must not land on a relative's case
    mother = factories.CaseFactory(patient=texting_patient())
    daughter = factories.CaseFactory(patient=texting_patient(phone=None))
    PatientPhone.objects.create(patient=daughter.patient, number=NUMBER, kind="mobile")

    text_in(client, "My biopsy came back, what now?")

    assert not CaseEvent.objects.filter(kind=CaseEventKind.INBOUND_MESSAGE).exists()
    assert not CaseTask.objects.filter(case__in=[mother, daughter]).exists()
    assert InboundSms.objects.get().case is None


def test_start_gives_consent_back_only_to_whom_the_stop_took_it_from(client):
    consented = texting_patient()
    never = texting_patient(phone=None, sms_consent=False)
    PatientPhone.objects.create(patient=never, number=NUMBER, kind="mobile")

    text_in(client, "STOP", sid="SM1")
    text_in(client, "START", sid="SM2")

    consented.refresh_from_db()
    never.refresh_from_db()
    assert consented.sms_consent and not never.sms_consent


def test_a_long_text_is_kept_shortened_not_refused(client):
    navigated = factories.CaseFactory(patient=texting_patient())

    response = text_in(client, "Hello " * 400)

    assert response.status_code == 200
    assert len(InboundSms.objects.get().body) == 1600
    assert CaseTask.objects.filter(case=navigated).count() == 1


def test_delivered_after_a_failure_closes_the_escalation(
    client, django_capture_on_commit_callbacks
):
    message = sent_message(texting_patient())
    with django_capture_on_commit_callbacks(execute=True):
        status(client, "SMout1", "failed", "30001")

    status(client, "SMout1", "delivered")

    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED
    task = CaseTask.objects.get(kind=TaskKind.MESSAGE_FAILED)
    assert task.done_note == "delivered after all"


def test_a_late_status_for_a_send_a_manager_has_retried_is_ignored(
    client, django_capture_on_commit_callbacks
):
    from outreach.messaging.manager_actions import message_retry

    message = sent_message(texting_patient())
    with django_capture_on_commit_callbacks(execute=True):
        status(client, "SMout1", "undelivered", "30001")
    message.refresh_from_db()
    with django_capture_on_commit_callbacks():
        message_retry(message=message, actor=factories.ManagerFactory())

    response = status(client, "SMout1", "undelivered", "30001")

    assert response.status_code == 404  # the retried send is a new one
    message.refresh_from_db()
    assert message.state == MessageState.SCHEDULED and message.provider_id == ""


def test_a_retried_message_that_fails_again_is_escalated_again(
    client, django_capture_on_commit_callbacks
):
    from outreach.messaging.manager_actions import message_retry
    from outreach.services.navigator_tasks import message_failure_escalate

    message = sent_message(texting_patient())
    with django_capture_on_commit_callbacks(execute=True):
        status(client, "SMout1", "undelivered", "30001")
    message.refresh_from_db()
    with django_capture_on_commit_callbacks():
        message_retry(message=message, actor=factories.ManagerFactory())
    assert CaseTask.objects.get(kind=TaskKind.MESSAGE_FAILED).done_at is not None

    PatientMessage.objects.filter(pk=message.pk).update(state=MessageState.FAILED)
    message_failure_escalate(message_id=message.pk)

    assert CaseTask.objects.get(kind=TaskKind.MESSAGE_FAILED).done_at is None


def test_a_text_in_is_audited_as_an_anonymous_access_to_the_patient(client):
    # Given a patient's open case
    from navigator.audit.models import AccessedPatient, AccessEvent

    navigated = factories.CaseFactory(patient=texting_patient())

    # When the provider's signed webhook brings her text (nobody signed in)
    text_in(client, "Can I eat before the test?")

    # Then the audit trail holds the access, anonymous, with her as its patient
    event = AccessEvent.objects.get(route="api:sms-inbound")
    assert (event.user, event.username, event.action) == (None, "", "change")
    assert AccessedPatient.objects.filter(event=event, patient=navigated.patient).exists()
