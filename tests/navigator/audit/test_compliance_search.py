"""A compliance officer asks "who looked at this patient?" and "what did this user
look at?"; nobody else may ask, and the officer sees no patient's record."""

from __future__ import annotations

import pytest
from django.urls import reverse

from navigator.audit.models import AccessAction, AccessEvent
from navigator.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(db):
    return factories.UserFactory(role=Role.COMPLIANCE, username="compliance")


def _look(client, user, patient):
    client.force_login(user)
    client.get(reverse("patients:patient_detail", args=[patient.pk]))
    client.logout()


def test_who_looked_at_this_patient_lists_each_user_who_opened_the_record(client, officer, manager):
    # Given two patients, one opened by a manager and a navigator's manager colleague
    patient, other = factories.PatientFactory(), factories.PatientFactory()
    colleague = factories.ManagerFactory(username="colleague")
    _look(client, manager, patient)
    _look(client, colleague, other)

    # When the compliance officer searches by the first patient's number
    client.force_login(officer)
    response = client.get(reverse("audit:search"), {"patient": patient.pk})

    # Then only the manager's access to that patient is listed
    assert response.status_code == 200
    events = list(response.context["page"].object_list)
    assert [(e.username, e.route) for e in events] == [
        (manager.username, "patients:patient_detail")
    ]


def test_what_did_this_user_look_at_lists_the_users_accesses_and_their_patients(
    client, officer, manager
):
    # Given a manager who opened two patients' records
    first, second = factories.PatientFactory(), factories.PatientFactory()
    _look(client, manager, first)
    _look(client, manager, second)

    # When the officer searches by that user
    client.force_login(officer)
    response = client.get(reverse("audit:search"), {"user": manager.pk})

    # Then both accesses are there, newest first, with each patient's number (among the
    # sign-ins and sign-outs around them, which are listed too)
    events = [
        e for e in response.context["page"].object_list if e.route == "patients:patient_detail"
    ]
    assert [{p.patient_id for p in e.patients.all()} for e in events] == [
        {second.pk},
        {first.pk},
    ]
    assert f"#{second.pk}" in response.content.decode()


def test_a_patient_is_found_by_mrn_without_the_mrn_in_any_url(client, officer):
    # Given a patient with an MRN at a clinic
    patient = factories.PatientFactory(mrn="AB-4471")
    client.force_login(officer)

    # When the officer posts the clinic and MRN
    response = client.post(
        reverse("audit:patient_lookup"), {"clinic": patient.clinic_id, "mrn": " ab-4471"}
    )

    # Then they land on the search by the patient's number, and no row keeps the MRN
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('audit:search')}?patient={patient.pk}"
    assert not AccessEvent.objects.filter(path__icontains="4471").exists()


def test_an_unknown_mrn_says_so_and_changes_nothing(client, officer):
    clinic = factories.ClinicFactory()
    client.force_login(officer)

    response = client.post(reverse("audit:patient_lookup"), {"clinic": clinic.pk, "mrn": "NOPE"})

    assert response.status_code == 200
    assert "No patient of that clinic has this MRN." in response.content.decode()


def test_dates_out_of_order_are_refused_with_a_clear_error(client, officer):
    client.force_login(officer)

    response = client.get(reverse("audit:search"), {"since": "2026-05-02", "until": "2026-05-01"})

    assert "The end date is before the start date." in response.content.decode()
    assert list(response.context["page"].object_list) == []


@pytest.mark.parametrize("role", [Role.NAVIGATOR, Role.MANAGER, Role.CLINIC_STAFF])
def test_only_compliance_officers_and_administrators_may_search(client, role):
    # Given a user of another role
    clinic = factories.ClinicFactory()
    user = factories.UserFactory(role=role, clinic=clinic if role == Role.CLINIC_STAFF else None)
    client.force_login(user)

    # Then the audit trail is closed to them
    assert client.get(reverse("audit:search")).status_code == 403


def test_a_compliance_officer_cannot_open_a_patients_record(client, officer):
    # Given a patient
    patient = factories.PatientFactory()
    client.force_login(officer)

    # Then the officer reads the trail, not the records: home is the audit trail and
    # the patient's page is refused
    assert client.get(reverse("home"))["Location"] == reverse("audit:search")
    assert client.get(reverse("patients:patient_detail", args=[patient.pk])).status_code in {
        403,
        404,
    }


def test_the_search_itself_is_audited(client, officer):
    client.force_login(officer)

    client.get(reverse("audit:search"), {"action": AccessAction.VIEW})

    assert AccessEvent.objects.filter(username="compliance", route="audit:search").exists()


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"until": "9999-12-31"}, "The trail holds nothing after today"),
        ({"since": "9999-12-31"}, "The trail holds nothing after today"),
        ({"patient": str(2**63)}, "less than or equal to"),
        ({"patient": "abc"}, "Enter a whole number."),
        ({"user": "999999"}, "Select a valid choice."),
        ({"action": "steal"}, "Select a valid choice."),
    ],
)
def test_bad_search_input_gets_a_clear_error_not_a_500(client, officer, params, error):
    client.force_login(officer)

    response = client.get(reverse("audit:search"), params)

    assert response.status_code == 200
    assert error in response.content.decode()
