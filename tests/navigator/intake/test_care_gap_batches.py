"""The nightly care-gap run fans out: one `caregaps` task per batch of due patients,
published once the nightly commits, every due patient in exactly one; the batches leave
what the one sequential run left; a batch run twice, or retried after losing the
database, leaves what one run leaves; and the log lines carry counts only."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError, transaction
from django.utils import timezone

from config.celery import app
from navigator.intake import care_gaps
from navigator.models import CaseEvent, NavigationCase
from patients.caregaps.periods import calendar_year
from patients.models import (
    CareGap,
    CareGapStamp,
    MeasurePopulation,
    PatientMerge,
    ScreeningEvent,
)
from patients.selectors import care_gap_patients_due
from patients.services.measure_populations import (
    care_gap_populations_refresh,
    stored_populations_refresh,
)
from patients.tasks import (
    POPULATION_RETRY,
    refresh_care_gaps,
    refresh_care_gaps_batch,
    refresh_care_gaps_for,
    refresh_measure_populations_for,
)
from tests.factories import (
    CaseFactory,
    ClinicFactory,
    ManagerFactory,
    NavigatorFactory,
    PatientFactory,
    program,
)
from tests.support.care_gap_runs import nightly_care_gaps_run
from tests.support.fhir import colonoscopy, ehr_resource, fit

pytestmark = pytest.mark.django_db

NIGHT = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)


class RolledBack(Exception):
    """Raised inside a transaction to roll it back."""


def population(count: int = 12) -> list[int]:
    """Patients of both sexes and many ages, some screened, some with a case already
    open (one of them screened by the EHR since, so its case closes), and two navigators
    to share the cases opened; their ids."""
    navigator = NavigatorFactory()
    NavigatorFactory()
    clinic = ClinicFactory()
    ids = []
    for i in range(count):
        patient = PatientFactory(
            clinic=clinic,
            birth_date=dt.date(1950, 3, 1) + dt.timedelta(days=i * 1213),
            sex="female" if i % 2 else "male",
        )
        if i % 4 == 1:
            ehr_resource(patient, fit("2025-09-01"))
        if i % 5 == 2:
            CaseFactory(patient=patient, program=program("colorectal"), navigator=navigator)
        if i == 3:
            CaseFactory(patient=patient, program=program("colorectal"), navigator=navigator)
            ehr_resource(patient, colonoscopy("2026-05-20"))
        ids.append(patient.pk)
    # A stored period, so that the populations refresh that follows a batch writes rows
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[calendar_year(2025)])
    return ids


def left_behind() -> dict[str, list[tuple]]:
    """Every row the run writes, without its own keys (another run draws other ones):
    gaps, stamps, cases and their events by patient x program, stored populations."""
    case_key = {
        pk: (patient, program_id)
        for pk, patient, program_id in NavigationCase.objects.values_list(
            "pk", "patient_id", "program_id"
        )
    }
    return {
        "gaps": sorted(
            tuple(row.values()) for row in CareGap.objects.values().order_by() if row.pop("id")
        ),
        "stamps": sorted(CareGapStamp.objects.values_list()),
        "cases": sorted(
            tuple(row.values())
            for row in NavigationCase.objects.values().order_by()
            if row.pop("id")
        ),
        "events": sorted(
            (
                case_key[event.case_id],
                event.kind,
                event.actor_id,
                event.at,
                event.summary,
                # The screening's own key is another in another run: the rest is compared.
                sorted((k, v) for k, v in event.data.items() if k != "screening"),
            )
            for event in CaseEvent.objects.order_by("pk")
        ),
        "screenings": sorted(
            ScreeningEvent.objects.values_list(
                "patient_id", "modality_id", "performed_on", "result", "clinical_resource_id"
            )
        ),
        "populations": sorted(
            tuple(row.values())
            for row in MeasurePopulation.objects.values().order_by()
            if row.pop("id", True)
        ),
    }


def rolled_back(run: Callable[[], object]) -> tuple[object, dict[str, list[tuple]]]:
    """What `run` answered and left behind, then undone."""
    seen: list[tuple[object, dict[str, list[tuple]]]] = []
    with pytest.raises(RolledBack), transaction.atomic():
        answer = run()
        seen.append((answer, left_behind()))
        raise RolledBack
    return seen[0]


# --- Fanning out ------------------------------------------------------------------------------


def test_the_nightly_task_sends_a_caregaps_task_per_thousand_due_patients_once_it_commits(
    django_capture_on_commit_callbacks,
):
    # Given 2,501 patients due (the selector's answer stands in for them)
    due = list(range(1, 2502))
    task = refresh_care_gaps_batch

    # When the nightly task runs in a transaction
    with (
        mock.patch.object(care_gaps, "care_gap_patients_due", return_value=due),
        mock.patch.object(task, "apply_async") as published,
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
            answer = refresh_care_gaps()

        # Then nothing was published before the commit
        assert published.call_count == 0
        assert len(callbacks) == 1
        callbacks[0]()
    # And then ceil(2,501 / 1,000) = 3 batch tasks, the due patients in order, each once,
    # each carrying the night's day
    sent = [call.args[0] for call in published.call_args_list]
    assert [len(ids) for ids, _day in sent] == [1000, 1000, 501]
    assert [pk for ids, _day in sent for pk in ids] == due
    assert {day for _ids, day in sent} == {timezone.localdate().isoformat()}
    assert answer == {"patients": 2501, "batches": math.ceil(2501 / 1000)}
    # And each goes to the caregaps queue: by its route, nothing in the call overriding it
    for call in published.call_args_list:
        options = {k: v for k, v in call.kwargs.items() if k not in {"headers", "producer"}}
        assert options == {}
        assert app.amqp.router.route(options, task.name)["queue"].name == "caregaps"


@time_machine.travel(NIGHT, tick=False)
def test_each_due_patient_is_in_exactly_one_batch(django_capture_on_commit_callbacks, monkeypatch):
    # Given 12 patients and batches of 5
    population(12)
    monkeypatch.setattr(care_gaps, "REFRESH_BATCH", 5)
    due = care_gap_patients_due(as_of=timezone.localdate())
    assert len(due) == 12

    # When the nightly run fans out
    run = nightly_care_gaps_run(django_capture_on_commit_callbacks)

    # Then ceil(12 / 5) = 3 batch tasks ran, each due patient in exactly one of them
    assert [len(ids) for ids, _day in run.sent] == [5, 5, 2]
    assert sorted(pk for ids, _day in run.sent for pk in ids) == sorted(due)
    assert run.nightly == {"patients": 12, "batches": 3}
    assert run.total("patients") == 12


@time_machine.travel(NIGHT, tick=False)
def test_the_batches_leave_what_the_one_sequential_run_left(
    django_capture_on_commit_callbacks, monkeypatch
):
    # Given a varied population, two navigators and a stored 2025 population measure
    population(12)
    today = timezone.localdate()

    # When the refresh runs as it did before, sequentially in one task (then undone),
    # in its batches (of 5 here, of 1,000 at night)...
    def sequential() -> care_gaps.RefreshResult:
        result = care_gaps.care_gaps_refresh(as_of=today, batch_size=5)
        stored_populations_refresh(patient_ids=result.patient_ids)
        return result

    result, expected = rolled_back(sequential)
    # ...it did something worth comparing: cases opened and shared, one closed by the EHR
    assert isinstance(result, care_gaps.RefreshResult)
    assert result.cases_opened > 2 and result.cases_closed == 1
    assert expected["populations"]

    # And when the nightly run fans it out in batches of 5
    monkeypatch.setattr(care_gaps, "REFRESH_BATCH", 5)
    run = nightly_care_gaps_run(django_capture_on_commit_callbacks)

    # Then the same gaps, stamps, cases, events and stored rows. The same navigators
    # too: the batches ran in order here, as the sequential run's did (a batch opens
    # its cases programme by programme, so other batches would share them otherwise;
    # batches run at once on several workers share them in the order they commit in,
    # every load counted: test_care_gap_batches_pg.py).
    assert len(run.batches) == 3
    assert left_behind() == expected
    assert (run.total("patients"), run.total("cases_opened"), run.total("cases_closed")) == (
        result.patients,
        result.cases_opened,
        result.cases_closed,
    )


# --- One batch --------------------------------------------------------------------------------


@time_machine.travel(NIGHT, tick=False)
def test_a_batch_run_twice_leaves_what_one_run_leaves(django_capture_on_commit_callbacks):
    # Given a batch of patients due (a redelivered task, or the nightly run twice)
    ids = population(12)
    day = timezone.localdate().isoformat()

    # When its task runs, and then again
    with django_capture_on_commit_callbacks(execute=True):
        first = refresh_care_gaps_batch(ids, day)
    once = left_behind()
    with django_capture_on_commit_callbacks(execute=True):
        second = refresh_care_gaps_batch(ids, day)

    # Then the second run opened and closed nothing more, and left the same rows...
    assert first["cases_opened"] > 0 and first["cases_closed"] == 1
    assert second == {"patients": 12, "cases_opened": 0, "cases_closed": 0}
    twice = left_behind()
    assert {key: rows for key, rows in twice.items() if key != "gaps"} == {
        key: rows for key, rows in once.items() if key != "gaps"
    }
    # ...and the same gaps but for one word: the colonoscopy the EHR reported, which
    # the first run recorded on the case it closed, is now read as recorded there too
    changed = [(a, b) for a, b in zip(once["gaps"], twice["gaps"], strict=True) if a != b]
    assert len(changed) == 1
    (before, after) = changed[0]
    evidence = before.index([{"what": "colonoscopy", "date": "2026-05-20", "origin": "ehr"}])
    assert after[evidence] == [{"what": "colonoscopy", "date": "2026-05-20", "origin": "recorded"}]
    assert before[:evidence] + before[evidence + 1 :] == after[:evidence] + after[evidence + 1 :]


@time_machine.travel(NIGHT, tick=False)
def test_a_batch_that_loses_the_database_is_rolled_back_and_retried_to_what_one_run_leaves(
    django_capture_on_commit_callbacks,
):
    # Given a batch, and what one clean run of it leaves
    ids = population(12)
    day = timezone.localdate().isoformat()

    def clean_run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            refresh_care_gaps_batch(ids, day)

    _, expected = rolled_back(clean_run)

    # When the database goes away once, after the gaps were recomputed, before the cases
    real = care_gaps.cases_open_many
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    # (`apply` runs the task, and Celery its retry, at once, in this process; `throw`
    # off so that the first try's Retry is acted on rather than raised here)
    with (
        mock.patch.object(care_gaps, "cases_open_many", side_effect=flaky),
        django_capture_on_commit_callbacks(execute=True),
    ):
        answer = refresh_care_gaps_batch.apply((ids, day), throw=False).get(
            disable_sync_subtasks=False
        )

    # Then the retry left what one clean run leaves (the first try's gaps were undone)
    assert len(calls) == 2
    assert answer["cases_opened"] > 0
    assert left_behind() == expected


def test_a_batch_retries_a_lost_database_a_bounded_number_of_times():
    task = app.tasks["patients.tasks.refresh_care_gaps_batch"]

    assert task.autoretry_for == POPULATION_RETRY["autoretry_for"]
    assert task.max_retries == 3
    assert task.retry_backoff_max <= 300


@time_machine.travel(NIGHT, tick=False)
def test_a_batch_leaves_out_a_record_merged_since_the_night_planned_it(
    django_capture_on_commit_callbacks,
):
    # Given a batch planned with a record that has since been merged into another
    kept, duplicate = PatientFactory(sex="male"), PatientFactory(sex="male")
    PatientMerge.objects.create(survivor=kept, duplicate=duplicate, actor=ManagerFactory())

    # When the batch runs
    with django_capture_on_commit_callbacks(execute=True):
        answer = refresh_care_gaps_batch([kept.pk, duplicate.pk], "2026-06-01")

    # Then only the survivor's gaps are computed, and no case opened on the merged record
    assert answer["patients"] == 1
    assert set(CareGap.objects.values_list("patient_id", flat=True)) == {kept.pk}
    assert not NavigationCase.objects.filter(patient=duplicate).exists()


@time_machine.travel(NIGHT, tick=False)
def test_an_import_recompute_queues_their_population_measures_a_batch_at_a_time(
    django_capture_on_commit_callbacks, monkeypatch
):
    # Given an import that touched 5 patients (one named twice), and batches of 2
    touched = population(5)
    monkeypatch.setattr(care_gaps, "REFRESH_BATCH", 2)
    populations = refresh_measure_populations_for

    # When its recompute runs and commits
    with (
        mock.patch.object(populations, "apply_async") as published,
        django_capture_on_commit_callbacks(execute=True),
    ):
        answer = refresh_care_gaps_for([*touched, touched[0]])

    # Then each patient was recomputed once, and their population measures were queued
    # in tasks of at most 2 (a task past its time limit is not retried)
    assert answer == 5
    sent = [call.args[0][0] for call in published.call_args_list]
    assert [len(ids) for ids in sent] == [2, 2, 1]
    assert [pk for ids in sent for pk in ids] == touched


# --- Logs -------------------------------------------------------------------------------------


@time_machine.travel(NIGHT, tick=False)
def test_the_nightly_run_and_its_batches_log_counts_only(
    django_capture_on_commit_callbacks, monkeypatch, caplog
):
    population(12)
    monkeypatch.setattr(care_gaps, "REFRESH_BATCH", 5)
    caplog.set_level(logging.INFO, logger="patients.tasks")

    run = nightly_care_gaps_run(django_capture_on_commit_callbacks)

    lines = [r.getMessage() for r in caplog.records if r.name == "patients.tasks"]
    assert lines[0] == "care gaps refresh: 12 patients due, 3 batch tasks"
    assert lines[1:] == [
        f"care gaps batch refreshed: {b['patients']} patients, "
        f"{b['cases_opened']} cases opened, {b['cases_closed']} closed"
        for b in run.batches
    ]
