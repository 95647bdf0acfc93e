"""The change trigger works per statement (issue 15): a bulk write of N rows is one
trigger call writing N `RowChange` rows, with the same trail a row-level trigger kept;
the care-gap run's bookkeeping (its stamp) writes no tracked row. These run on
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pghistory
import pytest
from django.db import connection, models, transaction
from django.utils import timezone

from navigator.audit.models import RowChange
from navigator.models import NavigationCase
from outreach.models import ContactAttempt
from patients.models import CareGapStamp, Patient
from patients.services.care_gaps import care_gaps_recompute
from tests import factories

pytestmark = pytest.mark.django_db

N = 25


@pytest.fixture
def trigger_calls(require_postgres):
    """Counts the calls of a table's change trigger function in this transaction
    (`track_functions` on for this session; the counts are the transaction's own)."""
    with connection.cursor() as cursor:
        cursor.execute("SET track_functions = 'pl'")

    def calls(model: type[models.Model], operation: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(pg_stat_get_xact_function_calls(t.tgfoid), 0) "
                "FROM pg_trigger t WHERE t.tgrelid = %s::regclass AND t.tgname LIKE %s",
                [model._meta.db_table, f"pgtrigger_change_recorded_{operation}_%"],
            )
            return cursor.fetchone()[0]

    yield calls
    with connection.cursor() as cursor:
        cursor.execute("RESET track_functions")


def _changes(model: type[models.Model], ids) -> list[RowChange]:
    return list(
        RowChange.objects.filter(table_name=model._meta.db_table, row_id__in=list(ids)).order_by(
            "id"
        )
    )


def _columns(model: type[models.Model]) -> list[str]:
    return sorted(f.column for f in model._meta.concrete_fields)


def test_a_bulk_create_of_n_patients_writes_n_changes_in_one_call_with_its_context(
    trigger_calls,
):
    # Given N patients built in memory
    clinic = factories.ClinicFactory()
    built = [factories.PatientFactory.build(clinic=clinic) for _ in range(N)]

    # When they are inserted by one bulk_create in a request's context
    with transaction.atomic(), pghistory.context(user=7, url="/imports/3", request_id="req-9"):
        before = trigger_calls(Patient, "insert")
        created = Patient.objects.bulk_create(built)
        calls = trigger_calls(Patient, "insert") - before

    # Then the trigger ran once, and wrote one INSERT change per patient, in id order,
    # naming every column, its own id after and nothing before, with the context
    assert calls == 1
    ids = [patient.pk for patient in created]
    changes = _changes(Patient, ids)
    assert [change.row_id for change in changes] == sorted(ids)
    for change in changes:
        assert change.operation == "INSERT"
        assert change.patient_id == change.row_id
        assert change.fields == _columns(Patient)
        assert change.ids_before == {}
        assert change.ids_after == {"clinic_id": clinic.pk, "id": change.row_id}
        assert (change.user_id, change.path, change.request_id) == (7, "/imports/3", "req-9")


def test_a_bulk_update_of_n_patients_writes_n_changes_in_one_call(trigger_calls):
    # Given N patients
    patients = factories.PatientFactory.create_batch(N)
    ids = [patient.pk for patient in patients]
    inserted = len(_changes(Patient, ids))

    # When one UPDATE changes the family name of all of them
    with transaction.atomic(), pghistory.context(user=3, url="/bulk"):
        before = trigger_calls(Patient, "update")
        Patient.objects.filter(pk__in=ids).update(family_name="Renamed")
        calls = trigger_calls(Patient, "update") - before

    # Then one trigger call wrote one change per patient naming that column only
    assert calls == 1
    updates = _changes(Patient, ids)[inserted:]
    assert sorted(change.row_id for change in updates) == sorted(ids)
    assert {change.operation for change in updates} == {"UPDATE"}
    assert {tuple(change.fields) for change in updates} == {("family_name",)}
    assert {(change.user_id, change.path, change.request_id) for change in updates} == {
        (3, "/bulk", "")
    }
    assert "Renamed" not in str([(c.fields, c.ids_before, c.ids_after) for c in updates])


def test_a_bulk_update_records_only_the_rows_it_changed(require_postgres):
    # Given two patients named Same and one named Other
    same = factories.PatientFactory.create_batch(2, family_name="Same")
    other = factories.PatientFactory(family_name="Other")
    ids = [patient.pk for patient in [*same, other]]
    count = len(_changes(Patient, ids))

    # When one UPDATE sets every one of them to Same
    Patient.objects.filter(pk__in=ids).update(family_name="Same")

    # Then only the one that changed has a new change
    new = _changes(Patient, ids)[count:]
    assert [(change.row_id, change.fields) for change in new] == [(other.pk, ["family_name"])]


def test_a_raw_multi_row_update_is_caught_with_ids_before_and_after(require_postgres):
    # Given N cases of one navigator, and another navigator
    cases = factories.CaseFactory.create_batch(N, navigator=factories.NavigatorFactory())
    before, other = cases[0].navigator_id, factories.NavigatorFactory()
    ids = [case.pk for case in cases]
    count = len(_changes(NavigationCase, ids))

    # When they are all moved to the other one in plain SQL, with a status
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE navigator_navigationcase SET navigator_id = %s, status = 'contacting' "
            "WHERE id = ANY(%s)",
            [other.pk, ids],
        )

    # Then each case has its change, under its patient, with the navigator before/after
    new = _changes(NavigationCase, ids)[count:]
    assert sorted(change.row_id for change in new) == sorted(ids)
    patients = {case.pk: case.patient_id for case in cases}
    for change in new:
        assert change.operation == "UPDATE"
        assert change.fields == ["navigator_id", "status"]
        assert change.ids_before == {"navigator_id": before}
        assert change.ids_after == {"navigator_id": other.pk}
        assert change.patient_id == patients[change.row_id]
        assert change.user_id is None and change.path == ""


