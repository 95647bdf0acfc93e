"""The record as a FHIR R4 Bundle of type "collection" (a set of resources gathered
for a person to keep, not a search answer nor a transaction to replay).

Where each kind of row goes:

- the patient → Patient: names, birth date, sex, phones and e-mail (telecom, in the
  order to try them), address, preferred and written languages (communication),
  death, the MRN and each EHR feed's id (identifier), race and ethnicity as US Core
  extensions (OMB codes where there is one, the words always) with who answered
  (an EquiNav extension); a record merged into this one → its own Patient,
  inactive, linked both ways (Patient.link replaces / replaced-by);
- resources from the EHR feeds (ClinicalResource) → the resource exactly as the
  feed sent it;
- a referral → ServiceRequest (intent order, the referring clinician as requester);
- a care gap → DetectedIssue (the way Da Vinci DEQM reports gaps in care);
- a screening test recorded in EquiNav → Procedure (the test), and Observation (its
  result in the program's words) as part of it;
- a navigation case → EpisodeOfCare (the navigator as care manager);
- a note on a case → DocumentReference with the note as text/plain;
- a contact attempt, a message sent to the patient (with its text) and a text the
  patient sent → Communication, each about its EpisodeOfCare;
- an appointment → Appointment (EquiNav records no length, so it ends when it starts);
- a test kit mailed → SupplyDelivery;
- the next step a result calls for → ServiceRequest (intent plan, based on the result);
- a navigator's task or a manager's escalation → Task.

Barriers, the whole case timeline, interpreter requests, coaching (sessions, goals,
group classes and attendance), follow-up reminders, SMS opt-outs, consent,
data-quality warnings and the figures kept for the equity reports have no good FHIR
home: they, and every field of every row above, are in the record document
(`document`), attached as JSON to a DocumentReference, so the bundle holds everything.
Staff appear by name only (Reference.display).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

from navigator.models import CLOSED_STATUSES, CaseStatus, NavigationCase
from navigator.right_of_access.document import record_document
from navigator.right_of_access.records import PatientRecord, staff_name
from outreach.models import Direction, MessageState
from patients.languages import language_name
from patients.models import Patient, RaceEthnicity

Resource = dict[str, Any]

NAMESPACE = uuid.UUID("6f1c1f2e-6b0a-4c55-9d1e-2b0f6e1a5c01")
EQUINAV = "https://equinav.example.org/fhir"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
OMB_SYSTEM = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
OMB_RACE = {
    RaceEthnicity.AMERICAN_INDIAN_ALASKA_NATIVE: "1002-5",
    RaceEthnicity.ASIAN: "2028-9",
    RaceEthnicity.BLACK: "2054-5",
    RaceEthnicity.NATIVE_HAWAIIAN_PACIFIC_ISLANDER: "2076-8",
    RaceEthnicity.WHITE: "2106-3",
}
EPISODE_STATUS = {
    CaseStatus.NEW: "planned",
    CaseStatus.DECLINED: "cancelled",
    CaseStatus.INELIGIBLE: "cancelled",
}
APPOINTMENT_STATUS = {
    "booked": "booked",
    "kept": "fulfilled",
    "no_show": "noshow",
    "cancelled": "cancelled",
    "rescheduled": "cancelled",
}
MESSAGE_STATUS = {
    MessageState.SCHEDULED: "preparation",
    MessageState.SENDING: "in-progress",
    MessageState.SENT: "completed",
    MessageState.DELIVERED: "completed",
    MessageState.FAILED: "not-done",
    MessageState.CANCELLED: "not-done",
    MessageState.SUPPRESSED: "not-done",
}
FOLLOW_UP_STATUS = {"open": "active", "done": "completed", "closed": "revoked"}


def full_url(kind: str, key: str) -> str:
    """The entry's fullUrl, the same for the same row in every export."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{key}')}"


def _ref(kind: str, key: str) -> dict[str, str]:
    return {"reference": full_url(kind, key)}


def _staff(user) -> dict[str, str] | None:
    name = staff_name(user)
    return {"display": name} if name else None


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(words: str) -> dict[str, str]:
    return {"text": words}


