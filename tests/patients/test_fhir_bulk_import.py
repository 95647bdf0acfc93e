"""FHIR Bulk Data import: each bad line's reason, the job's lifecycle, idempotence,
restart from the cursor, the same records as a bundle, care gaps, the command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from navigator.intake.fhir_bulk import fhir_bulk_run_inline
from patients.caregaps.periods import calendar_year
from patients.fhir.bulk import (
    fhir_bulk_advance,
    fhir_bulk_batch_next,
    fhir_bulk_import_create,
    fhir_bulk_progress,
)
from patients.fhir.bulk_read import BulkSourceError
from patients.fhir.importer import fhir_import
from patients.models import (
    CareGap,
    ClinicalResource,
    FhirBulkChunk,
    FhirBulkImport,
    FhirBulkRejection,
    FhirSource,
    MeasurePopulation,
    Patient,
    PatientPhone,
    PatientRaceEthnicity,
    PatientSourceLink,
)
from patients.selectors import care_gap_patients_due
from patients.services.measure_populations import care_gap_populations_refresh
from tests.factories import PatientFactory
from tests.support.fhir import bundle, observation, patient_resource, row_counts

pytestmark = pytest.mark.django_db

RACE = {
    "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
    "extension": [
        {
            "url": "ombCategory",
            "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3"},
        }
    ],
}


@pytest.fixture
def feed(clinic):
    return FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)


def person(number: int, **overrides) -> dict:
    return patient_resource(
        id=f"p{number}",
        identifier=[{"system": "urn:mrn", "value": f"MRN-{number}"}],
        name=[{"family": f"Family{number}", "given": [f"Given{number}"]}],
        telecom=[{"system": "phone", "value": "+16175550100", "use": "mobile"}],
        extension=[RACE],
        **overrides,
    )


def write_export(folder: Path, files: dict[str, list[dict | str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        text = "".join(
            (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines
        )
        (folder / f"{name}.ndjson").write_text(text)
    return folder


def run_job(feed, folder: Path, batch_size: int = 2) -> FhirBulkImport:
    job = fhir_bulk_import_create(
        source=feed, location=folder, actor=None, batch_size=batch_size, start=False
    )
    fhir_bulk_run_inline(job_id=job.pk)
    job.refresh_from_db()
    return job


def reasons(job: FhirBulkImport) -> dict[tuple[str, int], str]:
    return {
        (Path(r.file.path).stem, r.line): r.reason
        for r in FhirBulkRejection.objects.filter(file__job=job).select_related("file")
    }


# --- Importing -------------------------------------------------------------------------------


def test_an_export_imports_patients_first_then_their_resources(feed, tmp_path):
    # Given an export whose Observation file sorts before its Patient file
    folder = write_export(
        tmp_path / "export",
        {
            "Observation": [observation(1, "Patient/p1"), observation(2, "Patient/p2")],
            "Patient": [person(1), person(2), person(3)],
        },
    )

    # When it is imported in batches of two lines
    job = run_job(feed, folder)

    # Then every patient and resource is there, and the job is done
    assert job.status == FhirBulkImport.Status.DONE
    assert Patient.objects.count() == 3
    assert ClinicalResource.objects.filter(resource_type="Observation").count() == 2
    observation_1 = ClinicalResource.objects.get(resource_id="obs-1")
    assert observation_1.patient == PatientSourceLink.objects.get(resource_id="p1").patient
    progress = {f.resource_type: f for f in fhir_bulk_progress(job)}
    assert (progress["Patient"].lines_read, progress["Patient"].created) == (3, 3)
    assert (progress["Observation"].lines_read, progress["Observation"].created) == (2, 2)
    assert job.fhir_import is not None and job.fhir_import.created == 5


# --- Every bad line: a specific reason, nothing of it written, the job goes on ----------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "Not valid JSON"),
        ("[1, 2]", "Not a FHIR resource: a JSON object with a resourceType."),
        (observation(9, "Patient/p1"), "resourceType “Observation” (a resource) in the Patient"),
        ({"resourceType": "Pateint", "id": "x"}, "not a FHIR resource type"),
        (patient_resource(id=None), "The Patient has no id."),
        (patient_resource(id="p9", birthDate="02/04/1965"), "Not a valid FHIR date"),
        (patient_resource(id="p9", active="maybe"), "Not valid FHIR R4"),
        ("", "Empty line."),
        (json.dumps(person(9))[:-1] + ', "x": ' + "1" * 5000 + "}", "too long to read"),
    ],
    ids=["invalid-json", "not-an-object", "wrong-type", "unknown-type", "no-id", "bad-date",
         "bad-element", "empty", "number-over-4300-digits"],
)  # fmt: skip
def test_a_bad_patient_line_is_rejected_with_its_line_and_reason(feed, tmp_path, line, reason):
    # Given a Patient file whose second line is bad
    folder = write_export(tmp_path / "export", {"Patient": [person(1), line, person(2)]})

    # When it is imported
    job = run_job(feed, folder, batch_size=10)

    # Then that line is rejected with a specific reason, and the others are imported
    (((stem, number), said),) = reasons(job).items()
    assert (stem, number) == ("Patient", 2)
    assert reason in said
    assert job.status == FhirBulkImport.Status.DONE
    assert set(PatientSourceLink.objects.values_list("resource_id", flat=True)) == {"p1", "p2"}


def test_a_bare_carriage_return_inside_a_line_does_not_shift_the_line_numbers(feed, tmp_path):
    # Given a Patient file whose line 1 holds a bare "\r" (JSON whitespace), line 2 ends
    # in "\r\n", and line 3 is bad
    line_1 = json.dumps(person(1)).replace(', "id"', ',\r"id"', 1)
    line_2 = json.dumps(person(2)) + "\r"
    folder = write_export(tmp_path / "export", {"Patient": [line_1, line_2, "{not json"]})

    # When it is imported
    job = run_job(feed, folder, batch_size=10)

    # Then lines 1 and 2 are imported and the bad one is rejected as line 3
    assert list(reasons(job)) == [("Patient", 3)]
    assert set(PatientSourceLink.objects.values_list("resource_id", flat=True)) == {"p1", "p2"}


def test_a_line_over_the_size_limit_after_the_first_is_rejected_by_number_unread(feed, tmp_path):
    # Given a Patient file whose line 2 is over 4 MB (a name of 5 MB), in one batch
    huge = person(2)
    huge["name"][0]["text"] = "A" * (5 * 1024 * 1024)
    folder = write_export(tmp_path / "export", {"Patient": [person(1), huge, person(3)]})

    # When it is imported
    job = run_job(feed, folder, batch_size=10)

    # Then line 2 is rejected for its size, the lines around it imported and counted
    assert reasons(job) == {("Patient", 2): "Longer than 4 MB: not read."}
    assert job.status == FhirBulkImport.Status.DONE
    assert set(PatientSourceLink.objects.values_list("resource_id", flat=True)) == {"p1", "p3"}
    (progress,) = fhir_bulk_progress(job)
    assert (progress.lines, progress.lines_read, progress.rejected) == (3, 3, 1)


def test_a_resource_about_an_unknown_patient_is_rejected_and_nothing_of_it_written(feed, tmp_path):
    # Given an Observation about a patient neither in the export nor known from the feed
    folder = write_export(
        tmp_path / "export",
        {
            "Patient": [person(1)],
            "Observation": [
                observation(1, "Patient/p1"),
                observation(2, "Patient/nobody"),
                observation(3, "Encounter/e1"),
                observation(4, subject=None),
            ],
        },
    )

    # When it is imported
    job = run_job(feed, folder, batch_size=10)

    # Then each bad line says why, and only the good one is stored
    said = reasons(job)
    assert "Patient/nobody is not known from feed “ehr”" in said[("Observation", 2)]
    assert "must refer to a Patient, not a Encounter" in said[("Observation", 3)]
    assert "names no patient" in said[("Observation", 4)]
    assert list(ClinicalResource.objects.filter(resource_type="Observation").values_list(
        "resource_id", flat=True)) == ["obs-1"]  # fmt: skip


def test_a_file_that_is_not_ndjson_is_skipped_whole_with_the_reason(feed, tmp_path):
    # Given an export whose Observation file is a pretty-printed Bundle
    folder = write_export(tmp_path / "export", {"Patient": [person(1)]})
    (folder / "Observation.ndjson").write_text(
        json.dumps(json.loads(bundle(observation(1))), indent=2)
    )

    # When it is imported
    job = run_job(feed, folder)

    # Then the file is skipped with the reason and the patients are imported
    progress = {f.resource_type: f for f in fhir_bulk_progress(job)}
    assert progress["Observation"].skipped_reason.startswith("Not NDJSON")
    assert Patient.objects.count() == 1
    assert job.fhir_import is not None and job.fhir_import.skipped == {"Observation": 1}


def test_a_folder_without_ndjson_or_a_broken_manifest_is_refused_and_nothing_created(
    feed, tmp_path
):
    # Given an empty folder and a manifest without its output list
    (tmp_path / "empty").mkdir()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"transactionTime": "2026-01-01T00:00:00Z"}))

    # When either is imported, Then it is refused and no job is created
    for location, said in ((tmp_path / "empty", "no .ndjson"), (manifest, "no “output” list")):
        with pytest.raises(BulkSourceError, match=said):
            fhir_bulk_import_create(source=feed, location=location, actor=None, start=False)
    assert FhirBulkImport.objects.count() == 0


def test_a_manifest_names_the_files_and_their_types(feed, tmp_path):
    # Given an $export completion manifest pointing at local files, relative and file://
    folder = write_export(
        tmp_path / "export", {"a": [person(1)], "b": [observation(1, "Patient/p1")]}
    )
    manifest = folder / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "transactionTime": "2026-01-01T00:00:00Z",
                "request": "https://ehr.example/fhir/$export",
                "requiresAccessToken": True,
                "output": [
                    {"type": "Patient", "url": "a.ndjson"},
                    {"type": "Observation", "url": f"file://{folder / 'b.ndjson'}"},
                ],
                "error": [],
            }
        )
    )

    # When the manifest is imported
    job = run_job(feed, manifest)

    # Then both files were read as their types
    assert job.status == FhirBulkImport.Status.DONE
    assert ClinicalResource.objects.filter(resource_type="Observation").count() == 1


# --- Idempotence and restart ------------------------------------------------------------------


def test_importing_the_same_export_again_writes_nothing_new_and_says_so(feed, tmp_path):
    # Given an export imported once
    folder = write_export(
        tmp_path / "export",
        {"Patient": [person(1), person(2)], "Observation": [observation(1, "Patient/p1")]},
    )
    run_job(feed, folder)
    before = {k: v for k, v in row_counts().items() if not k.startswith("FhirBulk")}

    # When it is imported again
    again = run_job(feed, folder)

    # Then nothing new is written, no audit record either, and the job says so
    after = {k: v for k, v in row_counts().items() if not k.startswith("FhirBulk")}
    assert after == before
    progress = fhir_bulk_progress(again)
    assert [(f.created, f.updated, f.unchanged) for f in progress] == [(0, 0, 2), (0, 0, 1)]
    assert again.fhir_import is None and again.message == "Nothing changed."
    out = StringIO()
    call_command("fhir_bulk_import", "ehr", str(folder), "--inline", stdout=out)
    assert "nothing new to write" in out.getvalue()


def test_a_changed_resource_is_updated_on_reimport(feed, tmp_path):
    # Given an export imported once, then the EHR corrects an observation
    folder = write_export(
        tmp_path / "export", {"Patient": [person(1)], "Observation": [observation(1)]}
    )
    run_job(feed, folder)
    write_export(folder, {"Observation": [observation(1, valueString="positive")]})

    # When it is imported again
    job = run_job(feed, folder)

    # Then the observation is updated, the rest unchanged
    assert ClinicalResource.objects.get(resource_id="obs-1").resource["valueString"] == "positive"
    progress = {f.resource_type: f for f in fhir_bulk_progress(job)}
    assert (progress["Observation"].updated, progress["Patient"].unchanged) == (1, 1)


def test_a_killed_job_resumes_from_its_cursor_and_imports_nothing_twice(feed, tmp_path):
    # Given a job of three Patient batches whose worker died after the first
    folder = write_export(tmp_path / "export", {"Patient": [person(n) for n in range(1, 6)]})
    job = fhir_bulk_import_create(
        source=feed, location=folder, actor=None, batch_size=2, start=False
    )
    fhir_bulk_advance(job_id=job.pk, queue=False)
    first = fhir_bulk_batch_next(job_id=job.pk)
    assert first is not None
    assert FhirBulkChunk.objects.filter(job=job, done=True).count() == 1
    assert Patient.objects.count() == 2

    # When it is restarted
    out = StringIO()
    call_command("fhir_bulk_import", "--restart", str(job.pk), "--inline", stdout=out)

    # Then it imported only the remaining batches: five patients, each once
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.DONE
    assert Patient.objects.count() == 5
    assert FhirBulkChunk.objects.get(pk=first.chunk_id).done
    assert sum(f.created for f in fhir_bulk_progress(job)) == 5


# --- The same records as a bundle -------------------------------------------------------------


def resources_of(patient_id: str) -> dict:
    link = PatientSourceLink.objects.get(resource_id=patient_id)
    patient = link.patient
    return {
        "patient": {
            field: getattr(patient, field)
            for field in (
                "mrn",
                "given_name",
                "family_name",
                "birth_date",
                "sex",
                "race_group",
                "race_ethnicity_source",
                "deceased",
                "email",
                "preferred_language",
                "language_status",
                "language_source",
            )
        },  # fmt: skip
        "phones": list(
            PatientPhone.objects.filter(patient=patient).values_list("number", "kind", "rank")
        ),  # fmt: skip
        "races": sorted(
            PatientRaceEthnicity.objects.filter(patient=patient).values_list("category", flat=True)
        ),  # fmt: skip
        "link_hash": link.content_hash,
        "resources": sorted(
            ClinicalResource.objects.filter(patient=patient).values_list(
                "resource_type", "resource_id", "content_hash", "resource"
            )
        ),
    }


def test_an_export_stores_the_same_records_as_the_same_resources_in_a_bundle(clinic, tmp_path):
    # Given the same patients and observations, as a bundle to one feed and as NDJSON to another
    # (one patient's MRN is a clinic patient's with the same name: linked, not created)
    PatientFactory(clinic=clinic, mrn="MRN-3", given_name="Given3", family_name="Family3",
                   birth_date="1965-04-02")  # fmt: skip
    patients = [person(1), person(2, gender="male", deceasedBoolean=False), person(3)]
    observations = [observation(1, "Patient/p1"), observation(2, "Patient/p2"),
                    observation(3, "Patient/p3")]  # fmt: skip
    by_bundle = FhirSource.objects.create(key="bundle", name="By bundle", clinic=clinic)
    by_bulk = FhirSource.objects.create(key="bulk", name="By bulk", clinic=clinic)
    fhir_import(source=by_bundle, payload=bundle(*patients, *observations), origin="t", actor=None)
    bundled = {ref: resources_of(ref) for ref in ("p1", "p2", "p3")}
    PatientSourceLink.objects.filter(source=by_bundle).delete()
    ClinicalResource.objects.filter(source=by_bundle).delete()
    Patient.objects.exclude(mrn="MRN-3").update(mrn="")  # their MRNs free for the second feed

    # When the same resources come as an export
    folder = write_export(tmp_path / "export", {"Patient": patients, "Observation": observations})
    job = run_job(feed=by_bulk, folder=folder)

    # Then the patients and resources stored are the same
    assert job.status == FhirBulkImport.Status.DONE
    assert {ref: resources_of(ref) for ref in ("p1", "p2", "p3")} == bundled


# --- Care gaps --------------------------------------------------------------------------------


def test_the_care_gaps_of_the_patients_touched_are_recomputed_and_recorded(feed, tmp_path):
    # Given a patient the export does not mention
    bystander = PatientFactory(clinic=feed.clinic)
    folder = write_export(
        tmp_path / "export", {"Patient": [person(1), person(2)], "Observation": [observation(1)]}
    )

    # When the export is imported
    job = run_job(feed, folder)

    # Then both imported patients' gaps were computed, the bystander's not
    imported = set(PatientSourceLink.objects.values_list("patient_id", flat=True))
    assert set(CareGap.objects.values_list("patient_id", flat=True)) == imported
    assert not CareGap.objects.filter(patient=bystander).exists()
    assert (job.care_gap_patients, job.care_gaps_recomputed) == (2, 2)
    assert job.finished_at is not None


def test_the_stored_population_measures_follow_the_patients_touched(
    feed, tmp_path, django_capture_on_commit_callbacks
):
    # Given 2025 stored for the colorectal care-gap measure before the export arrives
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[calendar_year(2025)])
    folder = write_export(tmp_path / "export", {"Patient": [person(1), person(2)]})

    # When the export is imported and the work it queued runs once it commits
    with django_capture_on_commit_callbacks(execute=True):
        run_job(feed, folder)

    # Then both patients (aged 59 in 2025) have their stored row for that year: their
    # gaps are current, so the nightly run will not bring them up again
    imported = set(PatientSourceLink.objects.values_list("patient_id", flat=True))
    stored = MeasurePopulation.objects.filter(measure="caregap:colorectal", period_end__year=2025)
    assert set(stored.values_list("patient_id", flat=True)) == imported
    assert care_gap_patients_due(as_of=timezone.localdate()) == []


def test_the_celery_workers_take_the_job_from_queued_to_done(
    feed, tmp_path, django_capture_on_commit_callbacks
):
    # Given an export (the test settings run tasks eagerly)
    folder = write_export(
        tmp_path / "export", {"Patient": [person(1)], "Observation": [observation(1)]}
    )

    # When a job is created and its queued tasks run as they are committed
    with django_capture_on_commit_callbacks(execute=True):
        job = fhir_bulk_import_create(source=feed, location=folder, actor=None, batch_size=1)

    # Then the workers imported both phases and recomputed the care gaps
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.DONE
    assert ClinicalResource.objects.count() == 2
    assert job.care_gaps_recomputed == 1


# --- Queries per batch ------------------------------------------------------------------------


def export_of(tmp_path: Path, name: str, size: int) -> Path:
    return write_export(
        tmp_path / name,
        {
            "Patient": [person(n) for n in range(size)],
            "Observation": [observation(n, f"Patient/p{n}") for n in range(size)],
        },
    )


# A Patient batch of new patients: the job (1), savepoint (1), claim the batch (1),
# savepoint for the retry (1), the feed's links (1), the MRNs taken (1), insert the
# patients (1), their links (1), phones (1), race rows (1), the resources stored (1),
# upsert them (1), touched patients (1), the batch done (1) (new patients are stamped
# clinical_data_changed_at as they are inserted: no UPDATE),
# release both savepoints (2).
PATIENT_BATCH_QUERIES = 16
# An Observation batch: the job, savepoint, claim, savepoint, the links of its patients,
# the resources stored, the upsert, clinical_data_changed_at, touched, the batch done,
# two releases.
OBSERVATION_BATCH_QUERIES = 12


@pytest.mark.parametrize("size", [3, 30])
def test_a_batch_takes_the_same_number_of_queries_whatever_its_size(
    feed, tmp_path, django_assert_num_queries, size
):
    # Given a job of `size` new patients (each with a phone and a race) and observations
    job = fhir_bulk_import_create(
        source=feed, location=export_of(tmp_path, "export", size), actor=None,
        batch_size=size, start=False,
    )  # fmt: skip
    fhir_bulk_advance(job_id=job.pk, queue=False)

    # When its Patient batch, then its Observation batch, is imported
    # Then each takes a number of queries that does not depend on the batch's size
    with django_assert_num_queries(PATIENT_BATCH_QUERIES):
        fhir_bulk_batch_next(job_id=job.pk)
    fhir_bulk_advance(job_id=job.pk, queue=False)
    with django_assert_num_queries(OBSERVATION_BATCH_QUERIES):
        fhir_bulk_batch_next(job_id=job.pk)
    assert ClinicalResource.objects.count() == 2 * size


# --- The command ------------------------------------------------------------------------------


def test_the_command_imports_inline_and_prints_progress_and_each_rejected_line(feed, tmp_path):
    # Given an export with one bad line
    folder = write_export(tmp_path / "export", {"Patient": [person(1), "{", person(2)]})

    # When the command imports it in this process
    out, err = StringIO(), StringIO()
    call_command("fhir_bulk_import", "ehr", str(folder), "--inline", "--batch-size", "2",
                 stdout=out, stderr=err)  # fmt: skip

    # Then it printed each batch, the file's counts and the rejected line (no patient details)
    printed = out.getvalue()
    assert "2 batch(es) of up to 2 lines" in printed
    assert "Patient.ndjson (Patient): 3 of 3 lines read; 2 created" in printed
    assert "Patient.ndjson line 2: Not valid JSON" in err.getvalue()
    assert "Family1" not in printed + err.getvalue()


def test_the_command_refuses_an_unknown_feed_or_folder_and_creates_nothing(feed, tmp_path):
    with pytest.raises(CommandError, match="No feed “nope”"):
        call_command("fhir_bulk_import", "nope", str(tmp_path), "--inline")
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("fhir_bulk_import", "ehr", str(tmp_path / "missing"), "--inline")
    with pytest.raises(CommandError, match="No bulk import #99"):
        call_command("fhir_bulk_import", "--restart", "99", "--inline")
    assert FhirBulkImport.objects.count() == 0
