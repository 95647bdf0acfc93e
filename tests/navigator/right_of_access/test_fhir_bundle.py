"""The FHIR Bundle of a patient's record: every kind of row, valid R4, nobody else's."""

from __future__ import annotations

import base64
import json

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from navigator.models import CLOSED_STATUSES, AppointmentStatus
from navigator.right_of_access.fhir_bundle import patient_bundle
from navigator.right_of_access.records import patient_record_for
from outreach.models import CaseTask, MessageState, PatientMessage, SmsOptOut
from patients.models import DataQualityWarning
from patients.services.patients import patient_race_set
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
        "navigator.CoachingSession": case_doc["coaching_sessions"],
        "navigator.CoachingGoal": case_doc["coaching_goals"],
        "navigator.GroupEnrolment": case_doc["group_classes"],
        "navigator.GroupAttendance": [
            attended for series in case_doc["group_classes"] for attended in series["attendance"]
        ],
    }
    assert set(sections) == set(rows), "a seeded kind has no section here"
    for label, row in rows.items():
        assert row.pk in {entry["id"] for entry in sections[label]}, label
    # And staff are named beside their ids
    navigator = rows["navigator.NavigationCase"].navigator.user
    assert case_doc["contact_attempts"][0]["created_by_name"] == navigator.get_full_name()
    assert case_doc["navigator_name"] == navigator.get_full_name()
    # And the consent and language answers are there with their words
    assert document["patient"]["sms_consent"] is True
    assert document["patient"]["language_source_words"] == "Self-reported by the patient"
    assert document["patient"]["race_ethnicity_source_words"] == "Self-reported by the patient"


def test_nothing_of_another_patient_is_in_the_bundle(two_records):
    # Given two patients, each with a record of every kind, and a warning that a record
    # sent for the second carries the first one's MRN
    alpha, bravo = two_records
    DataQualityWarning.objects.create(
        source=alpha["patients.ClinicalResource"].source,
        kind="identifier_conflict",
        message=f"Patient/feed-Bravo shares its MRN with patient #{bravo['patients.Patient'].pk}",
        patient=bravo["patients.Patient"],
        other_patient=alpha["patients.Patient"],
    )
    # and the first one's number once belonged to the second as well (a shared phone)
    SmsOptOut.objects.filter(number="+16175550101").update(
        consent_withdrawn_for=[alpha["patients.Patient"].pk, 987654321]
    )

    # When the first one's record is exported
    text = json.dumps(export(alpha))
    document = json.dumps(attached_document(export(alpha)))

    # Then neither the bundle nor the attached document names the second, or any of
    # their free text
    for blob in (text, document):
        assert "Bravo" not in blob
        assert bravo["patients.Patient"].mrn not in blob
        assert "+16175550102" not in blob
        assert f"#{bravo['patients.Patient'].pk}" not in blob
        assert "987654321" not in blob
    # And none of the second patient's resources is there
    ids = {e["resource"]["id"] for e in export(alpha)["entry"]}
    assert f"patient-{bravo['patients.Patient'].pk}" not in ids
    assert f"case-{bravo['navigator.NavigationCase'].pk}" not in ids
    assert f"message-{bravo['outreach.PatientMessage'].pk}" not in ids


def test_every_status_and_answer_maps_to_valid_fhir():
    # Given a patient whose rows take every status EquiNav has: cases, appointments,
    # messages, tasks done; an inbound call; a race answer without an OMB code
    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    patient, case = rows["patients.Patient"], rows["navigator.NavigationCase"]
    patient_race_set(patient=patient, categories=["mena", "black"], source="proxy")
    for status in CLOSED_STATUSES:
        factories.CaseFactory(patient=patient, program=factories.program("breast"), status=status)
    factories.CaseFactory(
        patient=patient, program=factories.program("cervical"), status="new", navigator=None
    )
    for status in AppointmentStatus.values:
        factories.AppointmentFactory(case=case, status=status, note="")
    for index, state in enumerate(MessageState.values):
        PatientMessage.objects.create(
            patient=patient,
            kind="recall",
            channel="letter",
            language="es",
            rule_key="rule:states",
            subject_key=f"state:{index}",
            slot=timezone.localdate(),
            due_at=timezone.now(),
            state=state,
            state_reason="Quiet hours" if state == "suppressed" else "",
        )
    CaseTask.objects.filter(case=case).update(done_at=timezone.now(), done_note="Called back")
    factories.ContactAttemptFactory(case=case, direction="inbound", created_by=None)

    # When the record is exported
    bundle = export(rows)

    # Then it is a valid R4 bundle, each status in FHIR's words
    Bundle.model_validate(bundle)
    by_type: dict[str, set[str]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        by_type.setdefault(resource["resourceType"], set()).add(resource.get("status", ""))
    assert by_type["Appointment"] == {"booked", "fulfilled", "noshow", "cancelled"}
    assert {"planned", "active", "finished", "cancelled"} <= by_type["EpisodeOfCare"]
    assert {"preparation", "in-progress", "completed", "not-done"} <= by_type["Communication"]


def test_a_patient_with_nothing_but_their_record_exports_a_valid_bundle():
    # Given a patient who declined to give their race, with no case, phone or referral
    patient = factories.PatientFactory(race_ethnicity=["declined"])

    # When their record is exported
    bundle = export({"patients.Patient": patient})

    # Then the bundle is valid and says they declined (a null flavor, not a category)
    Bundle.model_validate(bundle)
    (resource,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    race = resource["extension"][0]
    assert race["extension"][0]["valueCoding"]["code"] == "ASKU"
