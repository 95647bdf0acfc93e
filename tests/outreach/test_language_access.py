"""Language access: a patient's written language (letters and texts use it), the
worklist's "interpreter needed" badge, and the managers' Language access page."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.models import CaseStatus
from navigator.services import appointments
from outreach.models import ContactAttempt, InterpreterRequest, PatientMessage
from outreach.selectors import language_access
from outreach.services.interpreters import interpreter_request_create, interpreter_request_update
from patients.models import Patient, ScreeningModality
from patients.uploads.template import COLUMNS, template_csv
from tests import factories
from tests.api.test_referrals_api import referral_payload
from tests.patients.test_pages_referrals import NEW, referral_post
from tests.patients.test_referral_upload import csv_bytes, good_row, upload
from tests.support.api import api_as
from tests.support.audit import AUDIT_QUERIES

pytestmark = pytest.mark.django_db

PAGE = reverse("outreach:language_access")
WORKLIST = "/worklist/"


# --- The written language ------------------------------------------------------------------


def test_the_written_language_is_the_spoken_one_unless_said():
    spoken_only = factories.PatientFactory(preferred_language="es")
    reads_portuguese = factories.PatientFactory(preferred_language="kea", written_language="pt")

    assert spoken_only.written_language_effective == "es"
    assert reads_portuguese.written_language_effective == "pt"
    assert reads_portuguese.written_language_name == "Portuguese"


def test_the_letter_is_in_the_written_language(client):
    # Given a patient who speaks Cape Verdean Creole (no letter in it) and reads Portuguese
    case = factories.CaseFactory(
        status=CaseStatus.CONTACTING,
        patient__preferred_language="kea",
        patient__written_language="pt",
        patient__address_line1="1 Main St",
    )
    client.force_login(case.navigator.user)

    # When the navigator opens the letter, it is the Portuguese one
    response = client.get(reverse("outreach:case_letter", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    page = html.unescape(
        client.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()
    )
    assert "Print the outreach letter in Portuguese" in page
    assert "(reads Portuguese)" in page


def test_no_letter_in_the_written_language_is_refused_not_sent_in_the_spoken_one(client):
    # Given a Spanish speaker who reads Vietnamese, for which there is no letter
    case = factories.CaseFactory(
        status=CaseStatus.CONTACTING,
        patient__preferred_language="es",
        patient__written_language="vi",
    )
    client.force_login(case.navigator.user)

    response = client.get(reverse("outreach:case_letter", args=[case.pk]))

    # Then it is refused, naming the written language (the existing rule: no fallback)
    assert response.status_code == 409
    assert "No letter in Vietnamese" in response.content.decode()


def test_appointment_texts_are_in_the_written_language():
    # Given a Spanish speaker who reads English and consents to texts
    case = factories.CaseFactory(
        patient__preferred_language="es",
        patient__written_language="en",
        patient__sms_consent=True,
        patient__phone="+16175550142",
    )

    # When an appointment is booked, its reminders are written in English
    appointments.appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=10),
        site="Endoscopy Center",
        modality=ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy"),
        actor=case.navigator.user,
    )

    languages = set(PatientMessage.objects.filter(case=case).values_list("language", flat=True))
    assert languages == {"en"}


def test_the_referral_form_takes_a_written_language(client):
    staff = factories.ClinicStaffFactory()
    client.force_login(staff)

    response = client.post(NEW, referral_post(preferred_language="kea", written_language="pt"))

    assert response.status_code == 302, response.content.decode()[:2000]
    patient = Patient.objects.get(mrn="A-1001")
    assert (patient.preferred_language, patient.written_language) == ("kea", "pt")


def test_the_referral_api_takes_a_written_language_and_refuses_a_bad_one():
    staff = factories.ClinicStaffFactory()
    client = api_as(staff)

    bad = client.post("/api/referrals/", referral_payload(written_language="zz9"), format="json")
    assert bad.status_code == 400
    assert "written_language" in bad.json()["patient"]

    good = client.post("/api/referrals/", referral_payload(written_language="EN"), format="json")
    assert good.status_code == 201, good.content
    patient = Patient.objects.get()
    assert patient.written_language == "en"


def test_the_referral_csv_takes_an_optional_written_language_column():
    assert "written_language" in COLUMNS
    factories.NavigatorFactory(languages=["pt", "en"])
    staff = factories.ClinicStaffFactory()
    content = csv_bytes(
        [
            good_row(1, written_language="en"),
            good_row(2),
        ]
    )

    response = upload(staff, content)

    # (accepted, then its job ran: the job as read afterwards)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"
    written = dict(Patient.objects.values_list("mrn", "written_language"))
    assert written == {"MRN0001": "en", "MRN0002": ""}


def test_a_csv_row_with_a_bad_written_language_is_refused_naming_the_column():
    staff = factories.ClinicStaffFactory()

    response = upload(staff, csv_bytes([good_row(1, written_language="klingon")]))

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["column"] == "written_language"
    assert not Patient.objects.exists()


def test_a_file_without_the_column_still_uploads():
    factories.NavigatorFactory(languages=["pt", "en"])
    staff = factories.ClinicStaffFactory()
    columns = [c for c in COLUMNS if c != "written_language"]

    response = upload(staff, csv_bytes([good_row(1)], columns=columns))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"
    assert Patient.objects.get().written_language == ""


# --- The worklist --------------------------------------------------------------------------


def test_the_worklist_says_whether_an_interpreter_is_arranged_in_the_same_queries(
    client, django_assert_num_queries
):
    # Given a navigator with three cases: one needing an interpreter with a confirmed
    # one ahead, one needing one with only a request, one that needs none
    navigator = factories.NavigatorFactory()
    arranged = factories.CaseFactory(navigator=navigator, patient__interpreter_needed=True)
    pending = factories.CaseFactory(navigator=navigator, needs_interpreter=True)
    factories.CaseFactory(navigator=navigator)
    actor = navigator.user
    later = timezone.now() + dt.timedelta(days=2)
    confirmed = interpreter_request_create(
        case=arranged, modality="phone", needed_at=later, actor=actor
    )
    interpreter_request_update(interpreter_request=confirmed, status="confirmed", actor=actor)
    interpreter_request_create(case=pending, modality="phone", needed_at=later, actor=actor)
    client.force_login(actor)

    # When the navigator opens the worklist: as many queries as without interpreters
    # (tests/navigator/test_worklist.py): the badge is a subquery of the page's query.
    # 1 session, 2 user, 3 whose cases, 4 count, 5 the page, 6 the calls due today and
    # done, 7 reminders, 8 tasks, 9-11 the program, clinic and barrier menus; then the
    # audit trail's row and the patients on the page (tests/support/audit.py).
    with django_assert_num_queries(11 + AUDIT_QUERIES):
        response = client.get(WORKLIST)

    # Then one row says arranged, one not arranged, and the third says nothing
    page = response.content.decode()
    assert page.count("Interpreter needed: arranged") == 1
    assert page.count("Interpreter needed: not arranged") == 1
    rows = {case.pk: case for case in response.context["cases"]}
    assert rows[arranged.pk].interpreter_arranged is True
    assert rows[pending.pk].interpreter_arranged is False


def test_a_confirmed_interpreter_whose_time_has_passed_is_not_arranged_for_the_next_call(
    client,
):
    navigator = factories.NavigatorFactory()
    case = factories.CaseFactory(navigator=navigator, needs_interpreter=True)
    request = interpreter_request_create(
        case=case,
        modality="phone",
        needed_at=timezone.now() + dt.timedelta(days=1),
        actor=navigator.user,
    )
    interpreter_request_update(
        interpreter_request=request, status="confirmed", actor=navigator.user
    )
    InterpreterRequest.objects.filter(pk=request.pk).update(
        needed_at=timezone.now() - dt.timedelta(hours=1)
    )
    client.force_login(navigator.user)

    page = client.get(WORKLIST).content.decode()

    assert "Interpreter needed: not arranged" in page


def test_the_worklist_api_says_whether_an_interpreter_is_arranged():
    navigator = factories.NavigatorFactory()
    factories.CaseFactory(navigator=navigator, needs_interpreter=True)

    [row] = api_as(navigator.user).get("/api/worklist/").json()["results"]

    assert row["interpreter_arranged"] is False


# --- The managers' Language access page ----------------------------------------------------


def contact(case, interpreted_by: str, *, outcome="reached", by=None, channel="phone", days=1):
    return ContactAttempt.objects.create(
        case=case,
        channel=channel,
        outcome=outcome,
        interpreted_by=interpreted_by,
        attempted_at=timezone.now() - dt.timedelta(days=days),
        created_by=by or case.navigator.user,
    )


@pytest.fixture
def contacts():
    """Nora's Spanish and Ana's Portuguese LEP patients, and an English speaker."""
    nora = factories.NavigatorFactory(
        languages=["en", "es"], user__first_name="Nora", user__last_name="Navarro"
    )
    ana = factories.NavigatorFactory(
        languages=["en", "pt"], user__first_name="Ana", user__last_name="Souza"
    )
    spanish = factories.CaseFactory(
        navigator=nora,
        patient__preferred_language="es",
        patient__english_proficiency="not_well",
        # A name no generated staff name can share: the page names staff, never patients.
        patient__family_name="Quintanilla-Patient",
    )
    portuguese = factories.CaseFactory(
        navigator=ana, patient__preferred_language="pt", patient__interpreter_needed=True
    )
    english = factories.CaseFactory(navigator=nora)
    contact(spanish, "qualified_interpreter")
    contact(spanish, "bilingual_navigator")
    contact(spanish, "ad_hoc")
    contact(spanish, "none", outcome="no_answer")
    contact(spanish, "none", channel="sms")  # a text: not interpreted, not counted
    contact(spanish, "qualified_interpreter", days=200)  # before the period
    contact(portuguese, "ad_hoc")
    contact(portuguese, "not_recorded")
    contact(english, "none")  # not a patient of limited English proficiency
    return {"nora": nora, "ana": ana, "spanish": spanish, "portuguese": portuguese}


def test_the_share_counts_qualified_spoken_contacts_with_lep_patients(contacts):
    today = timezone.localdate()
    report = language_access(
        user=factories.ManagerFactory(), start=today - dt.timedelta(days=90), end=today
    )

    # Reached: Nora 2 of 3 (interpreter, herself; one ad hoc), Ana 0 of 2
    reached, every = report.overall["reached"], report.overall["all"]
    assert (reached.qualified, reached.total, reached.ad_hoc, reached.not_recorded) == (2, 5, 2, 1)
    assert (every.qualified, every.total) == (2, 6)
    by_navigator = {row.label: (row.qualified, row.total) for row in report.by_navigator["reached"]}
    assert by_navigator == {"Nora Navarro": (2, 3), "Ana Souza": (0, 2)}
    by_language = {row.label: (row.qualified, row.total) for row in report.by_language["all"]}
    assert by_language == {"Spanish": (2, 4), "Portuguese": (0, 2)}
    assert len(report.ad_hoc) == 2


def test_the_manager_sees_the_shares_and_every_ad_hoc_use(client, contacts):
    client.force_login(factories.ManagerFactory())

    response = client.get(PAGE)

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "2/5" in page  # reached contacts, overall
    assert "2/6" in page  # all attempts, overall
    assert "Nora Navarro" in page
    assert "Flores G, et al." in page
    assert page.count('data-testid="ad-hoc-use"') == 2
    assert f"Case #{contacts['spanish'].pk}" in page
    assert f"Case #{contacts['portuguese'].pk}" in page
    # No patient's name: the case id is enough
    assert contacts["spanish"].patient.family_name not in page


def test_the_page_is_linked_from_the_managers_navigation(client):
    client.force_login(factories.ManagerFactory())

    page = client.get(reverse("navigator:equity")).content.decode()

    assert f'href="{PAGE}"' in page


def test_a_period_outside_the_contacts_shows_none(client, contacts):
    client.force_login(factories.ManagerFactory())

    response = client.get(PAGE, {"start": "2020-01-01", "end": "2020-01-31"})

    assert response.status_code == 200
    assert "No ad hoc interpreter in this period." in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-02-10", "end": "2026-01-01"}, "The end date is before the start date."),
        ({"start": "not a date"}, "Enter a valid date."),
        ({"start": "1999-01-01"}, "Choose a date from 2000-01-01 on."),
        ({"end": "2999-01-01"}, "no later than today"),
    ],
)
def test_a_bad_period_is_a_400_with_the_reason(client, query, message):
    client.force_login(factories.ManagerFactory())

    response = client.get(PAGE, query)

    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())


@pytest.mark.parametrize("role", ["navigator", "clinic_staff"])
def test_navigators_and_clinic_staff_may_not_open_it(client, contacts, role):
    user = (
        contacts["nora"].user
        if role == "navigator"
        else factories.ClinicStaffFactory(clinic=contacts["spanish"].patient.clinic)
    )
    client.force_login(user)

    response = client.get(PAGE)

    assert response.status_code == 403
    assert "Ana Souza" not in response.content.decode()


def test_the_language_access_selector_sees_nothing_for_a_clinic_user(contacts):
    today = timezone.localdate()
    staff = factories.ClinicStaffFactory(clinic=contacts["spanish"].patient.clinic)

    report = language_access(user=staff, start=today - dt.timedelta(days=90), end=today)

    assert report.overall["all"].total == 0
    assert report.ad_hoc == []


def test_the_template_csv_explains_the_written_language_column():
    assert "written_language" in template_csv().splitlines()[0]
