"""Outreach letters: a case's letter in the patient's written language, as a PDF.

The text comes from a `MessageTemplate` (kind outreach_letter) for the patient's
written language (`Patient.written_language_effective`: the written language, else the
preferred spoken one): the program's own, else the default for that language.
Without one, the letter is refused with what to do instead; it is never sent in
English to a patient who reads something else. The letter names the screening
and the navigator, never a diagnosis or result (the templates hold to that).

PDFs are set in Helvetica, one of the fonts every PDF reader has. It covers
Latin-1 (English, Spanish, Portuguese and their accents); a template with
characters beyond it is refused rather than printed with gaps.
"""

from __future__ import annotations

import datetime as dt
import io
import string
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from django.db.models import Q
from django.utils import formats, translation
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from navigator.models import NavigationCase
from outreach.models import MessageTemplate, TemplateKind
from patients.languages import language_name
from patients.models import Patient, ProgramKind

PLACEHOLDERS = {
    "patient_name": "the patient's full name",
    "program": "the screening, in the letter's language (e.g. “cáncer colorrectal”)",
    "navigator_name": "the case's navigator",
    "program_phone": "the number to call",
    "organization": "the organization on the letterhead",
    "date": "today's date, written in the letter's language",
}

# The seeded programs, named as a letter would name them.
PROGRAM_NAMES: dict[str, dict[str, str]] = {
    "colorectal": {
        "en": "colorectal cancer",
        "es": "cáncer colorrectal",
        "pt": "câncer colorretal",
    },
    "breast": {"en": "breast cancer", "es": "cáncer de mama", "pt": "câncer de mama"},
    "cervical": {
        "en": "cervical cancer",
        "es": "cáncer de cuello uterino",
        "pt": "câncer do colo do útero",
    },
    "lung": {"en": "lung cancer", "es": "cáncer de pulmón", "pt": "câncer de pulmão"},
    "diabetes": {"en": "diabetes", "es": "diabetes", "pt": "diabetes"},
}

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
    "pt": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
           "setembro", "outubro", "novembro", "dezembro"],
}  # fmt: skip

REFERENCE = {"en": "Reference", "es": "Referencia", "pt": "Referência"}

# Helvetica's encoding in a PDF (WinAnsi): Latin-1 and a few more.
PDF_ENCODING = "cp1252"


class LetterError(Exception):
    """A letter that cannot be printed, with what to do instead."""


def letter_date(day: dt.date, language: str) -> str:
    """`day` as a letter in `language` writes it: "November 30, 2026", "30 de noviembre de 2026"."""
    if language == "en":
        return f"{MONTHS['en'][day.month - 1]} {day.day}, {day.year}"
    if language in MONTHS:
        return f"{day.day} de {MONTHS[language][day.month - 1]} de {day.year}"
    if translation.check_for_language(language):
        # Another language Django knows: its own long date format and month names.
        with translation.override(language):
            return formats.date_format(day, "DATE_FORMAT")
    # Neither: digits in the one order nobody misreads.
    return day.isoformat()


def placeholders_in(text: str) -> set[str]:
    """The {placeholders} a template uses; a ValueError for a stray brace."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def template_check(text: str) -> None:
    """Refuse template text with unknown placeholders or stray braces (for forms and admin)."""
    try:
        used = placeholders_in(text)
    except ValueError as error:
        raise LetterError(
            f"A brace is not closed or not opened ({error}); write placeholders as "
            "{patient_name}, and a literal brace as {{ or }}."
        ) from None
    unknown = sorted(used - PLACEHOLDERS.keys())
    if unknown:
        raise LetterError(
            "Unknown placeholder "
            + ", ".join("{" + name + "}" for name in unknown)
            + "; use: "
            + ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            + "."
        )


def letter_template_for(case: NavigationCase) -> MessageTemplate:
    language = case.patient.written_language_effective
    templates = {
        template.program_id: template
        for template in MessageTemplate.objects.filter(
            Q(program_id=case.program_id) | Q(program__isnull=True),
            kind=TemplateKind.OUTREACH_LETTER,
            language=language,
        )
    }
    template = templates.get(case.program_id)
    if template is None and case.program.kind != ProgramKind.CONTROL:
        template = templates.get(None)
    if template is None and case.program.kind == ProgramKind.CONTROL:
        # The default letter invites to a screening: a control programme's patient is
        # asked to a lab check and coaching, in the programme's own letter.
        raise LetterError(
            f"No {case.program.name} letter in {language_name(language)}: the default letter "
            "is about a screening. Add this programme's letter, or call."
        )
    if template is None:
        raise LetterError(
            f"No letter in {language_name(language)}: add a template or call with an interpreter."
        )
    return template


@dataclass(frozen=True)
class Letter:
    language: str
    template_id: int
    date: str
    organization: str
    letterhead: list[str]
    recipient: list[str]
    subject: str
    body: str
    reference: str


def letterhead() -> dict:
    head = getattr(settings, "EQUINAV_LETTERHEAD", {})
    return {
        "organization": head.get("organization") or "EquiNav Patient Navigation",
        "address": list(head.get("address") or []),
        "phone": head.get("phone") or "",
    }


def program_phone(case: NavigationCase) -> str:
    phones = getattr(settings, "EQUINAV_PROGRAM_PHONES", {}) or {}
    return phones.get(case.program.code) or letterhead()["phone"]


def letter_compose(case: NavigationCase, *, today: dt.date) -> Letter:
    """The letter's text for `case`, placeholders filled; LetterError if it cannot be."""
    if not case.is_open:
        raise LetterError(
            f"This case is {case.get_status_display().lower()}: no letter goes out for it."
        )
    if case.navigator is None:
        raise LetterError("Assign a navigator first: the letter is signed by the navigator.")
    template = letter_template_for(case)
    language = template.language
    patient = case.patient
    phone = program_phone(case)
    if not phone:
        raise LetterError("No number for the patient to call: set EQUINAV_LETTER_PHONE.")
    head = letterhead()
    program_name = PROGRAM_NAMES.get(case.program.code, {}).get(language)
    if program_name is None and language == "en":
        program_name = case.program.name.lower()
    uses = placeholders_in(template.subject) | placeholders_in(template.body)
    if program_name is None and "program" in uses:
        raise LetterError(
            f"No {language_name(language)} name for the {case.program.name} program: add a "
            f"{language_name(language)} letter for this program that names the screening."
        )
    values = {
        "patient_name": f"{patient.given_name} {patient.family_name}".strip(),
        "program": program_name or "",
        "navigator_name": str(case.navigator),
        "program_phone": phone,
        "organization": head["organization"],
        "date": letter_date(today, language),
    }
    try:
        template_check(template.subject)
        template_check(template.body)
        subject = template.subject.format(**values)
        body = template.body.format(**values)
    except (LetterError, KeyError, IndexError, ValueError) as error:
        raise LetterError(
            f"The {language_name(language)} letter template cannot be filled in: {error}"
        ) from None
    letter = Letter(
        language=language,
        template_id=template.pk,
        date=values["date"],
        organization=head["organization"],
        letterhead=[*head["address"], head["phone"]] if head["phone"] else head["address"],
        recipient=[values["patient_name"], *postal_address(patient)],
        subject=subject,
        body=body,
        reference=f"{REFERENCE.get(language, 'Ref.')}: {case.pk}",
    )
    _check_printable(letter)
    return letter


