"""Logs carry ids, never a patient's name, MRN, birth date, phone or notes."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from outreach import tasks
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


def test_the_whole_loop_logs_no_patient_details(caplog, django_capture_on_commit_callbacks):
    # Given a referral, a navigator and a case worked through to the end
    caplog.set_level(logging.DEBUG)
    navigator = factories.NavigatorFactory(languages=["es", "en"])
    staff = factories.ClinicStaffFactory()
    birth_date = timezone.localdate() - dt.timedelta(days=365 * 60)
    payload = {
        "program": "colorectal",
        "referring_clinician": "Dr. Patel",
        "patient": {
            "mrn": "ZQ77123", "given_name": "Ximena", "family_name": "Quiroga-Tellez",
            "birth_date": birth_date.isoformat(), "sex": "female", "preferred_language": "es",
            "phones": [{"number": "+16175550187"}],
        },
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        case_id = api_as(staff).post("/api/referrals/", payload, format="json").json()["id"]
        client = api_as(navigator.user)
        case_id = client.get("/api/worklist/").json()["results"][0]["id"]
        client.post(
            f"/api/cases/{case_id}/attempts/",
            {"channel": "phone", "outcome": "reached", "note": "Private detail Zebra-42"},
        )
        tasks.create_follow_up_reminders()
        client.post(f"/api/cases/{case_id}/transition/", {"status": "declined"})

    # Then nothing that identifies the patient reached a log record
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ["Ximena", "Quiroga", "ZQ77123", birth_date.isoformat(), "5550187", "Zebra-42"]:
        assert secret not in logged
