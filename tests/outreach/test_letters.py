"""Outreach letters: in the patient's language, as a PDF, for those who may see the case."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from pypdf import PdfReader

from navigator.models import CaseEvent, CaseEventKind, CaseStatus
from outreach.letters.case_letter import LetterError, letter_compose, letter_date, template_check
from outreach.models import MessageTemplate
from patients.models import ScreeningProgram
from tests import factories

NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("America/New_York"))

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOON)]


def patient_case(language: str, program=None, **patient) -> factories.CaseFactory:
    navigator = factories.NavigatorFactory(
        user__first_name="María", user__last_name="Gonçalves", languages=["es", "pt"]
    )
    return factories.CaseFactory(
        navigator=navigator,
        program=program or factories.program("colorectal"),
        status=CaseStatus.CONTACTING,
        patient__preferred_language=language,
        patient__given_name=patient.pop("given_name", "José"),
        patient__family_name=patient.pop("family_name", "Núñez"),
        patient__address_line1="12 Broadway, Apt 3",
        patient__city="Chelsea",
        patient__state="MA",
        patient__postal_code="02150",
        **{f"patient__{key}": value for key, value in patient.items()},
    )


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def nav_client(client):
    def login(case):
        client.force_login(case.navigator.user)
        return client

    return login


def letter_url(case) -> str:
    return reverse("outreach:case_letter", args=[case.pk])


def test_a_spanish_speaking_patient_gets_a_spanish_letter_with_accents(nav_client):
    # Given a patient who prefers Spanish
    case = patient_case("es")

    # When the navigator opens the case's letter
    response = nav_client(case).get(letter_url(case))

    # Then it is a PDF, shown inline, named by the case number only
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="letter-case-{case.pk}.pdf"'
    assert "no-store" in response["Cache-Control"].split(", ")
    # And it reads in Spanish, accents intact, every placeholder filled
    text = pdf_text(response.content)
    flat = " ".join(text.split())
    assert "23 de noviembre de 2026" in flat
    assert "Estimado(a) José Núñez:" in flat
    assert "Su prueba de detección de cáncer colorrectal" in flat
    assert "Me llamo María Gonçalves" in flat
    assert "llámeme al (617) 555-0100" in flat
    assert "intérprete sin costo" in flat
    assert "12 Broadway, Apt 3" in flat and "Chelsea, MA 02150" in flat
    assert f"Referencia: {case.pk}" in flat
    assert "{" not in text and "}" not in text
    # Nothing of a diagnosis or a result
    for word in ("resultado", "anormal", "diagnóstico", "positivo"):
        assert word not in flat.lower()


def test_a_portuguese_letter_writes_its_own_date_and_program(nav_client):
    case = patient_case("pt", given_name="Conceição", family_name="Araújo")
    flat = " ".join(pdf_text(nav_client(case).get(letter_url(case)).content).split())
    assert "23 de novembro de 2026" in flat
    assert "Prezado(a) Conceição Araújo," in flat
    assert "rastreamento de câncer colorretal" in flat
    assert "Referência" in flat


def test_an_english_letter_and_a_program_specific_template_that_wins(nav_client):
    case = patient_case("en", given_name="Ann", family_name="Lee")
    flat = " ".join(pdf_text(nav_client(case).get(letter_url(case)).content).split())
    assert "November 23, 2026" in flat
    assert "Your colorectal cancer screening" in flat

    MessageTemplate.objects.create(
        kind="outreach_letter",
        language="en",
        program=case.program,
        subject="About your colon health check",
        body="Dear {patient_name},\n\nPlease call {navigator_name} at {program_phone}.",
    )
    flat = " ".join(pdf_text(nav_client(case).get(letter_url(case)).content).split())
    assert "About your colon health check" in flat
    assert "Please call María Gonçalves at (617) 555-0100." in flat


def test_a_letter_in_a_language_without_a_template_is_refused_never_sent_in_english(nav_client):
    # Given a patient who reads Vietnamese, for which there is no letter
    case = patient_case("vi", given_name="Lan", family_name="Tran")

    response = nav_client(case).get(letter_url(case))

    assert response.status_code == 409
    assert "No letter in Vietnamese: add a template or call with an interpreter." in (
        response.content.decode()
    )
    assert not CaseEvent.objects.filter(case=case, kind=CaseEventKind.LETTER_PRINTED).exists()


def test_opening_the_letter_records_nothing_and_leaves_the_case_as_it_was(nav_client):
    # Given a case, and its version as the navigator's other tabs show it
    case = patient_case("es")
    version = case.version

    # When the navigator opens the letter's PDF, twice
    client = nav_client(case)
    assert client.get(letter_url(case)).status_code == 200
    assert client.get(letter_url(case)).status_code == 200

    # Then nothing is written: reading is not writing
    case.refresh_from_db()
    assert case.version == version
    assert not CaseEvent.objects.filter(case=case).exists()


def mark_url(case) -> str:
    return reverse("outreach:case_letter_mark", args=[case.pk])


def test_marking_the_letter_printed_then_mailed_puts_each_on_the_timeline_once_a_day(
    nav_client,
):
    # Given a case whose letter the navigator printed, then mailed
    case = patient_case("es")
    client = nav_client(case)

    # When they mark it printed (twice: a second click the same day) and mailed
    printed = client.post(mark_url(case), {"step": "printed"}, HTTP_HX_REQUEST="true")
    client.post(mark_url(case), {"step": "printed"}, HTTP_HX_REQUEST="true")
    mailed = client.post(mark_url(case), {"step": "mailed"}, HTTP_HX_REQUEST="true")

    # Then the page says so, and the timeline has each once, by them, in the language
    assert "Letter marked printed." in printed.content.decode()
    assert "Letter marked mailed." in mailed.content.decode()
    events = CaseEvent.objects.filter(case=case).order_by("pk")
    assert [(e.kind, e.summary, e.actor) for e in events] == [
        (CaseEventKind.LETTER_PRINTED, "Outreach letter printed in Spanish", case.navigator.user),
        (CaseEventKind.LETTER_MAILED, "Outreach letter mailed in Spanish", case.navigator.user),
    ]


def test_a_letter_mark_from_an_old_page_is_kept_and_makes_no_other_form_stale(nav_client):
    # Given the case page as the navigator opened it
    case = patient_case("es")
    client = nav_client(case)
    opened_at = case.version

    # When the letter is marked printed, then a follow-up is set from the same page
    client.post(mark_url(case), {"step": "printed", "version": opened_at})
    response = client.post(
        reverse("navigator:follow_up_set", args=[case.pk]),
        {"next_follow_up": "2026-12-01", "version": opened_at},
    )

    # Then both are saved: a mark overwrites nothing
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.next_follow_up == dt.date(2026, 12, 1)


def test_a_letter_that_cannot_be_made_cannot_be_marked_and_nothing_is_written(nav_client):
    # Given a patient who reads Vietnamese, for which there is no letter
    case = patient_case("vi", given_name="Lan", family_name="Tran")

    response = nav_client(case).post(mark_url(case), {"step": "printed"})

    assert response.status_code == 400
    assert "No letter in Vietnamese" in response.content.decode()
    assert not CaseEvent.objects.filter(case=case).exists()


def test_a_letter_mark_that_is_neither_printed_nor_mailed_is_refused(nav_client):
    case = patient_case("es")

    response = nav_client(case).post(mark_url(case), {"step": "faxed"})

    assert response.status_code == 400
    assert not CaseEvent.objects.filter(case=case).exists()


def test_marking_a_letter_is_scoped_like_the_case(client):
    case = patient_case("es")

    client.force_login(factories.NavigatorFactory().user)
    assert client.post(mark_url(case), {"step": "printed"}).status_code == 404
    client.force_login(factories.ClinicStaffFactory())
    assert client.post(mark_url(case), {"step": "printed"}).status_code == 403
    assert not CaseEvent.objects.filter(case=case).exists()


def test_the_letter_is_scoped_like_the_case(client, manager):
    case = patient_case("es")
    url = letter_url(case)

    # Another navigator gets a 404, as for a case that does not exist
    client.force_login(factories.NavigatorFactory().user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("outreach:case_letter", args=[999999])).status_code == 404
    # Clinic staff may not print letters at all
    client.force_login(factories.ClinicStaffFactory())
    assert client.get(url).status_code == 403
    # A manager may
    client.force_login(manager)
    assert client.get(url).status_code == 200
    # Signed out: to the login page
    client.logout()
    assert client.get(url).status_code == 302


def test_a_closed_case_gets_no_letter(nav_client):
    case = patient_case("es", given_name="Ana")
    case.status = CaseStatus.DECLINED
    case.save()
    response = nav_client(case).get(letter_url(case))
    assert response.status_code == 409
    assert "This case is declined: no letter goes out for it." in response.content.decode()


def test_text_the_letter_font_cannot_print_is_refused_not_printed_with_gaps():
    case = patient_case("es", given_name="Nguyễn")
    with pytest.raises(LetterError, match="characters the letter font cannot print"):
        letter_compose(case, today=NOON.date())


def test_a_template_with_an_unknown_placeholder_or_stray_brace_is_refused():
    with pytest.raises(LetterError, match=r"Unknown placeholder \{result\}"):
        template_check("Your {result} is ready")
    with pytest.raises(LetterError, match="A brace is not closed"):
        template_check("Dear {patient_name")
    template_check("Dear {patient_name}, {{literal}}")


def test_a_program_without_a_name_in_the_letters_language_is_refused():
    skin = ScreeningProgram.objects.create(code="skin", name="Skin cancer", min_age=40, max_age=80)
    case = patient_case("es", program=skin)
    with pytest.raises(LetterError, match="No Spanish name for the Skin cancer program"):
        letter_compose(case, today=NOON.date())


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", "November 30, 2026"),
        ("es", "30 de noviembre de 2026"),
        ("pt", "30 de novembro de 2026"),
        ("ht", "2026-11-30"),
    ],
)
def test_dates_are_written_the_way_the_language_writes_them(language, written):
    assert letter_date(dt.date(2026, 11, 30), language) == written


def test_the_case_page_links_to_the_letter(nav_client):
    case = patient_case("es")
    html = nav_client(case).get(reverse("navigator:case_detail", args=[case.pk])).content.decode()
    assert f'href="{letter_url(case)}"' in html
    assert "Print the outreach letter in Spanish" in html
