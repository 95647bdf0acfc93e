"""The care-gap stamp under data and recomputes that overlap (review of ef8e326).

The stamp was the recompute's `now`, taken before its facts were read, and a patient
stale while `clinical_data_changed_at` was later. Both races below left gaps computed
without some data while the stamp called them current, so no nightly run picked the
patient up again until a recheck day. The stamp now records what the facts read
(`CareGapStamp.data_changed_at_seen`), and a patient is stale while its value is any
other. Each race is reproduced deterministically (the interleaving forced by wrapping
`selectors.patient_facts`). Also here: the stale test over every combination of NULLs
and order, and migration 0030's carrying over of the old stamps.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
import time_machine
from django.db import connection

from patients import selectors
from patients.models import CareGap, CareGapStamp, Patient
from patients.services import care_gaps
from tests.factories import PatientFactory
from tests.support.fhir import ehr_resource, fit

pytestmark = pytest.mark.django_db

FIRST = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)
NEXT_NIGHT = dt.datetime(2026, 6, 2, 7, 0, tzinfo=dt.UTC)


def recompute(patient: Patient, *, on: dt.datetime) -> None:
    with time_machine.travel(on, tick=False):
        care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=on.date())


def colorectal_status(patient: Patient) -> str:
    return CareGap.objects.get(patient=patient, program__code="colorectal").status


def claimed_current_but_missing_the_fit(patient: Patient, *, on: dt.date) -> bool:
    due = patient.pk in selectors.care_gap_patients_due(as_of=on)
    return colorectal_status(patient) != "up_to_date" and not due


# A write timed before the recompute's `now` but committed after its facts were read
# (clinical_data_changed_at is the writer's start time, patients/fhir/write.py, not its
# commit time).
def test_data_committed_after_the_facts_were_read_leaves_the_patient_due(monkeypatch):
    # Given a patient overdue for colorectal screening, computed the first night
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    recompute(patient, on=FIRST)
    assert colorectal_status(patient) == "overdue"
    real = selectors.patient_facts

    def facts_then_a_late_commit(patient_ids):
        facts = real(patient_ids)
        # An EHR bundle that began (its `now`, written as clinical_data_changed_at)
        # a second before this recompute's `now`, and commits once the facts are read.
        ehr_resource(patient, fit("2026-05-20"))
        Patient.objects.filter(pk=patient.pk).update(
            clinical_data_changed_at=NEXT_NIGHT - dt.timedelta(seconds=1)
        )
        return facts

    monkeypatch.setattr(care_gaps.selectors, "patient_facts", facts_then_a_late_commit)
    # When the next night's recompute runs across that commit
    recompute(patient, on=NEXT_NIGHT)
    monkeypatch.setattr(care_gaps.selectors, "patient_facts", real)

    # Then its gaps (computed without the FIT) are not claimed current: the patient is due
    assert not claimed_current_but_missing_the_fit(patient, on=NEXT_NIGHT.date())


# A slower recompute that read older facts overwrites the gaps of a faster one that saw
# new data: its stamp (older facts) replaces the faster one's.
def test_a_slower_recompute_with_older_facts_does_not_leave_its_gaps_claimed_current(
    monkeypatch,
):
    # Given a patient overdue for colorectal screening, computed the first night
    patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
    recompute(patient, on=FIRST)
    real = selectors.patient_facts

    def facts_then_new_data_and_a_faster_run(patient_ids):
        facts = real(patient_ids)  # the slow run's facts: no FIT
        monkeypatch.setattr(care_gaps.selectors, "patient_facts", real)
        # A FIT arrives, and an on-arrival recompute (refresh_care_gaps_for) runs and
        # commits while the slow one (the nightly batch) is still evaluating.
        with time_machine.travel(NEXT_NIGHT + dt.timedelta(minutes=1), tick=False):
            ehr_resource(patient, fit("2026-05-20"))
        recompute(patient, on=NEXT_NIGHT + dt.timedelta(minutes=2))
        assert colorectal_status(patient) == "up_to_date"
        return facts

    monkeypatch.setattr(care_gaps.selectors, "patient_facts", facts_then_new_data_and_a_faster_run)
    recompute(patient, on=NEXT_NIGHT)
    monkeypatch.setattr(care_gaps.selectors, "patient_facts", real)

    # Then the stored gap is the newer one, or at least the patient is due again
    later = (NEXT_NIGHT + dt.timedelta(minutes=3)).date()
    assert not claimed_current_but_missing_the_fit(patient, on=later)


T1 = FIRST + dt.timedelta(hours=1)
T2 = FIRST + dt.timedelta(hours=2)
UNSET = object()


def test_stale_in_python_and_in_the_query_agree_over_every_null_and_order():
    # Given a patient per combination: no stamp, or a stamp having seen nothing or T1,
    # and a patient's value of nothing, earlier, the same or later
    expected = {}
    for seen in (UNSET, None, T1):
        for changed in (None, FIRST, T1, T2):
            patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
            Patient.objects.filter(pk=patient.pk).update(clinical_data_changed_at=changed)
            if seen is not UNSET:
                CareGapStamp.objects.create(
                    patient=patient, computed_at=FIRST, data_changed_at_seen=seen
                )
            # Stale: no stamp, or any other value than the one seen (IS DISTINCT FROM)
            expected[patient.pk] = seen is UNSET or seen != changed

    # Then the page's test and the query's name exactly those
    ids = list(expected)
    with_stamps = Patient.objects.select_related("care_gap_stamp").filter(pk__in=ids)
    by_page = {p.pk for p in with_stamps if selectors.care_gaps_stale(p)}
    by_query = set(
        Patient.objects.filter(pk__in=ids).filter(selectors.STALE_GAPS).values_list("pk", flat=True)
    )
    assert by_page == by_query == {pk for pk, stale in expected.items() if stale}
    assert len(by_page) == 10  # all 4 unstamped, 3 of 4 for each value seen


class _Executes:
    """The one thing of a schema editor the data migration uses."""

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_migration_carries_current_stamps_over_and_leaves_stale_ones_stale():
    migration = importlib.import_module("patients.migrations.0032_care_gap_stamp_seen")
    # Given stamps as before 0030 (nothing seen), current and stale under the old rule
    cases = {  # (clinical_data_changed_at, computed_at): stale under the old rule
        (None, T1): False,
        (FIRST, T1): False,
        (T1, T1): False,
        (T2, T1): True,
    }
    patients = {}
    for changed, computed in cases:
        patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
        Patient.objects.filter(pk=patient.pk).update(clinical_data_changed_at=changed)
        CareGapStamp.objects.create(patient=patient, computed_at=computed)
        patients[patient.pk] = (changed, computed)

    # When the migration's data step runs
    migration.seen_where_current(None, _Executes())

    # Then the current ones saw the patient's value (current still), the stale one
    # nothing (stale still), and `computed_at` is untouched
    stamps = {s.patient_id: s for s in CareGapStamp.objects.filter(patient_id__in=patients)}
    for pk, (changed, computed) in patients.items():
        stale_before = cases[(changed, computed)]
        assert stamps[pk].data_changed_at_seen == (None if stale_before else changed)
        assert stamps[pk].computed_at == computed
    with_stamps = Patient.objects.select_related("care_gap_stamp").filter(pk__in=patients)
    assert {p.pk: selectors.care_gaps_stale(p) for p in with_stamps} == {
        pk: cases[key] for pk, key in patients.items()
    }
    stale = set(
        Patient.objects.filter(pk__in=patients)
        .filter(selectors.STALE_GAPS)
        .values_list("pk", flat=True)
    )
    assert stale == {pk for pk, key in patients.items() if cases[key]}
