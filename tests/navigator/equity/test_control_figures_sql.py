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
from tests.factories import program
from tests.navigator.equity.control_world import TODAY, at, build_world, plain_figures, sex_key

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