def _clean(resource: Resource) -> Resource:
    """Drop empty elements: FHIR allows no empty strings, lists or objects."""
    return {key: value for key, value in resource.items() if value not in (None, "", [], {})}


def _notes(*texts: str) -> list[dict[str, str]]:
    return [{"text": text} for text in texts if text]


def _patient(record: PatientRecord | None, patient: Patient) -> Resource:
    identifiers = [{"system": f"{EQUINAV}/patient-id", "value": str(patient.pk)}]
    if patient.mrn:
        identifiers.append(
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ],
                    "text": "MRN",
                },  # fmt: skip
                "system": f"{EQUINAV}/clinic/{patient.clinic.code}/mrn",
                "value": patient.mrn,
            }
        )
    telecom: list[dict[str, Any]] = []
    extensions: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    if record is not None:
        identifiers += [
            {"system": f"{EQUINAV}/feed/{link.source.key}", "value": link.resource_id}
            for link in record.source_links
        ]
        telecom = [
            {
                "system": "phone",
                "value": str(phone.number),
                "use": phone.kind,
                "rank": index + 1,
            }  # fmt: skip
            for index, phone in enumerate(record.phones)
        ]
        extensions = _race_extensions(record)
        links = [
            {"other": _ref("Patient", str(merge.duplicate_id)), "type": "replaces"}
            for merge in record.merges
        ]
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    languages = [
        {
            "language": {
                "coding": [{"system": "urn:ietf:bcp:47", "code": code}],
                "text": language_name(code),
            },  # fmt: skip
            "preferred": code == patient.preferred_language,
        }
        for code in dict.fromkeys([patient.preferred_language, patient.written_language_effective])
    ]
    address = _clean(
        {
            "line": [line for line in (patient.address_line1, patient.address_line2) if line],
            "city": patient.city,
            "state": patient.state,
            "postalCode": patient.postal_code,
        }
    )
    return _clean(
        {
            "resourceType": "Patient",
            "id": f"patient-{patient.pk}",
            "extension": extensions,
            "identifier": identifiers,
            # The record exported is never a merged one; a merged one is kept, inactive.
            "active": record is not None,
            "name": [
                {"use": "official", "family": patient.family_name, "given": [patient.given_name]}
            ],  # fmt: skip
            "telecom": telecom,
            "gender": patient.sex,
            "birthDate": patient.birth_date.isoformat(),
            "deceasedBoolean": patient.deceased,
            "address": [address] if address else [],
            "communication": languages,
            "managingOrganization": {"display": patient.clinic.name},
            "link": links,
        }
    )


def _race_extensions(record: PatientRecord) -> list[dict[str, Any]]:
    categories = [entry.category for entry in record.race_ethnicities]
    if not categories:
        return []
    race = [c for c in categories if c != RaceEthnicity.HISPANIC_LATINO]
    words = "; ".join(entry.get_category_display() for entry in record.race_ethnicities)
    coded: list[dict[str, Any]] = []
    for category in race:
        if category in OMB_RACE:
            coding = {"system": OMB_SYSTEM, "code": OMB_RACE[category]}
        elif category == RaceEthnicity.DECLINED:
            coding = {"system": NULL_FLAVOR, "code": "ASKU"}
        elif category == RaceEthnicity.UNKNOWN:
            coding = {"system": NULL_FLAVOR, "code": "UNK"}
        else:
            continue  # Middle Eastern or North African: no OMB code yet; the words say it.
        coded.append({"url": "ombCategory", "valueCoding": coding})
    patient = record.patient
    extensions = [
        {
            "url": f"{US_CORE}/us-core-race",
            "extension": [*coded, {"url": "text", "valueString": words}],
        },  # fmt: skip
    ]
    if RaceEthnicity.HISPANIC_LATINO in categories:
        extensions.append(
            {
                "url": f"{US_CORE}/us-core-ethnicity",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": OMB_SYSTEM, "code": "2135-2"},
                    },  # fmt: skip
                    {"url": "text", "valueString": "Hispanic or Latino"},
                ],
            }
        )
    if patient.race_ethnicity_source:
        extensions.append(
            {
                "url": f"{EQUINAV}/StructureDefinition/race-ethnicity-source",
                "valueString": patient.get_race_ethnicity_source_display(),
            }
        )
    return extensions


