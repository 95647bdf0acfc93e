"""Eligibility the clinician can override: a patient outside a program's criteria (a
trans man with a cervix, recorded male, referred to cervical screening) is referred
with a recorded reason; without one the refusal stays; the care-gap engine and the
eCQMs keep following the CMS specifications."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from navigator.intake.referrals import referral_create
from navigator.models import CaseEvent, CaseEventKind
from patients.models import (
    CareGap,
    CareGapStatus,
    ClinicalResource,
    FhirSource,
    PatientSourceLink,
    Referral,
)
from patients.services.care_gaps import care_gaps_recompute
from patients.services.patients import PatientInput
from patients.uploads.template import COLUMNS
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

REASON = "Trans man with a cervix; due for cervical screening"
REFUSAL = "Cervical cancer screening is for female patients."


def years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def him(**overrides) -> PatientInput:
    data = {
        "mrn": "T-1",
        "given_name": "Alex",
        "family_name": "Rivera",
        "birth_date": years_ago(35),
        "sex": "male",
    }
    data.update(overrides)
    return PatientInput(**data)


def refer(staff, reason: str = "", patient: PatientInput | None = None) -> Referral:
    return referral_create(
        clinic=staff.clinic,
        program=factories.program("cervical"),
        patient_data=patient or him(),
        referring_clinician="Dr. Okafor",
        actor=staff,
        eligibility_override_reason=reason,
    )


@pytest.fixture(autouse=True)
def navigator_on_duty(db):
    return factories.NavigatorFactory()


# --- The service ----------------------------------------------------------------------


def test_without_a_reason_an_ineligible_patient_is_refused_as_today(clinic_staff):
    with pytest.raises(ValidationError) as refused:
        refer(clinic_staff)

    assert refused.value.message_dict == {"program": [REFUSAL]}
    assert not Referral.objects.exists()


def test_a_reason_of_a_word_or_two_is_refused_and_names_the_problem(clinic_staff):
    with pytest.raises(ValidationError) as refused:
        refer(clinic_staff, reason="  trans   man ")

    [message] = refused.value.message_dict["eligibility_override_reason"]
    assert "at least 3 words" in message
    assert REFUSAL in message
    assert not Referral.objects.exists()


def test_with_a_reason_the_referral_and_the_case_record_the_override_who_and_when(
    clinic_staff,
):
    referral = refer(clinic_staff, reason=f"  {REASON} ")

    assert referral.eligibility_override_reason == REASON
    assert referral.eligibility_overridden_by == clinic_staff
    assert referral.eligibility_overridden_at is not None
    event = CaseEvent.objects.get(case=referral.case, kind=CaseEventKind.ELIGIBILITY_OVERRIDDEN)
    assert event.actor == clinic_staff
    assert event.summary == f"Eligibility overridden: {REASON}"
    assert event.data == {"referral": referral.pk, "problems": [REFUSAL], "reason": REASON}


def test_a_reason_given_for_an_eligible_patient_is_not_recorded(clinic_staff):
    referral = refer(clinic_staff, reason=REASON, patient=him(sex="female"))

    assert referral.eligibility_override_reason == ""
    assert referral.eligibility_overridden_by is None
    assert not CaseEvent.objects.filter(kind=CaseEventKind.ELIGIBILITY_OVERRIDDEN).exists()


def test_the_case_page_says_eligibility_was_overridden_and_why(client, clinic_staff, manager):
    referral = refer(clinic_staff, reason=REASON)
    client.force_login(manager)

    html = client.get(reverse("navigator:case_detail", args=[referral.case_id])).content.decode()

    assert "Eligibility overridden:</strong> " + REASON in html


# --- The form -------------------------------------------------------------------------


def form_post(**overrides) -> dict:
    data = {
        "program": factories.program("cervical").pk,
        "referring_clinician": "Dr. Okafor",
        "reason": "",
        "eligibility_override_reason": "",
        "mrn": "T-1",
        "given_name": "Alex",
        "family_name": "Rivera",
        "birth_date": years_ago(35).isoformat(),
        "sex": "male",
        "preferred_language": "en",
        "preferred_language_other": "",
        "english_proficiency": "very_well",
        "phone_1_number": "",
        "phone_1_kind": "mobile",
        "phone_2_number": "",
        "phone_2_kind": "home",
        "insurance_type": "unknown",
        "smoking_status": "never",
        "smoking_pack_years": "",
        "time_zone": "America/New_York",
    }
    data.update(overrides)
    return data


def test_the_form_refuses_an_ineligible_patient_without_a_reason(client, clinic_staff):
    client.force_login(clinic_staff)

    response = client.post(reverse("patients:referral_create"), form_post())

    assert response.status_code == 400
    assert REFUSAL in response.content.decode()
    assert not Referral.objects.exists()


def test_the_form_refuses_a_too_short_reason_on_its_field(client, clinic_staff):
    client.force_login(clinic_staff)

    response = client.post(
        reverse("patients:referral_create"), form_post(eligibility_override_reason="trans")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["eligibility_override_reason"]
    assert not Referral.objects.exists()


def test_the_form_refers_with_the_override_and_the_referral_page_shows_it(client, clinic_staff):
    client.force_login(clinic_staff)

    response = client.post(
        reverse("patients:referral_create"), form_post(eligibility_override_reason=REASON)
    )

    referral = Referral.objects.get()
    assert response.status_code == 302
    assert referral.eligibility_override_reason == REASON
    page = client.get(response["Location"]).content.decode()
    assert REASON in page
    assert "Eligibility overridden" in page


# --- The API --------------------------------------------------------------------------


def api_body(**overrides) -> dict:
    body = {
        "program": "cervical",
        "referring_clinician": "Dr. Okafor",
        "patient": {
            "mrn": "T-1",
            "given_name": "Alex",
            "family_name": "Rivera",
            "birth_date": years_ago(35).isoformat(),
            "sex": "male",
        },
    }
    body.update(overrides)
    return body


def test_the_api_refuses_without_a_reason_and_refers_with_one(clinic_staff):
    client = api_as(clinic_staff)

    refused = client.post("/api/referrals/", api_body(), format="json")
    short = client.post(
        "/api/referrals/", api_body(eligibility_override_reason="because"), format="json"
    )
    made = client.post(
        "/api/referrals/", api_body(eligibility_override_reason=REASON), format="json"
    )

    assert refused.status_code == 400
    assert refused.json() == {"program": [REFUSAL]}
    assert short.status_code == 400
    assert "eligibility_override_reason" in short.json()
    assert made.status_code == 201, made.content
    detail = client.get(f"/api/referrals/{made.json()['id']}/").json()
    assert detail["eligibility_override_reason"] == REASON
    assert Referral.objects.count() == 1


# --- The CSV --------------------------------------------------------------------------


def csv_row(**overrides) -> dict[str, str]:
    row = {
        "mrn": "T-1",
        "given_name": "Alex",
        "family_name": "Rivera",
        "birth_date": years_ago(35).isoformat(),
        "sex": "male",
        "program": "cervical",
        "referring_clinician": "Dr. Okafor",
    }
    row.update(overrides)
    return row


def upload(user, rows: list[dict[str, str]]):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), restval="")
    writer.writeheader()
    writer.writerows(rows)
    data = {
        "file": SimpleUploadedFile("r.csv", out.getvalue().encode(), "text/csv"),
        "mode": "good_rows",
    }
    # Accepted (202), then its job runs (queued on commit; eager in tests): the job as read.
    client = api_as(user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        accepted = client.post("/api/referrals/upload/", data, format="multipart")
    assert accepted.status_code == 202, accepted.content
    return client.get(accepted["Location"])


def test_a_csv_row_with_a_reason_is_referred_and_one_without_is_a_row_error(clinic_staff):
    response = upload(
        clinic_staff,
        [
            csv_row(eligibility_override_reason=REASON),
            csv_row(mrn="T-2", given_name="Sam"),
        ],
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["created"]) == ("done", 1)
    [error] = body["errors"]
    assert error["line"] == 3
    assert REFUSAL in error["message"]
    assert Referral.objects.get().eligibility_override_reason == REASON


# --- The care-gap engine and the eCQMs follow the CMS specifications -------------------------


def run_report(measure: str) -> dict:
    out = StringIO()
    call_command(
        "measure_report",
        stdout=out,
        measure=measure,
        period_start="2025-01-01",
        period_end="2025-12-31",
        format="json",
    )
    return json.loads(out.getvalue())


def test_an_override_changes_neither_the_care_gap_nor_cms124_nor_cms130(clinic, clinic_staff):
    # Given a man of 50 in 2025 known from the EHR, with an office visit that year
    feed = FhirSource.objects.create(key="ehr", name="EHR", clinic=clinic)
    patient = factories.PatientFactory(
        clinic=clinic,
        mrn="T-1",
        given_name="Alex",
        family_name="Rivera",
        birth_date=dt.date(1975, 5, 1),
        sex="male",
    )
    PatientSourceLink.objects.create(source=feed, resource_id="alex", patient=patient)
    ClinicalResource.objects.create(
        patient=patient,
        source=feed,
        resource_type="Encounter",
        resource_id="alex-visit",
        content_hash="alex-visit",
        resource={
            "resourceType": "Encounter",
            "status": "finished",
            "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
            "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-01T10:30:00Z"},
            "subject": {"reference": "Patient/alex"},
        },
    )
    before = {measure: run_report(measure) for measure in ("CMS124", "CMS130")}

    # When a clinician refers him to cervical screening with an override
    referral = refer(
        clinic_staff,
        reason=REASON,
        patient=him(birth_date=dt.date(1975, 5, 1)),
    )
    care_gaps_recompute(patient_ids=[patient.pk], as_of=timezone.localdate())

    # Then the referral is on his record, and the measures and the care gap follow CMS
    assert referral.patient_id == patient.pk
    after = {measure: run_report(measure) for measure in ("CMS124", "CMS130")}
    assert after == before
    assert after["CMS124"]["patients"][0]["populations"]["initial-population"] == 0
    assert after["CMS130"]["patients"][0]["populations"]["initial-population"] == 1
    gap = CareGap.objects.get(patient=patient, program__code="cervical")
    assert gap.status == CareGapStatus.NOT_ELIGIBLE
