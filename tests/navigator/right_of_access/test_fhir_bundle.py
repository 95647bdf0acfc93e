"""The FHIR Bundle of a patient's record: every kind of row, valid R4, nobody else's."""

from __future__ import annotations

import base64
import json

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from navigator.right_of_access.fhir_bundle import patient_bundle
from navigator.right_of_access.records import patient_record_for
from tests import factories
from tests.support.patient_record import seed_full_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_records():
    return (
        seed_full_record(marker="Alpha", phone="+16175550101"),
        seed_full_record(marker="Bravo", phone="+16175550102"),
    )


def export(rows) -> dict:
    manager = factories.ManagerFactory()
    record = patient_record_for(user=manager, patient_id=rows["patients.Patient"].pk)
    return patient_bundle(record, now=timezone.now())


def attached_document(bundle: dict) -> dict:
    (document,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
        and e["resource"]["id"].endswith("-record")
    ]
    return json.loads(base64.b64decode(document["content"][0]["attachment"]["data"]))


def test_the_bundle_is_a_valid_r4_collection(two_records):
    # Given a patient with a row of every kind
    # When their record is exported
    bundle = export(two_records[0])

    # Then fhir.resources reads it as a valid R4 Bundle of type collection
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    # And each entry has its own fullUrl
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls))


def test_the_bundle_holds_a_resource_for_each_kind_that_has_a_fhir_home(two_records):
    rows = two_records[0]
    bundle = export(rows)
    ids = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    patient, case = rows["patients.Patient"], rows["navigator.NavigationCase"]
    screening = rows["patients.ScreeningEvent"]
    expected = {
        ("Patient", f"patient-{patient.pk}"),
        ("Patient", f"patient-{rows['patients.PatientMerge'].duplicate_id}"),
        ("ServiceRequest", f"referral-{rows['patients.Referral'].pk}"),
        ("DetectedIssue", f"care-gap-{rows['patients.CareGap'].pk}"),
        ("Observation", rows["patients.ClinicalResource"].resource_id),
        ("Procedure", f"screening-{screening.pk}"),
        ("Observation", f"result-{screening.pk}"),
        ("EpisodeOfCare", f"case-{case.pk}"),
        ("DocumentReference", f"note-{rows['navigator.CaseEvent'].pk}"),
        ("Communication", f"attempt-{rows['outreach.ContactAttempt'].pk}"),
        ("Appointment", f"appointment-{rows['navigator.Appointment'].pk}"),
        ("SupplyDelivery", f"kit-{rows['navigator.KitMailing'].pk}"),
        ("ServiceRequest", f"follow-up-{rows['navigator.ResultFollowUp'].pk}"),
        ("Task", f"task-{rows['outreach.CaseTask'].pk}"),
        ("Communication", f"message-{rows['outreach.PatientMessage'].pk}"),
        ("Communication", f"text-{rows['outreach.InboundSms'].pk}"),
        ("DocumentReference", f"patient-{patient.pk}-record"),
    }
    assert expected <= ids
    text = json.dumps(bundle)
    # The message's text, the note and the patient's names are in it
    for words in ("Message text Alpha", "Inbound text Alpha", "FamilyAlpha", "GivenAlpha"):
        assert words in text
    note = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].startswith("note-"))
    assert base64.b64decode(note["content"][0]["attachment"]["data"]) == b"Note Alpha"


def test_the_attached_document_holds_every_row_of_every_kind(two_records):
    # Given a row of each exported kind
    rows = two_records[0]

    # When the record is exported
    document = attached_document(export(rows))

    # Then each row is in the JSON document, by its id, in its section
    case_doc = document["navigation_cases"][0]
    sections = {
        "patients.Patient": [document["patient"]],
        "patients.PatientRaceEthnicity": document["race_ethnicity"],
        "patients.PatientPhone": document["phones"],
        "patients.PatientSourceLink": document["ehr_links"],
        "patients.PatientMerge": document["merged_records"],
        "outreach.SmsOptOut": document["sms_opt_outs"],
        "patients.Referral": document["referrals"],
        "patients.CareGap": document["care_gaps"],
        "patients.ClinicalResource": document["ehr_resources"],
        "patients.ScreeningEvent": document["screenings"],
        "patients.MeasurePopulation": document["measure_populations"],
        "patients.DataQualityWarning": document["data_quality_warnings"],
        "navigator.NavigationCase": document["navigation_cases"],
        "navigator.CaseEvent": case_doc["timeline"],
        "outreach.ContactAttempt": case_doc["contact_attempts"],
        "navigator.CaseBarrier": case_doc["barriers"],
        "navigator.Appointment": case_doc["appointments"],
        "navigator.KitMailing": case_doc["kits_mailed"],
        "navigator.ResultFollowUp": case_doc["result_follow_ups"],
        "outreach.FollowUpReminder": case_doc["follow_up_reminders"],
        "outreach.CaseTask": case_doc["tasks"],
        "outreach.PatientMessage": document["messages"],
        "outreach.InboundSms": document["texts_received"],
        "outreach.InterpreterRequest": case_doc["interpreter_requests"],
    }
    assert set(sections) == set(rows), "a seeded kind has no section here"
    for label, row in rows.items():
        assert row.pk in {entry["id"] for entry in sections[label]}, label
    # And the consent and language answers are there with their words
    assert document["patient"]["sms_consent"] is True
    assert document["patient"]["language_source_words"] == "Self-reported by the patient"
    assert document["patient"]["race_ethnicity_source_words"] == "Self-reported by the patient"


def test_nothing_of_another_patient_is_in_the_bundle(two_records):
    # Given two patients, each with a record of every kind
    alpha, bravo = two_records

    # When the first one's record is exported
    text = json.dumps(export(alpha))
    document = json.dumps(attached_document(export(alpha)))

    # Then neither the bundle nor the attached document names the second, or any of
    # their free text
    for blob in (text, document):
        assert "Bravo" not in blob
        assert bravo["patients.Patient"].mrn not in blob
        assert "+16175550102" not in blob
    # And none of the second patient's resources is there
    ids = {e["resource"]["id"] for e in export(alpha)["entry"]}
    assert f"patient-{bravo['patients.Patient'].pk}" not in ids
    assert f"case-{bravo['navigator.NavigationCase'].pk}" not in ids
    assert f"message-{bravo['outreach.PatientMessage'].pk}" not in ids
