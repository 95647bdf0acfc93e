"""Every read of a patient's data leaves a row saying who, when, from where and which
patients (issue 14, item 1; 45 CFR 164.312(b))."""

from __future__ import annotations

import pytest
from django.urls import reverse

from navigator.audit.models import AccessAction, AccessedPatient, AccessEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _request_event() -> AccessEvent:
    """The one row of the request under test: the test's own sign-in (force_login) has a
    row of its own (navigator.security_events)."""
    return AccessEvent.objects.exclude(action=AccessAction.SIGN_IN).get()


def _patients_of(event: AccessEvent) -> set[int]:
    return set(AccessedPatient.objects.filter(event=event).values_list("patient_id", flat=True))


def test_a_patient_page_records_who_looked_at_which_patient_from_where(client, manager):
    # Given a patient and a signed-in manager
    patient = factories.PatientFactory()
    client.force_login(manager)

    # When the manager opens the patient's page from an address
    response = client.get(
        reverse("patients:patient_detail", args=[patient.pk]), REMOTE_ADDR="10.1.2.3"
    )

    # Then one audit row names the manager, the route, the address and the patient
    assert response.status_code == 200
    event = _request_event()
    assert (event.user, event.username, event.role) == (manager, manager.username, "manager")
    assert event.action == AccessAction.VIEW
    assert event.route == "patients:patient_detail"
    assert event.ip_address == "10.1.2.3"
    assert event.status_code == 200
    assert _patients_of(event) == {patient.pk}


def test_a_list_page_of_fifty_patients_records_the_fifty_patient_ids(client, manager):
    # Given 60 overdue patients with open cases, more than one page of the worklist
    navigator = factories.NavigatorFactory()
    cases = factories.CaseFactory.create_batch(60, navigator=navigator, status="assigned")
    client.force_login(manager)

    # When the manager opens that navigator's worklist (50 rows a page)
    response = client.get(reverse("navigator:worklist"), {"navigator": navigator.pk})

    # Then the audit row lists the 50 patients on the page, as a list
    assert response.status_code == 200
    event = _request_event()
    assert event.action == AccessAction.LIST
    shown = _patients_of(event)
    assert event.patient_count == len(shown) == 50
    assert shown <= {case.patient_id for case in cases}


def test_an_api_read_with_a_token_records_the_tokens_user(api, navigator):
    # Given a navigator's case and the navigator's API credentials
    case = factories.CaseFactory(navigator=navigator, status="assigned")
    api.force_authenticate(user=navigator.user)

    # When the navigator reads the worklist through the API
    response = api.get("/api/worklist/")

    # Then the read is recorded against the navigator with the patient's id
    assert response.status_code == 200
    event = AccessEvent.objects.get()
    assert event.user == navigator.user
    assert event.route == "api:worklist"
    assert _patients_of(event) == {case.patient_id}


def test_a_query_string_never_reaches_the_audit_row(client, manager):
    # Given a signed-in manager
    client.force_login(manager)

    # When a page is asked for with a query string
    client.get(reverse("navigator:worklist"), {"sort": "due"})

    # Then the row keeps the path alone
    assert _request_event().path == reverse("navigator:worklist")


def test_a_change_is_recorded_as_a_change(client, navigator):
    # Given a navigator's case
    case = factories.CaseFactory(navigator=navigator, status="assigned")
    client.force_login(navigator.user)

    # When the navigator posts a note on it
    client.post(reverse("navigator:note_create", args=[case.pk]), {"text": "Prefers mornings"})

    # Then the request is audited as a change of that patient's data
    event = _request_event()
    assert event.action == AccessAction.CHANGE
    assert event.method == "POST"
    assert case.patient_id in _patients_of(event)


def test_anonymous_requests_and_static_files_leave_no_row(client):
    # When nobody signed in asks for a page
    client.get(reverse("navigator:worklist"))

    # Then there is nobody to record (a failed sign-in is recorded by its own event)
    assert not AccessEvent.objects.exists()


def test_a_background_job_records_no_access(db):
    # When a patient is loaded outside any request (a task, a command)
    patient = factories.PatientFactory()
    type(patient).objects.get(pk=patient.pk)

    # Then no access is recorded: nobody looked
    assert not AccessEvent.objects.exists()
