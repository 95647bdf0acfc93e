"""The diabetes programme's words in every language the app ships (issue 16): a call
guide for each call of a control case in English, Spanish and Portuguese that speaks of
the HbA1c check and the coaching (outreach migrations 0020 and 0021), and texts sent by
SMS or e-mail that never name diabetes (a lock screen or a shared inbox is not
private; letters, sealed, and call guides, read by staff, may)."""

from __future__ import annotations

import re

import pytest

from navigator.models import CaseStatus
from outreach.models import MessageTemplate, TemplateKind
from outreach.selectors import call_guide_for
from tests import factories

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "es", "pt"]
STEPS = ["first_call", "prep_call", "reminder_call"]
SCREENING = {"en": "screening", "es": "detección", "pt": "rastreamento"}
COACHING = {"en": "coaching", "es": "orientación", "pt": "orientação"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("step", STEPS)
def test_each_call_of_a_diabetes_case_has_a_guide_in_the_patients_language(step, language):
    # Given a diabetes case of a patient who speaks the language
    case = factories.CaseFactory(
        program=factories.program("diabetes"), status=CaseStatus.CONTACTING,
        patient__preferred_language=language,
    )  # fmt: skip

    # When the navigator opens the call guide for the step
    pick = call_guide_for(case, step)

    # Then it is in their language, about the A1c and the coaching, never a screening
    assert pick.guide is not None and pick.guide.language == language, pick.note
    text = f"{pick.guide.title}\n{pick.guide.talking_points}\n{pick.guide.barriers_and_answers}"
    assert "A1c" in text
    assert COACHING[language] in text.lower()
    assert SCREENING[language] not in text.lower()


def test_no_text_sent_by_sms_or_email_for_the_diabetes_programme_names_diabetes():
    # Given every text the diabetes programme would send (its own, else the default),
    # in every language, other than its sealed letter
    program = factories.program("diabetes")
    kinds = [kind for kind in TemplateKind.values if kind != TemplateKind.OUTREACH_LETTER]
    sent = []
    for kind in kinds:
        for language in LANGUAGES:
            own = MessageTemplate.objects.filter(kind=kind, language=language, program=program)
            default = MessageTemplate.objects.filter(
                kind=kind, language=language, program__isnull=True
            )
            template = own.first() or default.first()
            if template is not None:
                sent.append(template)
    assert sent

    # Then none names the condition, in any of the languages
    named = [
        (template.kind, template.language)
        for template in sent
        if re.search(r"diab[eé]t", f"{template.subject} {template.body}", re.IGNORECASE)
    ]
    assert named == []
