"""The admin's patient searches are posted, never put in an address (issue 14, item 5;
config.admin.SearchInBodyAdmin)."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

PATIENTS = "/admin/patients/patient/"


@pytest.fixture
def admin_client(client):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_patient_search_box_posts(admin_client):
    page = admin_client.get(PATIENTS).content.decode()

    assert '<form id="changelist-search" method="post" role="search">' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_posted_search_finds_the_patient_and_no_link_carries_it(admin_client):
    # Given two patients
    wanted = factories.PatientFactory(family_name="Adminsearchwanted", mrn="ADM-1001")
    factories.PatientFactory(family_name="Someoneelse", mrn="ADM-2002")

    # When an admin searches for one by MRN
    response = admin_client.post(PATIENTS, {"q": "ADM-1001"})

    # Then the list has that patient only, and no link on the page repeats the search
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]
    page = response.content.decode()
    assert "q=ADM-1001" not in page
    assert "q%3DADM-1001" not in page
    # (the box shows what was typed)
    assert 'value="ADM-1001"' in page


def test_filters_stay_in_the_address_and_ride_along_with_a_search(admin_client):
    clinic = factories.ClinicFactory()
    factories.PatientFactory(clinic=clinic, family_name="Filtered")

    response = admin_client.post(f"{PATIENTS}?clinic__id__exact={clinic.pk}", {"q": "filtered"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_a_search_in_the_address_is_refused(admin_client):
    response = admin_client.get(PATIENTS, {"q": "Adminsearchwanted"})

    assert response.status_code == 400
    assert "search box" in response.content.decode()


def test_an_admin_without_patient_search_keeps_djangos_get_search(admin_client):
    page = admin_client.get("/admin/patients/clinic/").content.decode()

    assert '<form id="changelist-search" method="get" role="search">' in page
    assert admin_client.get("/admin/patients/clinic/", {"q": "north"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/navigator/navigationcase/",
        "/admin/navigator/casebarrier/",
        "/admin/navigator/appointment/",
        "/admin/patients/screeningevent/",
        "/admin/patients/referral/",
        "/admin/patients/clinicalresource/",
    ],
)
def test_every_admin_that_searches_patients_posts_its_search(admin_client, path):
    assert admin_client.get(path, {"q": "x"}).status_code == 400
    assert admin_client.post(path, {"q": "x"}).status_code == 200
