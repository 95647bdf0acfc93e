"""The right-of-access downloads on the patient page and in the API: managers only,
POST, attachments named without PHI, not cached, audited."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.audit.models import AccessAction, AccessedPatient, AccessEvent
from patients.models import PatientMerge
from tests import factories
from tests.support.api import token_authorization
from tests.support.patient_record import seed_full_record

pytestmark = pytest.mark.django_db

KINDS = {"fhir": "application/fhir+json", "pdf": "application/pdf"}


@pytest.fixture
def rows():
    return seed_full_record(marker="Alpha", phone="+16175550101")


def page_url(patient_id: int, kind: str) -> str:
    return reverse(f"navigator:patient_export_{kind}", args=[patient_id])


def api_url(patient_id: int, kind: str) -> str:
    return f"/api/patients/{patient_id}/right-of-access/{kind}/"


def export_events() -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(action=AccessAction.RIGHT_OF_ACCESS_EXPORT))


def test_the_patient_page_offers_the_two_downloads_to_a_manager_only(client, rows, manager):
    patient = rows["patients.Patient"]
    client.force_login(manager)
    page = client.get(reverse("patients:patient_detail", args=[patient.pk])).content.decode()
    assert "Right of access export" in page
    for kind in KINDS:
        assert f'method="post" action="{page_url(patient.pk, kind)}"' in page

    client.force_login(rows["navigator.NavigationCase"].navigator.user)
    page = client.get(reverse("patients:patient_detail", args=[patient.pk])).content.decode()
    assert "Right of access export" not in page


@pytest.mark.parametrize("kind", KINDS)
def test_a_manager_downloads_the_record_as_an_attachment_named_without_phi(
    client, rows, manager, kind
):
    # Given a manager on the patient's page
    patient = rows["patients.Patient"]
    client.force_login(manager)

    # When they press the download button
    response = client.post(page_url(patient.pk, kind))

    # Then the file comes as an attachment named by the patient's id and the day only
    assert response.status_code == 200
    assert response["Content-Type"] == KINDS[kind]
    extension = "fhir.json" if kind == "fhir" else "pdf"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="patient-{patient.pk}-export-{today}.{extension}"'
    )
    assert "no-store" in response["Cache-Control"]
    if kind == "fhir":
        assert json.loads(response.content)["type"] == "collection"
    else:
        assert response.content.startswith(b"%PDF")

    # And the export is in the audit trail: who, which patient, which format
    (event,) = export_events()
    assert event.user == manager
    assert event.detail == {"patient_id": str(patient.pk), "format": kind}
    assert AccessedPatient.objects.filter(event=event, patient_id=patient.pk).exists()
    # And the request's own row says it was an export, not a change
    assert AccessEvent.objects.filter(action=AccessAction.EXPORT, user=manager).exists()


def test_a_get_does_not_export(client, rows, manager):
    client.force_login(manager)
    response = client.get(page_url(rows["patients.Patient"].pk, "pdf"))
    assert response.status_code == 405
    assert not export_events()


def _someone_but_a_manager(rows, role: str):
    """The patient's own navigator, their clinic's staff, an administrator or a
    compliance officer."""
    patient = rows["patients.Patient"]
    return {
        "navigator": lambda: rows["navigator.NavigationCase"].navigator.user,
        "clinic_staff": lambda: factories.ClinicStaffFactory(clinic=patient.clinic),
        "admin": factories.AdminFactory,
        "compliance": lambda: factories.UserFactory(role="compliance"),
    }[role]()


@pytest.mark.parametrize("role", ["navigator", "clinic_staff", "admin", "compliance"])
def test_anyone_but_a_manager_is_refused(client, rows, role):
    # Given the patient's own navigator, their clinic's staff, or an administrator
    patient = rows["patients.Patient"]
    user = _someone_but_a_manager(rows, role)
    client.force_login(user)

    # When they post to the download, Then they are refused and nothing is exported
    for kind in KINDS:
        assert client.post(page_url(patient.pk, kind)).status_code == 403
    assert not export_events()


def test_a_visitor_not_signed_in_is_sent_to_sign_in(client, rows):
    response = client.post(page_url(rows["patients.Patient"].pk, "fhir"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not export_events()


def test_a_patient_not_found_or_merged_away_is_a_404(client, rows, manager):
    merged = PatientMerge.objects.get(survivor=rows["patients.Patient"]).duplicate_id
    client.force_login(manager)
    assert client.post(page_url(999_999, "fhir")).status_code == 404
    assert client.post(page_url(merged, "pdf")).status_code == 404
    assert not export_events()


@pytest.mark.parametrize("kind", KINDS)
def test_the_api_answers_a_manager_with_the_file_and_audits_it(api, rows, manager, kind):
    patient = rows["patients.Patient"]
    api.credentials(HTTP_AUTHORIZATION=token_authorization(manager))

    response = api.post(api_url(patient.pk, kind), HTTP_ACCEPT=KINDS[kind])

    assert response.status_code == 200
    assert response["Content-Type"] == KINDS[kind]
    assert f'filename="patient-{patient.pk}-export-' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    (event,) = export_events()
    assert event.user == manager
    assert event.detail == {"patient_id": str(patient.pk), "format": kind}


@pytest.mark.parametrize("role", ["navigator", "clinic_staff", "admin", "compliance"])
def test_the_api_refuses_anyone_but_a_manager(api, rows, role):
    patient = rows["patients.Patient"]
    user = _someone_but_a_manager(rows, role)
    api.force_authenticate(user)
    for kind in KINDS:
        response = api.post(api_url(patient.pk, kind))
        assert response.status_code == 403
        assert response["Content-Type"] == "application/json"
    api.force_authenticate(None)
    assert api.post(api_url(patient.pk, "fhir")).status_code in (401, 403)
    assert not export_events()


def test_the_api_answers_404_for_a_patient_not_found(api, manager):
    api.force_authenticate(manager)
    assert api.post(api_url(999_999, "pdf")).status_code == 404
    assert not export_events()


def test_both_operations_are_in_the_openapi_schema(api, manager):
    api.force_authenticate(manager)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    fhir = schema["paths"]["/api/patients/{id}/right-of-access/fhir/"]["post"]
    pdf = schema["paths"]["/api/patients/{id}/right-of-access/pdf/"]["post"]
    assert "application/fhir+json" in fhir["responses"]["200"]["content"]
    assert "application/pdf" in pdf["responses"]["200"]["content"]
