"""The sweeper of import jobs whose task was lost (navigator/intake/import_sweep.py): on
the embedded broker a lost task is never redelivered, so beat re-enqueues it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from config import celery_queues
from navigator.intake import import_sweep
from navigator.intake.referral_import import IMPORT_TASK, STALE_AFTER
from patients.fhir import bulk
from patients.fhir.bulk import CARE_GAPS_TASK, RUN_TASK, fhir_bulk_import_create
from patients.models import FhirBulkChunk, FhirBulkImport, FhirSource, Referral, ReferralUpload
from patients.tasks import import_referral_upload, resume_stuck_imports
from tests.factories import ClinicStaffFactory, NavigatorFactory
from tests.navigator.test_referral_import import start
from tests.patients.test_fhir_bulk_import import person, write_export
from tests.patients.test_referral_upload import good_row

# The clock stands still at NOW: "queued 5 seconds ago" must not age while the suite runs.
NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


@pytest.fixture
def staff(clinic):
    NavigatorFactory()
    return ClinicStaffFactory(clinic=clinic)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, tuple]]:
    """The tasks the sweep hands to Celery (name, args), instead of sending them."""
    calls: list[tuple[str, tuple]] = []

    def record(name, *args):
        calls.append((name, args))

    monkeypatch.setattr(import_sweep, "enqueue_on_commit", record)
    monkeypatch.setattr(bulk, "enqueue_on_commit", record)
    return calls


def upload_in(staff, status: str, *, uploaded: dt.timedelta, heartbeat: dt.timedelta | None):
    upload = start(staff, [good_row(1)])
    ReferralUpload.objects.filter(pk=upload.pk).update(
        status=status,
        uploaded_at=NOW - uploaded,
        heartbeat_at=None if heartbeat is None else NOW - heartbeat,
    )
    return upload.pk


def test_the_sweep_re_enqueues_uploads_queued_past_the_grace_or_running_with_a_stale_heartbeat(
    staff, sent
):
    # Given uploads in every state a lost or a live task leaves
    lost_queued = upload_in(staff, "queued", uploaded=dt.timedelta(minutes=10), heartbeat=None)
    young_queued = upload_in(staff, "queued", uploaded=dt.timedelta(minutes=1), heartbeat=None)
    killed = upload_in(staff, "running", uploaded=dt.timedelta(hours=1), heartbeat=STALE_AFTER * 2)
    alive = upload_in(
        staff, "running", uploaded=dt.timedelta(hours=1), heartbeat=dt.timedelta(seconds=20)
    )
    upload_in(staff, "done", uploaded=dt.timedelta(hours=1), heartbeat=dt.timedelta(hours=1))

    # When the sweep runs
    result = import_sweep.imports_resume_stuck(now=NOW)

    # Then only the lost queued one and the killed worker's one get their task again
    assert result.referral_uploads == [lost_queued, killed]
    assert sent == [(IMPORT_TASK, (lost_queued,)), (IMPORT_TASK, (killed,))]
    assert young_queued not in result.referral_uploads and alive not in result.referral_uploads


def test_a_killed_workers_upload_re_enqueued_by_the_sweep_is_imported_to_the_end(staff, sent):
    # Given an upload left running by a worker killed before its first batch committed
    upload = start(staff, [good_row(1), good_row(2)])
    ReferralUpload.objects.filter(pk=upload.pk).update(
        status="running", heartbeat_at=timezone.now() - STALE_AFTER * 2
    )

    # When the sweep runs and its re-enqueued task runs
    import_sweep.imports_resume_stuck()
    ((name, args),) = sent
    assert name == IMPORT_TASK
    import_referral_upload.apply(args=args)

    # Then the job is done with every row imported
    upload.refresh_from_db()
    assert (upload.status, upload.created_count) == ("done", 2)
    assert Referral.objects.count() == 2


@pytest.fixture
def feed(clinic):
    return FhirSource.objects.create(key="ehr", name="Hospital EHR", clinic=clinic)


def bulk_job(feed, tmp_path, name: str, **fields) -> int:
    folder = write_export(tmp_path / name, {"Patient": [person(1)]})
    job = fhir_bulk_import_create(source=feed, location=folder, actor=None, start=False)
    FhirBulkImport.objects.filter(pk=job.pk).update(**fields)
    return job.pk


def test_the_sweep_re_enqueues_fhir_bulk_jobs_with_no_sign_of_work_for_too_long(
    feed, tmp_path, sent
):
    long_ago, lately = NOW - dt.timedelta(minutes=30), NOW - dt.timedelta(minutes=1)
    # Given a job queued long ago, one queued a minute ago, one at its care-gap step long
    # after its import, one running whose batch was done a minute ago, and one done
    lost = bulk_job(feed, tmp_path, "a", created_at=long_ago)
    bulk_job(feed, tmp_path, "b", created_at=lately)
    care_gaps = bulk_job(
        feed, tmp_path, "c", status="care_gaps", created_at=long_ago, imported_at=long_ago
    )
    busy = bulk_job(feed, tmp_path, "d", status="running", created_at=long_ago)
    FhirBulkChunk.objects.filter(job_id=busy).update(done=True, done_at=lately)
    bulk_job(feed, tmp_path, "e", status="done", created_at=long_ago)

    # When the sweep runs
    result = import_sweep.imports_resume_stuck(now=NOW)

    # Then the lost one gets its import workers again, the care-gap one its care-gap workers
    assert result.fhir_bulk_jobs == [lost, care_gaps]
    assert sent == [(RUN_TASK, (lost,))] * bulk.WORKERS + [(CARE_GAPS_TASK, (care_gaps,))] * (
        bulk.WORKERS
    )


def test_the_sweep_finds_nothing_to_do_when_no_job_is_stuck(staff, sent):
    # Given a job queued a moment ago
    upload_in(staff, "queued", uploaded=dt.timedelta(seconds=5), heartbeat=None)

    # When the beat task runs, Then it re-enqueues nothing
    result = resume_stuck_imports.apply()
    assert result.successful()
    assert result.result == {"referral_uploads": [], "fhir_bulk_jobs": []}
    assert sent == []


def test_beat_runs_the_sweep_every_few_minutes_on_the_housekeeping_queue():
    (entry,) = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "patients.tasks.resume_stuck_imports"
    ]
    # Every 5 minutes: a lost job waits at most its grace (or STALE_AFTER) and 5 minutes.
    assert entry["schedule"].minute == set(range(0, 60, 5))
    assert celery_queues.queue_for("patients.tasks.resume_stuck_imports") == "celery"
