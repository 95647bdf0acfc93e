"""Patient messages: the patient's own language or none, and nothing clinical in them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navigator.models import CaseEvent, CaseEventKind
from outreach.admin import MessageTemplateForm
from outreach.messaging.compose import (
    PATIENT_MESSAGE_KINDS,
    PLACEHOLDERS,
    MessageTemplateError,
    NoTemplateInLanguage,
    message_compose,
    template_check,
)
from outreach.messaging.schedule import message_schedule
from outreach.models import MessageState, MessageTemplate, TemplateKind
from tests import factories

pytestmark = pytest.mark.django_db

CONTEXT = {
    "first_name": "Rosa",
    "appointment_date": "3 de diciembre",
    "appointment_time": "9:30",
    "site": "Chelsea Endoscopy",
    "program_phone": "(617) 555-0111",
    "organization": "EquiNav",
    "navigator_name": "María",
}


@pytest.mark.parametrize("kind", sorted(PATIENT_MESSAGE_KINDS))
@pytest.mark.parametrize("language", ["en", "es", "pt"])
def test_every_message_kind_is_seeded_in_english_spanish_and_portuguese(kind, language):
    message = message_compose(kind=kind, language=language, program_id=None, context=CONTEXT)

    assert message.language == language
    assert "{" not in message.body and "}" not in message.body
    assert "STOP" in message.body or kind == TemplateKind.OPT_OUT_CONFIRMATION
    # Texts stay short enough for a few SMS segments
    assert len(message.body) <= 320


def test_a_spanish_speaker_gets_the_spanish_reminder_with_the_details_filled_in():
    message = message_compose(
        kind=TemplateKind.APPOINTMENT_REMINDER, language="es", program_id=None, context=CONTEXT
    )

    assert message.body.startswith("Hola Rosa")
    assert "el 3 de diciembre a las 9:30, en Chelsea Endoscopy" in message.body
    assert "(617) 555-0111" in message.body


def test_without_a_template_in_the_patients_language_it_refuses_rather_than_send_english():
    with pytest.raises(NoTemplateInLanguage) as refused:
        message_compose(
            kind=TemplateKind.APPOINTMENT_REMINDER, language="vi", program_id=None, context=CONTEXT
        )

    assert refused.value.language == "vi"
    assert str(refused.value) == (
        "No “appointment reminder” message in Vietnamese: "
        "a navigator calls with an interpreter instead."
    )


def test_a_programs_own_template_wins_over_the_default():
    breast = factories.program("breast")
    MessageTemplate.objects.create(
        kind=TemplateKind.RECALL,
        language="en",
        program=breast,
        body="Hi {first_name}, your mammogram is due. Call {program_phone}. Reply STOP to opt out.",
    )

    own = message_compose(
        kind=TemplateKind.RECALL, language="en", program_id=breast.pk, context=CONTEXT
    )
    default = message_compose(
        kind=TemplateKind.RECALL,
        language="en",
        program_id=factories.program("colorectal").pk,
        context=CONTEXT,
    )

    assert "mammogram" in own.body
    assert "next screening" in default.body


@pytest.mark.parametrize(
    "text",
    [
        "Your FIT result was abnormal.",
        "Su resultado es positivo, llame.",
        "Encontramos pólipos.",
        "Seu exame deu positivo.",
        "We need to discuss your diagnosis.",
        "Biopsy scheduled.",
    ],
)
def test_a_template_that_speaks_of_results_or_diagnoses_is_refused(text):
    with pytest.raises(MessageTemplateError, match="result or a diagnosis"):
        template_check(subject="", body=text)


def test_a_template_may_use_only_placeholders_without_clinical_detail():
    with pytest.raises(MessageTemplateError) as refused:
        template_check(subject="", body="Hi {first_name}, your {test_name} is on {date}.")

    message = str(refused.value)
    assert message.startswith("In the body: unknown placeholder {date}, {test_name}; use: ")
    assert all("{" + name + "}" in message for name in PLACEHOLDERS)


def test_a_stray_brace_is_refused_with_how_to_write_one():
    with pytest.raises(MessageTemplateError, match="literal brace"):
        template_check(subject="Hi {first_name", body="")


def test_a_letter_is_not_a_patient_message_kind():
    with pytest.raises(ValueError, match="not a patient message kind"):
        message_compose(
            kind=TemplateKind.OUTREACH_LETTER, language="en", program_id=None, context=CONTEXT
        )


def test_the_admin_checks_a_text_template_with_the_message_rules():
    form = MessageTemplateForm(
        data={
            "kind": TemplateKind.RECALL,
            "language": "es",
            "subject": "",
            "body": "Hola {first_name}, su resultado está listo.",
        }
    )

    assert not form.is_valid()
    assert "result or a diagnosis" in form.errors["body"][0]


def test_the_admin_accepts_a_letter_with_the_letter_placeholders():
    form = MessageTemplateForm(
        data={
            "kind": TemplateKind.OUTREACH_LETTER,
            "language": "vi",
            "subject": "Screening",
            "body": "Dear {patient_name}, please call {program_phone}.",
        }
    )

    assert form.is_valid(), form.errors


def test_a_value_that_would_put_a_clinical_word_in_the_text_is_refused():
    # A clean template, but a site whose name gives the reason for the visit away
    with pytest.raises(MessageTemplateError) as refused:
        message_compose(
            kind=TemplateKind.APPOINTMENT_REMINDER,
            language="en",
            program_id=None,
            context={**CONTEXT, "site": "Biopsy Suite, 4th floor"},
        )

    assert "“Biopsy”" in str(refused.value)


def test_such_a_message_is_kept_as_suppressed_and_the_navigator_calls_instead():
    case = factories.CaseFactory(
        patient=factories.PatientFactory(sms_consent=True, phone="+16175550123")
    )

    message, _ = message_schedule(
        patient=case.patient, kind=TemplateKind.APPOINTMENT_REMINDER, channel="sms",
        rule_key="r", subject_key="appointment:1", case=case,
        due_at=timezone.now() + dt.timedelta(days=2),
        context={**CONTEXT, "site": "Oncology Biopsy Clinic"},
    )  # fmt: skip

    assert message.state == MessageState.SUPPRESSED and message.body == ""
    assert "“Biopsy”" in message.state_reason and "a navigator calls" in message.state_reason
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.MESSAGE_SUPPRESSED).exists()
