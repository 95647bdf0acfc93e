"""The same bundle posted several times at once on PostgreSQL: one patient, never a 500."""

from __future__ import annotations

from functools import partial

import pytest

from patients.models import ClinicalResource, FhirImport, Patient, PatientSourceLink
from tests import factories
from tests.support.api import api_as
from tests.support.fhir import bundle, observation, patient_resource

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def post_at_once(at_once):
    def post(user, payload: bytes, count: int) -> list[int]:
        """POST the same bundle from `count` threads released together; their status codes."""
        jobs = [
            partial(
                api_as(user).generic,
                "POST",
                "/api/fhir/?source=ehr",
                payload,
                content_type="application/fhir+json",
            )
            for _ in range(count)
        ]
        return [outcome.result().status_code for outcome in at_once(jobs, timeout=60)]

    return post


def test_simultaneous_imports_of_a_new_patient_make_one_patient(require_postgres, post_at_once):
    # Given a feed and a manager
    factories.FhirSourceFactory(key="ehr")
    manager = factories.ManagerFactory()

    # When four copies of one bundle arrive together
    codes = post_at_once(manager, bundle(patient_resource(), observation(1)), 4)

    # Then each was imported (a loser of the race retries once and finds the patient)
    # or, at worst, told to send again (409); nothing was duplicated
    assert len(codes) == 4
    assert set(codes) <= {200, 409}
    assert 200 in codes
    assert Patient.objects.count() == 1
    assert PatientSourceLink.objects.count() == 1
    assert ClinicalResource.objects.count() == 2
    assert FhirImport.objects.count() == 1
