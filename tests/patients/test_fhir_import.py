"""FHIR R4 intake: mapping, identity and linking, idempotence, and every bad input."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outreach.models import PatientMessage
from patients.fhir.importer import fhir_import
from patients.fhir.outcome import FhirImportError
from patients.models import (
    ClinicalResource,
    DataQualityWarning,
    FhirSource,
    Patient,
    PatientSourceLink,
)
from tests.factories import (
    ClinicStaffFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
)
from tests.support.api import api_as
from tests.support.fhir import bundle, observation, patient_resource, row_counts
from tests.support.paths import ECQM
from tests.support.services import need

pytestmark = pytest.mark.django_db

CMS_COLONOSCOPY_CASE = (
    ECQM / "CMS130-colorectal" / "tests" / "2292adf2-3232-43f8-9497-8448349c51a9.json"
)


@pytest.fixture
def feed(clinic):
    return FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)


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
    assert set(DataQualityWarning.objects.values_list("kind", flat=True)) == {"identifier_conflict"}
    assert not any(
        "999999995" in m for m in DataQualityWarning.objects.values_list("message", flat=True)
    )
    # And all of them again: nothing at all is written, not even an import record.
    before = row_counts()
    for case in cases:
        run(feed, case.read_bytes())
    assert row_counts() == before


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
    assert result.warnings[0]["severity"] == "warning"
    # "code-invalid": an OperationOutcome's issue type must come from FHIR's IssueType codes.
    assert result.warnings[0]["code"] == "code-invalid"
    assert "http://example.org/local-codes" in result.warnings[0]["diagnostics"]
    assert result.warnings[0]["expression"] == ["Bundle.entry[1].resource.code.coding[0]"]


# --- Bad input: a clear error naming the place, nothing written -------------------------------


def test_a_null_given_name_is_a_placeholder_and_the_other_names_are_kept(feed):
    # Given a Patient whose first given name is only an extension (null in `given`)
    resource = patient_resource(
        name=[{"use": "official", "family": "Lima", "given": [None, "Maria"]}]
    )
    # When it is imported
    result = run(feed, bundle(resource))
    # Then the patient is created with the name parts that have a value
    assert result.created == 1
    assert Patient.objects.get().given_name == "Maria"


def test_a_patient_named_only_by_null_given_names_is_refused_as_nameless(feed):
    issues = refused(feed, bundle(patient_resource(name=[{"use": "official", "given": [None]}])))
    assert any("The Patient has no name (family or given)." in i["diagnostics"] for i in issues)


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


# --- Identity ---------------------------------------------------------------------------------

CMS_DANGLING_CASE = ECQM / "CMS124-cervical" / "tests" / "4c40d1e6-3943-4a0e-a95c-6e6b845f0851.json"


def entry_bundle(*entries: dict, kind: str = "collection") -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": list(entries)}).encode()


def test_a_cms_case_with_warnings_imported_again_writes_nothing_at_all(feed):
    need("the CMS eCQM test cases", CMS_DANGLING_CASE.is_file(), "absent")
    first = run(feed, CMS_DANGLING_CASE.read_bytes())
    assert first.warnings, "this case refers to its patient by an id the bundle lacks"
    before = row_counts()
    stamps = list(Patient.objects.values_list("updated_at", "clinical_data_changed_at"))

    again = run(feed, CMS_DANGLING_CASE.read_bytes())

    assert (again.created, again.updated, again.fhir_import) == (0, 0, None)
    assert again.unchanged == first.created
    assert row_counts() == before
    assert list(Patient.objects.values_list("updated_at", "clinical_data_changed_at")) == stamps


def test_in_a_transaction_the_id_the_put_names_wins_over_resource_id_and_full_url(feed):
    payload = entry_bundle(
        {
            "fullUrl": "https://ehr.example.org/fhir/Patient/from-full-url",
            "resource": patient_resource(id="from-resource"),
            "request": {"method": "PUT", "url": "Patient/from-put"},
        },
        {
            "fullUrl": "https://ehr.example.org/fhir/Observation/obs-full-url",
            "resource": observation(1, subject="Patient/from-put"),
            "request": {"method": "PUT", "url": "Observation/obs-put"},
        },
        kind="transaction",
    )

    result = run(feed, payload)

    assert PatientSourceLink.objects.get().resource_id == "from-put"
    assert set(ClinicalResource.objects.values_list("resource_id", flat=True)) == {
        "from-put",
        "obs-put",
    }
    assert result.patients == [("from-put", Patient.objects.get().pk)]


def test_a_resource_without_an_id_is_known_by_its_urn_uuid_full_url(feed):
    uuid = "5b0d7e3c-2a8e-4f0e-9a53-0c3f7d1c9a11"
    obs = observation(1, subject="urn:uuid:0d0c1f5e-7c3c-4ac9-9b8e-1f3a3c3b2a10")
    del obs["id"]
    payload = entry_bundle(
        {
            "fullUrl": "urn:uuid:0d0c1f5e-7c3c-4ac9-9b8e-1f3a3c3b2a10",
            "resource": patient_resource(),
        },
        {"fullUrl": f"urn:uuid:{uuid}", "resource": obs},
    )

    run(feed, payload)

    row = ClinicalResource.objects.get(resource_type="Observation")
    assert (row.resource_id, row.patient) == (uuid, Patient.objects.get())


def test_a_resource_with_no_id_at_all_gets_a_stable_one_from_its_content(feed):
    obs = observation(1)
    del obs["id"]
    payload = bundle(patient_resource(), kind="collection")[:-2] + (
        b', {"resource": ' + json.dumps(obs).encode() + b"}]}"
    )

    run(feed, payload)
    again = run(feed, payload)

    assert ClinicalResource.objects.filter(resource_type="Observation").count() == 1
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_a_patient_with_only_an_identifier_is_recognised_by_it_the_next_time(feed):
    anonymous = patient_resource()
    del anonymous["id"]

    run(feed, entry_bundle({"resource": anonymous}))
    again = run(feed, entry_bundle({"resource": anonymous}))

    assert Patient.objects.count() == 1
    assert again.unchanged == 1


def test_a_patient_known_only_by_a_urn_uuid_is_refused_it_could_never_be_recognised(feed):
    nameless = patient_resource()
    del nameless["id"], nameless["identifier"]

    issues = refused(
        feed,
        entry_bundle(
            {"fullUrl": "urn:uuid:0d0c1f5e-7c3c-4ac9-9b8e-1f3a3c3b2a10", "resource": nameless}
        ),
    )

    assert issues[0]["code"] == "required"
    assert issues[0]["expression"] == ["Bundle.entry[0].resource"]


# --- References -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Patient/p1",
        "https://ehr.example.org/fhir/Patient/p1",
        "urn:uuid:0d0c1f5e-7c3c-4ac9-9b8e-1f3a3c3b2a10",
    ],
)
def test_a_subject_may_name_the_patient_relatively_absolutely_or_by_full_url(feed, subject):
    payload = entry_bundle(
        {
            "fullUrl": "urn:uuid:0d0c1f5e-7c3c-4ac9-9b8e-1f3a3c3b2a10",
            "resource": patient_resource(),
        },
        {"resource": observation(1, subject=subject)},
    )

    run(feed, payload)

    assert ClinicalResource.objects.get(resource_id="obs-1").patient == Patient.objects.get()


def test_a_full_url_reference_to_an_encounter_entry_is_refused(feed):
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p1"},
    }
    payload = entry_bundle(
        {"resource": patient_resource()},
        {"fullUrl": "urn:uuid:9a4f3c1e-1111-4c2d-8e3f-2a1b0c9d8e7f", "resource": encounter},
        {"resource": observation(1, subject="urn:uuid:9a4f3c1e-1111-4c2d-8e3f-2a1b0c9d8e7f")},
    )

    issues = refused(feed, payload)

    assert [i["expression"] for i in issues] == [["Bundle.entry[2].resource.subject.reference"]]
    assert "must refer to a Patient, not a Encounter" in issues[0]["diagnostics"]


def test_a_clinical_resource_without_a_subject_is_refused(feed):
    orphan = observation(1)
    del orphan["subject"]

    issues = refused(feed, bundle(patient_resource(), orphan))

    assert issues[0]["code"] == "required"
    assert issues[0]["expression"] == ["Bundle.entry[1].resource.subject"]


def test_a_coverage_names_its_patient_as_beneficiary(feed):
    coverage = {
        "resourceType": "Coverage",
        "id": "cov-1",
        "status": "active",
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [{"display": "Medicare"}],
    }

    run(feed, bundle(patient_resource(), coverage))

    assert ClinicalResource.objects.get(resource_type="Coverage").patient == Patient.objects.get()


def test_a_single_resource_for_a_patient_nobody_knows_is_refused(feed):
    issues = refused(feed, json.dumps(observation(1, subject="Patient/ghost")).encode())

    assert issues == [
        {
            "severity": "error",
            "code": "not-found",
            "diagnostics": "Patient/ghost is neither in this bundle nor known from feed “ehr”.",
            "expression": ["Observation.subject.reference"],
        }
    ]


# --- Linking ----------------------------------------------------------------------------------


def test_an_mrn_already_linked_to_another_feed_id_is_a_warning_and_a_new_patient(feed):
    run(feed, bundle(patient_resource()))
    first = Patient.objects.get()
    # The same person under a second id of the same feed: never merged silently.
    twin = patient_resource(id="p1-again")

    result = run(feed, bundle(twin))

    second = PatientSourceLink.objects.get(resource_id="p1-again").patient
    assert second != first and second.mrn == ""
    warning = DataQualityWarning.objects.get()
    assert (warning.patient, warning.other_patient) == (second, first)
    assert "already Patient/p1 in this feed" in warning.message
    assert warning.fhir_import == result.fhir_import is not None
    assert "MRN-1" not in warning.message


def test_the_feeds_mrn_system_chooses_which_identifier_is_the_mrn(feed):
    feed.mrn_system = "urn:clinic-mrn"
    feed.save()
    known = PatientFactory(
        clinic=feed.clinic, mrn="CLINIC-7", given_name="Ana Maria", family_name="Lima",
        birth_date="1965-04-02",
    )  # fmt: skip
    resource = patient_resource(
        identifier=[
            {"system": "urn:insurer", "value": "INS-1"},
            {"system": "urn:clinic-mrn", "value": "CLINIC-7"},
        ]
    )

    run(feed, bundle(resource))

    assert Patient.objects.count() == 1
    assert PatientSourceLink.objects.get().patient == known


def test_linking_a_referred_patient_takes_the_feeds_details_but_keeps_the_clinics_spelling(feed):
    known = PatientFactory(
        clinic=feed.clinic, mrn="MRN-1", given_name="ana maria", family_name="LIMA",
        birth_date="1965-04-02", preferred_language="en",
    )  # fmt: skip
    resource = patient_resource(
        deceasedBoolean=True,
        communication=[{"language": {"coding": [{"code": "es"}]}}],
    )

    result = run(feed, bundle(resource))

    known.refresh_from_db()
    assert (known.given_name, known.family_name) == ("ana maria", "LIMA")
    assert (known.preferred_language, known.deceased) == ("es", True)
    assert known.clinical_data_changed_at is not None
    assert result.patients == [("p1", known.pk)]
    assert not result.warnings


def test_a_changed_patient_resource_updates_the_same_patient(feed):
    run(feed, bundle(patient_resource()))
    patient = Patient.objects.get()
    stamp = patient.clinical_data_changed_at

    result = run(
        feed,
        bundle(
            patient_resource(name=[{"use": "official", "family": "Lima-Souza", "given": ["Ana"]}])
        ),
    )

    patient.refresh_from_db()
    assert (result.created, result.updated) == (0, 1)
    assert (Patient.objects.count(), patient.given_name, patient.family_name) == (
        1,
        "Ana",
        "Lima-Souza",
    )
    assert patient.clinical_data_changed_at > stamp
    assert ClinicalResource.objects.get(resource_type="Patient").resource["name"][0]["given"] == [
        "Ana"
    ]


def test_a_resource_that_moves_to_another_patient_is_updated_with_a_warning(feed):
    other = patient_resource(id="p2", identifier=[{"system": "urn:mrn", "value": "MRN-2"}])
    run(feed, bundle(patient_resource(), other, observation(1)))
    first, second = (PatientSourceLink.objects.get(resource_id=i).patient for i in ("p1", "p2"))
    stamps = {p.pk: p.clinical_data_changed_at for p in (first, second)}

    result = run(feed, bundle(observation(1, subject="Patient/p2")))

    assert ClinicalResource.objects.get(resource_id="obs-1").patient == second
    assert result.updated == 1
    assert "moved to patient" in result.warnings[0]["diagnostics"]
    for patient in (first, second):
        patient.refresh_from_db()
        assert patient.clinical_data_changed_at > stamps[patient.pk]


def test_an_import_is_recorded_with_its_counts(feed, manager):
    result = fhir_import(
        source=feed,
        payload=bundle(patient_resource(), observation(1), {"resourceType": "Practitioner",
                                                            "id": "dr"}),
        origin="a.json",
        actor=manager,
    )  # fmt: skip

    record = result.fhir_import
    assert (record.created, record.updated, record.unchanged) == (2, 0, 0)
    assert (record.skipped, record.origin, record.received_by) == (
        {"Practitioner": 1},
        "a.json",
        manager,
    )


# --- Mapping ----------------------------------------------------------------------------------

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
CDC = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"


def race(*codings: tuple[str, str], url: str = "us-core-race") -> dict:
    return {
        "url": US_CORE + url,
        "extension": [
            {"url": "ombCategory", "valueCoding": {"system": system, "code": code}}
            for system, code in codings
        ],
    }


@pytest.mark.parametrize(
    ("extensions", "categories"),
    [
        ([race((CDC, "1002-5"), (CDC, "2028-9"))], ["aian", "asian"]),
        ([race((CDC, "2076-8")), race((CDC, "2135-2"), url="us-core-ethnicity")],
         ["hispanic", "nhpi"]),
        ([race((CDC, "2106-3")), race((CDC, "2186-5"), url="us-core-ethnicity")], ["white"]),
        ([race((NULL_FLAVOR, "ASKU"))], ["declined"]),
        ([race((NULL_FLAVOR, "UNK")), race((CDC, "2186-5"), url="us-core-ethnicity")],
         ["unknown"]),
        ([race((CDC, "2054-5")), race((NULL_FLAVOR, "ASKU"), url="us-core-ethnicity")],
         ["black"]),
        ([], []),
    ],
)  # fmt: skip
def test_us_core_race_and_ethnicity_become_omb_categories(feed, extensions, categories):
    run(feed, bundle(patient_resource(extension=extensions)))

    patient = Patient.objects.get()
    assert sorted(patient.race_ethnicities.values_list("category", flat=True)) == categories


@pytest.mark.parametrize(
    ("extension", "needed"),
    [
        ({"url": US_CORE + "us-core-interpreter-needed", "valueCoding": {"code": "Y"}}, True),
        ({"url": US_CORE + "us-core-interpreter-needed", "valueCoding": {"code": "N"}}, False),
        ({"url": US_CORE + "us-core-interpreter-needed", "valueBoolean": True}, True),
        (
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
                "valueBoolean": False,
            },
            False,
        ),
    ],
)
def test_interpreter_need_is_read_from_either_extension(feed, extension, needed):
    run(feed, bundle(patient_resource(extension=[extension])))

    assert Patient.objects.get().interpreter_needed is needed


def test_an_unknown_language_is_a_warning_and_the_default_is_kept(feed):
    resource = patient_resource(communication=[{"language": {"coding": [{"code": "xx-YY"}]}}])

    result = run(feed, bundle(resource))

    assert Patient.objects.get().preferred_language == "en"
    assert result.warnings[0]["severity"] == "warning"
    assert result.warnings[0]["expression"] == ["Bundle.entry[0].resource.communication"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"gender": "male", "deceasedBoolean": True}, ("male", True)),
        ({"gender": "other", "deceasedDateTime": "2024-05-01"}, ("other", True)),
        ({"gender": "unknown", "deceasedBoolean": False}, ("unknown", False)),
        ({"gender": None}, ("unknown", False)),
    ],
)
def test_gender_and_death_are_mapped(feed, overrides, expected):
    resource = {k: v for k, v in patient_resource(**overrides).items() if v is not None}

    run(feed, bundle(resource))

    patient = Patient.objects.get()
    assert (patient.sex, patient.deceased) == expected


def test_phones_keep_their_kind_and_order_and_a_bad_email_is_a_warning(feed):
    resource = patient_resource(
        telecom=[
            {"system": "phone", "value": "617-555-0101", "use": "work"},
            {"system": "phone", "value": "+1 617 555 0102", "use": "mobile"},
            {"system": "phone", "value": "617 555 0103", "use": "temp"},
            {"system": "email", "value": "not an email"},
        ]
    )

    result = run(feed, bundle(resource))

    patient = Patient.objects.get()
    assert [(str(p.number), p.kind, p.rank) for p in patient.phones.all()] == [
        ("+16175550101", "work", 0),
        ("+16175550102", "mobile", 1),
        ("+16175550103", "mobile", 2),
    ]
    assert patient.email == ""
    assert [w["expression"] for w in result.warnings] == [["Bundle.entry[0].resource.telecom[3]"]]


def test_the_patient_resource_is_kept_as_received(feed):
    resource = patient_resource()

    run(feed, bundle(resource))

    assert ClinicalResource.objects.get(resource_type="Patient").resource == resource


# --- Skipped and bad input --------------------------------------------------------------------


def test_resources_the_engine_does_not_use_are_skipped_and_counted(feed):
    others = [
        {"resourceType": "Practitioner", "id": "dr1"},
        {"resourceType": "Practitioner", "id": "dr2"},
        {"resourceType": "Organization", "id": "org"},
        {"resourceType": "MeasureReport", "id": "mr", "status": "complete"},
    ]

    result = run(feed, bundle(patient_resource(), *others))

    assert result.skipped == {"Practitioner": 2, "Organization": 1, "MeasureReport": 1}
    assert ClinicalResource.objects.count() == 1


def test_an_unsupported_single_resource_is_skipped_not_an_error(feed):
    result = run(feed, json.dumps({"resourceType": "MeasureReport", "id": "x"}).encode())

    assert (result.created, result.skipped, result.fhir_import) == (0, {"MeasureReport": 1}, None)


@pytest.mark.parametrize(
    ("document", "where", "words"),
    [
        ({"resourceType": "Bundle", "entry": []}, "Bundle.type", "without a type"),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
                "resourceType": "Observaton", "id": "x"}}]},
            "Bundle.entry[0].resource.resourceType",
            "not a FHIR resource type",
        ),
        (
            {"resourceType": "Bundle", "type": "transaction", "entry": [{
                "resource": {"resourceType": "Patient", "id": "p1"},
                "request": {"method": "DELETE", "url": "Patient/p1"}}]},
            "Bundle.entry[0].request",
            "DELETE",
        ),
        (
            {"resourceType": "Bundle", "type": "transaction", "entry": [{
                "resource": patient_resource(), "request": {"method": "PUT", "url": "Encounter/p1"}
            }]},
            "Bundle.entry[0].request.url",
            "Patient/<id>",
        ),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [
                {"resource": patient_resource()},
                {"resource": observation(1, subject="Patient/p1", status=None) | {
                    "subject": "Patient/p1"}}]},
            "Bundle.entry[1].resource.subject",
            "Expected a JSON object",
        ),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [
                {"resource": patient_resource(colour="blue")}]},
            "Bundle.entry[0].resource.colour",
            "Not an element",
        ),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [
                {"resource": patient_resource(birthDate="02/04/1965")}]},
            "Bundle.entry[0].resource.birthDate",
            "Not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD).",
        ),
    ],
)  # fmt: skip
def test_bad_input_names_its_place(feed, document, where, words):
    issues = refused(feed, json.dumps(document).encode())

    assert where in [e for i in issues for e in i.get("expression", [])]
    assert words in " ".join(i["diagnostics"] for i in issues)
    assert all(i["severity"] == "error" for i in issues)


def test_every_problem_of_a_bundle_is_named_not_only_the_first(feed):
    payload = bundle(
        patient_resource(birthDate="1965-02-30"),
        observation(1, effectiveDateTime="yesterday"),
        observation(2, subject="Encounter/e1"),
        observation(3, subject="Patient/p1"),
    )

    issues = refused(feed, payload)

    assert [i["expression"] for i in issues] == [
        ["Bundle.entry[0].resource.birthDate"],
        ["Bundle.entry[1].resource.effectiveDateTime"],
        ["Bundle.entry[2].resource.subject.reference"],
    ]


def test_errors_never_repeat_what_was_sent(feed):
    issues = refused(
        feed, bundle(patient_resource(birthDate="1965-02-30", gender=["Ximena-Quiroga"]))
    )

    assert issues
    assert not any("1965-02-30" in i["diagnostics"] or "Ximena" in i["diagnostics"]
                   for i in issues)  # fmt: skip


def test_importing_logs_no_patient_details(feed, caplog):
    PatientFactory(clinic=feed.clinic, mrn="ZQ77124", given_name="Rosa")
    resource = patient_resource(
        telecom=[{"system": "phone", "value": "617-555-0187"}],
        identifier=[{"system": "urn:mrn", "value": "ZQ77123"}],
    )
    caplog.set_level(logging.DEBUG)

    run(feed, bundle(resource, observation(1)))
    run(feed, bundle(patient_resource(id="p9", identifier=[{"value": "ZQ77124"}])))

    assert DataQualityWarning.objects.count() == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ["Lima", "Ana", "1965-04-02", "5550187", "ZQ77123", "ZQ77124", "Rosa"]:
        assert secret not in logged


# --- Queries ----------------------------------------------------------------------------------


def test_importing_a_bundle_of_50_observations_takes_a_small_fixed_number_of_queries(
    feed, django_assert_max_num_queries
):
    payload = bundle(patient_resource(), *[observation(n) for n in range(50)])

    with django_assert_max_num_queries(15):
        run(feed, payload)
    with django_assert_max_num_queries(5):
        run(feed, payload)


def test_references_to_a_patient_that_is_itself_refused_are_not_reported_twice(feed):
    nameless = patient_resource()
    del nameless["id"], nameless["identifier"]
    payload = entry_bundle(
        {"fullUrl": "urn:uuid:0d0c1f5e-7c3c-4ac9-9b8e-1f3a3c3b2a10", "resource": nameless},
        {"resource": observation(1, subject="urn:uuid:0d0c1f5e-7c3c-4ac9-9b8e-1f3a3c3b2a10")},
    )

    issues = refused(feed, payload)

    assert [i["expression"] for i in issues] == [["Bundle.entry[0].resource"]]


def test_a_patient_reported_deceased_has_every_pending_message_suppressed(feed):
    # Given a patient known from the feed, with a reminder waiting
    run(feed, bundle(patient_resource()))
    patient = Patient.objects.get(mrn="MRN-1")
    message = PatientMessage.objects.create(
        patient=patient,
        kind="appointment_reminder",
        channel="sms",
        language="en",
        rule_key="appt-1d",
        subject_key="appointment:1",
        slot=dt.date(2026, 12, 2),
        due_at=dt.datetime(2026, 12, 2, 14, tzinfo=dt.UTC),
    )

    # When the EHR reports the death
    run(feed, bundle(patient_resource(deceasedBoolean=True)))

    # Then nothing more goes to them
    message.refresh_from_db()
    assert (message.state, message.state_reason) == ("suppressed", "patient deceased")
