"""The day's printed batch of reminder letters: what gets printed, the PDF, the page."""

from __future__ import annotations

import datetime as dt
import io

import factory
import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from pypdf import PdfReader

from navigator.models import CaseEvent, CaseEventKind
from outreach.letters.batches import (
    LetterBatchError,
    NoLetterBatch,
    letter_batch_pdf,
    letter_batch_print,
)
from outreach.models import MessageState, PatientMessage
from outreach.selectors import letters_due
from tests import factories

# 10 a.m. in Boston on Tuesday, November 24, 2026.
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 24)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


class LetterFactory(factory.django.DjangoModelFactory):
    """A kit-return reminder letter, scheduled for an hour ago, to a patient in Boston
    with a postal address, about their case."""

    class Meta:
        model = PatientMessage

    patient = factory.SubFactory(
        factories.PatientFactory,
        time_zone="America/New_York",
        address_line1="12 Broadway, Apt 3",
        city="Chelsea",
        state="MA",
        postal_code="02150",
    )
    case = factory.LazyAttribute(lambda letter: factories.CaseFactory(patient=letter.patient))
    kind = "kit_return"
    channel = "letter"
    language = "en"
    subject = "Your test kit"
    body = "Dear patient,\n\nPlease send back your test kit.\n\nThank you."
    rule_key = factory.Sequence(lambda n: f"rule:{n}")
    subject_key = factory.Sequence(lambda n: f"kit:{n}")
    slot = TODAY
    due_at = factory.LazyFunction(lambda: NOW - dt.timedelta(hours=1))
    state = MessageState.SCHEDULED


@pytest.fixture
def manager():
    return factories.ManagerFactory()


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


# --- Printing ----------------------------------------------------------------------------


def test_printing_the_day_marks_every_due_letter_sent_in_that_days_batch(manager):
    # Given two letters due this morning and one due a week ago, never printed
    letters = [LetterFactory(), LetterFactory(), LetterFactory(due_at=NOW - dt.timedelta(days=7))]

    # When the mail room prints today's batch
    printed = letter_batch_print(day=TODAY, actor=manager)

    # Then all three are sent, now, in today's batch
    assert printed == 3
    for letter in letters:
        letter.refresh_from_db()
        assert letter.state == MessageState.SENT
        assert letter.sent_at == NOW
        assert letter.printed_on == TODAY


def test_printing_twice_the_same_day_prints_only_the_letters_added_since(manager):
    # Given today's batch already printed
    first = LetterFactory()
    assert letter_batch_print(day=TODAY, actor=manager) == 1

    # When it is printed again, nothing new being due
    again = letter_batch_print(day=TODAY, actor=manager)

    # Then nothing more is printed, and the first letter is untouched
    assert again == 0
    first.refresh_from_db()
    assert (first.state, first.printed_on, first.sent_at) == (MessageState.SENT, TODAY, NOW)

    # And a letter scheduled later that day joins the same day's batch on the next run
    later = LetterFactory()
    assert letter_batch_print(day=TODAY, actor=manager) == 1
    later.refresh_from_db()
    assert later.printed_on == TODAY
    assert PatientMessage.objects.filter(printed_on=TODAY).count() == 2


def test_a_letter_due_tomorrow_waits_for_tomorrows_batch(manager):
    # Given a letter due tomorrow morning
    tomorrow = LetterFactory(due_at=NOW + dt.timedelta(days=1))

    # When today's batch is printed
    printed = letter_batch_print(day=TODAY, actor=manager)

    # Then it is not in it
    assert printed == 0
    tomorrow.refresh_from_db()
    assert tomorrow.state == MessageState.SCHEDULED
    assert tomorrow.printed_on is None


