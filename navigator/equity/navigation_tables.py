"""The navigation page's tables (issue 13, items 1 and 6): each figure's counts turned
into the rows a page shows, every count through the suppression rules first.

Several tables of one section share their groups and denominators (the funnel's
steps are all "of the cases referred"; completion within 90 and 180 days are nested
cohorts). Auditing each table alone would let one table show a denominator another
hid as a complement, and the two together give a small cell away. So
`joint_statistics` hides, in every table of a section, the union of the groups any of
them hides (hiding more only widens what a hidden cell could be), and the section's
total wherever one of its tables hides it. Counts that are not rates (barriers
found, close reasons, days) go through `suppression.suppress_groups`; hidden values
read `suppression.hidden_text()` ("Suppressed") and never carry their number.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass

from navigator.equity.chart_marks import count, interval_points, percent, points
from navigator.equity.dimensions import GroupCounts
from navigator.equity.stats import (
    GroupStatistics,
    holm_adjust,
    rate_with_interval,
    stratified_statistics,
)
from navigator.equity.suppression import TOTAL, hidden_text, is_small, suppress_groups
from navigator.equity.tables import TableRow, p_text, table_row
from navigator.equity.two_way import hidden_row, overlapping_statistics

ALL_KEY = "__all__"


@dataclass(frozen=True)
class JointTables:
    """The statistics of each table of a section (`tables[name]`, one row per group in
    the order given), the union of hidden groups, and each table's overall row (None
    when the section's total is hidden)."""

    tables: dict[str, list[GroupStatistics]]
    hidden: frozenset[Hashable]
    totals: dict[str, GroupStatistics | None]
    reference: Hashable | None

    @property
    def total_hidden(self) -> bool:
        return any(total is None for total in self.totals.values())


def _sums(groups: Sequence[GroupCounts]) -> tuple[int, int]:
    return sum(n for _, _, n, _ in groups), sum(d for _, _, _, d in groups)


def joint_statistics(
    tables: Mapping[str, Sequence[GroupCounts]],
    *,
    reference: Hashable | None,
    favorable: bool = True,
    compare: bool = True,
    inverse: Collection[str] = (),
) -> JointTables:
    """Each table's rows, small cells and their complements hidden jointly (see the
    module docstring). With `compare`, shown groups are compared with `reference`
    (no comparison when it is hidden or None); without, rates and intervals only.
    Tables named in `inverse` are better lower (CMS122): AHRQ's "meaningful" reads
    their rates the other way."""
    hidden: set[Hashable] = set()
    total_hidden = False
    for groups in tables.values():
        counts: dict[Hashable, tuple[int, int]] = {key: (n, d) for key, _, n, d in groups}
        found = suppress_groups(counts, total=_sums(groups))
        total_hidden |= TOTAL in found
        hidden |= found - {TOTAL}
    if reference in hidden:
        reference = None
    result: dict[str, list[GroupStatistics]] = {}
    totals: dict[str, GroupStatistics | None] = {}
    for name, groups in tables.items():
        shown = [group for group in groups if group[0] not in hidden]
        if compare and reference is not None:
            # The hiding is done: no total line is claimed, so nothing more is hidden.
            statistics = stratified_statistics(
                shown,
                reference,
                total_shown=False,
                favorable=favorable and name not in inverse,
            )
        else:
            statistics = overlapping_statistics(shown)
        by_key = {row.key: row for row in statistics}
        result[name] = [
            by_key.get(key) or hidden_row(key, label, is_reference=key == reference)
            for key, label, _, _ in groups
        ]
        totals[name] = None if total_hidden else all_row(*_sums(groups))
    return JointTables(result, frozenset(hidden), totals, reference)


def all_row(numerator: int, denominator: int, label: str = "All cases") -> GroupStatistics:
    """The overall row of a table: its rate and interval, nothing compared."""
    rate = rate_with_interval(numerator, denominator)
    return GroupStatistics(
        ALL_KEY, label, numerator, denominator, rate.rate, rate.ci_low, rate.ci_high,
        None, None, None, None, None, None, None, None, None, None, None, suppressed=False,
    )  # fmt: skip


@dataclass(frozen=True)
class GroupLine:
    """One group across a section's tables: its label, the first table's
    denominator (the same in every table, or "Suppressed"), and each table's row."""

    label: str
    denominator: str
    rows: list[TableRow]
    is_reference: bool = False
    is_total: bool = False


