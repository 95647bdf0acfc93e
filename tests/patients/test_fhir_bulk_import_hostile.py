"""FHIR Bulk Data import, hostile input: a line or a batch that raises what it never
should (the line rejected, or the job failed with a message, never left running), and
files outside the export's folder refused."""

from __future__ import annotations

import json
import re

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from navigator.intake import fhir_bulk as intake_fhir_bulk
from patients.fhir import bulk, bulk_read
from patients.fhir.bulk import fhir_bulk_advance, fhir_bulk_batch_next, fhir_bulk_import_create
from patients.fhir.bulk_read import BulkSourceError
from patients.models import FhirBulkChunk, FhirBulkImport, FhirSource, Patient, PatientSourceLink
from patients.tasks import fhir_bulk_import_care_gaps, fhir_bulk_import_run
from tests.patients.test_fhir_bulk_import import person, reasons, run_job, write_export
from tests.support.fhir import observation

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(clinic):
    return FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)


# --- Unexpected errors: the line rejected, or the job failed; never left running -------------


def test_a_line_that_raises_an_unexpected_error_is_rejected_by_its_type_and_the_rest_imported(
    feed, tmp_path, monkeypatch
):
    # Given a Patient file whose second line makes the line reader raise what it never should
    folder = write_export(tmp_path / "export", {"Patient": [person(1), person(2), person(3)]})

    def line_read(raw, number, file_type):
        if number == 2:
            raise KeyError("MRN-2")
        return bulk_read.line_read(raw, number, file_type)

    monkeypatch.setattr(bulk, "line_read", line_read)

    # When it is imported
    job = run_job(feed, folder, batch_size=10)

    # Then that line is rejected with the error's type (not its text), the batch goes on
    assert reasons(job) == {("Patient", 2): "Could not be read: KeyError."}
    assert job.status == FhirBulkImport.Status.DONE
    assert set(PatientSourceLink.objects.values_list("resource_id", flat=True)) == {"p1", "p3"}


def test_a_batch_that_raises_an_unexpected_error_fails_the_job_with_a_message_and_writes_nothing(
    feed, tmp_path, monkeypatch
):
    # Given an export whose batch writer raises an error quoting a patient value
    folder = write_export(tmp_path / "export", {"Patient": [person(1), person(2)]})

    def batch_write(**kwargs):
        raise RuntimeError("MRN-1 Family1")

    monkeypatch.setattr(bulk, "batch_write", batch_write)

    # When it is imported
    job = run_job(feed, folder, batch_size=10)

    # Then the job ends failed, saying where and the error's type only, and nothing is written
    assert job.status == FhirBulkImport.Status.FAILED
    assert job.finished_at is not None
    assert "Patient batch from line 1" in job.message and "RuntimeError" in job.message
    assert "MRN-1" not in job.message and "Family1" not in job.message
    assert not FhirBulkChunk.objects.get(job=job).done
    assert Patient.objects.count() == 0


def test_the_worker_task_retries_a_database_error_then_fails_the_job_on_its_last_retry(
    feed, tmp_path, monkeypatch
):
    # Given a job whose worker meets a database error every time (tasks run eagerly)
    folder = write_export(tmp_path / "export", {"Patient": [person(1)]})
    job = fhir_bulk_import_create(source=feed, location=folder, actor=None, start=False)

    def work(*, job_id):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(bulk, "fhir_bulk_work", work)

    # When the worker task runs a first time, Then it is retried and the job is left as it is
    with pytest.raises(Retry):
        fhir_bulk_import_run.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.QUEUED

    # When its last retry (the third) fails too
    with pytest.raises(OperationalError):
        fhir_bulk_import_run.apply(args=[job.pk], retries=3)

    # Then the job ended failed with the reason
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.FAILED
    assert "database failed 4 times (OperationalError)" in job.message


def imported_up_to_care_gaps(feed, tmp_path) -> FhirBulkImport:
    """A job whose resources are imported, waiting on its care-gap step."""
    folder = write_export(tmp_path / "export", {"Patient": [person(1), person(2)]})
    job = fhir_bulk_import_create(source=feed, location=folder, actor=None, start=False)
    fhir_bulk_advance(job_id=job.pk, queue=False)
    while fhir_bulk_batch_next(job_id=job.pk) is not None:
        pass
    assert fhir_bulk_advance(job_id=job.pk, queue=False) == FhirBulkImport.Status.CARE_GAPS
    return job


