"""FHIR R4 intake: mapping, identity and linking, idempotence, and every bad input."""

from __future__ import annotations

import copy
import json
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.fhir.importer import fhir_import
from patients.fhir.outcome import FhirImportError
from patients.models import (
    ClinicalResource,
    DataQualityWarning,
    FhirSource,
    Patient,
    PatientSourceLink,
)
from tests.conftest import api_as, need
from tests.factories import (
    ClinicStaffFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

ECQM = Path(__file__).resolve().parents[2] / "shared" / "ecqm"
CMS_COLONOSCOPY_CASE = (
    ECQM / "CMS130-colorectal" / "tests" / "2292adf2-3232-43f8-9497-8448349c51a9.json"
)


@pytest.fixture
def feed(clinic):
    return FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)


def patient_resource(**overrides) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": "urn:mrn",
                "value": "MRN-1",
            }
        ],
        "name": [{"use": "official", "family": "Lima", "given": ["Ana", "Maria"]}],
        "gender": "female",
        "birthDate": "1965-04-02",
    }
    resource.update(overrides)
    return resource


def observation(number: int, subject: str = "Patient/p1", **overrides) -> dict:
    resource = {
        "resourceType": "Observation",
        "id": f"obs-{number}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29771-3"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2025-03-02",
        "valueString": "negative",
    }
    resource.update(overrides)
    return resource


def bundle(*resources: dict, kind: str = "transaction") -> bytes:
    entries = []
    for resource in resources:
        entry: dict = {"resource": resource}
        if kind == "transaction":
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
        entries.append(entry)
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}).encode()


def row_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("patients").get_models()}


def run(feed, payload: bytes):
    return fhir_import(source=feed, payload=payload, origin="test", actor=None)


def refused(feed, payload: bytes) -> list[dict]:
    before = row_counts()
    with pytest.raises(FhirImportError) as error:
        run(feed, payload)
    assert row_counts() == before, "a refused import must write nothing"
    return error.value.issues


# --- The official shape -----------------------------------------------------------------------


def test_a_cms_case_imports_its_patient_and_resources_and_skips_the_measure_report(feed):
    need("the CMS eCQM test cases", CMS_COLONOSCOPY_CASE.is_file(), "absent")

    result = run(feed, CMS_COLONOSCOPY_CASE.read_bytes())

    link = PatientSourceLink.objects.get(source=feed)
    assert link.resource_id == "2292adf2-3232-43f8-9497-8448349c51a9"
    patient = link.patient
    assert (patient.given_name, patient.family_name, str(patient.birth_date)) == (
        "Betty",
        "Bertha",
        "1979-01-01",
    )
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == [
        "asian",
        "hispanic",
    ]
    assert result.skipped == {"MeasureReport": 1}
    # Identity is the id the PUT names, not the fullUrl's (Encounter-27).
    types = dict(
        ClinicalResource.objects.filter(patient=patient).values_list("resource_type", "resource_id")
    )
    assert types["Encounter"] == "61fc6890-04df-45cc-bbc3-f44f244e18a3"
    assert types["Procedure"] == "2a6ab9ae-5532-4794-81f1-b63fa0c31298"
    assert patient.clinical_data_changed_at is not None


def test_the_same_bundle_again_changes_nothing_at_all(feed):
    payload = bundle(patient_resource(), observation(1), observation(2))
    run(feed, payload)
    before = row_counts()
    stamps = list(Patient.objects.values_list("updated_at", "clinical_data_changed_at"))

    result = run(feed, payload)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert result.fhir_import is None
    assert row_counts() == before
    assert list(Patient.objects.values_list("updated_at", "clinical_data_changed_at")) == stamps


def test_a_changed_resource_is_updated_and_marks_the_patient_for_recompute(feed):
    run(feed, bundle(patient_resource(), observation(1)))
    stamp = Patient.objects.get().clinical_data_changed_at

    result = run(feed, bundle(patient_resource(), observation(1, status="amended")))

    assert (result.created, result.updated) == (0, 1)
    assert ClinicalResource.objects.get(resource_id="obs-1").resource["status"] == "amended"
    assert Patient.objects.get().clinical_data_changed_at > stamp


