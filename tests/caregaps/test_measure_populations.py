"""Stored population measures: the eCQMs' rows agree with CMS's test cases and with
`measure_report`, the care-gap measure with the engine, and a refresh touches what it
says it touches, in a fixed number of queries per batch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from patients import selectors
from patients.caregaps.engine import evaluate_care_gap
from patients.caregaps.measures.reports import measure_report
from patients.caregaps.periods import period_between, quarter_periods
from patients.models import (
    MeasurePeriod,
    MeasurePopulation,
    Patient,
    PatientSourceLink,
    ScreeningEvent,
    ScreeningProgram,
)
from patients.services.measure_populations import (
    care_gap_populations_refresh,
    measure_populations_refresh,
)
from tests.factories import PatientFactory, modality
from tests.support.ecqm import MEASURE_FOLDERS, official_cases_imported
from tests.support.fhir import diabetes, ehr_resource, hba1c

pytestmark = pytest.mark.django_db


def stored_summary(measure: str, start: dt.date, end: dt.date) -> dict:
    """The report's summary, counted by one grouped query over the store."""
    counts = MeasurePopulation.objects.filter(
        measure=measure, period_start=start, period_end=end
    ).aggregate(
        ip=Count("pk"),
        exclusion=Count("pk", filter=Q(denominator_exclusion=True)),
        numerator=Count("pk", filter=Q(numerator=True)),
    )
    eligible = counts["ip"] - counts["exclusion"]
    return {
        "initial-population": counts["ip"],
        "denominator": counts["ip"],
        "denominator-exclusion": counts["exclusion"],
        "numerator": counts["numerator"],
        "rate": round(counts["numerator"] / eligible, 4) if eligible else None,
    }


@pytest.mark.parametrize("measure", sorted(MEASURE_FOLDERS))
def test_stored_rows_are_cms_expected_populations_and_sum_to_the_report(measure):
    # Given CMS's test cases for the measure, imported as one EHR feed
    cases = official_cases_imported(measure)
    ((start, end),) = cases.periods
    cms_year = period_between(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    # And a rolling quarter beside CMS's calendar year, evaluated in the same batches
    rolling = quarter_periods(dt.date(2025, 9, 30), dt.date(2025, 9, 30))[0]

    # When the measure's populations are stored for both periods
    stats = measure_populations_refresh(measure_ids=[measure], periods=[cms_year, rolling])

    # Then each case's row says what CMS expects: a row exactly for the initial
    # population, with its exclusion and numerator
    feed_id = dict(
        PatientSourceLink.objects.filter(source=cases.source).values_list(
            "patient_id", "resource_id"
        )
    )
    stored = {
        feed_id[row.patient_id]: row
        for row in MeasurePopulation.objects.filter(
            measure=measure, period_start=cms_year.start, period_end=cms_year.end
        )
    }
    disagreements = []
    # (a case whose expectation its own data cannot give: what the CQL gives, DATA_DEFECTS)
    for patient_id, (name, want) in sorted(cases.held_to.items()):
        row = stored.get(patient_id)
        got = {
            "initial-population": int(row is not None),
            "denominator": int(row is not None),
            "denominator-exclusion": int(row is not None and row.denominator_exclusion),
            "numerator": int(row is not None and row.numerator),
        }
        if got != want:
            disagreements.append(f"{name}: expected {want}, stored {got}")
    assert disagreements == []
    assert stats.patients == len(cases.expected)
    assert any(want["numerator"] for _, want in cases.expected.values())

    # And grouped SQL over the store equals measure_report's summary, for both periods
    for period in (cms_year, rolling):
        report = measure_report(
            measure_id=measure, period_start=period.start, period_end=period.end
        )
        assert stored_summary(measure, period.start, period.end) == report.summary()
        # And the period is listed, with its size and no starter-code warning
        listed = MeasurePeriod.objects.get(
            measure=measure, period_start=period.start, period_end=period.end
        )
        assert listed.patients == report.summary()["initial-population"]
        assert listed.starter_value_sets == report.starter_value_sets == []
    # And every row's age is the patient's age on the period's last day
    for row in MeasurePopulation.objects.filter(measure=measure).select_related("patient"):
        assert row.age_at_end == row.patient.age_on(row.period_end)
        # (CMS122's rows take the diabetes control programme seeded by 0031)
        program = row.program.code if row.program is not None else None
        assert (
            program
            == {
                "CMS130": "colorectal",
                "CMS125": "breast",
                "CMS124": "cervical",
                "CMS122": "diabetes",
            }[measure]
        )


# --- The care-gap measure: EquiNav's rules on the period's last day -----------------------

Q4_2024 = period_between(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
Q4_2025 = period_between(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def hospice(start: str, end: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "385763009"}]}],
        "period": {"start": start, "end": end},
    }


def fit_done(patient, day: dt.date) -> None:
    ScreeningEvent.objects.create(
        patient=patient, modality=modality("fit"), performed_on=day, result="normal"
    )


def row_of(patient, measure="caregap:colorectal", period=Q4_2025):
    return MeasurePopulation.objects.filter(
        measure=measure, patient=patient, period_start=period.start, period_end=period.end
    ).first()