def _episode(case: NavigationCase, patient_ref: dict) -> Resource:
    if case.status in EPISODE_STATUS:
        status = EPISODE_STATUS[case.status]
    else:
        status = "finished" if case.status in CLOSED_STATUSES else "active"
    return _clean(
        {
            "resourceType": "EpisodeOfCare",
            "id": f"case-{case.pk}",
            "status": status,
            "type": [_text(f"{case.program.name} navigation: {case.get_status_display()}")],
            "patient": patient_ref,
            "period": _clean({"start": _when(case.opened_at), "end": _when(case.closed_at)}),
            "careManager": _staff(case.navigator.user if case.navigator else None),
        }
    )


def _case_resources(record: PatientRecord, case: NavigationCase, patient_ref: dict) -> list:
    episode = _ref("EpisodeOfCare", str(case.pk))
    resources: list[tuple[str, str, Resource]] = [
        ("EpisodeOfCare", str(case.pk), _episode(case, patient_ref))
    ]
    for event in record.of_case(case, "events"):
        if event.kind != "note":
            continue
        text = event.data.get("text") or event.summary
        resources.append(("DocumentReference", f"note-{event.pk}", _clean({
            "resourceType": "DocumentReference",
            "id": f"note-{event.pk}",
            "status": "current",
            "type": _text("Navigation note"),
            "subject": patient_ref,
            "date": _when(event.at),
            "author": [a for a in [_staff(event.actor)] if a],
            "content": [{"attachment": {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(text.encode()).decode(),
                "title": "Note"}}],
            "context": {"related": [episode]},
        })))  # fmt: skip
    for attempt in record.of_case(case, "attempts"):
        inbound = attempt.direction == Direction.INBOUND
        staff = _staff(attempt.created_by)
        resources.append(("Communication", f"attempt-{attempt.pk}", _clean({
            "resourceType": "Communication",
            "id": f"attempt-{attempt.pk}",
            "status": "completed",
            "category": [_text(f"Contact attempt: {attempt.get_purpose_display()}")],
            "medium": [_text(attempt.get_channel_display())],
            "subject": patient_ref,
            "about": [episode],
            "sent": None if inbound else _when(attempt.attempted_at),
            "received": _when(attempt.attempted_at) if inbound else None,
            "sender": patient_ref if inbound else staff,
            "recipient": [r for r in [staff if inbound else patient_ref] if r],
            "note": _notes(f"Outcome: {attempt.get_outcome_display()}",
                           f"Interpreter: {attempt.get_interpreted_by_display()}",
                           attempt.note),
        })))  # fmt: skip
    for appointment in record.of_case(case, "appointments"):
        what = appointment.get_purpose_display()
        if appointment.modality:
            what += f": {appointment.modality.name}"
        resources.append(("Appointment", str(appointment.pk), _clean({
            "resourceType": "Appointment",
            "id": f"appointment-{appointment.pk}",
            "status": APPOINTMENT_STATUS[appointment.status],
            "description": f"{what} ({appointment.get_status_display()})",
            "start": _when(appointment.scheduled_at),
            "end": _when(appointment.scheduled_at),
            "created": _when(appointment.created_at),
            "comment": appointment.note,
            "supportingInformation": [episode],
            "participant": [{"actor": patient_ref, "status": "accepted"},
                            {"actor": {"display": appointment.site}, "status": "accepted"}],
        })))  # fmt: skip
    for kit in record.of_case(case, "kits"):
        resources.append(("SupplyDelivery", str(kit.pk), _clean({
            "resourceType": "SupplyDelivery",
            "id": f"kit-{kit.pk}",
            "status": "completed",
            "patient": patient_ref,
            "type": _text("Home test kit mailed"),
            "suppliedItem": {"itemCodeableConcept": _text(f"{kit.modality.name} kit")},
            "occurrenceDateTime": _when(kit.mailed_on),
            "supplier": _staff(kit.created_by),
        })))  # fmt: skip
    for follow_up in record.of_case(case, "follow_ups"):
        resources.append(("ServiceRequest", f"follow-up-{follow_up.pk}", _clean({
            "resourceType": "ServiceRequest",
            "id": f"follow-up-{follow_up.pk}",
            "status": FOLLOW_UP_STATUS[follow_up.state],
            "intent": "plan",
            "code": _text(f"{follow_up.next_step} ({follow_up.next_modality.name})"),
            "subject": patient_ref,
            "authoredOn": _when(follow_up.created_at),
            "occurrenceDateTime": _when(follow_up.due_on),
            "reasonReference": [_ref("Observation", str(follow_up.screening_id))],
            "supportingInfo": [episode],
            "note": _notes(
                f"Due by {follow_up.due_on}"
                + (f", at the latest {follow_up.limit_on}" if follow_up.limit_on else ""),
                f"Done on {follow_up.done_on}" if follow_up.done_on else "",
                f"Closed without it: {follow_up.get_close_reason_display()}"
                if follow_up.close_reason else "",
                follow_up.close_note),
        })))  # fmt: skip
    for task in record.of_case(case, "tasks"):
        owner = "Program managers" if task.for_manager else staff_name(
            case.navigator.user if case.navigator else None)  # fmt: skip
        resources.append(("Task", str(task.pk), _clean({
            "resourceType": "Task",
            "id": f"task-{task.pk}",
            "status": "completed" if task.done_at else "requested",
            "intent": "order",
            "code": _text(task.get_kind_display()),
            "description": task.summary,
            "focus": episode,
            "for": patient_ref,
            "authoredOn": _when(task.created_at),
            "lastModified": _when(task.done_at),
            "restriction": {"period": {"end": _when(task.due_on)}},
            "owner": {"display": owner} if owner else None,
            "note": _notes(task.done_note),
        })))  # fmt: skip
    return resources