def test_a_care_gap_step_that_raises_an_unexpected_error_fails_the_job_with_a_clear_message(
    feed, tmp_path, monkeypatch
):
    # Given a job at its care-gap step whose recompute raises an error quoting a patient
    job = imported_up_to_care_gaps(feed, tmp_path)

    def care_gaps_refresh(**kwargs):
        raise ValueError("MRN-1 Family1")

    monkeypatch.setattr(intake_fhir_bulk, "care_gaps_refresh", care_gaps_refresh)

    # When the care-gap task runs
    result = fhir_bulk_import_care_gaps.apply(args=[job.pk])

    # Then the job ends failed, saying what stopped and the error's type only (no retry)
    # (the eager result's value: `get()` refuses to run in a process that has hosted a
    # Celery worker, as the worker tests' do)
    assert result.successful() and result.result == FhirBulkImport.Status.FAILED
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.FAILED
    assert job.finished_at is not None
    assert "recomputing care gaps" in job.message and "ValueError" in job.message
    assert "MRN-1" not in job.message and "Family1" not in job.message


def test_the_care_gap_task_retries_a_database_error_then_fails_the_job_on_its_last_retry(
    feed, tmp_path, monkeypatch
):
    # Given a job at its care-gap step whose recompute meets a database error every time
    job = imported_up_to_care_gaps(feed, tmp_path)

    def care_gaps_refresh(**kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(intake_fhir_bulk, "care_gaps_refresh", care_gaps_refresh)

    # When the task runs a first time, Then it is retried and the job is left at its step
    with pytest.raises(Retry):
        fhir_bulk_import_care_gaps.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.CARE_GAPS

    # When its last retry fails too
    with pytest.raises(OperationalError):
        fhir_bulk_import_care_gaps.apply(args=[job.pk], retries=3)

    # Then the job ended failed with the reason
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.FAILED
    assert "database failed 4 times (OperationalError)" in job.message


# --- Files outside the export's folder ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("../other_clinic/Patient.ndjson", "output[0] is outside the export's folder"),
        ("file:///etc/passwd", "output[0] is outside the export's folder"),
        ("/etc/passwd", "output[0] is outside the export's folder"),
        ("link.ndjson", "output[0] is a symbolic link"),
    ],
    ids=["parent-folder", "file-url", "absolute-path", "symlink"],
)
def test_a_manifest_naming_a_file_outside_its_folder_is_refused_and_nothing_created(
    feed, tmp_path, url, said
):
    # Given another clinic's export next to ours, and our manifest naming a file out of it
    other = write_export(tmp_path / "other_clinic", {"Patient": [person(7)]})
    mine = write_export(tmp_path / "mine", {"Patient": [person(1)]})
    (mine / "link.ndjson").symlink_to(other / "Patient.ndjson")
    manifest = mine / "manifest.json"
    manifest.write_text(json.dumps({"output": [{"type": "Patient", "url": url}]}))

    # When it is imported, Then it is refused with the reason and no job is created
    with pytest.raises(BulkSourceError, match=re.escape(f"manifest.json: {said}")):
        fhir_bulk_import_create(source=feed, location=manifest, actor=None, start=False)
    assert FhirBulkImport.objects.count() == 0


def test_a_folder_with_a_symbolic_link_is_refused_and_nothing_created(feed, tmp_path):
    # Given an export folder holding a link to another clinic's file
    other = write_export(tmp_path / "other_clinic", {"Patient": [person(7)]})
    mine = write_export(tmp_path / "mine", {"Observation": [observation(1)]})
    (mine / "Patient.ndjson").symlink_to(other / "Patient.ndjson")

    # When it is imported, Then it is refused with the reason and no job is created
    with pytest.raises(BulkSourceError, match="mine: Patient.ndjson is a symbolic link"):
        fhir_bulk_import_create(source=feed, location=mine, actor=None, start=False)
    assert FhirBulkImport.objects.count() == 0
