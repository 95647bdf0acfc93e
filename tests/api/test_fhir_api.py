"""`POST /api/fhir/` and `manage.py import_fhir`: who may import, what they answer, and output
that carries ids and counts only."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from fhir.resources.R4B.operationoutcome import OperationOutcome

from patients.models import ClinicalResource, DataQualityWarning, FhirImport, Patient
from tests.factories import (
    AdminFactory,
    ClinicFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
)
from tests.factories import FhirSourceFactory as FeedFactory
from tests.support.api import api_as
from tests.support.fhir import bundle, observation, patient_resource, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(clinic):
    return FeedFactory(key="ehr", clinic=clinic)


def post(user, payload: bytes, *, source="ehr", content_type="application/fhir+json", **extra):
    return api_as(user).generic(
        "POST", f"/api/fhir/?source={source}", payload, content_type=content_type, **extra
    )


def outcome_of(response) -> dict:
    """The response's OperationOutcome, checked against FHIR's own model."""
    outcome = json.loads(response.content)
    OperationOutcome.model_validate(outcome)
    return outcome


# --- Who may import ---------------------------------------------------------------------------


@pytest.mark.parametrize("make_user", [ManagerFactory, AdminFactory])
def test_managers_and_admins_may_import(feed, make_user):
    response = post(make_user(), bundle(patient_resource(), observation(1)))

    assert response.status_code == 200
    assert Patient.objects.count() == 1


def test_a_navigator_is_refused_with_an_operation_outcome(feed):
    response = post(NavigatorFactory().user, bundle(patient_resource()))

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/fhir+json")
    assert outcome_of(response)["issue"][0]["code"] == "forbidden"
    assert row_counts()["Patient"] == 0


def test_an_anonymous_caller_is_refused_with_an_operation_outcome(feed, client):
    response = client.post(
        "/api/fhir/?source=ehr", bundle(patient_resource()), content_type="application/fhir+json"
    )

    assert response.status_code in {401, 403}
    assert outcome_of(response)["issue"][0]["code"] == "login"
    assert row_counts()["Patient"] == 0


# --- What it answers --------------------------------------------------------------------------


def test_success_answers_the_counts_then_each_warning_as_fhir(feed):
    odd = observation(2, code={"coding": [{"system": "http://example.org/local", "code": "X"}]})
    payload = bundle(
        patient_resource(), observation(1), odd, {"resourceType": "MeasureReport", "id": "m"}
    )

    response = post(ManagerFactory(), payload, HTTP_ACCEPT="application/fhir+json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    first, *warnings = outcome_of(response)["issue"]
    assert first["severity"] == "information"
    assert first["diagnostics"] == (
        "Imported: 3 created, 0 updated, 0 unchanged; skipped 1 MeasureReport; 1 warning(s)."
    )
    assert [w["expression"] for w in warnings] == [["Bundle.entry[2].resource.code.coding[0]"]]


def test_plain_application_json_is_accepted_too(feed):
    response = post(
        ManagerFactory(),
        bundle(patient_resource()),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_posting_the_same_bundle_again_answers_unchanged_and_writes_nothing(feed):
    manager = ManagerFactory()
    payload = bundle(patient_resource(), observation(1))
    post(manager, payload)
    before = row_counts()

    response = post(manager, payload)

    assert "0 created, 0 updated, 2 unchanged" in outcome_of(response)["issue"][0]["diagnostics"]
    assert row_counts() == before


def test_an_invalid_bundle_answers_400_naming_each_problem_and_writes_nothing(feed):
    before = row_counts()

    response = post(
        ManagerFactory(),
        bundle(patient_resource(birthDate="1965-13-45"), observation(1, subject="Encounter/1")),
    )

    assert response.status_code == 400
    assert [i["expression"] for i in outcome_of(response)["issue"]] == [
        ["Bundle.entry[0].resource.birthDate"],
        ["Bundle.entry[1].resource.subject.reference"],
    ]
    assert row_counts() == before


def test_truncated_json_answers_400_with_line_and_column(feed):
    response = post(ManagerFactory(), bundle(patient_resource())[:-5])

    assert response.status_code == 400
    assert "Not valid JSON at line 1, column" in outcome_of(response)["issue"][0]["diagnostics"]


def test_a_reference_to_an_unknown_patient_answers_422(feed):
    response = post(ManagerFactory(), json.dumps(observation(1, subject="Patient/ghost")).encode())

    assert response.status_code == 422
    assert outcome_of(response)["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize(("source", "code"), [("", "required"), ("nope", "not-found")])
def test_a_missing_or_unknown_feed_answers_400_naming_the_parameter(feed, source, code):
    response = post(ManagerFactory(), bundle(patient_resource()), source=source)

    assert response.status_code == 400
    problem = outcome_of(response)["issue"][0]
    assert (problem["code"], problem["expression"]) == (code, ["source"])


def test_a_body_over_20_mb_answers_413_and_writes_nothing(feed):
    response = post(ManagerFactory(), b" " * (20 * 1024 * 1024 + 1))

    assert response.status_code == 413
    assert outcome_of(response)["issue"][0]["code"] == "too-costly"
    assert row_counts()["FhirImport"] == 0


def test_another_content_type_answers_415(feed):
    response = post(ManagerFactory(), b"a,b\n1,2\n", content_type="text/csv")

    assert response.status_code == 415
    outcome_of(response)


def test_the_importing_manager_is_recorded(feed):
    manager = ManagerFactory()

    post(manager, bundle(patient_resource()))

    assert FhirImport.objects.get().received_by == manager


def test_the_schema_documents_the_endpoint(manager):
    response = api_as(manager).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    operation = response.json()["paths"]["/api/fhir/"]["post"]
    assert "application/fhir+json" in operation["requestBody"]["content"]
    assert {"200", "400", "403", "413", "422"} <= set(operation["responses"])


# --- The command ------------------------------------------------------------------------------


def test_the_command_reads_folders_recursively_and_reports_skips_and_warnings(feed, tmp_path):
    PatientFactory(clinic=feed.clinic, mrn="MRN-1", given_name="Rosa", family_name="Quiroga")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "a.json").write_bytes(
        bundle(patient_resource(), observation(1), {"resourceType": "Practitioner", "id": "d"})
    )
    (tmp_path / "notes.txt").write_text("not FHIR")
    out = StringIO()

    call_command("import_fhir", str(tmp_path), source="ehr", stdout=out, stderr=StringIO())

    text = out.getvalue()
    assert "a.json: 2 created, 0 updated, 0 unchanged; skipped 1 Practitioner; 1 warning(s)" in (
        text
    )
    assert "warning: Feed ehr Patient/p1 shares identifier urn:mrn (its MRN)" in text
    assert "1 of 1 file(s) imported." in text
    for secret in ["Lima", "Ana", "Rosa", "Quiroga", "MRN-1", "1965"]:
        assert secret not in text
    assert DataQualityWarning.objects.count() == 1


def test_the_command_exits_1_naming_each_problem_but_keeps_the_good_files(feed, tmp_path):
    (tmp_path / "good.json").write_bytes(bundle(patient_resource()))
    (tmp_path / "bad.json").write_bytes(
        bundle(observation(1, subject="Patient/p1", effectiveDateTime="2025-13-01"))
    )
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as error:
        call_command("import_fhir", str(tmp_path), source="ehr", stdout=out, stderr=err)

    assert error.value.returncode == 1
    assert "bad.json: not imported" in err.getvalue()
    assert "[Bundle.entry[0].resource.effectiveDateTime]" in err.getvalue()
    assert "1 of 2 file(s) imported." in out.getvalue()
    assert ClinicalResource.objects.filter(resource_type="Observation").count() == 0
    assert Patient.objects.count() == 1


def test_the_command_refuses_a_path_that_does_not_exist(feed, tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import_fhir", str(tmp_path / "missing.json"), source="ehr")


def test_the_command_lists_the_known_feeds_when_the_feed_is_unknown(feed, tmp_path):
    with pytest.raises(CommandError, match=r"known: ehr\)"):
        call_command("import_fhir", str(tmp_path), source="other")


def test_the_command_will_not_file_a_feed_under_another_clinic(feed, tmp_path):
    other = ClinicFactory(code="south")
    (tmp_path / "a.json").write_bytes(bundle(patient_resource()))

    with pytest.raises(CommandError, match="belongs to clinic"):
        call_command("import_fhir", str(tmp_path), source="ehr", clinic=other.code)

    assert Patient.objects.count() == 0


def test_the_command_creates_a_named_feed_for_a_clinic(clinic, tmp_path):
    (tmp_path / "a.json").write_bytes(bundle(patient_resource()))

    call_command(
        "import_fhir",
        str(tmp_path / "a.json"),
        source="epic-north",
        clinic=clinic.code,
        source_name="Epic (North)",
        stdout=StringIO(),
    )

    patient = Patient.objects.get()
    assert patient.clinic == clinic
    assert patient.source_links.get().source.name == "Epic (North)"
