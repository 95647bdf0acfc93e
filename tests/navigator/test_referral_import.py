"""The referral import job: batches, modes, duplicates, restarts, the same records as a single
referral, a constant number of queries per batch, the job's API, page and command."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from navigator.intake import referral_import, referral_write
from navigator.intake.referral_import import (
    referral_import_batch,
    referral_import_run,
    referral_import_start,
)
from navigator.intake.referrals import referral_create
from navigator.models import CaseEvent, NavigationCase
from patients import tasks
from patients.models import (
    Patient,
    PatientMerge,
    Referral,
    ReferralUpload,
    ReferralUploadContent,
)
from patients.services.patients import EXCLUSIVE_RACE_MESSAGE, patient_input_check
from patients.tasks import import_referral_upload
from patients.uploads.parse import UploadRejected, referral_upload_parse
from tests.factories import (
    ClinicFactory,
    ClinicStaffFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
)
from tests.patients.test_referral_upload import csv_bytes, good_row, years_ago
from tests.support.api import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(clinic):
    NavigatorFactory(languages=["pt", "en"])
    NavigatorFactory(languages=["en"])
    return ClinicStaffFactory(clinic=clinic)


def start(staff, rows, mode="good_rows") -> ReferralUpload:
    return referral_import_start(
        clinic=staff.clinic,
        actor=staff,
        file_bytes=csv_bytes(rows),
        filename="r.csv",
        mode=mode,
        enqueue=False,
    )


def imported(staff, rows, mode="good_rows") -> ReferralUpload:
    upload = start(staff, rows, mode)
    referral_import_run(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


# --- The same records as a single referral ------------------------------------------------


def snapshot(referral: Referral) -> dict:
    """Everything a referral wrote, without ids, times and the upload's own marks."""
    patient, case = referral.patient, referral.case
    skip_times = {"id", "created_at", "updated_at", "sms_consent_at", "opened_at"}
    return {
        "patient": {k: v for k, v in model_to_dict(patient).items() if k not in skip_times},
        "phones": list(patient.phones.order_by("rank").values_list("number", "kind", "rank")),
        "race": sorted(patient.race_ethnicities.values_list("category", flat=True)),
        "case": {k: v for k, v in model_to_dict(case).items() if k not in skip_times | {"patient"}},
        "events": [
            (
                e.kind,
                e.actor_id,
                e.summary,
                {k: ("<referral>" if k == "referral" else v) for k, v in e.data.items()},
            )
            for e in CaseEvent.objects.filter(case=case).order_by("at", "pk")
        ],
        "referral": {
            k: v
            for k, v in model_to_dict(referral).items()
            if k
            not in {"id", "patient", "case", "upload", "upload_key", "created_at"}
            | {"eligibility_overridden_at"}
        },
        "overridden_at_set": referral.eligibility_overridden_at is not None,
    }


def single_then_rolled_back(staff, row: dict) -> dict:
    """What referral_create writes for the row's data (then undone, so the bulk import
    meets the same loads)."""
    parsed = referral_upload_parse(file_bytes=csv_bytes([row]))
    [data] = parsed.rows
    with transaction.atomic():
        referral = referral_create(
            clinic=staff.clinic,
            program=data.program,
            patient_data=data.patient,
            referring_clinician=data.referring_clinician,
            reason=data.reason,
            actor=staff,
            eligibility_override_reason=data.eligibility_override_reason,
        )
        taken = snapshot(referral)
        transaction.set_rollback(True)
    return taken


ROWS = {
    "interpreter needed, a bilingual navigator": good_row(1),
    "English, no phone, no race answers": good_row(
        2, preferred_language="en", interpreter_needed="no", phone="", race_ethnicity=""
    ),
    "outside the criteria, overridden": good_row(
        3,
        birth_date=years_ago(30),
        eligibility_override_reason="Family history of early colorectal cancer",
    ),
    "declined to answer, written language, sms consent": good_row(
        4, race_ethnicity="declined", written_language="es", sms_consent="yes"
    ),
}


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_a_bulk_imported_row_writes_the_same_records_as_a_single_referral_of_its_data(staff, row):
    # Given the records a single referral of this row's data writes
    single = single_then_rolled_back(staff, row)

    # When the same row is imported in bulk
    upload = imported(staff, [row])

    # Then the bulk path wrote the same patient, phones, race, case, events and referral
    assert upload.created_count == 1, upload.errors
    assert snapshot(Referral.objects.get()) == single