def _message(message, patient_ref: dict) -> Resource:
    payload = [message.subject, message.body]
    return _clean({
        "resourceType": "Communication",
        "id": f"message-{message.pk}",
        "status": MESSAGE_STATUS[message.state],
        "statusReason": _text(message.state_reason) if message.state_reason else None,
        "category": [_text(message.get_kind_display())],
        "medium": [_text(message.get_channel_display())],
        "subject": patient_ref,
        "about": [_ref("EpisodeOfCare", str(message.case_id))] if message.case_id else [],
        "sent": _when(message.sent_at),
        "received": _when(message.delivered_at),
        "recipient": [patient_ref],
        "payload": [{"contentString": text} for text in payload if text],
        "note": _notes(f"{message.get_state_display()}; due {message.due_at.isoformat()}",
                       f"To {message.recipient}" if message.recipient else ""),
    })  # fmt: skip


def _screening_resources(screening, patient_ref: dict) -> list[tuple[str, str, Resource]]:
    procedure = _ref("Procedure", str(screening.pk))
    return [
        ("Procedure", str(screening.pk), _clean({
            "resourceType": "Procedure",
            "id": f"screening-{screening.pk}",
            "status": "completed",
            "code": _text(screening.modality.name),
            "subject": patient_ref,
            "performedDateTime": _when(screening.performed_on),
            "recorder": _staff(screening.recorded_by),
        })),
        ("Observation", str(screening.pk), _clean({
            "resourceType": "Observation",
            "id": f"result-{screening.pk}",
            "status": "final",
            "partOf": [procedure],
            "code": _text(f"{screening.modality.name} result"),
            "subject": patient_ref,
            "effectiveDateTime": _when(screening.performed_on),
            "valueCodeableConcept": _text(screening.result_words),
            "interpretation": [_text(screening.get_result_display())],
            "note": _notes(f"Result came back on {screening.resulted_on}"
                           if screening.resulted_on else ""),
        })),
    ]  # fmt: skip


