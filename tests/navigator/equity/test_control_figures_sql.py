"""The control dashboard's figures, counted in one grouped query, equal the same
figures read patient by patient in plain Python, for a random world of patients,
sessions, group attendance (make-ups, withdrawals) and labs."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from navigator.equity.control_figures import COUNTS, YearWindow, control_figures
from navigator.equity.dimensions import DIMENSIONS
from navigator.equity.scope import ALL_DIMENSIONS, EquityScope
from navigator.models import GroupAttendance
from navigator.selectors.coaching import education_hours
from tests.factories import (
    CaseFactory,
    CoachingSessionFactory,
    GroupEnrolmentFactory,
    GroupSeriesFactory,
    GroupSessionFactory,
    NavigatorFactory,
    PatientFactory,
    program,
)
from tests.navigator.equity.control_world import (
    TODAY,
    at,
    build_world,
    gap,
    plain_figures,
    sex_key,
)

pytestmark = pytest.mark.django_db

EVERYONE = EquityScope("all", dimensions=ALL_DIMENSIONS)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def window() -> YearWindow:
    return YearWindow(at("2026-01-01", 0), at("2027-01-01", 0), timezone.now())


@pytest.mark.parametrize("seed", [16, 122])
def test_each_groups_figures_equal_a_plain_count_patient_by_patient(seed):
    # Given a world drawn from the seed
    world = build_world(seed=seed)

    # When the figures are counted in SQL, by sex
    groups = control_figures(
        program=program("diabetes"), scope=EVERYONE, dimension=DIMENSIONS["sex"],
        window=window(), on=TODAY.date(),
    )  # fmt: skip

    # Then every count of every group is the plain count
    expected = plain_figures(sex_key, patients=world["patients"], year=2026, now=timezone.now())
    assert sum(g.counts["eligible"] for g in groups) == sum(
        e["eligible"] for e in expected.values()
    )
    assert sum(g.counts["coached"] for g in groups) > 3, "the world coaches someone"
    assert sum(g.counts["reached"] for g in groups) > 0, "someone reaches the allowance"
    for group in groups:
        plain = expected.get(group.key, {})
        for name in COUNTS:
            assert group.counts[name] == plain.get(name, 0), (group.key, name)
        assert group.median_minutes == plain.get("median_minutes"), group.key


def test_race_groups_follow_the_race_dimension_and_add_up_to_everyone():
    world = build_world(seed=7)

    groups = control_figures(
        program=program("diabetes"), scope=EVERYONE, dimension=DIMENSIONS["race"],
        window=window(), on=TODAY.date(),
    )  # fmt: skip

    def race_key(patient):
        patient.refresh_from_db()
        return patient.race_group

    expected = plain_figures(race_key, patients=world["patients"], year=2026, now=timezone.now())
    for group in groups:
        for name in COUNTS:
            assert group.counts[name] == expected.get(group.key, {}).get(name, 0), (group.key, name)


def test_a_navigators_scope_counts_their_caseload_only():
    # Given two navigators' worlds
    mine = build_world(seed=3, patients=12)
    build_world(seed=4, patients=12)
    scope = EquityScope("caseload", user_id=mine["navigator"].user.pk, dimensions=ALL_DIMENSIONS)

    groups = control_figures(
        program=program("diabetes"), scope=scope, dimension=DIMENSIONS["sex"],
        window=window(), on=TODAY.date(),
    )  # fmt: skip

    # Then only the patients of their cases count (a patient without a case is nobody's)
    caseload = [p for p in mine["patients"] if p.navigation_cases.exists()]
    assert len(caseload) < len(mine["patients"])
    expected = plain_figures(sex_key, patients=caseload, year=2026, now=timezone.now())
    assert sum(g.counts["eligible"] for g in groups) == sum(
        e["eligible"] for e in expected.values()
    )


def test_hours_and_the_allowance_follow_the_patients_dsmt_period():
    # Given Ana, first trained last June (60 individual minutes), then 9 group hours this
    # spring: her initial 12 months hold 10 hours; and Bo, trained in 2024, with 2 hours
    # this year (follow-up); and Cy, trained in 2024, with 1 hour this year
    navigator = NavigatorFactory()
    diabetes = program("diabetes")
    series = GroupSeriesFactory(program=diabetes, facilitator=navigator.user)
    people = {}
    for name, first, this_year in (
        ("ana", "2025-06-01", 6),
        ("bo", "2024-11-01", 2),
        ("cy", "2024-11-01", 1),
    ):
        patient = PatientFactory(sex="female")
        gap(patient, "poor_control")
        case = CaseFactory(patient=patient, program=diabetes, navigator=navigator)
        CoachingSessionFactory(
            case=case, scheduled_at=at(first), status="attended", minutes_spent=60
        )
        enrolment = GroupEnrolmentFactory(series=series, case=case)
        for number in range(this_year):
            session = GroupSessionFactory(
                series=series, starts_at=at(f"2026-0{number // 2 + 1}-{10 + number % 2 * 5}")
            )
            GroupAttendance.objects.create(
                session=session, enrolment=enrolment, patient=patient, status="attended",
                minutes=90 if name == "ana" else 60, recorded_by=navigator.user,
            )  # fmt: skip
        people[name] = patient

    (female, *_) = control_figures(
        program=diabetes, scope=EVERYONE, dimension=DIMENSIONS["sex"],
        window=window(), on=TODAY.date(),
    )  # fmt: skip

    # Then Ana (600 minutes counted of 600) and Bo (120 of 120) reach it, Cy does not
    hours = {name: education_hours(patient=p, year=2026) for name, p in people.items()}
    assert [h.total_counted >= h.total_allowed for h in hours.values()] == [True, True, False]
    assert female.counts["reached"] == 2
    assert female.counts["minutes"] == sum(h.total_used for h in hours.values()) == 600 + 120 + 60
