"""The record document: every row the export read, every field of it, as plain JSON.

FHIR has a good home for most of what EquiNav holds (see `fhir_bundle`), but not
for all of it (barriers, the timeline, interpreter requests, coaching, opt-outs, the figures
kept for the equity reports, ...), and a FHIR resource keeps only the fields its
model has. This document holds everything, so the bundle holds everything: it is
attached to the bundle's DocumentReference as application/json.

Each row is written field by field from the model (`row`), so a field added to a
model later is exported without anyone remembering to. A link to a member of staff
gives their name beside the id; a link to anything else gives its id, and the
reference rows the reader needs (programs, tests, barrier types) are named in the
row's own words. The clinical resources' JSON is in the bundle as received, so
here they are listed without it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models

from navigator.models import User
from navigator.right_of_access.records import (
    PatientRecord,
    population_program_name,
    staff_name,
    warning_words,
)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)  # phone numbers and the like


def row(instance: models.Model, *, skip: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """Every concrete field of `instance`; a choice's words and a staff member's name beside it."""
    answer: dict[str, Any] = {"id": instance.pk}
    for model_field in instance._meta.concrete_fields:
        name = model_field.name
        if name in skip or model_field.primary_key:
            continue
        if model_field.is_relation:
            answer[model_field.attname] = getattr(instance, model_field.attname)
            if (
                isinstance(model_field, models.ForeignKey)
                and model_field.related_model is User
                and model_field.is_cached(instance)
            ):
                answer[f"{name}_name"] = staff_name(getattr(instance, name))
            continue
        value = getattr(instance, model_field.attname)
        answer[name] = _plain(value)
        if model_field.choices and value not in ("", None):
            answer[f"{name}_words"] = str(getattr(instance, f"get_{name}_display")())
    answer.update({key: _plain(value) for key, value in extra.items()})
    return answer


def record_document(record: PatientRecord, *, prepared_on: dt.date) -> dict[str, Any]:
    """The whole record as one JSON object, one list per kind of row."""
    patient = record.patient
    return {
        "title": "Everything EquiNav holds on this patient (45 CFR 164.524)",
        "prepared_on": prepared_on.isoformat(),
        "patient": row(patient, clinic_name=patient.clinic.name),
        "race_ethnicity": [row(entry) for entry in record.race_ethnicities],
        "phones": [row(phone) for phone in record.phones],
        "ehr_links": [row(link, source_name=link.source.name) for link in record.source_links],
        "merged_records": [row(merge, duplicate=row(merge.duplicate)) for merge in record.merges],
        # A number may be shared: whose consent a STOP took lists other people's ids.
        "sms_opt_outs": [
            row(
                opt_out,
                skip=("consent_withdrawn_for",),
                took_this_patients_consent=patient.pk in opt_out.consent_withdrawn_for,
            )
            for opt_out in record.sms_opt_outs
        ],
        "referrals": [
            row(referral, program_name=referral.program.name, clinic_name=referral.clinic.name)
            for referral in record.referrals
        ],
        "care_gaps": [
            row(
                gap,
                program_name=gap.program.name,
                last_test_name=gap.last_modality.name if gap.last_modality else "",
            )
            for gap in record.care_gaps
        ],
        "ehr_resources": [
            row(resource, skip=("resource",), source_name=resource.source.name)
            for resource in record.clinical_resources
        ],
        "screenings": [
            row(
                screening,
                test_name=screening.modality.name,
                program_name=screening.modality.program.name,
                result_words=screening.result_words,
            )
            for screening in record.screenings
        ],
        "measure_populations": [
            row(population, program_name=population_program_name(population))
            for population in record.measure_populations
        ],
        "data_quality_warnings": [
            # Without the other record's ids: the words say what happened to this one.
            row(
                warning,
                skip=("message", "patient", "other_patient"),
                source_name=warning.source.name,
                message=warning_words(warning),
            )
            for warning in record.data_quality_warnings
        ],
        "navigation_cases": [_case(record, case) for case in record.cases],
        "messages": [row(message) for message in record.messages],
        "texts_received": [row(text) for text in record.inbound_texts],
    }


def _case(record: PatientRecord, case) -> dict[str, Any]:
    navigator = case.navigator.user if case.navigator else None
    return row(
        case,
        program_name=case.program.name,
        navigator_name=staff_name(navigator),
        timeline=[row(event) for event in record.of_case(case, "events")],
        contact_attempts=[
            row(attempt, phone_number=str(attempt.phone.number) if attempt.phone else "")
            for attempt in record.of_case(case, "attempts")
        ],
        barriers=[
            row(
                barrier,
                barrier_name=barrier.barrier_type.name,
                barrier_group=barrier.barrier_type.category.name,
            )
            for barrier in record.of_case(case, "barriers")
        ],
        appointments=[
            row(appointment, test_name=appointment.modality.name if appointment.modality else "")
            for appointment in record.of_case(case, "appointments")
        ],
        kits_mailed=[row(kit, test_name=kit.modality.name) for kit in record.of_case(case, "kits")],
        result_follow_ups=[
            row(follow_up, next_test_name=follow_up.next_modality.name)
            for follow_up in record.of_case(case, "follow_ups")
        ],
        follow_up_reminders=[
            row(reminder, navigator_name=staff_name(reminder.navigator.user))
            for reminder in record.of_case(case, "reminders")
        ],
        tasks=[row(task) for task in record.of_case(case, "tasks")],
        interpreter_requests=[
            row(request, language_name=request.language_name)
            for request in record.of_case(case, "interpreter_requests")
        ],
        coaching_sessions=[
            row(session, language_name=session.language_name, topic_words=session.topic_labels)
            for session in record.of_case(case, "coaching_sessions")
        ],
        coaching_goals=[row(goal) for goal in record.of_case(case, "coaching_goals")],
        group_classes=[
            row(
                enrolment,
                series_name=enrolment.series.name,
                series_language=enrolment.series.language_name,
                facilitator_name=staff_name(enrolment.series.facilitator),
                attendance=[
                    row(
                        attended,
                        series_name=attended.session.series.name,
                        session_number=attended.session.number,
                        session_starts_at=attended.session.starts_at,
                    )
                    for attended in record.attendance_of(enrolment)
                ],
            )
            for enrolment in record.of_case(case, "group_enrolments")
        ],
    )
