"""Withdrawing a patient from a group series through the API
(`POST /api/group-enrolments/<id>/withdraw/`, navigator/api/coaching.py): again is a
no-op answered 200, an enrolment completed is a 400 on `status`, a closed case's patient
is withdrawn, and one out of scope is not found. Refusals write nothing."""

from __future__ import annotations

import pytest

from navigator.models import CaseEvent, CaseStatus, GroupEnrolment, NavigationCase
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(navigator):
    return api_as(navigator.user)


def withdraw(client, enrolment, **body):
    return client.post(f"/api/group-enrolments/{enrolment.pk}/withdraw/", body)


def written() -> tuple:
    return (
        sorted(GroupEnrolment.objects.values_list("pk", "status", "ended_at")),
        CaseEvent.objects.count(),
    )


def test_withdrawing_twice_answers_the_withdrawal_and_writes_it_once(navigator, client):
    enrolment = factories.GroupEnrolmentFactory(case__navigator=navigator)
    assert withdraw(client, enrolment).status_code == 200
    before = written()

    again = withdraw(client, enrolment)

    assert again.status_code == 200, again.content
    assert again.json()["status"] == "withdrawn"
    assert written() == before


def test_withdrawing_an_enrolment_completed_is_refused_on_its_status(navigator, client):
    enrolment = factories.GroupEnrolmentFactory(case__navigator=navigator, status="completed")
    before = written()

    response = withdraw(client, enrolment)

    assert response.status_code == 400
    assert "already completed the series" in response.json()["status"][0]
    assert written() == before


def test_a_closed_cases_patient_is_withdrawn(navigator, client):
    enrolment = factories.GroupEnrolmentFactory(case__navigator=navigator)
    NavigationCase.objects.filter(pk=enrolment.case_id).update(status=CaseStatus.DECLINED)

    response = withdraw(client, enrolment)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"


@pytest.mark.parametrize("body", [{"version": 0}, {"version": "two"}])
def test_a_bad_version_is_refused_on_its_field(navigator, client, body):
    enrolment = factories.GroupEnrolmentFactory(case__navigator=navigator)
    before = written()

    response = withdraw(client, enrolment, **body)

    assert response.status_code == 400 and "version" in response.json()
    assert written() == before


def test_another_caseloads_enrolment_is_not_found(client):
    enrolment = factories.GroupEnrolmentFactory()
    before = written()

    assert withdraw(client, enrolment).status_code == 404
    assert written() == before
