"""The nightly care-gap run and a control programme: a diabetic patient in a gap gets a
case, which stays open while the labs come and go (one lab does not end the work)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from navigator.intake.care_gaps import care_gaps_refresh
from navigator.models import NavigationCase
from tests.factories import CaseFactory, NavigatorFactory, PatientFactory, program
from tests.support.fhir import diabetes, ehr_resource, hba1c

pytestmark = pytest.mark.django_db


def at(day: str):
    return time_machine.travel(dt.datetime.fromisoformat(f"{day}T07:00:00+00:00"), tick=False)


def diabetes_cases(patient) -> list[NavigationCase]:
    return list(NavigationCase.objects.filter(patient=patient, program__code="diabetes"))


def test_a_diabetic_not_tested_this_year_gets_a_case_saying_why():
    NavigatorFactory()
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))

    with at("2026-06-01"):
        result = care_gaps_refresh(as_of=dt.date(2026, 6, 1), patient_ids=[patient.pk])

    (case,) = diabetes_cases(patient)
    assert case.is_open
    assert result.statuses["untested"] == 1
    assert case.events.get(kind="opened").summary == (
        "Case opened (care gap: Not tested this year: no HbA1c or GMI since 2026-01-01)"
    )


def test_a_diabetic_at_target_gets_no_case_and_one_in_poor_control_does():
    NavigatorFactory()
    controlled = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(controlled, diabetes("2019-03-01"))
    ehr_resource(controlled, hba1c("2026-03-02", 7.2))
    poor = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(poor, diabetes("2019-03-01"))
    ehr_resource(poor, hba1c("2026-03-02", 9.4))

    with at("2026-06-01"):
        care_gaps_refresh(as_of=dt.date(2026, 6, 1), patient_ids=[controlled.pk, poor.pk])

    assert diabetes_cases(controlled) == []
    assert len(diabetes_cases(poor)) == 1


def test_exactly_9_opens_no_case():
    NavigatorFactory()
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))
    ehr_resource(patient, hba1c("2026-03-02", "9.0"))

    with at("2026-06-01"):
        care_gaps_refresh(as_of=dt.date(2026, 6, 1), patient_ids=[patient.pk])

    assert diabetes_cases(patient) == []


def test_a_lab_at_target_does_not_close_the_control_case_and_a_later_gap_opens_no_second():
    navigator = NavigatorFactory()
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))
    case = CaseFactory(patient=patient, program=program("diabetes"), navigator=navigator)

    # Given a lab at target arrives
    ehr_resource(patient, hba1c("2026-05-20", 7.0))
    with at("2026-06-01"):
        result = care_gaps_refresh(as_of=dt.date(2026, 6, 1), patient_ids=[patient.pk])

    # Then the case stays open (the patient stays enrolled)
    case.refresh_from_db()
    assert case.is_open
    assert result.cases_closed == 0

    # And when the next lab is above 9, no second case is opened beside it
    ehr_resource(patient, hba1c("2026-09-01", 9.6))
    with at("2026-09-02"):
        result = care_gaps_refresh(as_of=dt.date(2026, 9, 2), patient_ids=[patient.pk])

    assert result.cases_opened == 0
    assert diabetes_cases(patient) == [case]


def test_moving_from_untested_to_poor_control_opens_nothing_new():
    NavigatorFactory()
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))
    with at("2026-02-01"):
        care_gaps_refresh(as_of=dt.date(2026, 2, 1), patient_ids=[patient.pk])
    (case,) = diabetes_cases(patient)
    case.status = "closed"
    case.save(update_fields=["status"])

    ehr_resource(patient, hba1c("2026-03-02", 9.8))
    with at("2026-03-03"):
        result = care_gaps_refresh(as_of=dt.date(2026, 3, 3), patient_ids=[patient.pk])

    # (Closed by a navigator; the gap changed kind but the patient was in a gap already.)
    assert result.cases_opened == 0


def test_a_control_programme_that_opens_no_cases_automatically_opens_none():
    NavigatorFactory()
    diabetes_programme = program("diabetes")
    diabetes_programme.open_cases_automatically = False
    diabetes_programme.save(update_fields=["open_cases_automatically"])
    patient = PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes("2019-03-01"))

    with at("2026-06-01"):
        care_gaps_refresh(as_of=dt.date(2026, 6, 1), patient_ids=[patient.pk])

    assert diabetes_cases(patient) == []
