"""Review of issue 16 (REVIEW16): the change in HbA1c/GMI after coaching
(navigator/equity/control_change.py). Each test shows a defect found in review and
was marked xfail (strict) until the definition was decided: the baseline within 12
months before the first session, and lab HbA1c paired with lab HbA1c only."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from navigator.equity.control_change import change_pairs
from navigator.equity.control_figures import programme_patients
from navigator.equity.dimensions import DIMENSIONS
from navigator.equity.scope import ALL_DIMENSIONS, EquityScope
from tests.factories import CaseFactory, CoachingSessionFactory, PatientFactory, program
from tests.navigator.equity.control_world import TODAY, at, gap
from tests.support.fhir import ehr_resource, gmi, hba1c

pytestmark = pytest.mark.django_db
EVERYONE = EquityScope("all", dimensions=ALL_DIMENSIONS)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def coached(first: str, labs):
    patient = PatientFactory()
    gap(patient, "poor_control")
    case = CaseFactory(patient=patient, program=program("diabetes"))
    CoachingSessionFactory(case=case, scheduled_at=at(first), status="attended", minutes_spent=60)
    for lab in labs:
        ehr_resource(patient, lab)
    return patient


def pairs():
    return change_pairs(
        patients=programme_patients(program("diabetes"), EVERYONE),
        program=program("diabetes"),
        dimension=DIMENSIONS["sex"],
        groups=["female", "male", "other", "not_recorded"],
        today=TODAY.date(),
        now=timezone.now(),
    )


def test_a_value_years_before_coaching_is_not_its_baseline():
    # Given a patient coached from February 2026 whose last value before was in 2019
    coached("2026-02-01", [hba1c("2019-03-01", 6.4), hba1c("2026-07-01", 9.9)])

    # Then no change is computed for them (a 2019 value says nothing of February 2026)
    assert pairs() == []


def test_a_change_pairs_an_hba1c_with_an_hba1c_when_both_were_measured():
    # Given an HbA1c baseline, and 5 months on a lab HbA1c of 8.6 % and, the same day,
    # a GMI of 7.1 % from the patient's monitor
    coached(
        "2026-02-01",
        [hba1c("2026-01-20", 9.8), hba1c("2026-07-01", 8.6), gmi("2026-07-01", 7.1)],
    )

    (pair,) = pairs()

    # Then the follow-up is the HbA1c (a fall of 1.2 points, not 2.7)
    assert pair.change == pytest.approx(-1.2)