def test_every_cms_case_into_one_feed_gives_one_patient_each_never_merged(feed):
    need("the CMS eCQM test cases", ECQM.is_dir(), "absent")
    cases = sorted(ECQM.glob("*/tests/*.json"))

    for case in cases:
        run(feed, case.read_bytes())

    assert PatientSourceLink.objects.filter(source=feed).count() == len(cases)
    assert Patient.objects.count() == len(cases)
    # They all carry MRN 999999995: the first keeps it, the others are warnings.
    assert Patient.objects.filter(mrn="999999995").count() == 1
    assert DataQualityWarning.objects.count() == len(cases) - 1


# --- Linking to patients already known --------------------------------------------------------


def test_an_mrn_with_the_same_name_and_birth_date_links_to_the_referred_patient(feed):
    known = PatientFactory(
        clinic=feed.clinic, mrn="MRN-1", given_name="Ana Maria", family_name="LIMA",
        birth_date="1965-04-02",
    )  # fmt: skip

    run(feed, bundle(patient_resource(), observation(1)))

    assert Patient.objects.count() == 1
    assert PatientSourceLink.objects.get(resource_id="p1").patient == known
    assert ClinicalResource.objects.get(resource_id="obs-1").patient == known


def test_an_mrn_of_somebody_else_is_a_warning_and_a_new_patient_never_a_merge(feed):
    known = PatientFactory(
        clinic=feed.clinic, mrn="MRN-1", given_name="Rosa", birth_date="1950-01-01"
    )

    result = run(feed, bundle(patient_resource(), observation(1)))

    new = PatientSourceLink.objects.get(resource_id="p1").patient
    assert new != known
    assert new.mrn == ""
    warning = DataQualityWarning.objects.get()
    assert (warning.patient, warning.other_patient) == (new, known)
    assert "Lima" not in warning.message and "Rosa" not in warning.message
    assert any(w["code"] == "duplicate" for w in result.warnings)
    assert ClinicalResource.objects.get(resource_id="obs-1").patient == new


# --- Mapping ----------------------------------------------------------------------------------


def test_language_interpreter_race_and_phones_are_mapped(feed):
    resource = patient_resource(
        communication=[
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}},
            {
                "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "pt-BR"}]},
                "preferred": True,
            },
        ],
        extension=[
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
                "valueBoolean": True,
            },
            {
                "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {
                            "system": "urn:oid:2.16.840.1.113883.6.238",
                            "code": "2054-5",
                        },
                    },
                    {
                        "url": "detailed",
                        "valueCoding": {
                            "system": "urn:oid:2.16.840.1.113883.6.238",
                            "code": "2118-8",
                        },
                    },
                ],
            },
        ],
        telecom=[
            {"system": "phone", "value": "(617) 555-0142", "use": "home"},
            {"system": "phone", "value": "not a number"},
            {"system": "email", "value": "ana@example.org"},
        ],
    )

    result = run(feed, bundle(resource))

    patient = Patient.objects.get()
    assert patient.preferred_language == "pt"
    assert patient.interpreter_needed is True
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == ["black", "mena"]
    assert [(str(p.number), p.kind) for p in patient.phones.all()] == [("+16175550142", "home")]
    assert patient.email == "ana@example.org"
    assert [w["expression"] for w in result.warnings] == [["Bundle.entry[0].resource.telecom[1]"]]


@pytest.mark.parametrize("kind", ["batch", "collection"])
def test_batch_and_collection_bundles_import(feed, kind):
    resources = [patient_resource(), observation(1)]

    run(feed, bundle(*resources, kind=kind))

    assert ClinicalResource.objects.count() == 2


def test_a_single_resource_imports_for_a_patient_known_from_the_feed(feed):
    run(feed, json.dumps(patient_resource()).encode())

    run(feed, json.dumps(observation(9)).encode())

    assert ClinicalResource.objects.get(resource_id="obs-9").patient == Patient.objects.get()


