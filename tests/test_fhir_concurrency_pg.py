"""The same bundle posted several times at once on PostgreSQL: one patient, never a 500."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from patients.models import ClinicalResource, FhirImport, Patient, PatientSourceLink
from tests import factories
from tests.test_fhir_import import bundle, observation, patient_resource

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def post_at_once(user, payload: bytes, count: int) -> list[int]:
    barrier = threading.Barrier(count)
    codes: list[int] = []

    def send():
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        try:
            response = client.generic(
                "POST", "/api/fhir/?source=ehr", payload, content_type="application/fhir+json"
            )
            codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return codes


def test_simultaneous_imports_of_a_new_patient_make_one_patient(require_postgres):
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
