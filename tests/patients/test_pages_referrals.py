"""The referral pages: clinics refer patients and follow where each one is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.intake.referrals import referral_create
from navigator.models import CaseStatus, NavigationCase
from outreach.models import ContactAttempt
from patients.models import Patient, PatientPhone, Referral
from patients.services.patients import PatientInput
from tests import factories

pytestmark = pytest.mark.django_db

LIST = reverse("patients:referral_list")
NEW = reverse("patients:referral_create")


def years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def referral_post(**overrides) -> dict:
    data = {
        "program": factories.program("colorectal").pk,
        "referring_clinician": "Dr. Amara Okafor",
        "reason": "Overdue for colorectal screening",
        "mrn": "A-1001",
        "given_name": "Maria",
        "family_name": "Santos",
        "birth_date": years_ago(60).isoformat(),
        "sex": "female",
        "preferred_language": "pt",
        "preferred_language_other": "",
        "english_proficiency": "not_well",
        "interpreter_needed": "on",
        "race_ethnicity": ["hispanic", "white"],
        "phone_1_number": "(617) 555-0142",
        "phone_1_kind": "mobile",
        "phone_2_number": "",
        "phone_2_kind": "home",
        "sms_consent": "on",
        "email": "maria@example.org",
        "address_line1": "1 Main St",
        "address_line2": "",
        "city": "Boston",
        "state": "MA",
        "postal_code": "02118",
        "time_zone": "America/New_York",
        "insurance_type": "medicaid",
        "smoking_status": "never",
        "smoking_pack_years": "",
    }
    data.update(overrides)
    return data


def make_referral(clinic, actor, *, mrn: str, family_name: str = "Jones") -> Referral:
    return referral_create(
        clinic=clinic,
        program=factories.program("colorectal"),
        patient_data=PatientInput(
            mrn=mrn,
            given_name="Pat",
            family_name=family_name,
            birth_date=years_ago(55),
            sex="male",
        ),
        referring_clinician="Dr. Lee",
        actor=actor,
    )


@pytest.fixture
def staff_client(client, clinic_staff):
    client.force_login(clinic_staff)
    return client


@pytest.fixture
def other_clinic_referral(db):
    other_staff = factories.ClinicStaffFactory(clinic=factories.ClinicFactory(code="south"))
    return make_referral(other_staff.clinic, other_staff, mrn="S-1", family_name="Southerner")


# --- Listing and detail ---------------------------------------------------------------------


def test_it_shows_clinic_staff_only_their_clinics_referrals(
    staff_client, clinic, clinic_staff, other_clinic_referral, navigator
):
    # Given a referral from this clinic and one from another clinic
    ours = make_referral(clinic, clinic_staff, mrn="N-1", family_name="Northerner")

    # When clinic staff open the referral list
    response = staff_client.get(LIST)

    # Then only their own clinic's referral is listed, with its clinic-visible status
    assert response.status_code == 200
    assert [r.pk for r in response.context["referrals"]] == [ours.pk]
    html = response.content.decode()
    assert "Northerner" in html
    assert "Southerner" not in html
    assert ours.patient.mrn in html
    assert "Dr. Lee" in html
    assert "Received" in html


def test_it_404s_another_clinics_referral(staff_client, other_clinic_referral):
    url = reverse("patients:referral_detail", args=[other_clinic_referral.pk])
    assert staff_client.get(url).status_code == 404


def test_it_shows_a_referral_with_its_status_and_no_navigation_details(
    staff_client, clinic, clinic_staff, navigator
):
    # Given a referral whose navigator has logged an attempt with a private note
    referral = make_referral(clinic, clinic_staff, mrn="N-2")
    ContactAttempt.objects.create(
        case=referral.case,
        channel="phone",
        outcome="no_answer",
        note="PRIVATE NOTE about family",
        created_by=navigator.user,
    )
    NavigationCase.objects.filter(pk=referral.case_id).update(status=CaseStatus.CONTACTING)

    # When clinic staff open the referral
    response = staff_client.get(reverse("patients:referral_detail", args=[referral.pk]))

    # Then they see the stage in their words, and nothing of the navigation itself
    assert response.status_code == 200
    html = response.content.decode()
    assert "Navigator reaching out" in html
    assert "PRIVATE NOTE" not in html
    assert "Timeline" not in html
    assert "Barrier" not in html
    assert reverse("navigator:case_detail", args=[referral.case_id]) not in html


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("new", "Received"),
        ("assigned", "Received"),
        ("contacting", "Navigator reaching out"),
        ("scheduled", "Screening scheduled"),
        ("follow_up_needed", "Diagnostic follow-up needed"),
        ("repeat_needed", "Repeat test needed"),
        ("completed", "Screening complete"),
        ("closed", "Screening complete"),
        ("treatment", "Diagnosis made: handed to treatment navigation"),
        ("follow_up_closed", "Closed: follow-up not done"),
        ("closed_unreachable", "Closed: could not reach"),
        ("declined", "Patient declined"),
        ("ineligible", "Not eligible"),
    ],
)
def test_it_words_each_case_status_for_the_clinic(
    staff_client, clinic, clinic_staff, status, label
):
    referral = make_referral(clinic, clinic_staff, mrn="N-3")
    NavigationCase.objects.filter(pk=referral.case_id).update(status=status)
    response = staff_client.get(LIST)
    assert f">{label}</span>" in response.content.decode()


def test_it_shows_a_manager_every_clinics_referrals(
    client, manager, clinic, clinic_staff, other_clinic_referral
):
    ours = make_referral(clinic, clinic_staff, mrn="N-4")
    client.force_login(manager)
    response = client.get(LIST)
    assert {r.pk for r in response.context["referrals"]} == {ours.pk, other_clinic_referral.pk}


def test_it_refuses_the_referral_list_and_form_to_navigators(client, navigator):
    client.force_login(navigator.user)
    assert client.get(LIST).status_code == 403
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, referral_post()).status_code == 403
    assert not Referral.objects.exists()


def test_the_old_report_address_sends_clinic_staff_to_their_clinics_navigation_figures(
    staff_client,
):
    # The completion report is now the navigation page, scoped to the staff's clinic
    # (tests/navigator/test_pages_equity_navigation.py pins the scope)
    response = staff_client.get(reverse("navigator:report"))
    assert response.status_code == 302
    assert response["Location"] == reverse("navigator:equity_navigation")


# --- Creating a referral ----------------------------------------------------------------------


def test_it_creates_a_referral_through_the_page(staff_client, clinic, navigator):
    # Given the empty form, fixed to the staff member's clinic
    page = staff_client.get(NEW)
    assert page.status_code == 200
    assert "clinic" not in page.context["form"].fields
    assert 'aria-label="New referral"' in page.content.decode()

    # When a complete referral is posted
    response = staff_client.post(NEW, referral_post())

    # Then it exists, with its patient, phones, categories and an assigned case
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:referral_detail", args=[referral.pk])
    patient = referral.patient
    assert patient.clinic == clinic
    assert (patient.mrn, patient.given_name, patient.family_name) == ("A-1001", "Maria", "Santos")
    assert patient.preferred_language == "pt"
    assert patient.interpreter_needed is True
    assert patient.sms_consent is True
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == [
        "hispanic",
        "white",
    ]
    assert [str(p.number) for p in patient.phones.all()] == ["+16175550142"]
    assert referral.case.navigator == navigator
    assert referral.referring_clinician == "Dr. Amara Okafor"

    detail = staff_client.get(response["Location"])
    assert "Received" in detail.content.decode()


def test_it_accepts_a_language_code_that_is_not_listed(staff_client, navigator):
    staff_client.post(NEW, referral_post(preferred_language_other="YO"))
    assert Patient.objects.get().preferred_language == "yo"


def test_it_lets_a_manager_choose_the_clinic(client, manager, clinic, navigator):
    client.force_login(manager)
    response = client.post(NEW, referral_post())
    assert response.status_code == 400
    assert "clinic" in response.context["form"].errors
    assert not Referral.objects.exists()

    response = client.post(NEW, referral_post(clinic=clinic.pk))
    assert response.status_code == 302
    assert Referral.objects.get().clinic == clinic


def _assert_refused(response, field: str, text: str = "") -> None:
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    if text:
        assert text in " ".join(form.errors[field])
    html = response.content.decode()
    assert f'id="{form[field].auto_id}_error"' in html
    assert not Referral.objects.exists()
    assert not NavigationCase.objects.exists()


def test_it_rejects_an_invalid_phone_number(staff_client):
    response = staff_client.post(NEW, referral_post(phone_1_number="123"))
    _assert_refused(response, "phone_1_number", "valid phone number")
    assert not Patient.objects.exists()


def test_it_rejects_a_birth_date_in_the_future(staff_client):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = staff_client.post(NEW, referral_post(birth_date=tomorrow.isoformat()))
    _assert_refused(response, "birth_date", "future")
    assert not Patient.objects.exists()


def test_it_rejects_a_patient_outside_the_programs_ages(staff_client):
    response = staff_client.post(NEW, referral_post(birth_date=years_ago(30).isoformat()))
    _assert_refused(response, "program", "ages 45–75")
    # The patient created inside the refused referral was rolled back with it.
    assert not Patient.objects.exists()


def test_it_rejects_an_mrn_that_belongs_to_someone_else(staff_client, clinic):
    # Given a patient already registered at this clinic under MRN A-1001
    factories.PatientFactory(clinic=clinic, mrn="A-1001", family_name="Different")

    # When a referral for a differently named patient uses the same MRN
    response = staff_client.post(NEW, referral_post(mrn="A-1001"))

    # Then the MRN is refused and nothing is created
    _assert_refused(response, "mrn", "different name")
    assert Patient.objects.count() == 1
    assert not PatientPhone.objects.filter(number="+16175550142").exists()


def test_it_rejects_a_declined_answer_combined_with_a_category(staff_client):
    response = staff_client.post(NEW, referral_post(race_ethnicity=["declined", "asian"]))
    _assert_refused(response, "race_ethnicity", "cannot be combined")


def test_it_rejects_an_unknown_language_code(staff_client):
    response = staff_client.post(NEW, referral_post(preferred_language_other="zz"))
    _assert_refused(response, "preferred_language_other")


def test_it_shows_missing_required_fields_without_failing(staff_client):
    response = staff_client.post(NEW, {})
    assert response.status_code == 400
    errors = response.context["form"].errors
    for field in ("program", "referring_clinician", "mrn", "given_name", "birth_date", "sex"):
        assert field in errors
    assert not Referral.objects.exists()


def test_it_shows_garbage_as_field_errors_not_a_500(staff_client):
    response = staff_client.post(
        NEW,
        referral_post(
            program="abc",
            birth_date="1960-02-31",
            time_zone="Mars/Olympus",
            smoking_pack_years="-4",
            email="not-an-email",
            phone_2_number="+1 999",
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    for field in ("program", "birth_date", "time_zone", "smoking_pack_years", "email"):
        assert field in errors
    assert "phone_2_number" in errors
    assert not Referral.objects.exists()
