"""Control programmes say what is true (issue 16): the diabetes programme's letter,
recall and class reminders speak of the HbA1c check and self-management classes, in
every language the app ships, never of a screening; staff-facing text chosen by the
programme names "diabetes control", not "diabetes control screening"
(outreach/wording.py, outreach migration 0019)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from navigator.models import CaseStatus
from outreach.letters.case_letter import LetterError, letter_compose
from outreach.messaging.compose import message_compose
from outreach.messaging.patient_reminders import recall_messages_schedule
from outreach.models import FollowUpReminder, MessageTemplate, ReminderRule, TemplateKind
from outreach.selectors import call_guide_for
from outreach.services.follow_up_reminders import follow_up_reminder_send_email
from outreach.wording import program_work
from patients.models import CareGap, CareGapStatus
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)
LANGUAGES = ["en", "es", "pt"]
# How each language says "screening" in the seeded texts.
SCREENING = {"en": "screening", "es": "detección", "pt": "rastreamento"}
HBA1C = {"en": "HbA1c check", "es": "prueba de HbA1c", "pt": "exame de HbA1c"}
CONTEXT = {
    "first_name": "Rosa", "appointment_date": "3 de diciembre", "appointment_time": "9:30",
    "site": "Chelsea", "program_phone": "(617) 555-0111", "organization": "EquiNav",
    "navigator_name": "María",
}  # fmt: skip


def diabetes_case(language: str, **kwargs):
    return factories.CaseFactory(
        program=factories.program("diabetes"), status=CaseStatus.CONTACTING,
        patient__preferred_language=language, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_diabetes_letter_asks_for_the_hba1c_check_never_a_screening(language):
    letter = letter_compose(diabetes_case(language), today=TODAY)

    text = f"{letter.subject}\n{letter.body}"
    assert HBA1C[language] in text
    assert SCREENING[language] not in text.lower()


def test_a_control_programme_without_its_own_letter_is_refused_not_sent_the_screening_one():
    MessageTemplate.objects.filter(
        program__code="diabetes", kind=TemplateKind.OUTREACH_LETTER, language="es"
    ).delete()

    with pytest.raises(LetterError, match="the default letter is about a screening"):
        letter_compose(diabetes_case("es"), today=TODAY)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "kind", [TemplateKind.RECALL, TemplateKind.GROUP_CLASS_REMINDER, TemplateKind.COACHING_REMINDER]
)
def test_the_diabetes_texts_say_what_they_are_about_without_naming_a_screening(kind, language):
    program = factories.program("diabetes")

    message = message_compose(kind=kind, language=language, program_id=program.pk, context=CONTEXT)

    assert SCREENING[language] not in message.body.lower()
    assert "STOP" in message.body and len(message.body) <= 320
    if kind == TemplateKind.RECALL:
        assert HBA1C[language] in message.body


def test_a_diabetes_recall_is_sent_in_the_programmes_words_a_screening_recall_in_its_own():
    # Given a recall rule in each programme and a patient of each due in 10 days
    for code in ("diabetes", "colorectal"):
        program = factories.program(code)
        ReminderRule.objects.create(
            program=program, trigger="before_next_due", kind="recall", days=30,
            at_time=dt.time(10, 0), channel="sms",
        )  # fmt: skip
        patient = factories.PatientFactory(
            sms_consent=True, phone=f"+1617555{len(code):04d}", preferred_language="es"
        )
        CareGap.objects.create(
            patient=patient, program=program, status=CareGapStatus.UP_TO_DATE, as_of=TODAY,
            summary="Up to date", next_due_on=TODAY + dt.timedelta(days=10), rule_version=1,
        )  # fmt: skip

    # When the recalls are scheduled
    made = {message.subject_key.split(":")[2]: message for message in recall_messages_schedule(
        today=TODAY
    )}  # fmt: skip

    # Then each says what its programme is about
    diabetes = made[str(factories.program("diabetes").pk)]
    colorectal = made[str(factories.program("colorectal").pk)]
    assert "prueba de HbA1c" in diabetes.body and "detección" not in diabetes.body
    assert "detección" in colorectal.body


def test_staff_text_names_a_control_programmes_work_without_calling_it_screening():
    assert program_work(factories.program("diabetes")) == "diabetes control"
    assert program_work(factories.program("colorectal")) == "colorectal cancer screening"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("step", ["first_call", "prep_call", "reminder_call"])
def test_a_diabetes_case_has_call_guides_about_the_hba1c_and_classes_not_a_screening(
    step, language
):
    pick = call_guide_for(diabetes_case(language), step, language=language)

    assert pick.guide is not None and pick.guide.language == language and not pick.note
    text = f"{pick.guide.title}\n{pick.guide.talking_points}\n{pick.guide.barriers_and_answers}"
    assert "A1c" in text
    assert SCREENING[language] not in text.lower()


def test_a_step_without_a_diabetes_guide_says_so_in_the_programmes_words():
    pick = call_guide_for(diabetes_case("en"), "abnormal_result_call")

    assert pick.guide is None
    assert "guide for diabetes control yet" in pick.note and "screening" not in pick.note


def test_the_follow_up_email_names_the_diabetes_control_case():
    case = diabetes_case("en", navigator__user__email="nav@example.org")
    reminder = FollowUpReminder.objects.create(case=case, navigator=case.navigator, due_on=TODAY)

    follow_up_reminder_send_email(reminder_id=reminder.pk)

    [email] = mail.outbox
    assert "diabetes control case #" in email.body and "screening" not in email.body