def test_whether_a_letter_is_due_today_is_reckoned_in_the_patients_own_time_zone(manager):
    # Given two letters due at the same instant, 05:00 UTC tomorrow: still 9 p.m. today
    # in Los Angeles, but already midnight tomorrow in Boston
    instant = dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)
    in_los_angeles = LetterFactory(due_at=instant, patient__time_zone="America/Los_Angeles")
    in_boston = LetterFactory(due_at=instant, patient__time_zone="America/New_York")

    # When today's batch is printed
    assert set(letters_due(day=TODAY)) == {in_los_angeles}
    printed = letter_batch_print(day=TODAY, actor=manager)

    # Then only the Los Angeles letter is in it
    assert printed == 1
    in_los_angeles.refresh_from_db()
    in_boston.refresh_from_db()
    assert in_los_angeles.printed_on == TODAY
    assert in_boston.state == MessageState.SCHEDULED


def test_a_letter_to_a_patient_without_a_postal_address_is_suppressed_not_printed(manager):
    # Given a letter to a patient whose address is unknown
    letter = LetterFactory(patient__address_line1="")

    # When today's batch is printed
    printed = letter_batch_print(day=TODAY, actor=manager)

    # Then it is not printed but kept as suppressed, with the reason
    assert printed == 0
    letter.refresh_from_db()
    assert letter.state == MessageState.SUPPRESSED
    assert letter.state_reason == "no postal address"
    assert letter.printed_on is None and letter.sent_at is None
    # And the case's timeline says so, for the navigator
    event = CaseEvent.objects.get(case=letter.case, kind=CaseEventKind.MESSAGE_SUPPRESSED)
    assert "no postal address" in event.summary


def test_a_letter_to_a_patient_who_has_died_is_not_printed(manager):
    # Given a letter still scheduled to a patient since recorded as deceased
    letter = LetterFactory(patient__deceased=True)

    # When today's batch is printed
    printed = letter_batch_print(day=TODAY, actor=manager)

    # Then it is not printed, and kept as suppressed
    assert printed == 0
    letter.refresh_from_db()
    assert (letter.state, letter.state_reason) == (MessageState.SUPPRESSED, "patient deceased")
    assert letter.printed_on is None
    assert not CaseEvent.objects.filter(case=letter.case).exists()


def test_a_letter_the_font_cannot_print_is_suppressed_for_a_call_with_an_interpreter(manager):
    # Given a Vietnamese letter (characters beyond the letter font)
    letter = LetterFactory(language="vi", body="Xin vui lòng gửi lại bộ xét nghiệm.")

    # When today's batch is printed
    assert letter_batch_print(day=TODAY, actor=manager) == 0

    # Then it is suppressed, saying why and what to do
    letter.refresh_from_db()
    assert letter.state == MessageState.SUPPRESSED
    assert "cannot print" in letter.state_reason
    assert "interpreter" in letter.state_reason


def test_each_printed_letter_is_on_its_cases_timeline(manager):
    # Given two letters on one case, and one to a patient with no case
    first = LetterFactory(language="es")
    second = LetterFactory(patient=first.patient, case=first.case)
    caseless = LetterFactory(case=None)

    # When today's batch is printed
    assert letter_batch_print(day=TODAY, actor=manager) == 3

    # Then the case has one "letter printed" entry per letter, by the manager
    events = CaseEvent.objects.filter(case=first.case, kind=CaseEventKind.LETTER_PRINTED)
    assert sorted(event.data["message"] for event in events) == [first.pk, second.pk]
    assert {event.actor for event in events} == {manager}
    assert {event.data["printed_on"] for event in events} == {"2026-11-24"}
    assert any("Spanish" in event.summary for event in events)
    # And the letter without a case is printed all the same
    caseless.refresh_from_db()
    assert caseless.printed_on == TODAY


def test_a_day_still_to_come_cannot_be_printed(manager):
    LetterFactory(due_at=NOW + dt.timedelta(days=1))

    with pytest.raises(LetterBatchError, match="has not come yet"):
        letter_batch_print(day=TODAY + dt.timedelta(days=1), actor=manager)

    assert not PatientMessage.objects.filter(printed_on__isnull=False).exists()


def test_only_a_program_manager_or_administrator_may_print_the_batch():
    LetterFactory()
    navigator = factories.NavigatorFactory().user

    with pytest.raises(PermissionDenied):
        letter_batch_print(day=TODAY, actor=navigator)

    assert letter_batch_print(day=TODAY, actor=factories.AdminFactory()) == 1


