"""Small-cell suppression: CMS's 1-to-10 rule, and the complementary cells that keep a
hidden count from being worked back out of a total or a margin."""

from __future__ import annotations

from navigator.equity.stats import stratified_statistics
from navigator.equity.suppression import (
    TOTAL,
    is_small,
    suppress_groups,
    suppress_two_way,
    suppressed_label,
)


def test_counts_from_one_to_ten_are_small_and_zero_is_not():
    # CMS cell-size policy: cells of 1 to 10 are hidden; 0 is outside that range
    assert [is_small(n) for n in (0, 1, 10, 11)] == [False, True, True, False]


def test_the_threshold_is_a_setting_and_the_label_follows_it(settings):
    settings.EQUINAV_SMALL_CELL_MAX = 20

    assert is_small(15) and not is_small(21)
    assert suppressed_label() == "<21"


def test_the_default_label_is_less_than_eleven():
    assert suppressed_label() == "<11"


def test_one_small_group_beside_a_shown_total_hides_the_next_smallest_too():
    # Given a total of 360 and one group of 1 screened of 50
    groups = {"a": (30, 70), "b": (1, 50), "c": (100, 200), "d": (20, 40)}

    hidden = suppress_groups(groups, total=(151, 360))

    # Then the next smallest group (d, 40) is hidden with it: total - the others no
    # longer gives b
    assert hidden == {"b", "d"}


def test_without_a_shown_total_one_small_group_hides_only_itself():
    assert suppress_groups({"a": (30, 70), "b": (1, 50)}, total=None) == {"b"}


def test_two_hidden_groups_whose_sum_gives_both_away_hide_a_third():
    # Given two groups of 1 of 1: the total leaves 2 of 2 for them, so each is 1 of 1
    groups = {"a": (30, 70), "b": (1, 1), "c": (1, 1), "d": (20, 40)}

    hidden = suppress_groups(groups, total=(52, 112))

    assert hidden == {"b", "c", "d"}


def test_a_not_recorded_group_is_a_group_like_any_other():
    groups = {"white": (300, 600), "asian": (5, 30), "not recorded": (20, 50)}

    assert suppress_groups(groups, total=(325, 680)) == {"asian", "not recorded"}


def test_zero_counts_are_shown_and_never_chosen_to_hide_another():
    # Nothing small: zeros stay shown
    assert suppress_groups({"a": (0, 30), "b": (0, 40)}, total=(0, 70)) == set()
    # An empty group is no cover: the total itself is hidden instead
    assert suppress_groups({"a": (0, 0), "b": (5, 40)}, total=(5, 40)) == {"b", TOTAL}


def test_a_two_way_table_hides_a_rectangle_so_no_margin_gives_a_cell_away():
    # Given 5 of 50 in row r1, column c1, with every row and column total shown
    table = {
        ("r1", "c1"): (5, 50),
        ("r1", "c2"): (30, 60),
        ("r1", "c3"): (30, 100),
        ("r2", "c1"): (40, 80),
        ("r2", "c2"): (50, 90),
        ("r2", "c3"): (50, 120),
    }

    hidden = suppress_two_way(table)

    # Then a second cell in its row and in its column, and the corner closing the
    # rectangle, are hidden; every margin stays shown
    assert hidden == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}


def test_a_small_margin_is_hidden_with_its_cells():
    # Given a row whose total is 8 (two cells of 4 each)
    table = {
        ("r1", "c1"): (2, 4),
        ("r1", "c2"): (2, 4),
        ("r2", "c1"): (40, 80),
        ("r2", "c2"): (50, 90),
    }

    hidden = suppress_two_way(table)

    assert {("r1", "c1"), ("r1", "c2"), ("r1", TOTAL)} <= hidden
    # And the grand total less row r2's total would give row r1's: more is hidden
    assert len(hidden) > 3


def test_the_threshold_setting_changes_what_the_statistics_hide(settings):
    groups = [("white", "White", 300, 600), ("asian", "Asian", 12, 30), ("black", "Black", 40, 90)]

    assert not any(row.suppressed for row in stratified_statistics(groups, "white"))

    settings.EQUINAV_SMALL_CELL_MAX = 15
    rows = {row.key: row for row in stratified_statistics(groups, "white")}

    assert rows["asian"].suppressed and rows["asian"].numerator is None
    assert rows["black"].suppressed  # its complement, beside the shown total


def test_no_suppressed_count_appears_anywhere_in_the_rows():
    groups = [
        ("white", "White", 300, 600),
        ("asian", "Asian", 7, 23),
        ("other", "Another race", 3, 9),
        ("unknown", "Not recorded", 19, 57),
    ]

    rows = stratified_statistics(groups, "white")
    shown_numbers = [
        value for row in rows if not row.suppressed for value in (row.numerator, row.denominator)
    ]
    hidden_counts = {7, 23, 3, 9}

    assert [row.key for row in rows if row.suppressed] == ["asian", "other"]
    assert not hidden_counts & set(shown_numbers)
    for row in rows:
        if row.suppressed:
            assert (row.numerator, row.denominator, row.rate, row.ci_low, row.p_value) == (
                None,
                None,
                None,
                None,
                None,
            )
