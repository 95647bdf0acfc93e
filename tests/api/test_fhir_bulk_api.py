"""`/api/fhir/bulk-imports/`: a bulk import's progress and rejected lines, for managers
and admins only."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from navigator.intake.fhir_bulk import fhir_bulk_run_inline
from navigator.models import Role
from patients.fhir.bulk import fhir_bulk_import_create
from patients.models import FhirSource
from tests.factories import AdminFactory, ClinicStaffFactory, ManagerFactory, UserFactory
from tests.support.api import api_as
from tests.support.fhir import observation, patient_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(clinic, tmp_path):
    feed = FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)
    # A good Patient line, then a line that is not JSON; one Observation of that patient.
    (tmp_path / "Patient.ndjson").write_text(json.dumps(patient_resource()) + "\n{oops\n")
    (tmp_path / "Observation.ndjson").write_text(json.dumps(observation(1, "Patient/p1")) + "\n")
    job = fhir_bulk_import_create(source=feed, location=tmp_path, actor=None, start=False)
    fhir_bulk_run_inline(job_id=job.pk)
    return job


def test_a_manager_sees_the_jobs_progress_per_file_and_its_rejected_lines(job):
    # Given a finished job with one bad line
    # When a manager asks for it
    response = api_as(ManagerFactory()).get(
        reverse("api:fhir-bulk-import-detail", kwargs={"job_id": job.pk})
    )

    # Then they see its status, each file's counts and the line rejected, with its reason
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["source"], body["care_gaps_recomputed"]) == ("done", "ehr", 1)
    files = {f["resource_type"]: f for f in body["files"]}
    assert (files["Patient"]["lines_read"], files["Patient"]["created"]) == (2, 1)
    assert files["Patient"]["rejected"] == 1
    assert (files["Observation"]["created"], files["Observation"]["file"]) == (
        1,
        "Observation.ndjson",
    )
    assert body["rejections"] == [
        {"file": "Patient.ndjson", "line": 2, "reason": body["rejections"][0]["reason"]}
    ]
    assert body["rejections"][0]["reason"].startswith("Not valid JSON")


def test_an_admin_lists_the_jobs(job):
    response = api_as(AdminFactory()).get(reverse("api:fhir-bulk-import-list"))
    assert response.status_code == 200
    assert [j["id"] for j in response.json()] == [job.pk]


@pytest.mark.parametrize(
    "user",
    [
        lambda clinic: UserFactory(role=Role.NAVIGATOR),
        lambda clinic: ClinicStaffFactory(clinic=clinic),
        lambda clinic: UserFactory(role=Role.COMPLIANCE),
    ],
    ids=["navigator", "clinic-staff", "compliance"],
)
def test_other_roles_are_refused_the_jobs(job, clinic, user):
    client = api_as(user(clinic))
    for url in (
        reverse("api:fhir-bulk-import-list"),
        reverse("api:fhir-bulk-import-detail", kwargs={"job_id": job.pk}),
    ):
        assert client.get(url).status_code == 403


def test_an_unknown_job_is_not_found(job):
    response = api_as(ManagerFactory()).get(
        reverse("api:fhir-bulk-import-detail", kwargs={"job_id": job.pk + 1})
    )
    assert response.status_code == 404
