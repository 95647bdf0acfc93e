"""What the right-of-access export reads: every table about a patient, in a fixed number
of queries, and no table forgotten."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from navigator.models import NavigationCase
from navigator.right_of_access.fhir_bundle import patient_bundle
from navigator.right_of_access.pdf import patient_pdf
from navigator.right_of_access.records import EXCLUDED, EXPORTED, patient_record_for
from outreach.models import ContactAttempt, PatientMessage
from patients.models import Patient, PatientMerge
from tests import factories
from tests.support.patient_record import seed_full_record


def label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def tables_about_a_patient() -> set[str]:
    """Every model that points at a patient or a case, directly or through a row that does
    (a forward foreign key, one-to-one or many-to-many)."""
    bound = {Patient, NavigationCase}
    changed = True
    while changed:
        changed = False
        for model in apps.get_models():
            if model in bound:
                continue
            targets = {
                f.related_model
                for f in model._meta.get_fields()
                if f.is_relation and f.concrete and f.related_model is not None
            }
            if targets & bound:
                bound.add(model)
                changed = True
    return {label(model) for model in bound}


def test_every_table_about_a_patient_is_exported_or_excluded_with_a_reason():
    # Given every model that holds something about a patient or a case
    found = tables_about_a_patient()

    # Then each is exported or excluded, with a reason
    forgotten = found - set(EXPORTED) - set(EXCLUDED)
    assert not forgotten, (
        f"{sorted(forgotten)}: add them to navigator/right_of_access/records.py, to EXPORTED "
        "(and read them in patient_record_for) or to EXCLUDED with the reason"
    )
    assert all(reason.strip() for reason in EXCLUDED.values())
    # And nothing is listed that no longer exists, or listed twice (an SMS opt-out
    # names a phone number, not a patient: the export finds it by the patient's numbers)
    assert set(EXPORTED) | set(EXCLUDED) <= found | {"outreach.SmsOptOut"}
    assert not set(EXPORTED) & set(EXCLUDED)


@pytest.mark.django_db
def test_the_selector_refuses_a_merged_record_and_a_patient_out_of_scope(navigator):
    # Given a patient merged into another, and a patient on nobody's caseload
    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    merged = PatientMerge.objects.get(survivor=rows["patients.Patient"]).duplicate
    other = factories.PatientFactory()

    # Then neither is read, even by a manager for the merged one
    with pytest.raises(Patient.DoesNotExist):
        patient_record_for(user=factories.ManagerFactory(), patient_id=merged.pk)
    with pytest.raises(Patient.DoesNotExist):
        patient_record_for(user=navigator.user, patient_id=other.pk)


@pytest.mark.django_db
def test_the_export_takes_the_same_queries_for_one_case_or_many(django_assert_num_queries):
    # Given a patient with a row of each kind, and two more cases full of work
    rows = seed_full_record(marker="Alpha", phone="+16175550101")
    patient = rows["patients.Patient"]
    for program in ("breast", "cervical"):
        case = factories.CaseFactory(patient=patient, program=factories.program(program))
        for _ in range(3):
            factories.ContactAttemptFactory(case=case)
            factories.AppointmentFactory(case=case)
            factories.CaseBarrierFactory(case=case)
    assert ContactAttempt.objects.filter(case__patient=patient).count() == 7
    assert PatientMessage.objects.filter(patient=patient).exists()
    manager = factories.ManagerFactory()

    # When the record is read, and the bundle and the PDF are made from it
    # Then it takes one query per table, whatever the number of cases and rows:
    with django_assert_num_queries(28):
        # 1 the patient (with their clinic), within the manager's scope
        # 2 phones; 3 race/ethnicity; 4 EHR feed links (with the feed)
        # 5 records merged into this one (with the merged record, its clinic, who merged)
        # 6 SMS opt-outs of the patient's numbers
        # 7 referrals (clinic, program, who sent it, who overrode eligibility)
        # 8 care gaps (program, last test); 9 EHR resources (feed)
        # 10 screenings (test, program, result category, who recorded it)
        # 11 measure populations (program); 12 data-quality warnings (feed)
        # 13 cases (program, navigator and their user)
        # 14 timeline events (actor); 15 contact attempts (who, phone)
        # 16 barriers (type, group, who); 17 appointments (test, who)
        # 18 kits (test, who); 19 result follow-ups (next test, who proposed, who closed)
        # 20 follow-up reminders (navigator's user); 21 tasks (who did it)
        # 22 messages; 23 texts received; 24 interpreter requests (who asked)
        # 25 coaching sessions (coach); 26 goals (the sessions setting and reviewing them)
        # 27 group enrolments (series, facilitator); 28 attendance (session, series,
        # the session made up)
        record = patient_record_for(user=manager, patient_id=patient.pk)
        patient_bundle(record, now=timezone.now())
        patient_pdf(record, prepared_on=timezone.localdate())
    assert len(record.cases) == 3
