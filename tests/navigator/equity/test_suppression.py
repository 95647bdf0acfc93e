"""Small-cell suppression: CMS's 1-to-10 rule, and the complementary cells that keep a
hidden count from being worked back out of a total or a margin."""

from __future__ import annotations

import random

import pytest
from scipy.optimize import linprog

from navigator.equity.stats import stratified_statistics
from navigator.equity.suppression import (
    TOTAL,
    Line,
    _exposed,
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


def _exposed_one_lp_per_bound(cells, lines, hidden):
    """What the audit must find, the slow way: every hidden numerator's and
    denominator's own minimum and maximum, one LP each, pinned when under a unit apart."""
    order = sorted(hidden, key=repr)
    index = {key: position for position, key in enumerate(order)}
    size = len(order)
    equalities, values = [], []
    for line in lines:
        members = [(line.total, -1.0)] + [(part, 1.0) for part in line.parts]
        if not any(key in index for key, _ in members):
            continue
        for offset, which in ((0, 0), (size, 1)):
            row, constant = [0.0] * (2 * size), 0.0
            for key, sign in members:
                if key in index:
                    row[offset + index[key]] += sign
                else:
                    constant -= sign * cells[key][which]
            equalities.append(row)
            values.append(constant)
    at_most = [[1.0 if c == p else -1.0 if c == size + p else 0.0 for c in range(2 * size)]
               for p in range(size)]  # fmt: skip
    bounds = [(0, None)] * size + [(min(1, cells[key][1]), None) for key in order]
    exposed = set()
    for key in order:
        for variable in (index[key], size + index[key]):
            ends = []
            for sign in (1.0, -1.0):
                objective = [0.0] * (2 * size)
                objective[variable] = sign
                result = linprog(
                    objective, A_ub=at_most, b_ub=[0.0] * size, A_eq=equalities or None,
                    b_eq=values or None, bounds=bounds, method="highs",
                )  # fmt: skip
                ends.append(result.x[variable] if result.status == 0 else None)
            if None not in ends and ends[1] - ends[0] < 1 - 1e-9:
                exposed.add(key)
    return exposed


@pytest.mark.parametrize("seed", range(12))
def test_the_audit_finds_exactly_the_cells_one_lp_per_bound_finds(seed):
    # Given a two-way table with margins, full of small and empty cells, and some of
    # its cells hidden (the small ones and a few others)
    rng = random.Random(seed)
    rows, columns = range(rng.randint(2, 6)), range(rng.randint(2, 5))
    table = {}
    for row in rows:
        for column in columns:
            denominator = rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 40, 200])
            table[(row, column)] = (rng.randint(0, denominator), denominator)
    cells, lines = _two_way_lines(table, rows, columns)
    hidden = {key for key, (n, d) in cells.items() if is_small(n) or is_small(d)}
    hidden |= set(rng.sample(sorted(cells, key=repr), k=len(cells) // 4))
    # When the audit looks for the hidden cells the shown figures pin down
    exposed = _exposed(cells, lines, hidden)
    # Then it finds the same ones as the exhaustive search
    assert exposed == _exposed_one_lp_per_bound(cells, lines, hidden)


def _two_way_lines(table, rows, columns):
    cells, lines = dict(table), []
    for row in rows:
        parts = tuple((row, column) for column in columns)
        cells[(row, TOTAL)] = tuple(map(sum, zip(*(table[p] for p in parts), strict=True)))
        lines.append(Line((row, TOTAL), parts))
    for column in columns:
        parts = tuple((row, column) for row in rows)
        cells[(TOTAL, column)] = tuple(map(sum, zip(*(table[p] for p in parts), strict=True)))
        lines.append(Line((TOTAL, column), parts))
    cells[(TOTAL, TOTAL)] = tuple(map(sum, zip(*table.values(), strict=True)))
    lines.append(Line((TOTAL, TOTAL), tuple((row, TOTAL) for row in rows)))
    lines.append(Line((TOTAL, TOTAL), tuple((TOTAL, column) for column in columns)))
    return cells, lines
