"""Clinics refer patients through the API; bad input changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navigator.models import CaseEvent, CaseEventKind, CaseStatus, NavigationCase
from patients.models import Patient, PatientPhone, Referral
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def years_ago(years: int) -> str:
    today = timezone.localdate()
    return (today - dt.timedelta(days=int(years * 365.25) + 10)).isoformat()


def referral_payload(**patient_overrides) -> dict:
    patient = {
        "mrn": "A1001",
        "given_name": "Rosa",
        "family_name": "Martínez",
        "birth_date": years_ago(58),
        "sex": "female",
        "preferred_language": "es",
        "english_proficiency": "not_well",
        "interpreter_needed": True,
        "race_ethnicity": ["hispanic", "white"],
        "phones": [{"number": "+1 617 555 0134", "kind": "mobile"}],
        "sms_consent": True,
        "time_zone": "America/New_York",
        "insurance_type": "medicaid",
    }
    patient.update(patient_overrides)
    return {
        "program": "colorectal",
        "referring_clinician": "Dr. Patel",
        "reason": "Overdue for colorectal screening",
        "patient": patient,
    }


def nothing_written() -> bool:
    return not (
        Patient.objects.exists() or Referral.objects.exists() or NavigationCase.objects.exists()
    )


@pytest.fixture
def spanish_and_english_navigators(db):
    spanish = factories.NavigatorFactory(languages=["es", "en"], caseload_capacity=100)
    english = factories.NavigatorFactory(languages=["en"], caseload_capacity=300)
    return spanish, english


def test_a_referral_creates_the_patient_and_a_case_assigned_to_a_spanish_speaker(
    clinic_staff, spanish_and_english_navigators
):
    spanish, _ = spanish_and_english_navigators

    response = api_as(clinic_staff).post("/api/referrals/", referral_payload(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == CaseStatus.ASSIGNED
    assert body["status_label"] == "Received"
    assert body["clinic"]["code"] == clinic_staff.clinic.code
    patient = Patient.objects.get()
    assert patient.mrn == "A1001"
    assert patient.clinic == clinic_staff.clinic
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == [
        "hispanic",
        "white",
    ]
    assert patient.phones.get().number.as_e164 == "+16175550134"
    case = NavigationCase.objects.get()
    assert case.navigator == spanish
    assert case.needs_interpreter is False
    kinds = set(case.events.values_list("kind", flat=True))
    assert {CaseEventKind.OPENED, CaseEventKind.ASSIGNED, CaseEventKind.REFERRED} <= kinds
    assigned = case.events.get(kind=CaseEventKind.ASSIGNED)
    assert "speaks Spanish" in assigned.summary


def test_the_same_mrn_at_the_same_clinic_is_the_same_patient_and_joins_the_open_case(
    clinic_staff, spanish_and_english_navigators
):
    client = api_as(clinic_staff)
    first = client.post("/api/referrals/", referral_payload(), format="json")
    assert first.status_code == 201

    # The second referral spells the name with other spacing and case, and adds a phone.
    again = referral_payload(
        given_name="ROSA",
        family_name=" Martínez ",
        phones=[{"number": "+1 617 555 0199", "kind": "home"}],
    )
    second = client.post("/api/referrals/", again, format="json")

    assert second.status_code == 201, second.content
    assert Patient.objects.count() == 1
    assert NavigationCase.objects.count() == 1
    assert Referral.objects.count() == 2
    assert PatientPhone.objects.count() == 2
    referred = CaseEvent.objects.filter(kind=CaseEventKind.REFERRED).order_by("pk").last()
    assert "joined the case already open" in referred.summary


def test_a_referral_to_another_program_opens_a_second_case(
    clinic_staff, spanish_and_english_navigators
):
    client = api_as(clinic_staff)
    client.post("/api/referrals/", referral_payload(), format="json")
    breast = referral_payload()
    breast["program"] = "breast"

    response = client.post("/api/referrals/", breast, format="json")

    assert response.status_code == 201, response.content
    assert Patient.objects.count() == 1
    assert NavigationCase.objects.count() == 2


def test_a_closed_case_does_not_block_a_new_referral(clinic_staff, spanish_and_english_navigators):
    client = api_as(clinic_staff)
    client.post("/api/referrals/", referral_payload(), format="json")
    NavigationCase.objects.update(status=CaseStatus.DECLINED)

    response = client.post("/api/referrals/", referral_payload(), format="json")

    assert response.status_code == 201
    assert NavigationCase.objects.count() == 2


@pytest.mark.parametrize(
    ("patient_overrides", "program", "error_path"),
    [
        ({"phones": [{"number": "555-01", "kind": "mobile"}]}, None, ("patient", "phones")),
        ({"birth_date": "2099-01-01"}, None, ("patient", "birth_date")),
        ({"birth_date": "31/12/1960"}, None, ("patient", "birth_date")),
        ({"birth_date": years_ago(30)}, None, ("program",)),
        ({"birth_date": years_ago(80)}, None, ("program",)),
        ({}, "unicorn", ("program",)),
        ({"sex": "male"}, "breast", ("program",)),
        ({"preferred_language": "klingon"}, None, ("patient", "preferred_language")),
        ({"race_ethnicity": ["martian"]}, None, ("patient", "race_ethnicity")),
        ({"race_ethnicity": ["declined", "asian"]}, None, ("patient", "race_ethnicity")),
        ({"time_zone": "Mars/Olympus"}, None, ("patient", "time_zone")),
        ({"mrn": ""}, None, ("patient", "mrn")),
        ({"email": "not-an-email"}, None, ("patient", "email")),
    ],
)
def test_it_rejects_bad_input_with_a_field_error_and_writes_nothing(
    clinic_staff, spanish_and_english_navigators, patient_overrides, program, error_path
):
    payload = referral_payload(**patient_overrides)
    if program:
        payload["program"] = program

    response = api_as(clinic_staff).post("/api/referrals/", payload, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    node = body
    for key in error_path:
        assert key in node, body
        node = node[key]
    assert nothing_written()


def test_it_rejects_an_mrn_that_belongs_to_a_patient_with_another_name(
    clinic_staff, spanish_and_english_navigators
):
    client = api_as(clinic_staff)
    client.post("/api/referrals/", referral_payload(), format="json")
    events_before = CaseEvent.objects.count()

    response = client.post("/api/referrals/", referral_payload(given_name="Carmen"), format="json")

    assert response.status_code == 400
    assert "different name or birth date" in response.json()["patient"]["mrn"][0]
    assert Patient.objects.count() == 1
    assert Referral.objects.count() == 1
    assert CaseEvent.objects.count() == events_before


def test_it_rejects_an_mrn_that_belongs_to_a_patient_with_another_birth_date(
    clinic_staff, spanish_and_english_navigators
):
    client = api_as(clinic_staff)
    client.post("/api/referrals/", referral_payload(), format="json")

    response = client.post(
        "/api/referrals/", referral_payload(birth_date=years_ago(60)), format="json"
    )

    assert response.status_code == 400
    assert "mrn" in response.json()["patient"]
    assert Referral.objects.count() == 1


def test_the_same_mrn_at_another_clinic_is_another_patient(spanish_and_english_navigators):
    north = factories.ClinicStaffFactory()
    south = factories.ClinicStaffFactory()
    api_as(north).post("/api/referrals/", referral_payload(), format="json")

    response = api_as(south).post(
        "/api/referrals/", referral_payload(given_name="Carmen"), format="json"
    )

    assert response.status_code == 201
    assert Patient.objects.count() == 2


def test_clinic_staff_cannot_refer_to_another_clinic(clinic_staff, spanish_and_english_navigators):
    other = factories.ClinicFactory()
    payload = referral_payload()
    payload["clinic"] = other.code

    response = api_as(clinic_staff).post("/api/referrals/", payload, format="json")

    assert response.status_code == 400
    assert "clinic" in response.json()
    assert nothing_written()


def test_a_manager_must_name_the_clinic(manager, spanish_and_english_navigators, clinic):
    response = api_as(manager).post("/api/referrals/", referral_payload(), format="json")
    assert response.status_code == 400
    assert "clinic" in response.json()

    payload = referral_payload()
    payload["clinic"] = clinic.code
    response = api_as(manager).post("/api/referrals/", payload, format="json")
    assert response.status_code == 201


def test_a_navigator_cannot_refer(navigator):
    response = api_as(navigator.user).post("/api/referrals/", referral_payload(), format="json")
    assert response.status_code == 403
    assert nothing_written()


def test_a_lung_referral_needs_a_smoking_history(clinic_staff, spanish_and_english_navigators):
    payload = referral_payload(birth_date=years_ago(60))
    payload["program"] = "lung"
    response = api_as(clinic_staff).post("/api/referrals/", payload, format="json")
    assert response.status_code == 400
    assert "pack-years" in response.json()["program"][0]

    payload["patient"].update(smoking_status="former", smoking_pack_years=25)
    response = api_as(clinic_staff).post("/api/referrals/", payload, format="json")
    assert response.status_code == 201, response.content


def test_malformed_json_is_a_400_not_a_500(clinic_staff):
    response = api_as(clinic_staff).post(
        "/api/referrals/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert nothing_written()


def test_a_referral_with_no_active_navigator_waits_as_new(clinic_staff):
    response = api_as(clinic_staff).post("/api/referrals/", referral_payload(), format="json")
    assert response.status_code == 201
    case = NavigationCase.objects.get()
    assert case.status == CaseStatus.NEW
    assert case.navigator is None