def test_a_row_for_a_known_patient_goes_through_referral_create_and_joins_the_open_case(
    staff, clinic
):
    # Given a patient already referred to colorectal screening
    imported(staff, [good_row(1)])

    # When a new referral of that patient comes in a later file
    upload = imported(staff, [good_row(1, reason="Positive FIT")])

    # Then it joins the open case, as a single referral would
    assert upload.created_count == 1
    assert (Patient.objects.count(), NavigationCase.objects.count()) == (1, 1)
    joined = CaseEvent.objects.filter(kind="referred").order_by("pk").last()
    assert joined.summary.endswith("; joined the case already open")
    assert joined.data["new_case"] is False


# --- Batches, modes, duplicates -----------------------------------------------------------


def test_rows_are_imported_in_batches_each_recorded_as_it_commits(staff, monkeypatch):
    # Given batches of two rows
    monkeypatch.setattr(referral_import, "BATCH_SIZE", 2)

    # When a file of five good rows and one bad is imported, good rows only
    upload = imported(staff, [good_row(n) for n in range(5)] + [good_row(9, sex="x")])

    # Then three batches ran, every row is counted and the bad one listed by line
    assert (upload.status, upload.batches_done) == ("done", 3)
    assert (upload.row_count, upload.processed_count, upload.created_count) == (6, 6, 5)
    assert [(e["line"], e["column"]) for e in upload.errors] == [(7, "sex")]
    assert upload.started_at and upload.finished_at
    # and the file, which names patients, is not kept once imported
    assert not ReferralUploadContent.objects.exists()


def test_a_repeated_mrn_in_a_later_batch_is_the_patient_of_the_earlier_row(staff, monkeypatch):
    monkeypatch.setattr(referral_import, "BATCH_SIZE", 1)
    rows = [good_row(1), good_row(1, program="cervical", sex="female", reason="Also due")]

    upload = imported(staff, rows)

    assert upload.created_count == 2, upload.errors
    assert Patient.objects.count() == 1
    assert NavigationCase.objects.count() == 2


def test_all_or_nothing_checks_every_batch_before_writing_any(staff, clinic, monkeypatch):
    # Given batches of two rows, and a patient whose MRN the fifth row gives to somebody else
    monkeypatch.setattr(referral_import, "BATCH_SIZE", 2)
    PatientFactory(clinic=clinic, mrn="MRN0004", given_name="Rosa")
    rows = [good_row(n) for n in range(5)]

    # When the file is imported all or nothing
    upload = imported(staff, rows, mode="all_or_nothing")

    # Then the job failed on line 6 and no batch was written
    assert upload.status == "failed"
    assert [(e["line"], e["column"]) for e in upload.errors] == [(6, "mrn")]
    assert (Referral.objects.count(), upload.batches_done, upload.created_count) == (0, 0, 0)


def test_all_or_nothing_refuses_before_any_write_a_merged_mrn_whose_kept_record_differs(
    staff, clinic, monkeypatch
):
    # Given batches of one row, and the second row's MRN merged into somebody else's record
    monkeypatch.setattr(referral_import, "BATCH_SIZE", 1)
    second = good_row(2)
    duplicate = PatientFactory(
        clinic=clinic,
        mrn="MRN0002",
        given_name=second["given_name"],
        family_name=second["family_name"],
        birth_date=dt.date.fromisoformat(second["birth_date"]),
    )
    kept = PatientFactory(clinic=clinic, mrn="MRN9999", given_name="Rosa", family_name="Other")
    PatientMerge.objects.create(survivor=kept, duplicate=duplicate, actor=staff)

    # When the file is imported all or nothing
    upload = imported(staff, [good_row(1), second], mode="all_or_nothing")

    # Then the job fails on the second line and nothing, not even the first batch, is written
    assert upload.status == "failed"
    assert upload.detail.startswith("Nothing was imported")
    assert [(error["line"], error["column"]) for error in upload.errors] == [(3, "mrn")]
    assert not Referral.objects.exists()


