"""Smoke: every page and API list with a case in each of issue 12's new statuses."""

from __future__ import annotations

import datetime as dt

import pytest

from navigator.models import CaseStatus, NavigationCase
from navigator.services.screenings import case_record_screening
from tests import factories
from tests.support.api import api_as

NOW = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 24)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def _record(case, test, result, on):
    case_record_screening(
        case=case.pk, modality=factories.modality(test, case.program.code), performed_on=on,
        resulted_on=on, result=result, actor=case.navigator.user,
    )  # fmt: skip


@pytest.fixture
def world(navigator, manager, clinic, clinic_staff):
    cases = {}
    for status, steps in {
        "follow_up_needed": [("fit", "abnormal")],
        "repeat_needed": [("fit", "inadequate")],
        "treatment": [("fit", "abnormal"), ("colonoscopy", "cancer")],
        "completed": [("fit", "abnormal"), ("colonoscopy", "normal")],
    }.items():
        patient = factories.PatientFactory(clinic=clinic)
        case = factories.CaseFactory(
            navigator=navigator, patient=patient, status=CaseStatus.CONTACTING
        )
        for i, (test, result) in enumerate(steps):
            _record(case, test, result, TODAY - dt.timedelta(days=30 - i * 10))
        case = NavigationCase.objects.get(pk=case.pk)
        assert case.status == status
        cases[status] = case
    return cases


def test_pages_do_not_crash_on_the_new_statuses(client, world, navigator, manager):
    pages = ["/worklist/", "/cases/", "/follow-ups/", "/team/", "/care-gaps/",
             "/reports/equity/navigation/", "/messages/", "/letters/", "/referrals/"]  # fmt: skip
    for case in world.values():
        pages += [
            f"/cases/{case.pk}/",
            f"/patients/{case.patient_id}/",
            f"/cases/{case.pk}/letter.pdf",
        ]
    for status in ("follow_up_needed", "repeat_needed", "treatment", "follow_up_closed"):
        pages += [f"/cases/?status={status}", f"/worklist/?status={status}"]
    failures = []
    for user in (manager, navigator.user):
        client.force_login(user)
        for page in pages:
            if page in ("/worklist/",) and user == manager:
                continue
            response = client.get(page)
            if response.status_code >= 500:
                failures.append((user.role, page, response.status_code))
    assert failures == []


def test_api_does_not_crash_on_the_new_statuses(world, navigator, manager):
    failures = []
    urls = ["/api/cases/", "/api/worklist/", "/api/reminders/", "/api/referrals/",
            "/api/reports/completion/?start=2026-01-01&end=2026-12-31", "/api/team/"]  # fmt: skip
    for case in world.values():
        urls += [f"/api/cases/{case.pk}/", f"/api/patients/{case.patient_id}/care-gaps/"]
    for user in (manager, navigator.user):
        for url in urls:
            response = api_as(user).get(url)
            if response.status_code >= 500:
                failures.append((user.role, url, response.status_code))
    assert failures == []