def test_a_bulk_create_of_attempts_files_each_under_its_cases_patient(require_postgres):
    # Given two cases of two patients
    first, second = factories.CaseFactory(), factories.CaseFactory()

    # When attempts on both are created in one bulk_create
    attempts = ContactAttempt.objects.bulk_create(
        [
            factories.ContactAttemptFactory.build(case=case, created_by=case.navigator.user)
            for case in (first, second, first)
        ]
    )

    # Then each change names its case's patient
    changes = _changes(ContactAttempt, [attempt.pk for attempt in attempts])
    assert [change.patient_id for change in changes] == [
        first.patient_id,
        second.patient_id,
        first.patient_id,
    ]


def test_a_care_gap_recompute_records_nothing_in_the_patients_history(trigger_calls):
    # Given N patients whose gaps were never computed
    ids = [p.pk for p in factories.PatientFactory.create_batch(N, birth_date=dt.date(1960, 1, 1))]
    count = len(_changes(Patient, ids))

    # When a care-gap run computes and stamps all of them (bookkeeping, not ePHI)
    with transaction.atomic():
        before = trigger_calls(Patient, "update")
        care_gaps_recompute(patient_ids=ids, as_of=timezone.localdate())
        calls = trigger_calls(Patient, "update") - before

    # Then they are stamped in their own table: no patient row was written, nothing
    # recorded in their history
    assert CareGapStamp.objects.filter(patient_id__in=ids).count() == N
    assert calls == 0
    assert len(_changes(Patient, ids)) == count


def test_the_stamps_table_is_not_tracked_like_the_care_gaps_it_dates(require_postgres):
    # The stamp was a patient column whose lone updates the trail skipped (bookkeeping,
    # not ePHI); its own table is treated as the computed gaps are: no change trigger
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger "
            "WHERE tgname LIKE 'pgtrigger_change_recorded_%%' AND tgrelid = ANY(%s::regclass[])",
            [["patients_caregapstamp", "patients_caregap", "patients_patient"]],
        )
        tracked = {name for (name,) in cursor.fetchall()}
    assert tracked == {"patients_patient"}


def test_an_update_of_only_the_clinical_data_change_time_is_recorded(require_postgres):
    # Given a patient
    patient = factories.PatientFactory()

    # When only the time clinical data last arrived moves (it marks a change of ePHI)
    Patient.objects.filter(pk=patient.pk).update(
        clinical_data_changed_at=timezone.now() - dt.timedelta(hours=1)
    )

    # Then it is recorded, naming it
    assert _changes(Patient, [patient.pk])[-1].fields == ["clinical_data_changed_at"]