# --- The PDF -----------------------------------------------------------------------------


def test_the_pdf_has_a_page_per_letter_in_mail_room_order(manager):
    # Given three letters printed today, to patients in two postal codes
    LetterFactory(
        patient__given_name="Zoe", patient__family_name="Alves", patient__postal_code="02150"
    )
    LetterFactory(
        patient__given_name="Ana", patient__family_name="Silva", patient__postal_code="02128"
    )
    LetterFactory(patient__given_name="Rosa", patient__family_name="Díaz",
                  patient__postal_code="02150")  # fmt: skip
    letter_batch_print(day=TODAY, actor=manager)

    # When the day's PDF is made
    pages = pdf_pages(letter_batch_pdf(day=TODAY))

    # Then it has one page per letter, by postal code and then family name
    assert len(pages) == 3
    assert "Ana Silva" in pages[0] and "02128" in pages[0]
    assert "Zoe Alves" in pages[1]
    assert "Rosa Díaz" in pages[2]
    # And each has the letterhead, the address, the date, the subject and the text
    assert "EquiNav Patient Navigation" in pages[1]
    assert "12 Broadway, Apt 3" in pages[1] and "Chelsea, MA 02150" in pages[1]
    assert "November 24, 2026" in pages[1]
    assert "Your test kit" in pages[1] and "Please send back your test kit." in pages[1]


