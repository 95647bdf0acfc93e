"""Several bulk-import workers on one job at once, on PostgreSQL: each batch imported by
exactly one of them (SKIP LOCKED), every patient once, the job finished once."""

from __future__ import annotations

import json
from functools import partial

import pytest

from navigator.intake.fhir_bulk import fhir_bulk_run_inline
from patients.fhir.bulk import fhir_bulk_import_create
from patients.models import (
    ClinicalResource,
    FhirBulkChunk,
    FhirBulkImport,
    FhirImport,
    Patient,
    PatientSourceLink,
)
from tests import factories
from tests.support.fhir import observation, patient_resource

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_three_workers_on_one_job_import_each_batch_once(require_postgres, at_once, tmp_path):
    # Given an export of 12 patients with an observation each, in batches of two lines
    feed = factories.FhirSourceFactory(key="ehr")
    people = [
        patient_resource(id=f"p{n}", identifier=[{"system": "urn:mrn", "value": f"M{n}"}])
        for n in range(12)
    ]
    observations = [observation(n, f"Patient/p{n}") for n in range(12)]
    (tmp_path / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in people))
    (tmp_path / "Observation.ndjson").write_text(
        "".join(json.dumps(o) + "\n" for o in observations)
    )
    job = fhir_bulk_import_create(
        source=feed, location=tmp_path, actor=None, batch_size=2, start=False
    )

    # When three workers run it at the same moment
    outcomes = at_once([partial(fhir_bulk_run_inline, job_id=job.pk)] * 3, timeout=120)

    # Then none failed, and every batch, patient and resource is there exactly once
    assert [outcome.error for outcome in outcomes] == [None, None, None]
    job.refresh_from_db()
    assert job.status == FhirBulkImport.Status.DONE
    assert FhirBulkChunk.objects.filter(job=job, done=False).count() == 0
    assert sum(FhirBulkChunk.objects.filter(job=job).values_list("created", flat=True)) == 24
    assert Patient.objects.filter(source_links__source=feed).count() == 12
    assert PatientSourceLink.objects.count() == 12
    assert ClinicalResource.objects.count() == 24
    assert FhirImport.objects.count() == 1
    assert job.care_gaps_recomputed == 12
