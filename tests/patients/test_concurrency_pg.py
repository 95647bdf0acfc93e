"""Simultaneous requests on PostgreSQL: no duplicate patient or case, never a 500."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from navigator.models import NavigationCase
from patients.models import Patient, Referral
from tests import factories
from tests.support.api import api_as

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def post_at_once(at_once):
    def post(users, payload, count: int) -> list[int]:
        """POST the same referral from `count` threads released together; their status codes."""
        clients = [api_as(users[i % len(users)]) for i in range(count)]
        jobs = [partial(c.post, "/api/referrals/", payload, format="json") for c in clients]
        return [outcome.result().status_code for outcome in at_once(jobs, timeout=30)]

    return post


def payload(mrn: str) -> dict:
    return {
        "program": "colorectal",
        "referring_clinician": "Dr. Patel",
        "patient": {
            "mrn": mrn,
            "given_name": "Ana",
            "family_name": "Lima",
            "birth_date": (timezone.localdate() - dt.timedelta(days=365 * 60)).isoformat(),
            "sex": "female",
            "preferred_language": "pt",
        },
    }


def test_simultaneous_referrals_of_a_new_patient_make_one_patient_and_one_case(
    require_postgres, post_at_once
):
    factories.NavigatorFactory(languages=["pt", "en"])
    staff = factories.ClinicStaffFactory()

    codes = post_at_once([staff], payload("PT-1"), 4)

    # Each request either succeeded or was told, clearly, to submit again: never a 500
    assert len(codes) == 4
    assert set(codes) <= {201, 400}
    assert 201 in codes
    assert Patient.objects.filter(mrn="PT-1").count() == 1
    assert NavigationCase.objects.count() == 1
    assert Referral.objects.count() == codes.count(201)


def test_simultaneous_referrals_of_a_known_patient_join_one_case(require_postgres, post_at_once):
    factories.NavigatorFactory(languages=["pt", "en"])
    staff = factories.ClinicStaffFactory()
    first = APIClient()
    first.force_authenticate(staff)
    assert first.post("/api/referrals/", payload("PT-2"), format="json").status_code == 201

    codes = post_at_once([staff], payload("PT-2"), 4)

    assert codes == [201, 201, 201, 201]
    assert Patient.objects.count() == 1
    assert NavigationCase.objects.count() == 1
    assert Referral.objects.count() == 5
