"""The record as a PDF a person can read: one section per kind of record, in plain
words, with dates and who did what, each page numbered ("Page 2 of 7").

It says the same as the FHIR bundle (`fhir_bundle`), laid out for the patient:
first who they are to EquiNav, then referrals, screening status and tests, what
came from their health records, each navigation case (`pdf_cases`) with its
timeline, calls, barriers, appointments and tasks, then every message with its text.
Page, type and tables: `pdf_layout`.

The font (DejaVu Sans where installed, else Helvetica) is `pdf_layout`'s choice.
"""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings
from reportlab.lib.pagesizes import LETTER
from reportlab.platypus import SimpleDocTemplate, Spacer

from navigator.right_of_access.pdf_cases import case_section
from navigator.right_of_access.pdf_layout import (
    MARGIN,
    SUBHEADING,
    SUBTITLE,
    TITLE,
    NumberedCanvas,
    Story,
    day,
    moment,
    para,
    yes_no,
)
from navigator.right_of_access.records import (
    PatientRecord,
    population_outcome,
    population_program_name,
    staff_name,
    warning_words,
)
from patients.languages import language_name


def _about(story: Story, record: PatientRecord) -> None:
    patient = record.patient
    story.heading("About you")
    races = "; ".join(entry.get_category_display() for entry in record.race_ethnicities)
    address = ", ".join(
        part
        for part in (
            patient.address_line1,
            patient.address_line2,
            patient.city,
            patient.state,
            patient.postal_code,
        )  # fmt: skip
        if part
    )
    phones = "\n".join(
        f"{phone.number.as_national} ({phone.get_kind_display()})"
        + (" - marked wrong or disconnected" if phone.is_bad else "")
        + (f" - texts not deliverable: {phone.undeliverable}" if phone.undeliverable else "")
        for phone in record.phones
    )
    story.facts(
        [
            ("Name", patient.full_name),
            ("Date of birth", day(patient.birth_date)),
            ("Sex", patient.get_sex_display()),
            ("Clinic", patient.clinic.name),
            ("Medical record number", patient.mrn),
            ("EquiNav record number", str(patient.pk)),
            ("Preferred language", f"{patient.language_name} "
             f"({patient.get_language_status_display()}"
             + (f"; {patient.get_language_source_display()}" if patient.language_source else "")
             + ")"),
            ("Written language", patient.written_language_name),
            ("Speaks English", patient.get_english_proficiency_display()),
            ("Interpreter needed", yes_no(patient.interpreter_needed)),
            ("Race and ethnicity", (races or "Not recorded")
             + (f" ({patient.get_race_ethnicity_source_display()})"
                if patient.race_ethnicity_source else "")),
            ("Phones", phones or "None on file"),
            ("E-mail", patient.email or "None on file"),
            ("Address", address or "None on file"),
            ("Best time to reach you", patient.best_contact_times),
            ("Preferred way to reach you", patient.get_preferred_channel_display()),
            ("Agrees to text messages", yes_no(patient.sms_consent)
             + (f" (since {moment(patient.sms_consent_at)})" if patient.sms_consent_at else "")),
            ("Insurance", patient.get_insurance_type_display()),
            ("Smoking", patient.get_smoking_status_display()
             + (f", {patient.smoking_pack_years} pack-years"
                if patient.smoking_pack_years is not None else "")),
            ("Recorded as deceased", yes_no(patient.deceased)),
            ("Record created", moment(patient.created_at)),
            ("Last changed", moment(patient.updated_at)),
        ]
    )  # fmt: skip
    if record.sms_opt_outs:
        story.heading("Text messages stopped", SUBHEADING)
        story.table(
            ["Since", "Number", "Word texted"],
            [[moment(o.opted_out_at), o.number, o.keyword] for o in record.sms_opt_outs],
            [2, 2, 1.5],
            "",
        )
    if record.source_links:
        story.heading("Your records in clinics' systems", SUBHEADING)
        story.table(
            ["System", "Your id there", "Linked on"],
            [
                [link.source.name, link.resource_id, moment(link.linked_at)]
                for link in record.source_links
            ],  # fmt: skip
            [3, 2, 2],
            "",
        )
    if record.merges:
        story.heading("Records found to be yours and combined into this one", SUBHEADING)
        story.table(
            ["Combined on", "By", "That record said"],
            [
                [
                    moment(m.at),
                    staff_name(m.actor),
                    f"{m.duplicate.full_name}, born {day(m.duplicate.birth_date)}, "
                    f"{m.duplicate.clinic.name}, MRN {m.duplicate.mrn or 'none'} (record "
                    f"{m.duplicate_id})",
                ]
                for m in record.merges
            ],  # fmt: skip
            [1.5, 1.5, 4],
            "",
        )


