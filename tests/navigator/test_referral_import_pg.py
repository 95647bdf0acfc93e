"""The referral import on PostgreSQL: a single referral posted while an import runs does not
wait for the import to finish (each batch is its own short transaction; the navigators
are locked per batch, not per file)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from navigator.intake import referral_import, referral_write
from navigator.intake import referrals as intake_referrals
from navigator.intake.referral_import import referral_import_run, referral_import_start
from navigator.intake.referrals import referral_create
from patients.models import Referral, ReferralUpload, ScreeningProgram
from patients.uploads.parse import referral_upload_parse
from tests.factories import ClinicStaffFactory, NavigatorFactory, PatientFactory
from tests.patients.test_referral_upload import csv_bytes, good_row

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_single_referral_during_an_import_completes_before_the_import_does(
    require_postgres, monkeypatch
):
    # Given an import of three batches that pauses after its first batch commits
    NavigatorFactory(languages=["pt", "en"])
    staff = ClinicStaffFactory()
    monkeypatch.setattr(referral_import, "BATCH_SIZE", 2)
    upload = referral_import_start(
        clinic=staff.clinic,
        actor=staff,
        file_bytes=csv_bytes([good_row(n) for n in range(6)]),
        filename="r.csv",
        mode="good_rows",
        enqueue=False,
    )
    first_batch_done, single_done = threading.Event(), threading.Event()
    real_batch = referral_import.referral_import_batch

    def pausing_batch(**kwargs):
        real_batch(**kwargs)
        if kwargs["index"] == 0:
            first_batch_done.set()
            # The import goes on only after the single referral finished (or gave up).
            single_done.wait(timeout=30)

    monkeypatch.setattr(referral_import, "referral_import_batch", pausing_batch)

    def run_import():
        try:
            referral_import_run(upload_id=upload.pk)
        finally:
            connection.close()

    importer = threading.Thread(target=run_import)
    importer.start()
    assert first_batch_done.wait(timeout=30)

    # When a single referral is posted, on another connection, while the job is running
    single_row = referral_upload_parse(file_bytes=csv_bytes([good_row(99)])).rows[0]
    outcome: list[object] = []

    def refer():
        try:
            outcome.append(
                referral_create(
                    clinic=staff.clinic,
                    program=ScreeningProgram.objects.get(code="colorectal"),
                    patient_data=single_row.patient,
                    referring_clinician="Dr. Single",
                    actor=staff,
                )
            )
        finally:
            single_done.set()
            connection.close()

    single = threading.Thread(target=refer)
    single.start()
    single.join(timeout=20)

    # Then it completed while the import was still running (it did not wait for the job)
    assert not single.is_alive()
    assert outcome and isinstance(outcome[0], Referral)
    assert ReferralUpload.objects.get(pk=upload.pk).status == "running"
    importer.join(timeout=60)
    upload.refresh_from_db()
    assert (upload.status, upload.created_count) == ("done", 6)
    assert Referral.objects.count() == 7


def lock_waiters() -> int:
    """Connections of this database waiting for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_batch_and_a_single_referral_of_one_of_its_patients_do_not_deadlock(
    require_postgres, monkeypatch
):
    # Given a batch with a new patient (its case locks the navigators) and a known one
    NavigatorFactory(languages=["pt", "en"])
    staff = ClinicStaffFactory()
    known = good_row(1)
    PatientFactory(
        clinic=staff.clinic,
        mrn="MRN0001",
        given_name=known["given_name"],
        family_name=known["family_name"],
        birth_date=dt.date.fromisoformat(known["birth_date"]),
    )
    upload = referral_import_start(
        clinic=staff.clinic,
        actor=staff,
        file_bytes=csv_bytes([good_row(5), known]),
        filename="r.csv",
        mode="good_rows",
        enqueue=False,
    )
    # ... which, holding the navigators, waits until a single referral of the known
    # patient has that patient locked, or is waiting for it
    navigators_locked, single_has_patient = threading.Event(), threading.Event()
    real_open = referral_write.cases_open_for_new_patients
    real_find = intake_referrals.patient_find_or_create

    def opening_then_waiting(**kwargs):
        cases = real_open(**kwargs)
        navigators_locked.set()
        for _ in range(400):  # at most 20 s
            if single_has_patient.is_set() or lock_waiters():
                break
            time.sleep(0.05)
        return cases

    def find(**kwargs):
        found = real_find(**kwargs)
        if threading.current_thread().name == "single":
            single_has_patient.set()
        return found

    monkeypatch.setattr(referral_write, "cases_open_for_new_patients", opening_then_waiting)
    monkeypatch.setattr(intake_referrals, "patient_find_or_create", find)
    outcome: dict[str, object] = {}

    def run_import():
        try:
            outcome["import"] = referral_import_run(upload_id=upload.pk)
        except Exception as error:
            outcome["import"] = repr(error)[:200]
        finally:
            connection.close()

    single_row = referral_upload_parse(
        file_bytes=csv_bytes([good_row(1, program="cervical")])
    ).rows[0]

    def refer():
        navigators_locked.wait(timeout=20)
        try:
            outcome["single"] = referral_create(
                clinic=staff.clinic,
                program=ScreeningProgram.objects.get(code="cervical"),
                patient_data=single_row.patient,
                referring_clinician="Dr. Single",
                actor=staff,
            )
        except Exception as error:
            outcome["single"] = repr(error)[:200]
        finally:
            connection.close()

    # When the single referral is posted while the batch holds the navigators
    importer = threading.Thread(target=run_import, name="import")
    single = threading.Thread(target=refer, name="single")
    importer.start()
    single.start()
    importer.join(timeout=60)
    single.join(timeout=60)

    # Then both complete: the batch locked the known patient before the navigators
    assert isinstance(outcome.get("single"), Referral), outcome
    assert ReferralUpload.objects.get(pk=upload.pk).status == "done", outcome
    assert Referral.objects.count() == 3