def patient_bundle(record: PatientRecord, *, now: dt.datetime) -> Resource:
    """The bundle as a JSON-ready dict (valid against fhir.resources' R4 models)."""
    patient = record.patient
    patient_ref = _ref("Patient", str(patient.pk))
    cases = {case.pk: case for case in record.cases}
    entries: list[tuple[str, str, Resource]] = [("Patient", str(patient.pk),
                                                  _patient(record, patient))]  # fmt: skip
    for merge in record.merges:
        duplicate = _patient(None, merge.duplicate)
        duplicate["link"] = [{"other": patient_ref, "type": "replaced-by"}]
        entries.append(("Patient", str(merge.duplicate_id), duplicate))
    for resource in record.clinical_resources:
        key = f"{resource.source.key}/{resource.resource_type}/{resource.resource_id}"
        entries.append(("ehr", key, resource.resource))
    for referral in record.referrals:
        case = cases.get(referral.case_id)
        entries.append(("ServiceRequest", f"referral-{referral.pk}", _clean({
            "resourceType": "ServiceRequest",
            "id": f"referral-{referral.pk}",
            "status": "active" if case is not None and case.is_open else "completed",
            "intent": "order",
            "code": _text(f"{referral.program.name} navigation"),
            "subject": patient_ref,
            "authoredOn": _when(referral.created_at),
            "requester": {"display": referral.referring_clinician},
            "performer": [{"display": "EquiNav patient navigation"}],
            "reasonCode": [_text(referral.reason)] if referral.reason else [],
            "supportingInfo": [_ref("EpisodeOfCare", str(referral.case_id))],
            "note": _notes(
                f"Referred outside the program's criteria: {referral.eligibility_override_reason}"
                if referral.eligibility_override_reason else "",
                f"Sent by {staff_name(referral.created_by)} of {referral.clinic.name}"),
        })))  # fmt: skip
    for gap in record.care_gaps:
        entries.append(("DetectedIssue", str(gap.pk), _clean({
            "resourceType": "DetectedIssue",
            "id": f"care-gap-{gap.pk}",
            "status": "final",
            "code": _text(f"{gap.program.name}: {gap.get_status_display()}"),
            "patient": patient_ref,
            "identifiedDateTime": _when(gap.as_of),
            "detail": " ".join([gap.summary, *[str(r) for r in gap.reasons]]),
        })))  # fmt: skip
    for screening in record.screenings:
        entries += _screening_resources(screening, patient_ref)
    for case in record.cases:
        entries += _case_resources(record, case, patient_ref)
    for message in record.messages:
        entries.append(("Communication", f"message-{message.pk}", _message(message, patient_ref)))
    for text in record.inbound_texts:
        entries.append(("Communication", f"text-{text.pk}", _clean({
            "resourceType": "Communication",
            "id": f"text-{text.pk}",
            "status": "completed",
            "category": [_text("Text message from the patient")],
            "medium": [_text("SMS")],
            "subject": patient_ref,
            "about": [_ref("EpisodeOfCare", str(text.case_id))] if text.case_id else [],
            "received": _when(text.received_at),
            "sender": patient_ref,
            "payload": [{"contentString": text.body}] if text.body else [],
        })))  # fmt: skip
    document = record_document(record, prepared_on=now.date())
    entries.append(("DocumentReference", "record", {
        "resourceType": "DocumentReference",
        "id": f"patient-{patient.pk}-record",
        "status": "current",
        "type": _text("Everything EquiNav holds on the patient, as JSON"),
        "subject": patient_ref,
        "date": now.isoformat(),
        "description": "Every field of every row, including what has no FHIR resource: "
                       "barriers, the case timeline, interpreter requests, reminders, "
                       "consent and opt-outs, data-quality warnings, measure populations.",
        "content": [{"attachment": {
            "contentType": "application/json",
            "data": base64.b64encode(json.dumps(document, indent=1).encode()).decode(),
            "title": f"patient-{patient.pk}-record.json"}}],
    }))  # fmt: skip
    return {
        "resourceType": "Bundle",
        "id": f"patient-{patient.pk}-export-{now.date().isoformat()}",
        "meta": {"lastUpdated": now.isoformat()},
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [
            {"fullUrl": full_url(kind, key), "resource": resource}
            for kind, key, resource in entries
        ],
    }
