"""The patient page and API: each screening status with its reasons, to those who may see it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from patients.services import care_gaps
from tests.factories import (
    CaseFactory,
    ClinicFactory,
    ClinicStaffFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
    program,
)
from tests.support.api import api_as
from tests.support.fhir import diabetes, ehr_resource, fit, hba1c

pytestmark = pytest.mark.django_db


@pytest.fixture
def screened_patient():
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1), sex="male")
    ehr_resource(patient, fit("2025-03-02"))
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=dt.date(2025, 6, 1))
    return patient


def login(client, user):
    client.force_login(user)


def test_the_patient_page_shows_each_status_with_its_reasons(client, screened_patient):
    login(client, ManagerFactory())

    response = client.get(reverse("patients:patient_detail", args=[screened_patient.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("FIT (fecal immunochemical test) 2025-03-02, next due 2026-03-02") == 1
    assert "Up to date" in page
    assert "Not eligible" in page  # breast, for a man
    # (version 2: the migrations' rules, then their result pathways)
    assert "rules version 2" in page


def test_a_navigator_sees_the_page_of_a_patient_they_navigate_and_no_other(
    client, screened_patient
):
    navigator = NavigatorFactory()
    CaseFactory(patient=screened_patient, program=program("colorectal"), navigator=navigator)
    other = PatientFactory()
    login(client, navigator.user)

    assert (
        client.get(reverse("patients:patient_detail", args=[screened_patient.pk])).status_code
        == 200
    )
    assert client.get(reverse("patients:patient_detail", args=[other.pk])).status_code == 404


def test_clinic_staff_see_their_own_clinics_patients_without_case_links(client, screened_patient):
    staff = ClinicStaffFactory(clinic=screened_patient.clinic)
    CaseFactory(patient=screened_patient, program=program("colorectal"))
    login(client, staff)

    response = client.get(reverse("patients:patient_detail", args=[screened_patient.pk]))

    assert response.status_code == 200
    assert "Navigation cases" not in response.content.decode()
    other_clinic = ClinicStaffFactory(clinic=ClinicFactory())
    client.logout()
    login(client, other_clinic)
    assert (
        client.get(reverse("patients:patient_detail", args=[screened_patient.pk])).status_code
        == 404
    )


def test_a_patient_not_yet_computed_says_so(client):
    patient = PatientFactory()
    login(client, ManagerFactory())

    response = client.get(reverse("patients:patient_detail", args=[patient.pk]))

    assert "Not computed yet" in response.content.decode()


def test_the_api_lists_the_care_gaps_with_reasons(screened_patient):
    response = api_as(ManagerFactory()).get(f"/api/patients/{screened_patient.pk}/care-gaps/")

    assert response.status_code == 200
    colorectal = next(g for g in response.json() if g["program"] == "colorectal")
    assert colorectal["status"] == "up_to_date"
    assert (
        colorectal["summary"] == "FIT (fecal immunochemical test) 2025-03-02, next due 2026-03-02"
    )
    assert colorectal["last_modality"] == "fit"
    assert colorectal["next_due_on"] == "2026-03-02"
    assert colorectal["rule_version"] == 2


def test_the_care_gap_api_is_scoped_like_the_patient(screened_patient):
    navigator = NavigatorFactory()

    response = api_as(navigator.user).get(f"/api/patients/{screened_patient.pk}/care-gaps/")

    assert response.status_code == 404


def test_managers_list_overdue_patients_first_and_can_filter(client):
    overdue = PatientFactory(birth_date=dt.date(1960, 1, 1), sex="male", family_name="Overdue")
    screened = PatientFactory(birth_date=dt.date(1960, 1, 1), sex="male", family_name="Screened")
    ehr_resource(screened, fit("2026-05-01"))
    care_gaps.care_gaps_recompute(patient_ids=[overdue.pk, screened.pk], as_of=dt.date(2026, 6, 1))
    login(client, ManagerFactory())

    default = client.get(reverse("patients:care_gap_list")).content.decode()
    up_to_date = client.get(
        reverse("patients:care_gap_list"), {"program": "colorectal", "status": "up_to_date"}
    ).content.decode()

    assert "Overdue, " in default and "Screened, " not in default
    assert "Screened, " in up_to_date and "Overdue, " not in up_to_date


def test_the_care_gap_list_opens_on_every_gap_a_control_programmes_too(client):
    # Given a patient overdue for colorectal screening, and one with diabetes whose last
    # HbA1c this year was 10.2% (poor control: a gap, not "overdue")
    overdue = PatientFactory(birth_date=dt.date(1960, 1, 1), sex="male", family_name="Overdue")
    poor = PatientFactory(birth_date=dt.date(1960, 1, 1), sex="male", family_name="Poorcontrol")
    ehr_resource(poor, diabetes("2015-01-01"))
    ehr_resource(poor, hba1c("2026-03-02", 10.2))
    ehr_resource(poor, fit("2026-05-01"))
    care_gaps.care_gaps_recompute(patient_ids=[overdue.pk, poor.pk], as_of=dt.date(2026, 6, 1))
    login(client, ManagerFactory())
    # When the manager opens the list
    default = client.get(reverse("patients:care_gap_list")).content.decode()
    # Then both gaps are on it, and the filter says what it shows
    assert "Overdue, " in default and "Poorcontrol, " in default
    assert "Poor control" in default
    assert 'value="gap" selected' in default


def test_navigators_and_clinic_staff_cannot_open_the_care_gap_list(client):
    login(client, NavigatorFactory().user)
    assert client.get(reverse("patients:care_gap_list")).status_code == 403