def test_all_or_nothing_refuses_at_once_a_known_patients_row_declining_and_answering(staff, clinic):
    # Given a known patient whose row says "declined" and a race
    second = good_row(2, race_ethnicity="declined;white")
    PatientFactory(
        clinic=clinic,
        mrn="MRN0002",
        given_name=second["given_name"],
        family_name=second["family_name"],
        birth_date=dt.date.fromisoformat(second["birth_date"]),
    )

    # When the file is uploaded all or nothing, Then the request refuses it on that row's
    # race column (the job would refuse it by the same rule) and nothing is written
    with pytest.raises(UploadRejected) as rejected:
        start(staff, [good_row(1), second], mode="all_or_nothing")
    assert [(e.line, e.column) for e in rejected.value.errors] == [(3, "race_ethnicity")]
    assert not ReferralUpload.objects.exists() and not Referral.objects.exists()


@pytest.mark.parametrize("answer", ["declined;white", "unknown;asian", "white;declined"])
def test_a_new_patient_declining_and_answering_is_refused_by_the_request_as_by_the_job(
    staff, answer
):
    # Given a file whose second row registers a new patient declining and answering
    rows = [good_row(1), good_row(2, race_ethnicity=answer)]

    # When it is uploaded all or nothing, Then the request refuses it at once
    with pytest.raises(UploadRejected) as rejected:
        start(staff, rows, mode="all_or_nothing")
    assert [(e.line, e.column, e.message) for e in rejected.value.errors] == [
        (3, "race_ethnicity", EXCLUSIVE_RACE_MESSAGE)
    ]

    # When it is uploaded importing the good rows, Then that row is listed as bad at once
    # and the job imports the other
    upload = start(staff, rows)
    assert [(e["line"], e["column"]) for e in upload.errors] == [(3, "race_ethnicity")]
    referral_import_run(upload_id=upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.created_count) == ("done", 1)
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["MRN0001"]

    # And the job's own rule (the single referral's) refuses the same answer alike
    patient = referral_upload_parse(file_bytes=csv_bytes([good_row(3)])).rows[0].patient
    with pytest.raises(ValidationError) as refused:
        patient_input_check(data=replace(patient, race_ethnicity=answer.split(";")))
    assert refused.value.message_dict == {"race_ethnicity": [EXCLUSIVE_RACE_MESSAGE]}


def test_a_huge_cell_is_quoted_cut_short_in_the_jobs_row_errors(staff):
    # Given a row whose email cell is 100,000 characters long
    huge = "x" * 100_000

    # When it is uploaded importing the good rows
    upload = start(staff, [good_row(1), good_row(2, email=huge)])

    # Then its error quotes at most 80 characters of the cell, with an ellipsis
    (error,) = [e for e in upload.errors if "is not an email address" in e["message"]]
    assert (error["line"], error["column"]) == (3, "email")
    assert "x" * 79 + "…" in error["message"] and "x" * 80 not in error["message"]
    assert len(error["message"]) < 200


def test_an_mrn_given_twice_with_different_names_is_refused_on_the_second_line(staff):
    rows = [good_row(1), good_row(1, given_name="Rosa", reason="Other")]

    upload = imported(staff, rows, mode="all_or_nothing")

    assert upload.status == "failed"
    assert [(e["line"], e["column"]) for e in upload.errors] == [(3, "mrn")]
    assert not Patient.objects.exists()


def test_re_uploading_the_same_file_imports_nothing_new_and_counts_duplicates(staff):
    rows = [good_row(n) for n in range(3)]
    imported(staff, rows)

    again = imported(staff, rows, mode="all_or_nothing")

    assert (again.status, again.created_count, again.duplicate_count) == ("done", 0, 3)
    assert Referral.objects.count() == 3


# --- Claims, restarts, the task -----------------------------------------------------------


def test_a_job_that_crashed_mid_way_resumes_at_its_first_batch_not_committed(staff, monkeypatch):
    # Given batches of two rows, and a database that fails while writing the second batch
    monkeypatch.setattr(referral_import, "BATCH_SIZE", 2)
    upload = start(staff, [good_row(n) for n in range(5)])
    real_write = referral_write.referral_rows_write_new
    calls = []

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(referral_write, "referral_rows_write_new", failing_write)

    # When the job runs and crashes
    with pytest.raises(RuntimeError):
        referral_import_run(upload_id=upload.pk)

    # Then the first batch stays, the second left nothing, and the job waits to be run again
    upload.refresh_from_db()
    assert (upload.status, upload.batches_done, Referral.objects.count()) == ("queued", 1, 2)

    # When it runs again
    monkeypatch.setattr(referral_write, "referral_rows_write_new", real_write)
    referral_import_run(upload_id=upload.pk)

    # Then it picks up at the second batch: every row once
    upload.refresh_from_db()
    assert (upload.status, upload.batches_done, upload.created_count) == ("done", 3, 5)
    assert (Referral.objects.count(), upload.duplicate_count) == (5, 0)


