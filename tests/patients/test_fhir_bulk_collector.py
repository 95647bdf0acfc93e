"""The bulk import pauses Python's cyclic garbage collector while it reads and writes a
batch, and turns it back on after every batch: imported, failed or not."""

from __future__ import annotations

import gc
import json

import pytest

from navigator.intake.fhir_bulk import fhir_bulk_run_inline
from patients.fhir import bulk, bulk_write
from patients.fhir.bulk import fhir_bulk_import_create
from patients.models import FhirBulkImport, FhirSource, PatientSourceLink
from tests.support.fhir import patient_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def export(clinic, tmp_path):
    feed = FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)
    people = [
        patient_resource(id=f"p{n}", identifier=[{"system": "urn:mrn", "value": f"M-{n}"}])
        for n in range(4)
    ]
    (tmp_path / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in people))
    return feed, tmp_path


def test_the_collector_is_off_during_each_batch_and_on_after(export, monkeypatch):
    feed, folder = export
    seen: list[bool] = []
    real = bulk_write.batch_write

    def watched(**kwargs):
        seen.append(gc.isenabled())
        return real(**kwargs)

    monkeypatch.setattr(bulk, "batch_write", watched)
    job = fhir_bulk_import_create(source=feed, location=folder, actor=None, batch_size=2,
                                  start=False)  # fmt: skip
    assert gc.isenabled()

    fhir_bulk_run_inline(job_id=job.pk)

    assert seen == [False, False]  # two batches, each with the collector off
    assert gc.isenabled()
    assert PatientSourceLink.objects.filter(source=feed).count() == 4


def test_the_collector_is_back_on_after_a_batch_that_fails(export, monkeypatch):
    feed, folder = export

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(bulk, "batch_write", broken)
    job = fhir_bulk_import_create(source=feed, location=folder, actor=None, batch_size=2,
                                  start=False)  # fmt: skip

    fhir_bulk_run_inline(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.FAILED
    assert gc.isenabled()


def test_a_collector_already_off_is_left_off(export):
    feed, folder = export
    job = fhir_bulk_import_create(source=feed, location=folder, actor=None, batch_size=2,
                                  start=False)  # fmt: skip
    gc.disable()
    try:
        fhir_bulk_run_inline(job_id=job.pk)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert PatientSourceLink.objects.filter(source=feed).count() == 4