def _check_printable(letter: Letter) -> None:
    text = "\n".join(
        [letter.date, letter.organization, *letter.letterhead, *letter.recipient,
         letter.subject, letter.body, letter.reference]
    )  # fmt: skip
    missing = unprintable(text)
    if missing:
        raise LetterError(
            f"The {language_name(letter.language)} letter has characters the letter font cannot "
            f"print ({' '.join(missing[:10])}); call with an interpreter instead."
        )


def _encodable(ch: str) -> bool:
    try:
        ch.encode(PDF_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def unprintable(text: str) -> list[str]:
    """The characters of `text` the letter font cannot print, sorted (none: [])."""
    return sorted({ch for ch in text if not _encodable(ch)})


def postal_address(patient: Patient) -> list[str]:
    """The patient's postal address as an envelope shows it, blank lines left out:
    street, second line, "City, ST 02150"."""
    city_line = " ".join(
        part
        for part in (
            ", ".join(p for p in (patient.city, patient.state) if p),
            patient.postal_code,
        )
        if part
    )
    return [line for line in (patient.address_line1, patient.address_line2, city_line) if line]


def letter_styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName="Helvetica", fontSize=11, leading=15, spaceAfter=9)
    return {
        "body": base,
        "head": ParagraphStyle(
            "head", parent=base, fontName="Helvetica-Bold", fontSize=13, spaceAfter=2
        ),  # fmt: skip
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=12, spaceAfter=0),
        "subject": ParagraphStyle("subject", parent=base, fontName="Helvetica-Bold"),
        "plain": ParagraphStyle("plain", parent=base, spaceAfter=0),
    }


def line_breaks(lines: list[str]) -> str:
    """Lines as one paragraph's markup: each escaped, joined by line breaks."""
    return "<br/>".join(escape(line) for line in lines)


def letter_pdf(letter: Letter, *, title: str) -> bytes:
    """The letter as a one-page PDF (US Letter). `title` goes in the PDF's metadata:
    keep it free of patient details."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=inch,
        rightMargin=inch,
        topMargin=0.8 * inch,
        bottomMargin=0.8 * inch,
        title=title,
        author=letter.organization,
        lang=letter.language,
    )
    style = letter_styles()
    story = [
        Paragraph(escape(letter.organization), style["head"]),
        Paragraph(line_breaks(letter.letterhead), style["small"]),
        Spacer(1, 0.35 * inch),
        Paragraph(escape(letter.date), style["plain"]),
        Spacer(1, 0.25 * inch),
        Paragraph(line_breaks(letter.recipient), style["plain"]),
        Spacer(1, 0.35 * inch),
        Paragraph(escape(letter.subject), style["subject"]),
    ]
    for paragraph in letter.body.replace("\r\n", "\n").split("\n\n"):
        if paragraph.strip():
            story.append(Paragraph(line_breaks(paragraph.strip().split("\n")), style["body"]))
    story += [Spacer(1, 0.3 * inch), Paragraph(escape(letter.reference), style["small"])]
    document.build(story)
    return buffer.getvalue()
