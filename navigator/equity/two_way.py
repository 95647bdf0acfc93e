"""Two-way tables (e.g. preferred language within race and ethnicity) and overlapping
groups (race counted "alone or in combination").

A two-way table's cells are compared within their row: each shown cell against the
cell of the reference column in the same row (Spanish against English speakers among
Hispanic or Latino patients), with the same statistics as a one-way table
(`stats.compare_to_reference`). Holm's adjustment runs across every compared cell on
the page, as the one-way table's does across its groups. Small cells are hidden first,
with their complements, treating the row totals, column totals and grand total as
shown sums (`suppression.suppress_two_way`); a hidden cell, and every cell whose row's
reference cell is hidden, gets no comparison (a difference would give the hidden rate
away). The margins carry rates and intervals only: they are the one-way tables of each
dimension, compared there.

Groups that overlap (a patient counted once in every race they chose) cannot be tested
against one another (the samples share patients) nor summed into a total, so
`overlapping_statistics` gives rates and intervals only, with no total line.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from navigator.equity.stats import (
    ALPHA,
    Comparison,
    GroupStatistics,
    compare_to_reference,
    group_row,
    hidden_row,
    holm_adjust,
    rate_with_interval,
)
from navigator.equity.suppression import TOTAL, suppress_groups, suppress_two_way

Counts = tuple[int, int]  # (numerator, denominator)
Cell = tuple[Hashable, Hashable]  # (row key, column key)


@dataclass(frozen=True)
class TwoWayTable:
    """The statistics of a rows x columns table, its margins included.

    `cells[(row, column)]` is keyed (row, column) and labelled "<row>, <column>";
    `row_totals[row]`, `column_totals[column]` and `grand_total` carry rates and
    intervals only, keyed by the row or column key (the grand total by `TOTAL`). A
    suppressed entry has its key and label and no numbers."""

    rows: tuple[tuple[Hashable, str], ...]
    columns: tuple[tuple[Hashable, str], ...]
    reference_column: Hashable
    cells: Mapping[Cell, GroupStatistics]
    row_totals: Mapping[Hashable, GroupStatistics]
    column_totals: Mapping[Hashable, GroupStatistics]
    grand_total: GroupStatistics

    def grid(self) -> list[list[GroupStatistics]]:
        """The cells row by row, in the order of `rows` and `columns`."""
        return [[self.cells[(row, column)] for column, _ in self.columns] for row, _ in self.rows]


def two_way_statistics(
    cells: Mapping[Cell, Counts],
    rows: Sequence[tuple[Hashable, str]],
    columns: Sequence[tuple[Hashable, str]],
    reference_column: Hashable,
    *,
    favorable: bool = True,
    alpha: float = ALPHA,
    small_cell_max: int | None = None,
    rows_hidden: Collection[Hashable] | None = None,
    columns_hidden: Collection[Hashable] | None = None,
) -> TwoWayTable:
    """The two-way table of `cells` {(row, column): (numerator, denominator)}; a cell
    that is missing counts no one. Rows and columns are shown in the order given.

    `rows_hidden` and `columns_hidden` (given together) are the groups the one-way
    tables of the two dimensions hide (`TOTAL` among them when their total is hidden):
    the margins then follow those tables exactly, and only inner cells are chosen
    here, so that the page's one-way and two-way tables cannot open each other."""
    row_keys = _keys(rows, "row")
    column_keys = _keys(columns, "column")
    if reference_column not in column_keys:
        raise ValueError(f"the reference column {reference_column!r} is not among the columns")
    unknown = set(cells) - {(row, column) for row in row_keys for column in column_keys}
    if unknown:
        raise ValueError(f"cells outside the rows and columns: {sorted(map(repr, unknown))}")
    grid = [(row, column) for row in row_keys for column in column_keys]
    table: dict[Cell, Counts] = {cell: cells.get(cell, (0, 0)) for cell in grid}
    for numerator, denominator in table.values():
        _check_counts(numerator, denominator)
    margins_hidden = None
    if rows_hidden is not None or columns_hidden is not None:
        margins_hidden = {(row, TOTAL) for row in rows_hidden or ()} | {
            (TOTAL, column) for column in columns_hidden or ()
        }
        if TOTAL in set(rows_hidden or ()) | set(columns_hidden or ()):
            margins_hidden.add((TOTAL, TOTAL))
    hidden = suppress_two_way(
        table, margins=True, maximum=small_cell_max, margins_hidden=margins_hidden
    )

    comparisons: dict[Cell, Comparison] = {}
    for row in row_keys:
        reference = (row, reference_column)
        if reference in hidden:
            continue
        for column in column_keys:
            cell = (row, column)
            if column == reference_column or cell in hidden:
                continue
            comparisons[cell] = compare_to_reference(table[cell], table[reference], alpha=alpha)
    compared = list(comparisons)
    adjusted = dict(
        zip(compared, holm_adjust([comparisons[c].p_value for c in compared]), strict=True)
    )

    row_labels = dict(rows)
    column_labels = dict(columns)
    statistics: dict[Cell, GroupStatistics] = {}
    for row in row_keys:
        reference = (row, reference_column)
        reference_rate = (
            None if reference in hidden else rate_with_interval(*table[reference], alpha=alpha).rate
        )
        for column in column_keys:
            cell = (row, column)
            label = f"{row_labels[row]}, {column_labels[column]}"
            is_reference = column == reference_column
            if cell in hidden:
                statistics[cell] = hidden_row(cell, label, is_reference=is_reference)
                continue
            statistics[cell] = group_row(
                cell,
                label,
                table[cell],
                comparison=comparisons.get(cell),
                p_adjusted=adjusted.get(cell),
                reference_rate=reference_rate,
                favorable=favorable,
                alpha=alpha,
                is_reference=is_reference,
            )

    def margin(key: Hashable, label: str, where: Cell, counts: Counts) -> GroupStatistics:
        if where in hidden:
            return hidden_row(key, label, is_reference=False)
        return group_row(key, label, counts, alpha=alpha)

    row_totals = {
        row: margin(row, row_labels[row], (row, TOTAL), _sum(table[(row, c)] for c in column_keys))
        for row in row_keys
    }
    column_totals = {
        column: margin(
            column,
            column_labels[column],
            (TOTAL, column),
            _sum(table[(r, column)] for r in row_keys),
        )
        for column in column_keys
    }
    grand_total = margin(TOTAL, "All patients", (TOTAL, TOTAL), _sum(table.values()))
    return TwoWayTable(
        rows=tuple(rows),
        columns=tuple(columns),
        reference_column=reference_column,
        cells=statistics,
        row_totals=row_totals,
        column_totals=column_totals,
        grand_total=grand_total,
    )


