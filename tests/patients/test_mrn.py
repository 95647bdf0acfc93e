"""One patient, one record: an MRN typed with stray spaces or in another case is the
same MRN, in every path that registers or finds a patient (form, API, CSV, FHIR)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from navigator.models import OPEN_STATUSES, NavigationCase
from patients.fhir.importer import fhir_import
from patients.models import FhirSource, Patient, PatientSourceLink, Referral
from patients.mrn import mrn_normalise
from patients.uploads.template import COLUMNS
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

BIRTH_DATE = "1966-03-14"


@pytest.fixture
def staff(clinic):
    factories.NavigatorFactory(languages=["es", "en"])
    return factories.ClinicStaffFactory(clinic=clinic)


def api_referral(staff, mrn: str):
    return api_as(staff).post(
        "/api/referrals/",
        {
            "program": "colorectal",
            "referring_clinician": "Dr. Patel",
            "reason": "Overdue",
            "patient": {
                "mrn": mrn,
                "given_name": "Carlos",
                "family_name": "Herrera",
                "birth_date": BIRTH_DATE,
                "sex": "male",
                "preferred_language": "es",
            },
        },
        format="json",
    )


def open_cases() -> int:
    return NavigationCase.objects.filter(status__in=OPEN_STATUSES).count()


def test_an_mrn_is_compared_without_surrounding_spaces_and_in_capitals():
    assert mrn_normalise("  che555001 ") == "CHE555001"
    assert mrn_normalise("CHE555001") == "CHE555001"


def test_the_api_takes_the_same_mrn_typed_differently_as_one_patient_with_one_open_case(staff):
    # Given a referral for MRN CHE555001
    assert api_referral(staff, "CHE555001").status_code == 201

    # When the same patient is referred again as " che555001 "
    response = api_referral(staff, " che555001 ")

    # Then it is the same patient, stored once under the clinic's MRN, with one open case
    assert response.status_code == 201, response.content
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["CHE555001"]
    assert Referral.objects.count() == 2
    assert open_cases() == 1


def test_the_referral_form_takes_the_same_mrn_typed_differently_as_one_patient(client, staff):
    assert api_referral(staff, "CHE555001").status_code == 201
    client.force_login(staff)

    response = client.post(
        reverse("patients:referral_create"),
        {
            "program": factories.program("colorectal").pk,
            "referring_clinician": "Dr. Okafor",
            "reason": "Overdue",
            "mrn": "che555001 ",
            "given_name": "Carlos",
            "family_name": "Herrera",
            "birth_date": BIRTH_DATE,
            "sex": "male",
            "preferred_language": "es",
            "english_proficiency": "not_well",
            "phone_1_kind": "mobile",
            "phone_2_kind": "home",
            "time_zone": "America/New_York",
            "insurance_type": "medicaid",
            "smoking_status": "never",
        },
    )

    assert response.status_code == 302, getattr(response.context.get("form"), "errors", None)
    assert Patient.objects.count() == 1
    assert open_cases() == 1


def test_a_csv_row_with_the_mrn_typed_differently_is_the_same_patient(staff):
    # Given a patient referred as CHE555001
    assert api_referral(staff, "CHE555001").status_code == 201
    # And a CSV that refers them as "che555001"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerow(
        {
            "mrn": "che555001",
            "given_name": "Carlos",
            "family_name": "Herrera",
            "birth_date": BIRTH_DATE,
            "sex": "male",
            "program": "colorectal",
            "referring_clinician": "Dr. Patel",
            "reason": "Overdue",
            "preferred_language": "es",
        }
    )
    upload = SimpleUploadedFile("referrals.csv", out.getvalue().encode(), "text/csv")

    # (accepted, 202; its job runs when the request commits: eager in tests)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_as(staff).post(
            "/api/referrals/upload/", {"file": upload, "mode": "all_or_nothing"}, format="multipart"
        )

    # Then the row joins the same patient and case
    assert response.status_code == 202, response.content
    assert Patient.objects.count() == 1
    assert open_cases() == 1


def test_a_feed_patient_whose_mrn_differs_only_in_case_and_spaces_links_to_ours(clinic):
    # Given our patient CHE555001, and an EHR feed that sends " che555001"
    ours = factories.PatientFactory(
        clinic=clinic, mrn="CHE555001", given_name="Carlos", family_name="Herrera",
        birth_date=BIRTH_DATE,
    )  # fmt: skip
    feed = FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": "urn:mrn", "value": " che555001", "type": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
        "name": [{"family": "Herrera", "given": ["Carlos"]}],
        "gender": "male",
        "birthDate": BIRTH_DATE,
    }  # fmt: skip
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient, "request": {"method": "PUT", "url": "Patient/p1"}}],
    }

    # When the bundle is imported
    fhir_import(source=feed, payload=json.dumps(bundle).encode(), origin="test", actor=None)

    # Then the feed's patient is ours, not a second record
    assert Patient.objects.count() == 1
    assert PatientSourceLink.objects.get(resource_id="p1").patient == ours


def test_a_patient_stored_before_mrns_were_normalised_is_found_too(clinic, staff):
    # Given a patient whose MRN was stored as typed, with a stray space, in lower case
    stored = factories.PatientFactory(
        clinic=clinic, mrn=" che555001", given_name="Carlos", family_name="Herrera",
        birth_date=BIRTH_DATE,
    )  # fmt: skip

    # When they are referred as CHE555001
    response = api_referral(staff, "CHE555001")

    # Then the referral is theirs: no second record
    assert response.status_code == 201, response.content
    assert Patient.objects.get() == stored
    assert Referral.objects.get().patient == stored


def test_the_same_mrn_at_another_clinic_is_still_another_patient(staff):
    other_clinic = factories.ClinicFactory(code="south", name="South Clinic")
    other_staff = factories.ClinicStaffFactory(clinic=other_clinic)

    assert api_referral(staff, "CHE555001").status_code == 201
    assert api_referral(other_staff, " che555001").status_code == 201

    assert sorted(Patient.objects.values_list("clinic__code", "mrn")) == [
        ("north", "CHE555001"),
        ("south", "CHE555001"),
    ]