def test_a_dangling_reference_in_a_one_patient_bundle_is_attributed_with_a_warning(feed):
    result = run(feed, bundle(patient_resource(), observation(1, subject="Patient/Patient-5")))

    assert ClinicalResource.objects.get(resource_id="obs-1").patient == Patient.objects.get()
    assert "attributed to its only Patient" in result.warnings[0]["diagnostics"]


def test_an_unknown_code_system_is_a_warning_and_the_resource_is_kept(feed):
    odd = observation(
        1, code={"coding": [{"system": "http://example.org/local-codes", "code": "X1"}]}
    )

    result = run(feed, bundle(patient_resource(), odd))

    assert ClinicalResource.objects.filter(resource_id="obs-1").exists()
    assert result.warnings[0]["code"] == "code-unknown"
    assert result.warnings[0]["expression"] == ["Bundle.entry[1].resource.code.coding[0]"]


# --- Bad input: a clear error naming the place, nothing written -------------------------------


def test_truncated_json_is_refused_with_line_and_column(feed):
    issues = refused(feed, bundle(patient_resource())[:-20])

    assert "Not valid JSON at line 1" in issues[0]["diagnostics"]
    assert "truncated" in issues[0]["diagnostics"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"<Bundle/>", "Not valid JSON"),
        (b"[1, 2]", "JSON object with a resourceType"),
        (json.dumps({"resourceType": "Bundle", "type": "searchset"}).encode(), "searchset"),
    ],
)
def test_unreadable_input_is_refused(feed, payload, message):
    issues = refused(feed, payload)

    assert message in issues[0]["diagnostics"]


def test_a_reference_to_something_that_is_not_a_patient_is_refused(feed):
    issues = refused(feed, bundle(patient_resource(), observation(1, subject="Encounter/e1")))

    assert issues[0]["expression"] == ["Bundle.entry[1].resource.subject.reference"]
    assert "not a Encounter" in issues[0]["diagnostics"]


def test_a_patient_with_neither_id_nor_identifier_is_refused(feed):
    nameless = patient_resource()
    del nameless["id"], nameless["identifier"]

    issues = refused(
        feed,
        json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": nameless}]}
        ).encode(),
    )

    assert issues[0]["code"] == "required"
    assert issues[0]["expression"] == ["Bundle.entry[0].resource"]


@pytest.mark.parametrize(
    ("resource", "where"),
    [
        (patient_resource(birthDate="1965-13-45"), "Bundle.entry[0].resource.birthDate"),
        (patient_resource(birthDate=None), "Bundle.entry[0].resource.birthDate"),
    ],
)
def test_impossible_or_missing_birth_dates_are_refused(feed, resource, where):
    resource = {k: v for k, v in resource.items() if v is not None}

    issues = refused(feed, bundle(resource))

    assert issues[0]["expression"] == [where]


def test_one_bad_entry_among_good_ones_writes_nothing(feed):
    bad = observation(2, effectiveDateTime="2025-02-30")

    issues = refused(feed, bundle(patient_resource(), observation(1), bad, observation(3)))

    assert [i["expression"] for i in issues] == [["Bundle.entry[2].resource.effectiveDateTime"]]


def test_a_reference_to_an_unknown_patient_in_a_bundle_of_several_is_refused(feed):
    other = patient_resource(id="p2", identifier=[{"system": "urn:mrn", "value": "MRN-2"}])

    issues = refused(
        feed, bundle(patient_resource(), other, observation(1, subject="Patient/nobody"))
    )

    assert issues[0]["code"] == "not-found"
    assert "Patient/nobody" in issues[0]["diagnostics"]


def test_the_same_resource_twice_in_a_bundle_is_refused(feed):
    issues = refused(feed, bundle(patient_resource(), observation(1), observation(1)))

    assert "appears twice" in issues[0]["diagnostics"]


# --- Speed: queries do not grow with the resources in a bundle --------------------------------


def test_importing_makes_the_same_number_of_queries_for_5_or_50_resources(feed):
    def queries_for(count: int, patient_id: str) -> int:
        payload = bundle(
            patient_resource(
                id=patient_id, identifier=[{"system": "urn:mrn", "value": patient_id}]
            ),
            *[
                observation(n, subject=f"Patient/{patient_id}", id=f"{patient_id}-{n}")
                for n in range(count)
            ],
        )
        with CaptureQueriesContext(connection) as captured:
            run(feed, payload)
        return len(captured)

    assert queries_for(5, "small") == queries_for(50, "large")