def test_a_running_job_is_taken_over_only_once_its_worker_is_silent_too_long(staff):
    upload = start(staff, [good_row(1)])
    ReferralUpload.objects.filter(pk=upload.pk).update(
        status="running", heartbeat_at=timezone.now()
    )

    assert referral_import_run(upload_id=upload.pk) is None
    assert not Referral.objects.exists()

    ReferralUpload.objects.filter(pk=upload.pk).update(
        heartbeat_at=timezone.now() - referral_import.STALE_AFTER * 2
    )
    assert referral_import_run(upload_id=upload.pk).status == "done"
    assert Referral.objects.count() == 1


def test_the_task_run_twice_imports_once(staff):
    upload = start(staff, [good_row(1), good_row(2)])

    first = import_referral_upload(upload.pk)
    second = import_referral_upload(upload.pk)

    assert first == {"upload": upload.pk, "status": "done", "created": 2}
    assert second is None
    assert Referral.objects.count() == 2


class Retried(Exception):
    """What the task's retry raises here: the broker would run it again later."""


@pytest.fixture
def retries(monkeypatch):
    """The task's retries, recorded instead of scheduled."""
    calls = []

    def retry(**kwargs):
        calls.append(kwargs)
        return Retried()

    monkeypatch.setattr(import_referral_upload, "retry", retry)
    return calls


def test_a_job_failing_on_an_unexpected_error_fails_says_what_was_imported_and_drops_its_file(
    staff, monkeypatch, retries
):
    # Given batches of two rows, and a bug that breaks the second batch's write
    monkeypatch.setattr(referral_import, "BATCH_SIZE", 2)
    upload = start(staff, [good_row(n) for n in range(4)])
    real_write = referral_write.referral_rows_write_new
    calls = []

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("a bug")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(referral_write, "referral_rows_write_new", failing_write)

    # When the task runs
    with pytest.raises(ValueError):
        import_referral_upload(upload.pk)

    # Then it is not retried; the job failed, saying the first batch was imported, and its
    # file is gone
    upload.refresh_from_db()
    assert retries == []
    assert (upload.status, upload.created_count, Referral.objects.count()) == ("failed", 2, 2)
    assert upload.detail.startswith("The import stopped on an unexpected error. 2 rows ")
    assert "Ana" not in upload.detail and "MRN" not in upload.detail
    assert not ReferralUploadContent.objects.exists()