def test_the_address_sits_where_a_window_envelope_shows_it(manager):
    LetterFactory(patient__given_name="Rosa", patient__family_name="Díaz")
    letter_batch_print(day=TODAY, actor=manager)
    page = PdfReader(io.BytesIO(letter_batch_pdf(day=TODAY))).pages[0]
    heights: dict[str, float] = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            # The text matrix, then the page's transformation: y on the page, from the bottom.
            heights.setdefault(text.strip(), tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

    page.extract_text(visitor_text=visit)

    # The name is 2 to 3.1 inches from the top of the 11-inch page (72 points an inch)
    from_top = (11 * 72 - heights["Rosa Díaz"]) / 72
    assert 2.0 <= from_top <= 3.1


def test_the_date_is_written_in_the_letters_language(manager):
    LetterFactory(language="es", subject="Su prueba", body="Por favor, devuelva la prueba.")
    letter_batch_print(day=TODAY, actor=manager)

    (page,) = pdf_pages(letter_batch_pdf(day=TODAY))

    assert "24 de noviembre de 2026" in page
    assert "Por favor, devuelva la prueba." in page


def test_a_long_letter_runs_on_to_a_second_page_that_names_its_patient(manager):
    body = "\n\n".join(f"Paragraph {n}: " + "please send back your test kit. " * 12
                       for n in range(12))  # fmt: skip
    LetterFactory(body=body, patient__given_name="Rosa", patient__family_name="Díaz")
    LetterFactory(patient__postal_code="02199")  # after Rosa's, in mail-room order
    letter_batch_print(day=TODAY, actor=manager)

    pages = pdf_pages(letter_batch_pdf(day=TODAY))

    assert len(pages) >= 3
    assert "Rosa Díaz" in pages[1] and "(continued)" in pages[1]


def test_a_day_without_a_batch_has_no_pdf_but_says_so():
    with pytest.raises(NoLetterBatch, match="No letters were printed on 2026-11-24"):
        letter_batch_pdf(day=TODAY)


# --- The page ----------------------------------------------------------------------------


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_the_page_lists_the_letters_due_today_and_the_batches_printed(manager_client, manager):
    # Given a batch printed yesterday, and two letters due today, one without an address
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        LetterFactory(due_at=NOW - dt.timedelta(days=1, hours=1))
        letter_batch_print(day=TODAY - dt.timedelta(days=1), actor=manager)
    LetterFactory(patient__given_name="Rosa", patient__family_name="Díaz", language="es")
    LetterFactory(patient__given_name="Ana", patient__family_name="Silva",
                  patient__address_line1="")  # fmt: skip

    # When the manager opens the letters page
    page = manager_client.get(reverse("outreach:letter_batches"))

    # Then it lists today's letters by patient, kind and language, noting the one left out
    html = page.content.decode()
    assert page.status_code == 200
    assert "2 letters due by" in html
    assert html.count('data-testid="letter-due"') == 2
    assert "Rosa Díaz" in html and "Spanish" in html and "Mailed kit return reminder" in html
    assert "Not printed:</strong> no postal address" in html
    # And yesterday's batch, with its PDF
    assert html.count('data-testid="letter-batch"') == 1
    assert reverse("outreach:letter_batch_pdf", args=["2026-11-23"]) in html
    # And the print form, for today
    assert 'name="day" value="2026-11-24"' in html
    assert 'aria-current="page">Letters</a>' in html


def test_printing_from_the_page_says_how_many_letters_were_printed(manager_client):
    LetterFactory()
    LetterFactory()

    response = manager_client.post(
        reverse("outreach:letter_batch_print"), {"day": "2026-11-24"}, follow=True
    )

    assert response.redirect_chain == [(reverse("outreach:letter_batches"), 302)]
    assert "2 letters printed for 2026-11-24." in response.content.decode()
    assert PatientMessage.objects.filter(printed_on=TODAY).count() == 2


def test_printing_without_a_day_prints_today(manager_client):
    LetterFactory()

    manager_client.post(reverse("outreach:letter_batch_print"))

    assert PatientMessage.objects.get().printed_on == TODAY


def test_printing_a_day_to_come_or_a_bad_day_is_refused_with_the_reason(manager_client):
    LetterFactory()

    future = manager_client.post(reverse("outreach:letter_batch_print"), {"day": "2026-11-25"})
    nonsense = manager_client.post(reverse("outreach:letter_batch_print"), {"day": "24/11/2026"})

    assert future.status_code == 400
    assert "has not come yet" in future.content.decode()
    assert nonsense.status_code == 400
    assert "YYYY-MM-DD" in nonsense.content.decode()
    assert PatientMessage.objects.get().state == MessageState.SCHEDULED


def test_the_days_pdf_opens_inline(manager_client, manager):
    LetterFactory(patient__given_name="Rosa", patient__family_name="Díaz")
    letter_batch_print(day=TODAY, actor=manager)

    response = manager_client.get(reverse("outreach:letter_batch_pdf", args=["2026-11-24"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="letters-2026-11-24.pdf"'
    assert "no-store" in response["Cache-Control"].split(", ")
    assert "Rosa Díaz" in pdf_pages(response.content)[0]


def test_a_day_with_no_batch_is_not_found_and_says_so(manager_client):
    response = manager_client.get(reverse("outreach:letter_batch_pdf", args=["2026-11-24"]))

    assert response.status_code == 404
    assert "No letters were printed on 2026-11-24" in response.content.decode()


def test_a_pdf_address_that_is_not_a_day_is_a_bad_request(manager_client):
    response = manager_client.get(reverse("outreach:letter_batch_pdf", args=["2026-13-45"]))

    assert response.status_code == 400
    assert "is not a day" in response.content.decode()


def test_a_navigator_may_not_open_print_or_download_letter_batches(client):
    LetterFactory()
    client.force_login(factories.NavigatorFactory().user)

    assert client.get(reverse("outreach:letter_batches")).status_code == 403
    assert client.post(reverse("outreach:letter_batch_print")).status_code == 403
    pdf = reverse("outreach:letter_batch_pdf", args=["2026-11-24"])
    assert client.get(pdf).status_code == 403
    assert PatientMessage.objects.get().state == MessageState.SCHEDULED


def test_someone_not_signed_in_is_sent_to_sign_in(client):
    page = reverse("outreach:letter_batches")

    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={page}"
    assert client.post(reverse("outreach:letter_batch_print")).status_code == 302


def test_an_administrator_may_open_the_page(client):
    client.force_login(factories.AdminFactory())

    assert client.get(reverse("outreach:letter_batches")).status_code == 200
