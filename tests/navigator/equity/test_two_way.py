"""Two-way tables: each cell against its own row's reference cell, Holm across the page,
complementary suppression audited from what the table shows; and overlapping groups
with rates only. P-values are R 4.2.2's (the calls beside them), as in test_stats."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
from scipy.optimize import linprog

from navigator.equity.stats import rate_with_interval
from navigator.equity.suppression import TOTAL
from navigator.equity.two_way import (
    TwoWayTable,
    hidden_row,
    overlapping_statistics,
    two_way_statistics,
)

approx = pytest.approx

ROWS = [("hispanic", "Hispanic or Latino"), ("white", "White"), ("black", "Black")]
COLUMNS = [
    ("spanish", "Spanish"),
    ("english", "English"),
    ("portuguese", "Portuguese"),
    ("other", "Other languages"),
]


def given_language_within_ethnicity():
    return {
        ("hispanic", "spanish"): (120, 400),
        ("hispanic", "english"): (300, 600),
        ("hispanic", "portuguese"): (20, 45),
        ("hispanic", "other"): (5, 30),  # 5 screened: hidden
        ("white", "spanish"): (56, 70),
        ("white", "english"): (48, 80),
        ("white", "portuguese"): (25, 50),
        ("white", "other"): (30, 60),
        ("black", "spanish"): (140, 280),
        ("black", "english"): (300, 600),
        ("black", "portuguese"): (30, 60),
        ("black", "other"): (60, 120),
    }


def test_each_cell_is_compared_with_its_own_rows_reference_and_holm_runs_across_the_page():
    table = two_way_statistics(given_language_within_ethnicity(), ROWS, COLUMNS, "english")
    cells = table.cells

    # Spanish against English inside each row:
    # R: prop.test(c(120, 300), c(400, 600), correct=FALSE)$p.value -> 3.43732561e-10
    # R: prop.test(c(56, 48), c(70, 80), correct=FALSE)$p.value -> 0.008045081368
    # 140/280 against 300/600: the same rate, p = 1
    assert cells[("hispanic", "spanish")].p_value == approx(3.43732561e-10, rel=1e-7)
    assert cells[("white", "spanish")].p_value == approx(0.008045081368, rel=1e-8)
    assert cells[("black", "spanish")].p_value == approx(1.0)
    # R: p.adjust(c(3.43732561e-10, 0.008045081368, 1), "holm")
    #    -> 1.031197683e-09 0.016090162736 1
    assert cells[("hispanic", "spanish")].p_adjusted == approx(1.031197683e-09, rel=1e-7)
    assert cells[("white", "spanish")].p_adjusted == approx(0.016090162736, rel=1e-8)
    assert cells[("black", "spanish")].p_adjusted == approx(1.0)
    # The differences are within the row: 0.3 - 0.5 and 0.8 - 0.6
    assert cells[("hispanic", "spanish")].difference == approx(-0.2)
    assert cells[("white", "spanish")].difference == approx(0.2)
    assert cells[("hispanic", "spanish")].significant and cells[("hispanic", "spanish")].meaningful
    assert cells[("black", "spanish")].significant is False
    # The reference cells are marked and not compared with themselves
    for row, _ in ROWS:
        reference = cells[(row, "english")]
        assert reference.is_reference and reference.p_value is None and not reference.suppressed


def test_the_small_cell_and_its_complements_are_hidden_and_never_compared():
    table = two_way_statistics(given_language_within_ethnicity(), ROWS, COLUMNS, "english")

    hidden = {key for key, cell in table.cells.items() if cell.suppressed}

    assert ("hispanic", "other") in hidden
    assert len(hidden) > 1  # one hidden cell alone would be its row total minus the rest
    for key in hidden:
        values = dataclasses.asdict(table.cells[key])
        numbers = {k: v for k, v in values.items() if k not in {"key", "label", "suppressed"}}
        assert set(numbers.values()) <= {None, False}
    # Every margin stays shown: the complements are cells, not totals
    assert not any(row.suppressed for row in table.row_totals.values())
    assert not any(column.suppressed for column in table.column_totals.values())
    assert not table.grand_total.suppressed


def test_no_hidden_cell_can_be_worked_out_from_what_the_table_shows():
    table = two_way_statistics(given_language_within_ethnicity(), ROWS, COLUMNS, "english")

    for key, (low, high) in _feasible_ranges(table).items():
        # Then every hidden numerator and denominator could be at least two values
        assert high - low >= 1 - 1e-9, key


def test_the_audit_would_catch_a_cell_hidden_on_its_own(settings):
    # Given a table with nothing hidden, from which one cell is then taken out alone
    settings.EQUINAV_SMALL_CELL_MAX = 4
    table = two_way_statistics(given_language_within_ethnicity(), ROWS, COLUMNS, "english")
    key = ("hispanic", "other")
    alone = dataclasses.replace(
        table, cells={**table.cells, key: hidden_row(key, "", is_reference=False)}
    )

    # Then its row total gives it away: 5 of 30, exactly
    ranges = _feasible_ranges(alone)
    assert ranges[(key, "numerator")] == approx((5, 5))
    assert ranges[(key, "denominator")] == approx((30, 30))


def test_margins_carry_the_sums_rates_and_intervals_without_comparisons():
    cells = given_language_within_ethnicity()
    table = two_way_statistics(cells, ROWS, COLUMNS, "english")

    hispanic = table.row_totals["hispanic"]
    assert (hispanic.numerator, hispanic.denominator) == (445, 1075)
    expected = rate_with_interval(445, 1075)
    assert (hispanic.rate, hispanic.ci_low, hispanic.ci_high) == (
        expected.rate,
        expected.ci_low,
        expected.ci_high,
    )
    spanish = table.column_totals["spanish"]
    assert (spanish.numerator, spanish.denominator) == (316, 750)
    assert (table.grand_total.key, table.grand_total.label) == (TOTAL, "All patients")
    assert (table.grand_total.numerator, table.grand_total.denominator) == (
        sum(n for n, _ in cells.values()),
        sum(d for _, d in cells.values()),
    )
    assert all(
        margin.p_value is None and margin.difference is None
        for margin in (*table.row_totals.values(), *table.column_totals.values())
    )


def test_a_row_whose_reference_cell_is_hidden_has_no_comparison():
    # Given Asian patients with 6 English speakers screened of 40
    cells = {
        ("hispanic", "spanish"): (120, 400),
        ("hispanic", "english"): (300, 600),
        ("hispanic", "other"): (40, 100),
        ("asian", "spanish"): (80, 200),
        ("asian", "english"): (6, 40),
        ("asian", "other"): (20, 45),
        ("white", "spanish"): (150, 300),
        ("white", "english"): (54, 90),
        ("white", "other"): (30, 50),
    }
    rows = [("hispanic", "Hispanic or Latino"), ("asian", "Asian"), ("white", "White")]
    columns = [("spanish", "Spanish"), ("english", "English"), ("other", "Other languages")]

    table = two_way_statistics(cells, rows, columns, "english")

    # Then the smallest rectangle through it is hidden: a second reference cell (White,
    # English) goes with it, as any rectangle through a reference cell must
    hidden = {key for key, cell in table.cells.items() if cell.suppressed}
    assert hidden == {
        ("asian", "english"),
        ("asian", "other"),
        ("white", "english"),
        ("white", "other"),
    }
    # And no shown cell of those two rows is compared (its difference would give the
    # hidden reference's rate away)
    for row in ("asian", "white"):
        spanish = table.cells[(row, "spanish")]
        assert not spanish.suppressed and spanish.rate is not None
        assert (spanish.difference, spanish.p_value, spanish.meaningful) == (None, None, None)
    # While Hispanic or Latino patients' cells are, with Holm across those two only:
    # 40/100 vs 300/600 by hand: pooled 340/700, z = 0.1 / sqrt(p(1-p)(1/100 + 1/600))
    # = 1.852406, p = erfc(z / sqrt(2)) = 0.0639689170
    # (R: prop.test(c(40, 300), c(100, 600), correct=FALSE)$p.value);
    # R: p.adjust(c(3.43732561e-10, 0.0639689170), "holm") -> 6.87465122e-10 0.0639689170
    pooled = 340 / 700
    z = 0.1 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 600))
    other = table.cells[("hispanic", "other")]
    assert other.p_value == approx(math.erfc(z / math.sqrt(2)), rel=1e-9)
    assert other.p_value == approx(0.0639689170, rel=1e-8)
    assert other.p_adjusted == approx(0.0639689170, rel=1e-8)
    assert table.cells[("hispanic", "spanish")].p_adjusted == approx(6.87465122e-10, rel=1e-7)
    for key, (low, high) in _feasible_ranges(table).items():
        assert high - low >= 1 - 1e-9, key


def test_a_missing_cell_counts_no_one_and_the_grid_keeps_the_order_given():
    cells = given_language_within_ethnicity()
    del cells[("black", "portuguese")]
    cells[("black", "other")] = (90, 180)

    table = two_way_statistics(cells, ROWS, COLUMNS, "english")

    assert isinstance(table, TwoWayTable)
    assert [[cell.key for cell in row] for row in table.grid()] == [
        [(row, column) for column, _ in COLUMNS] for row, _ in ROWS
    ]
    assert table.cells[("hispanic", "spanish")].label == "Hispanic or Latino, Spanish"


def test_the_threshold_setting_reaches_the_two_way_table(settings):
    settings.EQUINAV_SMALL_CELL_MAX = 4
    table = two_way_statistics(given_language_within_ethnicity(), ROWS, COLUMNS, "english")

    assert not any(cell.suppressed for cell in table.cells.values())


def test_inputs_that_do_not_make_a_table_are_refused():
    cells = given_language_within_ethnicity()
    with pytest.raises(ValueError, match="reference column"):
        two_way_statistics(cells, ROWS, COLUMNS, "klingon")
    with pytest.raises(ValueError, match="outside the rows and columns"):
        two_way_statistics({**cells, ("asian", "english"): (1, 2)}, ROWS, COLUMNS, "english")
    with pytest.raises(ValueError, match="own key"):
        two_way_statistics(cells, [*ROWS, ROWS[0]], COLUMNS, "english")
    with pytest.raises(ValueError, match="numerator <= denominator"):
        two_way_statistics({("white", "english"): (9, 3)}, ROWS, COLUMNS, "english")


def test_overlapping_groups_get_rates_and_intervals_only_and_hide_only_small_cells():
    # Given race "alone or in combination": a patient choosing two races is in both
    groups = [
        ("white", "White", 300, 600),
        ("hispanic", "Hispanic or Latino", 120, 400),
        ("asian", "Asian", 7, 30),
        ("black", "Black or African American", 140, 280),
    ]

    rows = overlapping_statistics(groups)

    # Then no group is compared or tested, none is the reference
    assert all(
        row.difference is None and row.ratio is None and row.p_value is None
        and row.significant is None and row.meaningful is None and not row.is_reference
        for row in rows
    )  # fmt: skip
    # And with no total line to protect, only the small group is hidden
    assert [row.key for row in rows if row.suppressed] == ["asian"]
    white = rows[0]
    assert (white.rate, white.ci_low, white.ci_high) == tuple(
        dataclasses.astuple(rate_with_interval(300, 600))
    )


def _feasible_ranges(table: TwoWayTable) -> dict[tuple, tuple[float, float]]:
    """What a reader can work out of each hidden cell's numerator and denominator from
    the table as shown (shown cells and margins, each margin the sum of its cells), by
    linear programming: the smallest and largest value each could take."""
    hidden = [key for key, cell in table.cells.items() if cell.suppressed]
    index = {key: position for position, key in enumerate(hidden)}
    size = len(hidden)
    equalities, values = [], []
    lines = [
        (table.row_totals[row], [(row, column) for column, _ in table.columns])
        for row, _ in table.rows
    ] + [
        (table.column_totals[column], [(row, column) for row, _ in table.rows])
        for column, _ in table.columns
    ]
    for total, members in lines:
        if total.suppressed:
            continue
        for offset, field in ((0, "numerator"), (size, "denominator")):
            row = [0.0] * (2 * size)
            value = float(getattr(total, field))
            for key in members:
                if key in index:
                    row[offset + index[key]] = 1.0
                else:
                    value -= getattr(table.cells[key], field)
            equalities.append(row)
            values.append(value)
    numerator_at_most_denominator = [
        [1.0 if i == j else -1.0 if i == j + size else 0.0 for i in range(2 * size)]
        for j in range(size)
    ]
    bounds = [(0, None)] * size + [(1, None)] * size
    ranges = {}
    for key, offset in itertools.product(hidden, (0, size)):
        extremes = []
        for sign in (1.0, -1.0):
            objective = [0.0] * (2 * size)
            objective[offset + index[key]] = sign
            result = linprog(
                objective,
                A_ub=numerator_at_most_denominator,
                b_ub=[0.0] * size,
                A_eq=equalities or None,
                b_eq=values or None,
                bounds=bounds,
                method="highs",
            )
            assert result.status in (0, 3), result.message  # solved, or unbounded
            extremes.append(result.x[offset + index[key]] if result.status == 0 else float("inf"))
        ranges[(key, "numerator" if offset == 0 else "denominator")] = (
            extremes[0],
            extremes[1],
        )
    return ranges
