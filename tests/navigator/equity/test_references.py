"""Which group the others are compared with."""

from __future__ import annotations

import pytest

from navigator.equity.references import UnknownReferenceGroup, reference_group

RACE = [
    ("hispanic", "Hispanic or Latino alone", 40, 100),
    ("white", "White alone", 60, 90),
    ("black", "Black or African American alone", 10, 20),
    ("not_recorded", "Not recorded", 50, 300),
]


def test_race_compares_with_white_patients_by_default_even_when_another_group_is_larger():
    assert reference_group("race", RACE) == "white"


def test_the_manager_may_choose_any_group_of_the_table():
    assert reference_group("race", RACE, "black") == "black"


def test_a_group_not_in_the_table_is_refused_with_the_groups_one_may_choose():
    with pytest.raises(UnknownReferenceGroup, match="“martian” is not a group") as error:
        reference_group("race", RACE, "martian")
    assert "white" in str(error.value)


def test_without_a_preset_the_largest_recorded_group_is_the_reference():
    groups = [("en", "English", 1, 50), ("es", "Spanish", 1, 80), ("not_recorded", "NR", 1, 500)]
    assert reference_group("language", groups) == "es"


def test_a_preset_group_with_nobody_falls_back_to_the_largest_recorded_group():
    groups = [("hispanic", "H", 1, 30), ("white", "W", 0, 0), ("asian", "A", 1, 10)]
    assert reference_group("race", groups) == "hispanic"


def test_a_tie_goes_to_the_group_listed_first():
    groups = [("b", "B", 1, 10), ("a", "A", 1, 10)]
    assert reference_group("clinic", groups) == "b"


def test_a_table_of_missing_data_only_has_no_reference():
    groups = [("other", "Other", 1, 10), ("not_recorded", "NR", 1, 500)]
    assert reference_group("language", groups) is None
