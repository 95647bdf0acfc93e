"""The referral import on PostgreSQL: a single referral posted while an import runs does not
wait for the import to finish (each batch is its own short transaction; the navigators
are locked per batch, not per file)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from navigator.intake import referral_import
from navigator.intake.referral_import import referral_import_run, referral_import_start
from navigator.intake.referrals import referral_create
from patients.models import Referral, ReferralUpload, ScreeningProgram
from patients.uploads.parse import referral_upload_parse
from tests.factories import ClinicStaffFactory, NavigatorFactory
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
