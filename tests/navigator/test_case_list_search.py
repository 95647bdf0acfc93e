"""The managers' "All cases": a search by name, MRN, phone or birth date that only a
POST body carries (never a logged URL), and filters by language, clinic, status and
programme in the address."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from patients.models import PatientPhone
from tests import factories

pytestmark = pytest.mark.django_db

LIST = reverse("navigator:case_list")


@pytest.fixture
def maria(clinic):
    patient = factories.PatientFactory(
        clinic=clinic,
        mrn="CHE555001",
        given_name="María",
        family_name="Santos",
        birth_date=dt.date(1966, 4, 30),
        preferred_language="es",
    )
    PatientPhone.objects.create(patient=patient, number="+16175550142", kind="mobile")
    return factories.CaseFactory(patient=patient)


@pytest.fixture
def tom():
    south = factories.ClinicFactory(code="south")
    patient = factories.PatientFactory(
        clinic=south,
        mrn="S-9",
        given_name="Tom",
        family_name="Okafor",
        birth_date=dt.date(1970, 1, 2),
        preferred_language="en",
    )
    return factories.CaseFactory(patient=patient, program=factories.program("breast"))


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def pks(response) -> set[int]:
    return {case.pk for case in response.context["cases"]}


@pytest.mark.parametrize(
    "typed",
    ["santos", "Santos María", " che555001 ", "(617) 555-0142", "617.555.0142", "1966-04-30",
     "04/30/1966"],
)  # fmt: skip
def test_a_manager_finds_a_case_by_name_mrn_phone_or_birth_date(manager_client, maria, tom, typed):
    response = manager_client.post(LIST, {"q": typed})

    assert response.status_code == 200
    assert pks(response) == {maria.pk}


def test_a_search_in_the_address_is_refused_so_it_never_lands_in_a_log(manager_client, maria):
    response = manager_client.get(LIST, {"q": "Santos"})

    assert response.status_code == 400
    assert "a search in the address would be kept in logs" in response.content.decode()
    assert pks(response) == set()


def test_a_malformed_birth_date_is_refused_with_what_is_wrong(manager_client, maria):
    response = manager_client.post(LIST, {"q": "1966-02-31"})

    assert response.status_code == 400
    assert "is not a date" in response.content.decode()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"language": "es"}, "maria"),
        ({"language": "en"}, "tom"),
        ({"status": "assigned", "program": "PROGRAM"}, "maria"),
        ({"clinic": "SOUTH"}, "tom"),
    ],
)
def test_the_filters_narrow_by_language_clinic_status_and_programme(
    manager_client, maria, tom, filters, expected
):
    filters = dict(filters)
    if filters.get("program") == "PROGRAM":
        filters["program"] = str(maria.program_id)
    if filters.get("clinic") == "SOUTH":
        filters["clinic"] = str(tom.patient.clinic_id)

    response = manager_client.get(LIST, filters)

    assert response.status_code == 200
    assert pks(response) == {{"maria": maria, "tom": tom}[expected].pk}


def test_a_search_keeps_the_filters_in_force(manager_client, maria, tom):
    response = manager_client.post(LIST, {"q": "okafor", "language": "es"})

    assert pks(response) == set()
    assert pks(manager_client.post(LIST, {"q": "okafor", "language": "en"})) == {tom.pk}


def test_the_search_form_posts_and_carries_the_filters_in_force(manager_client, maria):
    html = manager_client.get(LIST, {"language": "es"}).content.decode()

    assert 'data-testid="case-search-form"' in html
    assert '<input type="hidden" name="language" value="es">' in html


def test_bad_filters_are_refused_with_what_is_wrong(manager_client, maria):
    response = manager_client.get(LIST, {"language": "klingon", "clinic": "999999"})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "“klingon” is not an ISO 639 language code" in str(errors["language"])
    assert "clinic" in errors


def test_navigators_and_clinic_staff_may_not_search_all_cases(client, navigator, clinic_staff):
    for user in (navigator.user, clinic_staff):
        client.force_login(user)
        assert client.post(LIST, {"q": "santos"}).status_code == 403