def overlapping_statistics(
    groups: Sequence[tuple[Hashable, str, int, int]],
    *,
    alpha: float = ALPHA,
    small_cell_max: int | None = None,
    hidden: Collection[Hashable] = (),
) -> list[GroupStatistics]:
    """Groups that may share patients (race "alone or in combination", `race_rule=any`):
    (key, label, numerator, denominator) each, in the order given. Rates and intervals
    only: no reference, no tests (overlapping samples are not independent), and no
    total line claimed (`total_shown=False`), so only the small cells themselves are
    hidden, with the `hidden` ones the caller names (what another table of the same
    patients hides)."""
    keys = [key for key, _, _, _ in groups]
    if len(set(keys)) != len(keys):
        raise ValueError("each group needs its own key")
    counts = {key: (numerator, denominator) for key, _, numerator, denominator in groups}
    for numerator, denominator in counts.values():
        _check_counts(numerator, denominator)
    hidden = suppress_groups(counts, total=None, maximum=small_cell_max) | set(hidden)
    return [
        hidden_row(key, label, is_reference=False)
        if key in hidden
        else group_row(key, label, counts[key], alpha=alpha)
        for key, label, _, _ in groups
    ]


def _keys(entries: Sequence[tuple[Hashable, str]], what: str) -> list[Hashable]:
    keys = [key for key, _ in entries]
    if len(set(keys)) != len(keys):
        raise ValueError(f"each {what} needs its own key")
    if TOTAL in keys:
        raise ValueError(f"{TOTAL!r} is kept for the totals and cannot be a {what} key")
    return keys


def _sum(pairs: Iterable[Counts]) -> Counts:
    numerator = denominator = 0
    for pair_numerator, pair_denominator in pairs:
        numerator += pair_numerator
        denominator += pair_denominator
    return numerator, denominator


def _check_counts(numerator: int, denominator: int) -> None:
    if numerator < 0 or denominator < 0 or numerator > denominator:
        raise ValueError(
            f"counts must satisfy 0 <= numerator <= denominator (got {numerator}/{denominator})"
        )
