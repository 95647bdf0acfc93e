"""Patient text and email messages: the right template, in the patient's written language
(`Patient.written_language_effective`: the written language, else the spoken one), with
nothing in it that a patient's family reading their phone should not see.

Two rules from issue 5 live here:
- a message goes out only in the patient's own language; where no template exists
  in it, `message_compose` refuses (`NoTemplateInLanguage`) and the caller makes a
  navigator task to call with an interpreter instead, never English by default;
- minimum necessary: templates may use only placeholders that carry no clinical
  detail (a first name, a date, a time, a place, a phone number), and template
  text may not speak of results or diagnoses, in any of the seeded languages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Q

from outreach.letters.case_letter import placeholders_in
from outreach.models import MessageTemplate, TemplateKind
from patients.languages import language_name

# What a patient message may say about the patient and their care, and no more.
PLACEHOLDERS: dict[str, str] = {
    "first_name": "the patient's first name",
    "appointment_date": "the appointment's day, written in the message's language",
    "appointment_time": "the appointment's time",
    "site": "where the appointment is",
    "program_phone": "the number to call",
    "organization": "who is writing",
    "navigator_name": "the patient's navigator",
}

PATIENT_MESSAGE_KINDS = frozenset(TemplateKind) - {TemplateKind.OUTREACH_LETTER}

# Words that would put a result or a diagnosis into a text or an email. A template
# is refused if it contains one (whole words, any case; en, es, pt).
CLINICAL_WORDS = (
    r"abnormal|positive|negative|results?|diagnos\w*|tumou?rs?|polyps?|biops\w*|malignan\w*"
    r"|anormal(?:es)?|positivos?|negativos?|resultados?|diagn[oó]stic\w*|p[oó]lipos?|biopsia"
    r"|tumores?|malign[oa]s?|anormais"
)
_CLINICAL = re.compile(rf"\b(?:{CLINICAL_WORDS})\b", re.IGNORECASE)


class MessageTemplateError(ValueError):
    """Template text that cannot be used, with what to change."""


class NoTemplateInLanguage(LookupError):
    """No template of this kind in the patient's language: call with an interpreter."""

    def __init__(self, kind: str, language: str) -> None:
        self.kind = kind
        self.language = language
        super().__init__(
            f"No “{TemplateKind(kind).label.lower()}” message in {language_name(language)}: "
            "a navigator calls with an interpreter instead."
        )


def template_check(*, subject: str, body: str) -> None:
    """Refuse stray braces, unknown placeholders and clinical words, naming each."""
    for part, text in (("subject", subject), ("body", body)):
        try:
            used = placeholders_in(text)
        except ValueError as error:
            raise MessageTemplateError(
                f"In the {part}: a brace is not closed or not opened ({error}); write "
                "placeholders as {first_name}, and a literal brace as {{ or }}."
            ) from None
        unknown = sorted(used - PLACEHOLDERS.keys())
        if unknown:
            raise MessageTemplateError(
                f"In the {part}: unknown placeholder "
                + ", ".join("{" + name + "}" for name in unknown)
                + "; use: "
                + ", ".join("{" + name + "}" for name in PLACEHOLDERS)
                + "."
            )
        found = _CLINICAL.search(text)
        if found:
            raise MessageTemplateError(
                f"In the {part}: “{found.group(0)}” would put a result or a diagnosis in a "
                "patient's texts or email; say only when and where, and ask them to call."
            )


@dataclass(frozen=True)
class ComposedMessage:
    template_id: int
    language: str
    subject: str
    body: str


def template_for(*, kind: str, language: str, program_id: int | None) -> MessageTemplate:
    """The program's own template of this kind and language, else the default one."""
    candidates = {
        template.program_id: template
        for template in MessageTemplate.objects.filter(
            Q(program_id=program_id) | Q(program__isnull=True), kind=kind, language=language
        )
    }
    template = candidates.get(program_id) or candidates.get(None)
    if template is None:
        raise NoTemplateInLanguage(kind, language)
    return template


def message_compose(
    *, kind: str, language: str, program_id: int | None, context: Mapping[str, str]
) -> ComposedMessage:
    """The message text for a patient, or NoTemplateInLanguage.

    `context` must provide every placeholder the template uses; a missing one is
    a programming error (KeyError), never a message with a hole in it.
    """
    if kind not in PATIENT_MESSAGE_KINDS:
        raise ValueError(f"{kind!r} is not a patient message kind")
    template = template_for(kind=kind, language=language, program_id=program_id)
    template_check(subject=template.subject, body=template.body)
    used = placeholders_in(template.subject) | placeholders_in(template.body)
    values = {name: context[name] for name in used}
    subject = template.subject.format_map(values)
    body = template.body.format_map(values)
    # The template is clean; a value put into it may not be (a site called "Biopsy
    # Suite"): what goes out is checked, not only what was written.
    found = _CLINICAL.search(f"{subject}\n{body}")
    if found:
        raise MessageTemplateError(
            f"the text filled in would say “{found.group(0)}” (from a name or a place in "
            "it), which could give away a result or a diagnosis"
        )
    return ComposedMessage(template_id=template.pk, language=language, subject=subject, body=body)