def test_a_database_error_is_retried_and_after_the_last_retry_the_job_fails_without_its_file(
    staff, monkeypatch, retries
):
    # Given a database that fails every write
    upload = start(staff, [good_row(1)])

    def failing_write(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(referral_write, "referral_rows_write_new", failing_write)

    # When the task runs for the first time
    with pytest.raises(Retried):
        import_referral_upload(upload.pk)

    # Then it is retried, the job queued with its file
    upload.refresh_from_db()
    assert len(retries) == 1
    assert (upload.status, ReferralUploadContent.objects.count()) == ("queued", 1)

    # When its last retry fails too
    import_referral_upload.push_request(retries=tasks.IMPORT_DB_RETRIES)
    try:
        with pytest.raises(OperationalError):
            import_referral_upload(upload.pk)
    finally:
        import_referral_upload.pop_request()

    # Then the job failed and its file is gone
    upload.refresh_from_db()
    assert len(retries) == 1
    assert upload.status == "failed"
    assert upload.detail.startswith("The import stopped on an unexpected error. 0 rows ")
    assert not ReferralUploadContent.objects.exists()


def test_a_job_whose_worker_was_killed_is_taken_over_by_its_redelivered_task(
    staff, retries, time_machine
):
    # Given a job claimed by a worker that was then killed (its task redelivered at once)
    time_machine.move_to("2026-03-02 10:00Z", tick=False)
    upload = start(staff, [good_row(1)])
    assert referral_import._claim(upload.pk)

    # When the redelivered task runs a few seconds later
    time_machine.move_to("2026-03-02 10:00:05Z", tick=False)
    with pytest.raises(Retried):
        import_referral_upload(upload.pk)

    # Then it comes back just after the job would go stale, nothing imported yet
    assert retries == [
        {
            "args": (upload.pk,),
            "kwargs": {"waits": 1},
            "countdown": referral_import.STALE_AFTER.total_seconds() + 15,
        }
    ]
    assert not Referral.objects.exists()

    # When it comes back then
    time_machine.move_to("2026-03-02 10:04:20Z", tick=False)
    result = import_referral_upload(upload.pk, waits=1)

    # Then it takes the job over and imports it; the file is gone
    assert result == {"upload": upload.pk, "status": "done", "created": 1}
    assert not ReferralUploadContent.objects.exists()


def test_a_task_finding_its_job_held_comes_back_a_bounded_number_of_times(staff, retries):
    # Given a job another run holds
    upload = start(staff, [good_row(1)])
    assert referral_import._claim(upload.pk)

    # When the task has come back the most times already
    result = import_referral_upload(upload.pk, waits=tasks.IMPORT_TAKEOVER_WAITS)

    # Then it gives up, and the job stays with the run holding it
    assert (result, retries) == (None, [])
    upload.refresh_from_db()
    assert upload.status == "running"


def test_starting_a_job_queues_the_task_on_commit(staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        referral_import_start(
            clinic=staff.clinic,
            actor=staff,
            file_bytes=csv_bytes([good_row(1)]),
            filename="r.csv",
            mode="good_rows",
        )

    assert len(callbacks) == 1
    assert ReferralUpload.objects.get().status == "queued"
    assert not Referral.objects.exists()


# --- Queries: constant per batch ------------------------------------------------------------


def batch_queries(staff, rows) -> int:
    upload = start(staff, rows)
    parsed = referral_upload_parse(file_bytes=csv_bytes(rows))
    upload = ReferralUpload.objects.select_related("clinic", "uploaded_by").get(pk=upload.pk)
    with CaptureQueriesContext(connection) as queries:
        referral_import_batch(upload=upload, rows=parsed.rows, index=0)
    assert upload.__class__.objects.get(pk=upload.pk).created_count == len(rows)
    return len(queries)


def test_a_batch_of_new_patients_costs_the_same_queries_for_10_rows_as_for_100(staff):
    # SQLite caps a statement's parameters (999), so Django splits a bulk insert of more
    # than about 25 patients there; PostgreSQL takes the whole batch in one statement.
    many = 100 if connection.vendor == "postgresql" else 25
    small = batch_queries(staff, [good_row(n) for n in range(10)])
    large = batch_queries(staff, [good_row(n) for n in range(1000, 1000 + many)])

    assert small == large == BATCH_QUERIES


# savepoint; the clinic locked; the upload keys already imported; the MRNs known;
# the patients, their race answers, their phones inserted; savepoint; the navigators
# locked, read, their clinics, their loads; the cases, their opening events inserted;
# release; the referrals, their events inserted; the upload's errors read, its counts
# moved on; release. On PostgreSQL the rows go in by COPY (config.bulk_copy), with the
# keys of the patients, the cases and the referrals reserved first from their sequences:
# three queries more.
BATCH_QUERIES = 20 + (3 if connection.vendor == "postgresql" else 0)


def test_a_batch_of_new_patients_costs_these_queries(staff, django_assert_num_queries):
    rows = [good_row(n) for n in range(20)]
    upload = start(staff, rows)
    parsed = referral_upload_parse(file_bytes=csv_bytes(rows))
    upload = ReferralUpload.objects.select_related("clinic", "uploaded_by").get(pk=upload.pk)

    with django_assert_num_queries(BATCH_QUERIES):  # see BATCH_QUERIES
        referral_import_batch(upload=upload, rows=parsed.rows, index=0)


def test_a_batch_of_duplicates_costs_a_few_queries(staff, django_assert_num_queries):
    rows = [good_row(n) for n in range(20)]
    imported(staff, rows)
    upload = start(staff, rows)
    parsed = referral_upload_parse(file_bytes=csv_bytes(rows))
    upload = ReferralUpload.objects.select_related("clinic", "uploaded_by").get(pk=upload.pk)

    # savepoint; the clinic locked; the upload keys already imported (all of them);
    # the upload's errors read, its counts moved on; release
    with django_assert_num_queries(6):
        referral_import_batch(upload=upload, rows=parsed.rows, index=0)


# --- The API, the page, the command ---------------------------------------------------------


def test_the_job_answers_its_owner_clinic_and_managers_and_no_one_else(staff, clinic):
    upload = imported(staff, [good_row(1)])
    url = reverse("api:referral-upload-job", kwargs={"upload_id": upload.pk})
    other_staff = ClinicStaffFactory(clinic=ClinicFactory(code="south"))

    own = api_as(staff).get(url)
    managers = api_as(ManagerFactory()).get(url)
    other = api_as(other_staff).get(url)
    navigator = api_as(NavigatorFactory().user).get(url)

    assert (own.status_code, managers.status_code) == (200, 200)
    assert own.json()["status"] == "done"
    assert (own.json()["created"], own.json()["processed"], own.json()["percent"]) == (1, 1, 100)
    assert own.json()["uploaded_by"] == staff.username
    assert other.status_code == 404
    assert navigator.status_code == 403


def test_the_job_page_shows_a_progress_bar_while_queued_and_polls_its_partial(client, staff):
    upload = start(staff, [good_row(1), good_row(2)])
    client.force_login(staff)
    partial_url = reverse("patients:referral_upload_job_progress", args=[upload.pk])

    page = client.get(reverse("patients:referral_upload_job", args=[upload.pk]))
    partial = client.get(partial_url, HTTP_HX_REQUEST="true")

    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress id="upload-progress" max="100" value="0"' in html
    assert '<label for="upload-progress">0 of 2 rows done (0%)</label>' in html
    assert f'hx-get="{partial_url}"' in html and 'hx-trigger="every 1s"' in html
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert 'data-status="queued"' in partial.content.decode()


def test_the_finished_job_stops_polling_and_lists_each_rejected_row(client, staff):
    upload = imported(staff, [good_row(1), good_row(2, phone="12")])
    client.force_login(staff)

    partial = client.get(reverse("patients:referral_upload_job_progress", args=[upload.pk]))

    html = partial.content.decode()
    assert "hx-get" not in html and "<progress" not in html
    assert "1 referral imported" in html
    assert "<td>3</td><td><code>phone</code></td>" in html


def test_the_job_page_is_the_clinics_own(client, staff):
    upload = imported(staff, [good_row(1)])
    client.force_login(ClinicStaffFactory(clinic=ClinicFactory(code="south")))

    assert client.get(reverse("patients:referral_upload_job", args=[upload.pk])).status_code == 404


def test_the_upload_page_links_the_clinics_recent_jobs(client, staff):
    upload = imported(staff, [good_row(1)])
    client.force_login(staff)

    html = client.get(reverse("patients:referral_upload")).content.decode()

    assert reverse("patients:referral_upload_job", args=[upload.pk]) in html
    assert "r.csv" in html


def test_the_command_imports_a_file_by_the_same_path(staff, clinic, tmp_path):
    path = tmp_path / "referrals.csv"
    path.write_bytes(csv_bytes([good_row(1), good_row(2, phone="12")]))
    out, err = StringIO(), StringIO()

    call_command(
        "import_referrals", clinic.code, str(path), "--mode", "good_rows", "--as",
        staff.username, stdout=out, stderr=err,
    )  # fmt: skip

    upload = ReferralUpload.objects.get()
    assert (upload.status, upload.created_count, upload.uploaded_by) == ("done", 1, staff)
    assert f"Upload {upload.pk} done: 2 rows, 1 imported, 0 duplicates, 1 problems." in (
        out.getvalue()
    )
    assert "line 3, phone:" in err.getvalue()


def test_the_command_refuses_a_bad_row_all_or_nothing_and_exits_with_an_error(
    staff, clinic, tmp_path
):
    path = tmp_path / "referrals.csv"
    path.write_bytes(csv_bytes([good_row(1), good_row(2, sex="x")]))

    with pytest.raises(CommandError, match="1 of 2 rows has problems"):
        call_command("import_referrals", clinic.code, str(path), "--as", staff.username)

    assert not Referral.objects.exists()
    assert not ReferralUpload.objects.exists()


def test_the_command_names_an_unknown_clinic_or_user(staff, clinic, tmp_path):
    path = tmp_path / "referrals.csv"
    path.write_bytes(csv_bytes([good_row(1)]))

    with pytest.raises(CommandError, match="No clinic has the code"):
        call_command("import_referrals", "nowhere", str(path), "--as", staff.username)
    with pytest.raises(CommandError, match="No active user"):
        call_command("import_referrals", clinic.code, str(path), "--as", "nobody")
