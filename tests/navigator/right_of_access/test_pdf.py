"""The readable PDF of a patient's record: each section, in words, page numbers."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from navigator.right_of_access.pdf import patient_pdf
from navigator.right_of_access.pdf_layout import FONT
from navigator.right_of_access.records import patient_record_for
from tests import factories
from tests.support.patient_record import seed_full_record

pytestmark = pytest.mark.django_db


def pdf_text(rows, *, prepared_on=dt.date(2026, 12, 4)) -> tuple[str, int]:
    record = patient_record_for(
        user=factories.ManagerFactory(), patient_id=rows["patients.Patient"].pk
    )
    reader = PdfReader(io.BytesIO(patient_pdf(record, prepared_on=prepared_on)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    # Lines wrap inside table cells: compare with single spaces.
    return re.sub(r"\s+", " ", text), len(reader.pages)


def test_the_pdf_says_what_it_is_for_whom_and_when():
    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    text, _ = pdf_text(rows)
    assert "Prepared on Dec 4, 2026 for GivenAlpha FamilyAlpha under 45 CFR 164.524" in text


def test_the_pdf_has_a_section_for_each_kind_of_record_with_its_items():
    # Given a patient with a row of every kind
    rows = seed_full_record(marker="Alpha", phone="+16175550101")

    # When the PDF is made
    text, _ = pdf_text(rows)

    # Then each section is there, with the items in words
    for heading in (
        "About you",
        "Referrals to patient navigation",
        "Screening status",
        "Screening tests and results recorded in EquiNav",
        "Health records received from your clinics' systems",
        "What happened, in order",
        "Calls, texts and visits",
        "Barriers to screening",
        "Appointments",
        "Test kits mailed",
        "Next steps a result called for",
        "Tasks for staff",
        "Interpreters arranged",
        "Coaching sessions",
        "Your goals",
        "Group classes",
        "Reminders to your navigator to follow up",
        "Messages and letters to you",
        "Text messages you sent",
        "Figures kept for EquiNav's quality reports",
        "Problems found in records sent about you",
        "Records found to be yours and combined into this one",
        "Text messages stopped",
    ):
        assert heading in text, heading
    for item in (
        "Referral reason Alpha",
        "Care gap summary Alpha",
        "Note Alpha",
        "Attempt note Alpha",
        "Barrier action Alpha",
        "Site Alpha",
        "Task Alpha",
        "Message text Alpha",
        "Inbound text Alpha",
        "Interpreter Alpha",
        "Coaching note Alpha",
        "Goal Alpha",
        "Series Alpha",
        "carries the same medical record number as another record",
        "DupAlpha FamilyAlpha",
        "Asian; Hispanic or Latino",
        "(617) 555-0101",
        "alpha@example.org",
        "Alpha Main Street",
        "CMS130",
    ):
        assert item in text, item
    # And who did what, by name
    navigator = rows["navigator.NavigationCase"].navigator.user
    assert navigator.get_full_name() in text


def test_each_page_is_numbered_of_the_total():
    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    text, pages = pdf_text(rows)
    assert pages > 1
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in text


def test_the_pdf_holds_nothing_of_another_patient():
    alpha = seed_full_record(marker="Alpha", phone="+16175550101")
    seed_full_record(marker="Bravo", phone="+16175550102")
    text, _ = pdf_text(alpha)
    assert "Bravo" not in text
    assert "555-0102" not in text


@pytest.mark.skipif(FONT == "Helvetica", reason="DejaVu Sans is not installed here")
def test_a_name_beyond_latin_1_is_printed_as_typed():
    # Given a patient whose name is Vietnamese
    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    patient = rows["patients.Patient"]
    patient.given_name, patient.family_name = "Thị Hồng", "Nguyễn"
    patient.save()

    # Then the PDF prints it as typed
    text, _ = pdf_text(rows)
    assert "for Thị Hồng Nguyễn under 45 CFR 164.524" in text


def test_a_text_longer_than_a_page_is_printed_whole_across_pages():
    # Given a letter whose text is longer than a page
    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    message = rows["outreach.PatientMessage"]
    message.body = " ".join(f"word{n}" for n in range(1500)) + " THE-END"
    message.save()

    # When the PDF is made, Then it is, with the whole text
    text, _ = pdf_text(rows)
    assert "word1499 THE-END" in text


def words_in_order(phrase: str, text: str) -> bool:
    """Every word of `phrase` in `text`, in order, with page furniture allowed between."""
    words, rest = text.split(), 0
    for word in phrase.split():
        try:
            rest = words.index(word, rest) + 1
        except ValueError:
            return False
    return True


def test_a_measure_row_without_a_programme_is_named_by_its_measure():
    # Given a CMS122 row stored before EquiNav runs a diabetes programme (no programme)
    from navigator.right_of_access.document import record_document
    from patients.models import MeasurePopulation

    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    MeasurePopulation.objects.create(
        measure="CMS122",
        program=None,
        patient=rows["patients.Patient"],
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
        denominator_exclusion=False,
        numerator=True,
        age_at_end=60,
        computed_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )

    # When the PDF and the record document are made
    text, _ = pdf_text(rows)
    record = patient_record_for(
        user=factories.ManagerFactory(), patient_id=rows["patients.Patient"].pk
    )
    document = record_document(record, prepared_on=dt.date(2026, 12, 4))

    # Then the row is there, named by the measure's title, and says what it found in the
    # measure's own words (an inverse measure: "Yes" under "Screened" would read as met)
    title = "Diabetes: Glycemic Status Assessment Greater Than 9%"
    found = "Last HbA1c/GMI of the year above 9 %, without a result, or none"
    assert "CMS122" in text
    # A row may break across a page, the next page's table header in between.
    assert words_in_order(title, text) and words_in_order(found, text)
    assert "Screened" not in text.split("CMS122", 1)[1].split("CMS130", 1)[0]
    names = {p["measure"]: p["program_name"] for p in document["measure_populations"]}
    assert names["CMS122"] == title
