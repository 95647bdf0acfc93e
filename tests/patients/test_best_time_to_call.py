"""When a patient is easiest to reach (Patient.best_contact_times, in words): given
on the referral page and the API, shown on the patient page and on the worklist row
beside the number to call. Too long is refused and writes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from navigator.models import NavigationCase
from patients.models import Patient, Referral
from tests import factories
from tests.api.test_referrals_api import referral_payload
from tests.patients.test_pages_referrals import referral_post
from tests.support.api import api_as

pytestmark = pytest.mark.django_db
NEW = reverse("patients:referral_create")


def test_the_referral_page_takes_the_best_time_to_call(client, clinic_staff, navigator):
    client.force_login(clinic_staff)
    assert 'name="best_contact_times"' in client.get(NEW).content.decode()

    response = client.post(NEW, referral_post(best_contact_times="  Weekday   mornings "))

    assert response.status_code == 302
    assert Referral.objects.get().patient.best_contact_times == "Weekday mornings"


def test_the_referral_page_refuses_a_best_time_too_long(client, clinic_staff, navigator):
    client.force_login(clinic_staff)

    response = client.post(NEW, referral_post(best_contact_times="x" * 201))

    assert response.status_code == 400
    assert response.context["form"].errors["best_contact_times"]
    assert not Patient.objects.exists()


def test_the_api_takes_the_best_time_to_call_and_shows_it(clinic_staff, navigator, manager):
    response = api_as(clinic_staff).post(
        "/api/referrals/", referral_payload(best_contact_times="After 6 pm"), format="json"
    )

    assert response.status_code == 201, response.content
    patient = Patient.objects.get()
    assert patient.best_contact_times == "After 6 pm"
    shown = api_as(manager).get(f"/api/patients/{patient.pk}/").json()
    assert shown["best_contact_times"] == "After 6 pm"


def test_the_api_refuses_a_best_time_too_long(clinic_staff, navigator):
    response = api_as(clinic_staff).post(
        "/api/referrals/", referral_payload(best_contact_times="x" * 201), format="json"
    )

    assert response.status_code == 400
    assert "best_contact_times" in response.json()["patient"]
    assert not Patient.objects.exists() and not NavigationCase.objects.exists()


def test_the_patient_page_and_the_worklist_show_it(client, navigator):
    case = factories.CaseFactory(
        navigator=navigator,
        patient__best_contact_times="Evenings after 6",
        patient__phone="+16175550177",
    )
    client.force_login(navigator.user)

    patient_page = client.get(reverse("patients:patient_detail", args=[case.patient_id]))
    worklist = client.get(reverse("navigator:worklist"))

    assert "Best time to call" in patient_page.content.decode()
    assert "Evenings after 6" in patient_page.content.decode()
    assert "Best: Evenings after 6" in worklist.content.decode()