def _health(story: Story, record: PatientRecord) -> None:
    story.heading("Referrals to patient navigation")
    story.table(
        ["Date", "For", "Referred by", "Reason"],
        [
            [
                moment(r.created_at),
                r.program.name,
                f"{r.referring_clinician}, {r.clinic.name} (sent by {staff_name(r.created_by)})",
                r.reason
                + (
                    f"\nOutside the program's criteria: {r.eligibility_override_reason}"
                    if r.eligibility_override_reason
                    else ""
                ),
            ]
            for r in record.referrals
        ],  # fmt: skip
        [1.4, 1.6, 2.2, 2.8],
        "No referrals.",
    )
    story.heading("Screening status")
    story.table(
        ["Screening", "Status", "Why", "Last test", "Next due"],
        [
            [
                g.program.name,
                f"{g.get_status_display()} (as of {day(g.as_of)})",
                g.summary,
                f"{g.last_modality.name if g.last_modality else ''} {day(g.last_screening_on)}",
                day(g.next_due_on),
            ]
            for g in record.care_gaps
        ],  # fmt: skip
        [1.5, 1.4, 3, 1.4, 1],
        "Not worked out yet.",
    )
    story.heading("Screening tests and results recorded in EquiNav")
    story.table(
        ["Done on", "Test", "Result", "Result back", "Recorded by"],
        [
            [
                day(s.performed_on),
                f"{s.modality.name} ({s.modality.program.name})",
                s.result_words,
                day(s.resulted_on),
                staff_name(s.recorded_by)
                or ("Your clinic's records" if s.clinical_resource_id else ""),
            ]
            for s in record.screenings
        ],  # fmt: skip
        [1.1, 2.2, 1.8, 1.1, 1.6],
        "None.",
    )
    story.heading("Health records received from your clinics' systems")
    story.table(
        ["Kind", "What", "Date", "From", "Received"],
        [
            [
                c.resource_type,
                _resource_words(c.resource),
                _resource_date(c.resource),
                c.source.name,
                moment(c.imported_at),
            ]
            for c in record.clinical_resources
        ],  # fmt: skip
        [1.3, 2.8, 1.1, 1.4, 1.3],
        "None.",
    )


def _resource_words(resource: dict) -> str:
    for key in ("code", "vaccineCode", "type", "class"):
        concept = resource.get(key)
        if isinstance(concept, list):
            concept = concept[0] if concept else None
        if isinstance(concept, dict):
            if concept.get("text"):
                return str(concept["text"])
            codings = concept.get("coding") or []
            if codings:
                first = codings[0]
                code = f"{first.get('system', '')} {first.get('code', '')}"
                return str(first.get("display") or code)
        elif isinstance(concept, str):
            return concept
    return resource.get("status", "")


def _resource_date(resource: dict) -> str:
    for key in ("effectiveDateTime", "performedDateTime", "onsetDateTime", "recordedDate",
                "occurrenceDateTime", "issued", "date", "authoredOn"):  # fmt: skip
        if resource.get(key):
            return str(resource[key])[:10]
    for key in ("effectivePeriod", "performedPeriod", "period"):
        if isinstance(resource.get(key), dict) and resource[key].get("start"):
            return str(resource[key]["start"])[:10]
    return ""


def _messages(story: Story, record: PatientRecord) -> None:
    story.heading("Messages and letters to you")
    story.table(
        ["When", "What", "How, to", "Status", "Text"],
        [
            [
                moment(m.sent_at or m.due_at),
                m.get_kind_display(),
                f"{m.get_channel_display()}"
                + (f", {m.recipient}" if m.recipient else "")
                + f" ({language_name(m.language)})",
                m.get_state_display() + (f": {m.state_reason}" if m.state_reason else ""),
                "\n".join(x for x in (m.subject, m.body) if x),
            ]
            for m in record.messages
        ],  # fmt: skip
        [1.3, 1.4, 1.5, 1.3, 3],
        "None.",
    )
    story.heading("Text messages you sent")
    story.table(
        ["Received", "From", "Text"],
        [[moment(t.received_at), t.from_number, t.body] for t in record.inbound_texts],
        [1.5, 1.5, 5],
        "None.",
    )


def _kept(story: Story, record: PatientRecord) -> None:
    story.heading("Figures kept for EquiNav's quality reports")
    story.text(
        "EquiNav counts, for each quality measure and year, who should have been screened "
        "or tested, and what was found. You are counted in these:"
    )
    story.table(
        ["Measure", "Programme", "Period", "What it found", "Not counted (exclusion)", "Age"],
        [
            [
                p.measure,
                population_program_name(p),
                f"{day(p.period_start)} - {day(p.period_end)}",
                population_outcome(p),
                yes_no(p.denominator_exclusion),
                p.age_at_end,
            ]
            for p in record.measure_populations
        ],  # fmt: skip
        [1.0, 1.5, 1.9, 2.0, 0.9, 0.5],
        "None.",
    )
    if record.data_quality_warnings:
        story.heading("Problems found in records sent about you", SUBHEADING)
        story.table(
            ["Found", "From", "Problem", "Resolved"],
            [
                [
                    moment(w.created_at),
                    w.source.name,
                    warning_words(w),
                    moment(w.resolved_at) or "No",
                ]
                for w in record.data_quality_warnings
            ],  # fmt: skip
            [1.3, 1.5, 4, 1.3],
            "",
        )


def patient_pdf(record: PatientRecord, *, prepared_on: dt.date) -> bytes:
    """The report, as the bytes of a PDF."""
    patient = record.patient
    story = Story()
    story.items.append(para("Everything EquiNav holds on you", TITLE))
    story.items.append(
        para(
            f"Prepared on {day(prepared_on)} for {patient.full_name} under 45 CFR 164.524 "
            "(your right of access to your health information).",
            SUBTITLE,
        )  # fmt: skip
    )
    story.text(
        "EquiNav is the patient navigation program that helps you get screened. This report "
        "lists everything it holds about you: who you are to it, your referrals, your "
        "screening status and tests, what your clinics' systems sent, the work of your "
        "navigators on each case, and every message sent to you or received from you. "
        f"Times are in the {settings.TIME_ZONE} time zone. The same record comes as a FHIR "
        "file for your health apps."
    )
    story.items.append(Spacer(1, 4))
    _about(story, record)
    _health(story, record)
    for case in record.cases:
        case_section(story, record, case)
    if not record.cases:
        story.heading("Navigation cases")
        story.text("None.")
    _messages(story, record)
    _kept(story, record)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"Patient {patient.pk}: right of access",
        author="EquiNav",
    )
    document.build(story.items, canvasmaker=NumberedCanvas)
    return buffer.getvalue()
