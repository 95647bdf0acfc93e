"""What computes stored population measures: the command, the tasks (safe twice), the
nightly care-gap run and an import's recompute for the patients they recomputed, the
quarterly beat entry, a request for a period once its transaction commits, and a merge
of two records."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from celery.schedules import crontab
from django.core.management import CommandError, call_command

from config.celery import app
from navigator.intake.patient_merge import patient_merge
from patients.caregaps.periods import calendar_year, quarter_periods
from patients.caregaps.population_measures import POPULATION_MEASURES
from patients.models import MeasurePeriod, MeasurePopulation, Patient, ScreeningEvent
from patients.services.measure_populations import (
    care_gap_populations_refresh,
    measure_period_request,
)
from patients.tasks import (
    compute_last_quarter_populations,
    refresh_care_gaps_for,
    refresh_measure_populations,
)
from tests.factories import ClinicFactory, ManagerFactory, PatientFactory, modality
from tests.support.care_gap_runs import nightly_care_gaps_run

pytestmark = pytest.mark.django_db

YEAR_2025 = calendar_year(2025)


def stored_rows() -> list[tuple]:
    """Every stored row but when it was computed."""
    return sorted(
        MeasurePopulation.objects.values_list(
            "measure",
            "patient_id",
            "period_start",
            "period_end",
            "denominator_exclusion",
            "numerator",
            "age_at_end",
        )
    )


def listed() -> list[tuple]:
    return sorted(MeasurePeriod.objects.values_list("measure", "period_start", "period_end"))


@pytest.fixture
def patients():
    screened = PatientFactory(birth_date=dt.date(1960, 1, 1))
    ScreeningEvent.objects.create(
        patient=screened, modality=modality("fit"), performed_on=dt.date(2025, 5, 1)
    )
    unscreened = PatientFactory(birth_date=dt.date(1961, 1, 1))
    return screened, unscreened


# --- The command ------------------------------------------------------------------------------


def test_the_command_stores_the_quarters_and_years_asked_for(patients):
    # When the command is run for two rolling quarters and a calendar year
    out = StringIO()
    call_command(
        "measure_populations",
        measure=["caregap:colorectal"],
        first="2025Q4",
        last="2026 Q1",
        calendar_year=[2024],
        stdout=out,
    )

    # Then the three periods are listed (2025 Q4 is the calendar year 2025)
    assert listed() == [
        ("caregap:colorectal", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("caregap:colorectal", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ("caregap:colorectal", dt.date(2025, 4, 1), dt.date(2026, 3, 31)),
    ]
    # And both patients are in each, the FIT of May 2025 counting from 2025 on
    numerators = {
        (patient, end.year): numerator
        for patient, end, numerator in MeasurePopulation.objects.values_list(
            "patient_id", "period_end", "numerator"
        )
    }
    screened, unscreened = patients
    assert numerators == {
        (screened.pk, 2024): False,
        (screened.pk, 2025): True,
        (screened.pk, 2026): True,
        (unscreened.pk, 2024): False,
        (unscreened.pk, 2025): False,
        (unscreened.pk, 2026): False,
    }
    assert out.getvalue().strip() == (
        "caregap:colorectal: 3 periods (2025 Q4, 2026 Q1, 2024); "
        "2 patients evaluated, 6 rows stored."
    )


def test_the_command_computes_every_measure_with_all(patients):
    call_command("measure_populations", all=True, calendar_year=[2025], stdout=StringIO())

    assert {measure for measure, _, _ in listed()} == set(POPULATION_MEASURES)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calendar_year": [2025]}, "Name a measure"),
        ({"measure": ["CMS130"]}, "Name periods"),
        ({"measure": ["CMS130"], "first": "2025Q1"}, "go together"),
        ({"measure": ["CMS130"], "first": "2025Q5", "last": "2026Q1"}, "--from: “2025Q5”"),
        ({"measure": ["CMS130"], "first": "2025", "last": "2026Q1"}, "name quarters"),
        ({"measure": ["CMS130"], "first": "2026Q1", "last": "2025Q1"}, "before --from"),
    ],
)
def test_the_command_refuses_what_it_cannot_compute_in_words(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("measure_populations", stdout=StringIO(), **options)
    assert listed() == []


# --- The tasks --------------------------------------------------------------------------------


def test_the_refresh_task_is_safe_to_run_twice(patients):
    # When the task runs twice for the same measure and periods
    first = refresh_measure_populations("caregap:colorectal", ["2025", "2026Q1"])
    rows = stored_rows()
    second = refresh_measure_populations("caregap:colorectal", ["2025", "2026Q1"])

    # Then the second run changed nothing: same rows, each period listed once
    assert stored_rows() == rows
    assert len(rows) == 4
    assert listed() == [
        ("caregap:colorectal", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ("caregap:colorectal", dt.date(2025, 4, 1), dt.date(2026, 3, 31)),
    ]
    assert first == second == {"patients": 2, "rows": 4, "periods": 2}


def test_the_refresh_task_retries_a_lost_database_a_bounded_number_of_times():
    task = app.tasks["patients.tasks.refresh_measure_populations"]

    assert task.max_retries == 3
    assert task.retry_backoff_max <= 300


def a_fit_of_june_2025_arrives(patient: Patient) -> None:
    """New clinical data for `patient`: a FIT result, and the change marked on the record."""
    ScreeningEvent.objects.create(
        patient=patient, modality=modality("fit"), performed_on=dt.date(2025, 6, 1)
    )
    Patient.objects.filter(pk=patient.pk).update(
        clinical_data_changed_at=dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.UTC)
    )


@pytest.mark.frozen_clock("2026-01-05 07:00:00+00:00")
def test_the_nightly_care_gap_run_refreshes_the_stored_periods_of_the_patients_it_recomputed(
    patients, django_capture_on_commit_callbacks
):
    # Given 2025 stored for the colorectal care-gap measure, and the nightly run done
    screened, unscreened = patients
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[YEAR_2025])
    nightly_care_gaps_run(django_capture_on_commit_callbacks)
    assert MeasurePopulation.objects.get(patient=unscreened).numerator is False

    # When a FIT of June 2025 is recorded for the unscreened patient (new data)
    a_fit_of_june_2025_arrives(unscreened)
    computed_at = MeasurePopulation.objects.get(patient=screened).computed_at
    run = nightly_care_gaps_run(django_capture_on_commit_callbacks)

    # Then that night's run recomputed only them (one batch), and their stored row follows
    assert run.nightly == {"patients": 1, "batches": 1}
    assert run.sent == [([unscreened.pk], "2026-01-05")]
    assert MeasurePopulation.objects.get(patient=unscreened).numerator is True
    # And the other patient's row was not written again
    assert MeasurePopulation.objects.get(patient=screened).computed_at == computed_at


def test_a_recompute_after_an_import_refreshes_the_stored_periods_of_its_patients(
    patients, django_capture_on_commit_callbacks
):
    # Given 2025 stored for the colorectal care-gap measure and the nightly run done
    screened, unscreened = patients
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[YEAR_2025])
    nightly_care_gaps_run(django_capture_on_commit_callbacks)
    assert MeasurePopulation.objects.get(patient=unscreened).numerator is False
    computed_at = MeasurePopulation.objects.get(patient=screened).computed_at

    # When a feed brings a FIT of June 2025 for them and recomputes their gaps at once
    a_fit_of_june_2025_arrives(unscreened)
    with django_capture_on_commit_callbacks(execute=True):
        refresh_care_gaps_for([unscreened.pk])

    # Then their stored row follows at once (the nightly run no longer sees them as due)
    assert MeasurePopulation.objects.get(patient=unscreened).numerator is True
    assert nightly_care_gaps_run(django_capture_on_commit_callbacks).nightly["patients"] == 0
    # And the other patient's row was not written again
    assert MeasurePopulation.objects.get(patient=screened).computed_at == computed_at


@pytest.mark.frozen_clock("2026-04-01 08:00:00+00:00")
def test_the_quarterly_task_computes_the_quarter_that_just_ended_for_every_measure(
    patients, django_capture_on_commit_callbacks
):
    # When beat runs the quarterly task on 1 April 2026
    with django_capture_on_commit_callbacks(execute=True):
        compute_last_quarter_populations()

    # Then 2026 Q1 (the twelve months to 31 March 2026) is listed for every measure
    (q1,) = quarter_periods(dt.date(2026, 3, 31), dt.date(2026, 3, 31))
    assert listed() == sorted((key, q1.start, q1.end) for key in POPULATION_MEASURES)


def test_beat_runs_the_quarterly_task_on_the_first_day_of_each_quarter():
    entries = [
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "patients.tasks.compute_last_quarter_populations"
    ]

    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.day_of_month == {1}
    assert schedule.month_of_year == {1, 4, 7, 10}
    assert len(schedule.hour) == len(schedule.minute) == 1
    # After the nightly care gaps (07:00), so the quarter's last data are in
    assert schedule.hour == {8}


# --- Asking for a period --------------------------------------------------------------------


def test_a_requested_period_is_computed_once_the_request_commits(
    patients, django_capture_on_commit_callbacks
):
    # When a period that is neither a quarter nor a year is asked for, in a transaction
    period = quarter_periods(dt.date(2025, 6, 30), dt.date(2025, 6, 30))[0]._replace(
        start=dt.date(2024, 7, 15), label="custom"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        measure_period_request(measure="caregap:colorectal", period=period)

    # Then nothing is computed before the commit
    assert len(callbacks) == 1
    assert listed() == []
    # And once it commits, the period is computed and listed
    callbacks[0]()
    assert listed() == [("caregap:colorectal", dt.date(2024, 7, 15), dt.date(2025, 6, 30))]


@pytest.mark.parametrize(
    ("measure", "period", "message"),
    [
        ("CMS999", YEAR_2025, "No population measure"),
        ("CMS130", YEAR_2025._replace(end=dt.date(2024, 12, 31)), "ends before it starts"),
    ],
)
def test_a_request_for_an_unknown_measure_or_a_backwards_period_is_refused(
    measure, period, message, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(ValueError, match=message),
    ):
        measure_period_request(measure=measure, period=period)
    assert callbacks == []


def test_a_merge_leaves_the_person_counted_once_in_the_stored_periods(
    django_capture_on_commit_callbacks,
):
    # Given two records of one person, both in the stored 2025 colorectal population
    clinic = ClinicFactory()
    kept, duplicate = (
        PatientFactory(clinic=clinic, mrn=mrn, given_name="Ana", family_name="Ruiz",
                       birth_date=dt.date(1960, 1, 1))
        for mrn in ("M1", " m1")  # one MRN, typed twice
    )  # fmt: skip
    ScreeningEvent.objects.create(
        patient=duplicate, modality=modality("fit"), performed_on=dt.date(2025, 5, 1)
    )
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[YEAR_2025])
    assert MeasurePopulation.objects.count() == 2

    # When a manager merges them
    with django_capture_on_commit_callbacks(execute=True):
        patient_merge(survivor_id=kept.pk, duplicate_id=duplicate.pk, actor=ManagerFactory())

    # Then only the survivor is stored, screened by the duplicate's FIT
    assert list(MeasurePopulation.objects.values_list("patient_id", "numerator")) == [
        (kept.pk, True)
    ]
