"""Merging two records of one patient: everything moves onto the record kept, both
records' cases say so, nothing is deleted, and a merge that cannot be right is refused
without changing anything."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from navigator.intake.patient_merge import patient_merge
from navigator.intake.referrals import referral_create
from navigator.models import CaseEvent, CaseEventKind, CaseStatus, NavigationCase
from outreach.models import ContactAttempt, PatientMessage
from patients.duplicates import patient_duplicate_groups
from patients.fhir.importer import fhir_import
from patients.models import (
    CareGap,
    ClinicalResource,
    FhirSource,
    Patient,
    PatientMerge,
    PatientPhone,
    PatientRaceEthnicity,
    PatientSourceLink,
    Referral,
    ScreeningEvent,
)
from patients.selectors import patients_visible_to
from patients.services.patients import PatientInput
from tests import factories

pytestmark = pytest.mark.django_db

BORN = dt.date(1966, 3, 14)


def carlos_twice(clinic) -> tuple[Patient, Patient]:
    """Two records of one man at one clinic: one MRN, typed two ways."""
    return (
        factories.PatientFactory(
            clinic=clinic, mrn="CHE555001", given_name="Carlos", family_name="Herrera",
            birth_date=BORN,
        ),
        factories.PatientFactory(
            clinic=clinic, mrn=" che555001", given_name="Carlos", family_name="Herrera",
            birth_date=BORN,
        ),
    )  # fmt: skip


@pytest.fixture
def twins(clinic):
    """Carlos twice at North: the record kept has a colorectal case; the duplicate a
    lung case with an attempt, a screening, a referral, EHR data and a message, a
    phone of its own and the kept record's, and one more race category."""
    kept = factories.PatientFactory(
        clinic=clinic, mrn="CHE555001", given_name="Carlos", family_name="Herrera",
        birth_date=BORN, phone="+16175550101", race_ethnicity=["hispanic"],
    )  # fmt: skip
    duplicate = factories.PatientFactory(
        clinic=clinic, mrn=" che555001", given_name="Carlos", family_name="Herrera",
        birth_date=BORN, phone="+16175550199", race_ethnicity=["hispanic", "white"],
    )  # fmt: skip
    PatientPhone.objects.create(patient=duplicate, number="+16175550101", kind="home", rank=1)
    kept_case = factories.CaseFactory(patient=kept, program=factories.program("colorectal"))
    moving_case = factories.CaseFactory(patient=duplicate, program=factories.program("lung"))
    factories.ContactAttemptFactory(case=moving_case)
    factories.ScreeningEventFactory(case=moving_case)
    Referral.objects.create(
        clinic=clinic, patient=duplicate, program=moving_case.program, case=moving_case,
        referring_clinician="Dr. Patel", reason="Overdue",
        created_by=factories.ClinicStaffFactory(clinic=clinic),
    )  # fmt: skip
    source = FhirSource.objects.create(key="ehr", name="EHR", clinic=clinic)
    ClinicalResource.objects.create(
        source=source, patient=duplicate, resource_type="Observation", resource_id="o1",
        resource={"resourceType": "Observation", "id": "o1"}, content_hash="x",
    )  # fmt: skip
    PatientMessage.objects.create(
        patient=duplicate, case=moving_case, kind="appointment_reminder", channel="sms",
        language="en", rule_key="r", subject_key="s", slot=dt.date(2026, 12, 1),
        due_at="2026-12-01T14:00:00Z",
    )  # fmt: skip
    return kept, duplicate, kept_case, moving_case


def test_merging_moves_everything_of_the_duplicate_onto_the_record_kept(twins, manager):
    kept, duplicate, kept_case, moving_case = twins

    # When a manager merges the duplicate into the record kept
    merge = patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)

    # Then the duplicate's case (with its attempt), screening, referral, EHR data and
    # message are the kept record's; its new phone and race category joined them
    moving_case.refresh_from_db()
    assert moving_case.patient == kept
    assert ContactAttempt.objects.get().case.patient == kept
    assert ScreeningEvent.objects.get().patient == kept
    assert Referral.objects.get().patient == kept
    assert ClinicalResource.objects.get().patient == kept
    assert PatientMessage.objects.get().patient == kept
    assert sorted(str(p.number) for p in kept.phones.all()) == ["+16175550101", "+16175550199"]
    assert set(kept.race_ethnicities.values_list("category", flat=True)) == {"hispanic", "white"}
    assert merge.moved["cases"] == 1 and merge.moved["phones"] == 1

    # And both records' cases say so on their timelines, by whom
    for case in (kept_case, moving_case):
        event = CaseEvent.objects.get(case=case, kind=CaseEventKind.PATIENT_MERGED)
        assert event.summary == f"Patient records merged: #{duplicate.pk} into #{kept.pk}"
        assert event.actor == manager

    # And nothing is deleted: the duplicate stays, merged, out of every list
    assert Patient.objects.filter(pk=duplicate.pk).exists()
    assert PatientMerge.objects.get(duplicate=duplicate).survivor == kept
    assert PatientPhone.objects.filter(patient=duplicate, number="+16175550101").exists()
    assert list(patients_visible_to(manager)) == [kept]
    assert patient_duplicate_groups() == []
    # And the kept record's screening status reads both records' data now
    assert CareGap.objects.filter(patient=kept).exists()