@pytest.fixture
def people():
    screened = PatientFactory(birth_date=dt.date(1965, 6, 1), sex="female")
    fit_done(screened, dt.date(2025, 3, 1))
    in_hospice = PatientFactory(birth_date=dt.date(1960, 1, 1), sex="female")
    ehr_resource(in_hospice, hospice("2025-07-01", "2025-08-01"))
    young = PatientFactory(birth_date=dt.date(1990, 1, 1), sex="male")
    overdue = PatientFactory(birth_date=dt.date(1955, 3, 1), sex="male")
    return {"screened": screened, "hospice": in_hospice, "young": young, "overdue": overdue}


def test_the_care_gap_measure_is_the_engines_status_on_each_periods_last_day(people):
    # When every program's care-gap measure is stored for two calendar years
    stats = care_gap_populations_refresh(periods=[Q4_2024, Q4_2025])

    # Then a FIT done in March 2025 counts in 2025 but not yet in 2024
    assert (row_of(people["screened"], period=Q4_2024).numerator) is False
    assert row_of(people["screened"]).numerator is True
    # And hospice in July 2025 excludes in 2025 only
    assert row_of(people["hospice"], period=Q4_2024).denominator_exclusion is False
    assert row_of(people["hospice"]).denominator_exclusion is True
    assert row_of(people["hospice"]).numerator is False
    # And a man of 35 is in no colorectal population; nor is any man in breast's
    assert row_of(people["young"]) is None
    assert row_of(people["overdue"], measure="caregap:breast") is None
    # And the overdue man of 70 is in the denominator and not the numerator, aged 69 then 70
    assert (row_of(people["overdue"]).numerator, row_of(people["overdue"]).age_at_end) == (
        False,
        70,
    )
    assert row_of(people["overdue"], period=Q4_2024).age_at_end == 69
    assert stats.patients == 4

    # And every row agrees with evaluate_care_gap itself, patient by program by period
    concept_codes = selectors.concept_codes()
    for facts in selectors.patient_facts([p.pk for p in people.values()]):
        for entry in selectors.program_rules_list():
            for period in (Q4_2024, Q4_2025):
                status = evaluate_care_gap(
                    facts=facts,
                    program_name=entry.program.name,
                    rules=entry.rules,
                    concept_codes=concept_codes,
                    as_of=period.end,
                ).status
                row = row_of(facts.pk, f"caregap:{entry.program.code}", period)
                if status == "not_eligible":
                    assert row is None
                else:
                    assert row.denominator_exclusion == (status == "excluded")
                    assert row.numerator == (status in {"up_to_date", "due_soon"})
                    assert row.program_id == entry.program.pk
    # And each (program, period) is listed with the number of patients in it
    listed = MeasurePeriod.objects.get(
        measure="caregap:colorectal", period_start=Q4_2025.start, period_end=Q4_2025.end
    )
    assert listed.patients == 3  # screened, in hospice, overdue


def test_a_control_programme_has_no_care_gap_measure_its_ecqm_measures_it():
    # Given a diabetic in poor control (a gap of the diabetes control programme)
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))
    ehr_resource(patient, hba1c("2025-06-01", 9.6))

    # When every programme's care-gap measure is stored
    care_gap_populations_refresh(periods=[Q4_2025])

    # Then there is none for diabetes control ("screened or not" does not apply)
    assert not MeasurePopulation.objects.filter(measure="caregap:diabetes").exists()
    # And asking for it by name says why not, as for an unknown programme
    with pytest.raises(ValueError, match="diabetes"):
        care_gap_populations_refresh(program_codes=["diabetes"], periods=[Q4_2025])


def test_cms122_rows_are_stored_without_a_programme_where_no_diabetes_programme_exists():
    cases = official_cases_imported("CMS122")
    ((start, end),) = cases.periods
    period = period_between(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    # (An installation whose diabetes programme has another code.)
    ScreeningProgram.objects.filter(code="diabetes").update(code="diabetes-local")

    measure_populations_refresh(measure_ids=["CMS122"], periods=[period])

    rows = MeasurePopulation.objects.filter(measure="CMS122")
    assert rows.exists()
    assert not rows.filter(program__isnull=False).exists()


# --- What a refresh touches ------------------------------------------------------------------


@pytest.mark.frozen_clock("2026-01-05 12:00:00+00:00")
def test_a_refresh_for_some_patients_touches_only_their_rows_in_listed_periods(
    people, frozen_clock
):
    # Given the colorectal care-gap measure stored for 2025 (the only period listed)
    other = PatientFactory(birth_date=dt.date(1956, 1, 1), sex="male")
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[Q4_2025])
    before = {row.patient_id: row for row in MeasurePopulation.objects.all()}
    listed_at = MeasurePeriod.objects.get().computed_at
    # And, a day later, a FIT in June 2025 for two overdue men
    frozen_clock.shift(dt.timedelta(days=1))
    fit_done(people["overdue"], dt.date(2025, 6, 1))
    fit_done(other, dt.date(2025, 6, 1))

    # When only the first is refreshed, for 2025 and for 2024 (which is not listed)
    stats = care_gap_populations_refresh(
        program_codes=["colorectal"], periods=[Q4_2024, Q4_2025], patient_ids=[people["overdue"].pk]
    )

    # Then his row says screened, and was written now
    assert row_of(people["overdue"]).numerator is True
    assert row_of(people["overdue"]).computed_at > before[people["overdue"].pk].computed_at
    # And the other man's row still says what it said
    assert row_of(other).numerator is False
    # And nobody else's row was written again
    for patient_id, row in before.items():
        if patient_id != people["overdue"].pk:
            assert MeasurePopulation.objects.get(pk=row.pk).computed_at == row.computed_at
    # And no row and no listing appear for the period that was not listed
    assert row_of(people["overdue"], period=Q4_2024) is None
    assert MeasurePeriod.objects.count() == 1
    assert MeasurePeriod.objects.get().computed_at == listed_at
    assert (stats.patients, stats.rows, stats.periods_completed) == (1, 1, 0)


