"""The engine's batch path agrees with its one-call path: a program's rules prepared
once (`prepare_rules`) and evaluated for many patients give what `evaluate_care_gap`
gives patient by patient, and the calendar's fast path (days 1-28) gives what the
calendar gives."""

from __future__ import annotations

import datetime as dt
from calendar import monthrange

import pytest

from patients import selectors
from patients.caregaps.dates import add_months, add_years
from patients.caregaps.engine import (
    PatientFacts,
    RecordedScreening,
    evaluate_care_gap,
    evaluate_prepared,
    prepare_rules,
)
from tests.benchmarks.care_gaps import _resources

pytestmark = pytest.mark.django_db


def _reference_add_years(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, monthrange(year, day.month)[1]))


def _reference_add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return dt.date(year, month, min(day.day, monthrange(year, month)[1]))


def test_adding_years_and_months_agrees_with_the_calendar_on_every_day_of_two_years():
    day = dt.date(2023, 1, 1)
    while day < dt.date(2025, 1, 1):
        for n in (-120, -25, -12, -1, 0, 1, 6, 11, 12, 13, 24, 61, 121):
            assert add_months(day, n) == _reference_add_months(day, n), (day, n)
        for n in (-76, -1, 0, 1, 3, 4, 45, 76):
            assert add_years(day, n) == _reference_add_years(day, n), (day, n)
        day += dt.timedelta(days=1)


def test_years_out_of_range_fail_as_before():
    for fast, reference, day, n in (
        (add_years, _reference_add_years, dt.date(9999, 5, 1), 1),
        (add_months, _reference_add_months, dt.date(1, 1, 15), -1),
    ):
        with pytest.raises(ValueError) as expected:
            reference(day, n)
        with pytest.raises(ValueError) as got:
            fast(day, n)
        assert str(got.value) == str(expected.value)


def _population(count: int) -> list[PatientFacts]:
    facts = []
    for i in range(count):
        patient = PatientFacts(
            pk=i + 1,
            birth_date=dt.date(1936, 1, 1) + dt.timedelta(days=(i * 7919) % (365 * 70)),
            sex="female" if i % 2 else "male",
            smoking_status=("current", "former", "never")[i % 3],
            smoking_pack_years=(i % 40) if i % 3 != 2 else None,
            deceased=i % 37 == 5,
        )
        patient.resources = [
            (i * 10 + n, resource) for n, (_t, _id, resource) in enumerate(_resources(i, i + 1))
        ]
        if i % 4 == 1:
            patient.screenings = [
                RecordedScreening(code, dt.date(2019 + i % 7, 3, 1), "normal")
                for code in ("fit", "mammogram", "cytology", "ldct")
            ]
        facts.append(patient)
    return facts


def test_rules_prepared_once_give_what_each_call_gives_for_every_patient_and_day():
    programs = selectors.program_rules_list()
    concept_codes = selectors.concept_codes()
    assert programs and concept_codes
    population = _population(400)
    statuses = set()
    for as_of in (dt.date(2026, 11, 23), dt.date(2024, 2, 29), dt.date(2021, 7, 1)):
        prepared = [
            prepare_rules(program_name=e.program.name, rules=e.rules, concept_codes=concept_codes)
            for e in programs
        ]
        for facts in population:
            for entry, rules in zip(programs, prepared, strict=True):
                once = evaluate_prepared(facts=facts, rules=rules, as_of=as_of)
                each = evaluate_care_gap(
                    facts=facts,
                    program_name=entry.program.name,
                    rules=entry.rules,
                    concept_codes=concept_codes,
                    as_of=as_of,
                )
                assert once == each
                statuses.add(once.status)
    assert statuses == {"not_eligible", "excluded", "overdue", "up_to_date", "due_soon"}