def group_lines(
    tables: JointTables, names: Sequence[str], *, total_label: str = "All cases"
) -> list[GroupLine]:
    """The section's groups line by line (in the tables' order), then the total
    ("All cases") unless the section's total is hidden."""
    first = tables.tables[names[0]]
    lines = []
    for index, group in enumerate(first):
        rows = [table_row(tables.tables[name][index]) for name in names]
        lines.append(GroupLine(group.label, rows[0].denominator, rows, group.is_reference))
    if not tables.total_hidden:
        rows = [table_row(tables.totals[name]) for name in names]  # type: ignore[arg-type]
        lines.append(GroupLine(total_label, rows[0].denominator, rows, is_total=True))
    return lines


def plain_counts(counts: Mapping[str, int], *, total: int | None) -> dict[str, str]:
    """Counts that are not rates (a table of close reasons, barriers found), each
    shown or "Suppressed": small ones hidden, and with a shown `total` (their sum) the
    complements too. The total is keyed `TOTAL`."""
    cells_: dict[Hashable, tuple[int, int]] = {key: (n, n) for key, n in counts.items()}
    hidden = suppress_groups(cells_, total=None if total is None else (total, total))
    shown = {key: hidden_text() if key in hidden else count(n) for key, n in counts.items()}
    if total is not None:
        shown[TOTAL] = hidden_text() if TOTAL in hidden else count(total)
    return shown


def share_text(part: str, numerator: int, denominator: int) -> str:
    """A share of a shown total, or nothing when the part or the total is hidden."""
    if part == hidden_text() or not denominator:
        return ""
    return percent(numerator / denominator)


def days_text(days: float | None) -> str:
    return "" if days is None else f"{days:.1f}"


def small(value: int) -> bool:
    return is_small(value)


@dataclass(frozen=True)
class BarrierDisplay:
    name: str
    category: str
    found: str
    resolved: str
    with_row: TableRow
    without_row: TableRow
    difference: str
    difference_ci: str
    p_adjusted: str


def barrier_rows(rows: Sequence) -> list[BarrierDisplay]:
    """Per barrier type: found and resolved (each cell hidden when small), and
    completion within 180 days with the barrier against without it, the pair hidden
    together when either is small (the two add up to every case followed, a number
    any other barrier's pair gives away). Holm's adjustment runs across the types."""
    statistics = [stratified_statistics(row.counts(), "without", total_shown=True) for row in rows]
    adjusted = holm_adjust([pair[0].p_value for pair in statistics])
    shown = []
    for row, (with_, without), p_adjusted in zip(rows, statistics, adjusted, strict=True):
        found_hidden = small(row.found) or small(row.resolved)
        shown.append(
            BarrierDisplay(
                name=row.name,
                category=row.category,
                found=hidden_text() if found_hidden else count(row.found),
                resolved=hidden_text() if found_hidden else count(row.resolved),
                with_row=table_row(with_),
                without_row=table_row(without),
                difference="" if with_.difference is None else points(with_.difference),
                difference_ci=interval_points(with_.difference_ci_low, with_.difference_ci_high),
                p_adjusted=p_text(p_adjusted),
            )
        )
    return shown


@dataclass(frozen=True)
class MedianDisplay:
    label: str
    steps: list[tuple[str, str]]  # (median days, cases) per step, or hidden
    attempts_per_reached: str


def median_rows(rows: Sequence, steps: Sequence[str], *, hidden: frozenset) -> list[MedianDisplay]:
    """Per group: each step's median days and the cases it is the median of, hidden
    when those cases are few or the group is hidden in the funnel (the first step's
    cases are the funnel's reached ones); attempts per patient reached likewise."""
    shown = []
    for row in rows:
        group_hidden = row.key in hidden
        cells_ = []
        for name in steps:
            step = row.steps[name]
            if group_hidden or small(step.cases):
                cells_.append((hidden_text(), hidden_text()))
            else:
                cells_.append((days_text(step.median_days), count(step.cases)))
        attempts = row.attempts_per_reached
        if group_hidden or small(row.reached):
            attempts_text = hidden_text()
        else:
            attempts_text = "" if attempts is None else f"{attempts:.2f}"
        shown.append(MedianDisplay(row.label, cells_, attempts_text))
    return shown


def rate_cell(row: TableRow) -> str:
    """ "45.0% (38.1–52.0%)" for a compact cell; "Suppressed" when hidden."""
    if row.suppressed:
        return hidden_text()
    return f"{row.rate} ({row.ci})" if row.ci else row.rate
