"""The change in HbA1c/GMI after coaching: which values pair, the mean and its
interval equal a plain computation, and small groups are hidden with a complement."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from scipy import stats

from navigator.equity.control_change import Pair, change_pairs, change_rows, mean_interval
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


def coached(first: str, labs, *, sex="female"):
    patient = PatientFactory(sex=sex)
    gap(patient, "poor_control")
    case = CaseFactory(patient=patient, program=program("diabetes"))
    CoachingSessionFactory(case=case, scheduled_at=at(first), status="attended", minutes_spent=60)
    for lab in labs:
        ehr_resource(patient, lab)
    return patient


def pairs_by_sex():
    return change_pairs(
        patients=programme_patients(program("diabetes"), EVERYONE),
        program=program("diabetes"),
        dimension=DIMENSIONS["sex"],
        groups=["female", "male", "other", "not_recorded"],
        today=TODAY.date(),
        now=timezone.now(),
    )


def test_the_baseline_is_the_last_value_before_the_first_session_and_the_follow_up_3_months_on():
    # Given labs before, during the first 3 months, and after (two HbA1c on 1 August,
    # and a GMI that day, which the change leaves out: lab HbA1c only)
    patient = coached(
        "2026-02-01",
        [hba1c("2025-10-01", 10.4), hba1c("2026-01-20", 9.8), hba1c("2026-03-15", 8.0),
         hba1c("2026-06-10", 8.6), gmi("2026-08-01", 7.9), hba1c("2026-08-01", 8.4),
         hba1c("2026-08-01", 8.1)],
    )  # fmt: skip

    (pair,) = pairs_by_sex()

    # Then 9.8 (last before) and the lowest HbA1c of 1 August (8.1): -1.7
    assert pair.patient_id == patient.pk
    assert (pair.baseline, pair.follow_up) == (Decimal("9.8"), Decimal("8.1"))
    assert pair.change == pytest.approx(-1.7)


def test_a_gmi_is_never_a_baseline_or_a_follow_up():
    # Given one patient with a GMI baseline and a lab follow-up, another the reverse
    coached("2026-02-01", [gmi("2026-01-20", 9.8), hba1c("2026-07-01", 8.0)])
    coached("2026-02-01", [hba1c("2026-01-20", 9.8), gmi("2026-07-01", 8.0)])

    # Then neither is paired
    assert pairs_by_sex() == []


def test_the_baseline_is_within_12_months_before_the_first_session():
    # Given one patient whose last HbA1c before was 12 months and a day before the first
    # session, another's exactly 12 months before
    coached("2026-02-01", [hba1c("2025-01-31", 9.9), hba1c("2026-07-01", 8.0)])
    inside = coached("2026-02-01", [hba1c("2025-02-01", 9.5), hba1c("2026-07-01", 8.0)])

    # Then only the second is paired
    (pair,) = pairs_by_sex()
    assert (pair.patient_id, pair.baseline) == (inside.pk, Decimal("9.5"))


def test_a_patient_without_a_value_3_months_on_or_before_is_not_paired():
    coached("2026-07-01", [hba1c("2026-06-01", 9.5), hba1c("2026-09-01", 8.0)])  # < 3 months
    coached("2026-02-01", [hba1c("2026-06-01", 8.0)])  # nothing before
    coached("2026-02-01", [hba1c("2026-01-01", 9.0, comparator=">"), hba1c("2026-06-01", 8.0)])

    assert pairs_by_sex() == []


def test_a_patient_never_coached_is_not_counted():
    patient = PatientFactory()
    gap(patient, "poor_control")
    CaseFactory(patient=patient, program=program("diabetes"))
    ehr_resource(patient, hba1c("2025-01-01", 10.0))
    ehr_resource(patient, hba1c("2026-06-01", 8.0))

    assert pairs_by_sex() == []


def test_the_mean_and_interval_are_a_paired_t_interval():
    changes = [-1.2, -0.4, 0.3, -2.0, -0.9]

    mean, low, high = mean_interval(changes)

    expected = stats.t.interval(
        0.95, len(changes) - 1, loc=statistics.fmean(changes), scale=stats.sem(changes)
    )
    assert mean == pytest.approx(statistics.fmean(changes))
    assert (low, high) == pytest.approx(expected)


def test_groups_of_1_to_10_pairs_are_hidden_with_a_complement_and_no_number():
    # Given 14 women and 3 men with pairs
    for index in range(14):
        coached("2026-02-01", [hba1c("2026-01-10", 9.0 + index / 10), hba1c("2026-07-01", 8.0)])
    for _ in range(3):
        coached("2026-02-01", [hba1c("2026-01-10", 9.0), hba1c("2026-07-01", 8.5)], sex="male")
    pairs = pairs_by_sex()
    assert len(pairs) == 17

    rows, total = change_rows(
        pairs, [("female", "Female"), ("male", "Male"), ("not_recorded", "Not recorded")],
        reference="female",
    )  # fmt: skip

    by_key = {row.key: row for row in rows}
    # Then the men are hidden; and with the total shown the women would give them away,
    # so either the women or the total are hidden too
    assert by_key["male"].suppressed and by_key["male"].n is None and by_key["male"].mean is None
    assert by_key["female"].suppressed or total is None
    if not by_key["female"].suppressed:
        assert by_key["female"].n == 14
        assert by_key["female"].mean == pytest.approx(
            statistics.fmean(8.0 - (9.0 + i / 10) for i in range(14))
        )


def test_a_shown_group_is_compared_with_the_reference_by_welchs_test():
    groups = {"female": [-1.0, -0.5, -0.2, -1.4, -0.8, -0.1, -0.9, -1.1, -0.3, -0.6, -0.7],
              "male": [0.1, -0.2, 0.3, 0.0, -0.1, 0.4, 0.2, -0.3, 0.1, 0.0, 0.2, 0.5]}  # fmt: skip
    pairs = [
        Pair(i, key, Decimal("9"), Decimal("9") + Decimal(str(change)))
        for key, changes in groups.items()
        for i, change in enumerate(changes)
    ]

    rows, total = change_rows(pairs, [("female", "F"), ("male", "M")], reference="female")

    male = rows[1]
    welch = stats.ttest_ind(groups["male"], groups["female"], equal_var=False)
    assert male.p_adjusted == pytest.approx(welch.pvalue)
    assert male.difference == pytest.approx(
        statistics.fmean(groups["male"]) - statistics.fmean(groups["female"])
    )
    assert rows[0].is_reference and total is not None and total.n == 23
    assert total.ci_low is not None and not math.isnan(total.ci_low)


def test_first_session_is_the_earliest_of_individual_and_group():
    patient = coached("2026-03-01", [hba1c("2026-01-05", 9.9), hba1c("2026-06-05", 8.2)])
    # An earlier individual session moves the first day before the January value
    case = patient.navigation_cases.get()
    CoachingSessionFactory(
        case=case, scheduled_at=at("2025-12-01"), status="attended", minutes_spent=30
    )
    ehr_resource(patient, hba1c("2025-11-01", 10.5))

    (pair,) = pairs_by_sex()

    # Then the baseline is the value before 1 December, not the January one
    assert pair.baseline == Decimal("10.5")


def test_a_value_years_before_coaching_is_not_its_baseline():
    # Given a patient coached from February 2026 whose last value before was in 2019
    coached("2026-02-01", [hba1c("2019-03-01", 6.4), hba1c("2026-07-01", 9.9)])

    # Then no change is computed for them (a 2019 value says nothing of February 2026)
    assert pairs_by_sex() == []


def test_a_change_pairs_an_hba1c_with_an_hba1c_when_both_were_measured():
    # Given an HbA1c baseline, and 5 months on a lab HbA1c of 8.6 % and, the same day,
    # a GMI of 7.1 % from the patient's monitor
    coached(
        "2026-02-01",
        [hba1c("2026-01-20", 9.8), hba1c("2026-07-01", 8.6), gmi("2026-07-01", 7.1)],
    )

    (pair,) = pairs_by_sex()

    # Then the follow-up is the HbA1c (a fall of 1.2 points, not 2.7)
    assert pair.change == pytest.approx(-1.2)