def test_a_full_refresh_removes_the_rows_of_patients_no_longer_in_the_population(people):
    # Given the colorectal measure stored for 2025
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[Q4_2025])
    assert row_of(people["overdue"]) is not None

    # When the patient turns out to have died, and the measure is refreshed for everyone
    Patient.objects.filter(pk=people["overdue"].pk).update(deceased=True)
    care_gap_populations_refresh(program_codes=["colorectal"], periods=[Q4_2025])

    # Then his row is gone, and the period's count says so
    assert row_of(people["overdue"]) is None
    assert MeasurePeriod.objects.get().patients == 2


def test_a_full_ecqm_refresh_removes_a_patient_no_longer_linked_to_a_feed(people):
    # Given two EHR patients in CMS130's population for 2025
    kept, unlinked = ehr_patients(2)
    measure_populations_refresh(measure_ids=["CMS130"], periods=[Q4_2025])
    assert MeasurePeriod.objects.get(measure="CMS130").patients == 2

    # When one is no longer linked (the feed dropped them) and CMS130 is refreshed
    PatientSourceLink.objects.filter(patient=unlinked).delete()
    measure_populations_refresh(measure_ids=["CMS130"], periods=[Q4_2025])

    # Then only the linked one is stored
    assert list(
        MeasurePopulation.objects.filter(measure="CMS130").values_list("patient_id", flat=True)
    ) == [kept.pk]
    assert MeasurePeriod.objects.get(measure="CMS130").patients == 1


# --- A fixed number of queries per batch ---------------------------------------------------


def office_visit(day: str) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
        "period": {"start": f"{day}T10:00:00Z", "end": f"{day}T10:30:00Z"},
    }


def ehr_patients(count: int) -> list:
    """Patients of 65 known from an EHR feed, each with an office visit in June 2025."""
    patients = []
    for number in range(count):
        patient = PatientFactory(birth_date=dt.date(1960, 1, 1))
        stored = ehr_resource(patient, office_visit("2025-06-01"))
        PatientSourceLink.objects.create(
            source=stored.source, resource_id=f"ehr-{number}", patient=patient
        )
        patients.append(patient)
    return patients


@pytest.mark.parametrize("batch_size", [1, 3])
def test_an_ecqm_refresh_costs_the_same_queries_per_batch_whatever_its_size(
    batch_size, django_assert_num_queries
):
    # Given three EHR patients in CMS130's population, refreshed for two periods
    ehr_patients(3)
    batches = 3 // batch_size
    periods = quarter_periods(dt.date(2025, 12, 31), dt.date(2026, 3, 31))

    # Then the queries are: value-set codes, concepts, concept codes, the programs and
    # the links once; per batch the patients, their resources, and the write (savepoint,
    # delete, upsert, release); then the tail (savepoint, delete after the last patient,
    # release) and the periods' upsert
    with django_assert_num_queries(5 + 6 * batches + 3 + 1):
        stats = measure_populations_refresh(
            measure_ids=["CMS130"], periods=periods, batch_size=batch_size
        )
    assert (stats.rows, stats.batches - 1) == (6, batches)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_care_gap_refresh_costs_the_same_queries_per_batch_whatever_its_size(
    batch_size, django_assert_num_queries
):
    # Given three patients of 65, and the setup a refresh reads once: the programs'
    # rules and the concepts' codes (counted, not written in: they grow with the rules)
    for _ in range(3):
        PatientFactory(birth_date=dt.date(1960, 1, 1))
    with CaptureQueriesContext(connection) as setup:
        selectors.program_rules_list()
        selectors.concept_codes()
    batches = 3 // batch_size

    # Then the queries are: the setup; the patients' ids once; per batch the facts
    # (patients, screenings, resources) and the write (savepoint, delete, upsert,
    # release); then the tail (savepoint, delete, release) and the periods' upsert
    with django_assert_num_queries(len(setup) + 1 + 7 * batches + 3 + 1):
        stats = care_gap_populations_refresh(
            program_codes=["colorectal"], periods=[Q4_2024, Q4_2025], batch_size=batch_size
        )
    assert stats.rows == 6