def test_two_open_cases_for_one_program_are_refused_until_one_is_closed(clinic, manager):
    # Given two records, each with an open colorectal case
    kept, duplicate = carlos_twice(clinic)
    first = factories.CaseFactory(patient=kept)
    second = factories.CaseFactory(patient=duplicate)

    # When they are merged, it is refused, naming both cases, and nothing moves
    with pytest.raises(ValidationError, match=f"#{first.pk}, #{second.pk}"):
        patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)
    assert NavigationCase.objects.get(pk=second.pk).patient == duplicate
    assert not PatientMerge.objects.exists()
    assert not CaseEvent.objects.filter(kind=CaseEventKind.PATIENT_MERGED).exists()

    # And once one is closed, the merge goes through
    NavigationCase.objects.filter(pk=second.pk).update(status=CaseStatus.DECLINED)
    patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)
    assert NavigationCase.objects.get(pk=second.pk).patient == kept


def test_a_record_merged_once_cannot_be_merged_again_nor_kept_for_another(clinic, manager):
    kept, duplicate = carlos_twice(clinic)
    third = factories.PatientFactory(
        clinic=clinic, mrn="CHE555002", given_name="Carlos", family_name="Herrera",
        birth_date=BORN,
    )  # fmt: skip
    patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=manager)

    with pytest.raises(ValidationError, match="already merged"):
        patient_merge(survivor_id=third.pk, duplicate_id=duplicate.pk, actor=manager)
    with pytest.raises(ValidationError, match="already merged"):
        patient_merge(survivor_id=duplicate.pk, duplicate_id=third.pk, actor=manager)
    assert PatientMerge.objects.count() == 1


def test_a_record_cannot_be_merged_into_itself(clinic, manager):
    patient = factories.PatientFactory(clinic=clinic)

    with pytest.raises(ValidationError, match="two different records"):
        patient_merge(survivor_id=patient.pk, duplicate_id=patient.pk, actor=manager)


def test_only_a_manager_merges_records(clinic, navigator):
    kept, duplicate = carlos_twice(clinic)

    with pytest.raises(PermissionDenied):
        patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=navigator.user)
    assert not PatientMerge.objects.exists()
    assert PatientRaceEthnicity.objects.filter(patient=kept).count() == 0


def test_a_referral_or_a_feed_with_the_merged_records_mrn_lands_on_the_record_kept(clinic, manager):
    # Given Rosa's two records (two MRNs), the second merged into the first
    kept = factories.PatientFactory(
        clinic=clinic, mrn="N-77", given_name="Rosa", family_name="Lima", birth_date=BORN
    )
    merged = factories.PatientFactory(
        clinic=clinic, mrn="N-78", given_name="Rosa", family_name="Lima", birth_date=BORN
    )
    patient_merge(survivor_id=kept.pk, duplicate_id=merged.pk, actor=manager)
    factories.NavigatorFactory()

    # When the clinic refers her again under the merged record's MRN
    referral = referral_create(
        clinic=clinic,
        program=factories.program("colorectal"),
        patient_data=PatientInput(
            mrn="n-78", given_name="Rosa", family_name="Lima", birth_date=BORN, sex="female"
        ),
        referring_clinician="Dr. Lee",
        reason="Overdue",
        actor=factories.ClinicStaffFactory(clinic=clinic),
    )
    # And an EHR feed sends her under that MRN too
    feed = FhirSource.objects.create(key="ehr2", name="EHR", clinic=clinic)
    patient = {
        "resourceType": "Patient", "id": "p9",
        "identifier": [{"system": "urn:mrn", "value": "N-78", "type": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
        "name": [{"family": "Lima", "given": ["Rosa"]}], "gender": "female",
        "birthDate": BORN.isoformat(),
    }  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": patient, "request": {"method": "PUT", "url": "Patient/p9"}}]}  # fmt: skip
    fhir_import(source=feed, payload=json.dumps(bundle).encode(), origin="test", actor=None)

    # Then both are the record kept: nothing new lands on the merged one
    assert referral.patient == kept
    assert PatientSourceLink.objects.get(resource_id="p9").patient == kept
    assert Patient.objects.count() == 2