# --- The API ----------------------------------------------------------------------------------


def post(user, payload: bytes, source: str = "ehr", content_type: str = "application/fhir+json"):
    return api_as(user).generic(
        "POST", f"/api/fhir/?source={source}", payload, content_type=content_type
    )


def test_a_manager_posts_a_bundle_and_gets_an_operation_outcome_with_the_counts(feed):
    response = post(ManagerFactory(), bundle(patient_resource(), observation(1)))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "information"
    assert "2 created" in outcome["issue"][0]["diagnostics"]


def test_the_api_answers_an_invalid_bundle_with_each_problem_and_writes_nothing(feed):
    before = row_counts()

    response = post(ManagerFactory(), bundle(patient_resource(birthDate="1965-02-30")))

    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.birthDate"]
    assert row_counts() == before


def test_the_api_answers_an_unknown_patient_with_422(feed):
    response = post(
        ManagerFactory(),
        json.dumps(observation(1, subject="Patient/ghost")).encode(),
        content_type="application/json",
    )

    assert response.status_code == 422


@pytest.mark.parametrize(("source", "status"), [("", 400), ("nope", 400)])
def test_the_feed_must_be_named_and_known(feed, source, status):
    response = post(ManagerFactory(), bundle(patient_resource()), source=source)

    assert response.status_code == status
    assert response.json()["issue"][0]["expression"] == ["source"]


def test_a_body_over_the_limit_is_413(feed, settings):
    response = post(ManagerFactory(), b" " * (21 * 1024 * 1024))

    assert response.status_code == 413


@pytest.mark.parametrize("make_user", [lambda: NavigatorFactory().user, ClinicStaffFactory])
def test_only_managers_may_import(feed, make_user):
    assert post(make_user(), bundle(patient_resource())).status_code == 403
    assert Patient.objects.count() == 0


def test_anonymous_callers_are_refused(feed, client):
    response = client.post(
        "/api/fhir/?source=ehr", bundle(patient_resource()), content_type="application/fhir+json"
    )

    assert response.status_code in {401, 403}


# --- The command ------------------------------------------------------------------------------


def test_the_command_imports_a_folder_and_reports_counts_without_names(feed, tmp_path):
    (tmp_path / "a.json").write_bytes(bundle(patient_resource(), observation(1)))
    nested = tmp_path / "more"
    nested.mkdir()
    other = copy.deepcopy(
        patient_resource(id="p2", identifier=[{"system": "urn:mrn", "value": "M2"}])
    )
    (nested / "b.json").write_bytes(bundle(other))
    out = StringIO()

    call_command("import_fhir", str(tmp_path), source="ehr", stdout=out)

    assert Patient.objects.count() == 2
    text = out.getvalue()
    assert "2 of 2 file(s) imported." in text
    assert "Lima" not in text and "Ana" not in text


def test_the_command_fails_for_a_bad_file_but_keeps_the_good_ones(feed, tmp_path):
    (tmp_path / "good.json").write_bytes(bundle(patient_resource()))
    (tmp_path / "bad.json").write_bytes(
        b'{"resourceType": "Bundle", "type": "transaction", "entry": ['
    )
    err = StringIO()

    with pytest.raises(CommandError, match="1 file"):
        call_command("import_fhir", str(tmp_path), source="ehr", stdout=StringIO(), stderr=err)

    assert Patient.objects.count() == 1
    assert "bad.json: not imported" in err.getvalue()


def test_the_command_creates_a_feed_only_when_told_its_clinic(clinic, tmp_path):
    (tmp_path / "a.json").write_bytes(bundle(patient_resource()))

    with pytest.raises(CommandError, match="Give --clinic"):
        call_command("import_fhir", str(tmp_path), source="new-feed", stdout=StringIO())
    call_command(
        "import_fhir", str(tmp_path), source="new-feed", clinic=clinic.code, stdout=StringIO()
    )

    assert FhirSource.objects.get(key="new-feed").clinic == clinic
