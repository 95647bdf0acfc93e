"""The navigation outcomes page's tables as rows of text (issue 13, item 7: "CSV export
of every table"): the page and `/reports/equity/navigation.csv` read the same display
rows (`follow_up_lines`, `navigated_rows`, and `navigation_tables`' own), so a number
reads the same in both and a hidden one is "Suppressed" in both.

`csv_rows` writes every table the page shows, one after another, each under a title
row (`TITLES`) and its header row, then the method sentences. Each table is long: one
row per group (and per step, where the page has a column per step), with the
dashboard CSV's columns (`tables.HEADERS`). Nothing is computed here: every figure
comes from the `NavigationPage`, already suppressed, so the CSV can show no more than
the page; the per-navigator section is there only when the page has it (managers).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from navigator.equity.navigated import NAVIGATED, NOT_NAVIGATED, NavigatedComparison
from navigator.equity.navigation import FUNNEL_STEPS, STEPS
from navigator.equity.navigation_page import FUNNEL_NUMERATORS, NavigationPage
from navigator.equity.navigation_tables import JointTables, group_lines
from navigator.equity.tables import HEADERS, TableRow, table_row

TITLES: dict[str, str] = {
    "funnel": "Funnel: each step as a share of the cases referred",
    "completion_90": "Completion: loop closed within 90 days of opening",
    "completion_180": "Completion: loop closed within 180 days of opening",
    "medians": "Days between steps (median) and attempts per patient reached",
    "barriers": "Barriers: found, resolved, and completion within 180 days with and without",
    "close_reasons": "Reasons for closing",
    "follow_up": "Diagnostic colonoscopy within 6 months of an abnormal stool test",
    "navigated": "Navigated versus not, among the overdue: screened within 180 days",
    "navigators": "Per navigator: each step and completion within 180 days",
    "methods": "How these figures are made",
}
# The order the page states its method sentences in, the shared ones last.
METHOD_KEYS = (
    "cohort",
    "funnel",
    "completion",
    "medians",
    "barriers",
    "close_reasons",
    "follow_up",
    "navigated",
    "statistics",
)
NAVIGATOR_STEPS = (*FUNNEL_NUMERATORS, "completion_180")


# --- Display rows the page and the CSV share --------------------------------------


@dataclass(frozen=True)
class NavigatedRow:
    """One group's navigated and not-navigated cells; the difference and its p are
    the navigated cell's (compared with the row's not-navigated one). The last row,
    "All overdue patients", has rates only (`difference` None)."""

    label: str
    cells: tuple[TableRow, TableRow]
    difference: TableRow | None


def navigated_rows(comparison: NavigatedComparison | None) -> list[NavigatedRow]:
    """Per group, navigated against not navigated; then the columns' totals."""
    if comparison is None:
        return []
    table = comparison.table
    rows = []
    for key, label in table.rows:
        navigated = table_row(table.cells[(key, NAVIGATED)])
        not_navigated = table_row(table.cells[(key, NOT_NAVIGATED)])
        rows.append(NavigatedRow(label, (navigated, not_navigated), navigated))
    totals = (
        table_row(table.column_totals[NAVIGATED]),
        table_row(table.column_totals[NOT_NAVIGATED]),
    )
    rows.append(NavigatedRow("All overdue patients", totals, None))
    return rows


@dataclass(frozen=True)
class FollowUpLine:
    """A group's diagnostic follow-up row, and its cases closed as done elsewhere
    (a count or "Suppressed"; empty on the "All cases" line)."""

    label: str
    rows: list[TableRow]
    is_reference: bool
    is_total: bool
    elsewhere: str


def follow_up_lines(page: NavigationPage) -> list[FollowUpLine] | None:
    """The diagnostic follow-up table's lines; None when the programme has none."""
    if page.follow_up is None:
        return None
    lines = group_lines(page.follow_up.tables, ["done"])
    keys = [str(row.key) for row in page.follow_up.tables.tables["done"]]
    return [
        FollowUpLine(
            label=line.label,
            rows=line.rows,
            is_reference=line.is_reference,
            is_total=line.is_total,
            elsewhere=page.follow_up.elsewhere.get(keys[index], "") if index < len(keys) else "",
        )
        for index, line in enumerate(lines)
    ]


# --- The CSV ------------------------------------------------------------------------


def csv_filename(page: NavigationPage, *, today_text: str) -> str:
    # The programme's code and the date only: nothing about a patient in a file name.
    return f"navigation-{page.program.code}-{today_text}.csv"


def csv_rows(page: NavigationPage) -> Iterator[list[str]]:
    """Every table of the page, each under its title row, then the method sentences."""
    yield ["Navigation outcomes", page.program.name]
    yield ["Period", page.period.label, page.period.start.isoformat(), page.period.end.isoformat()]
    yield ["Stratified by", page.dimension.label]
    yield from _steps(TITLES["funnel"], page.funnel, FUNNEL_NUMERATORS, group_header="Group")
    completion = group_lines(page.completion, ["completion_90", "completion_180"])
    for index, name in enumerate(("completion_90", "completion_180")):
        yield from _title(TITLES[name], HEADERS)
        for group in completion:
            yield list(group.rows[index].cells())
    yield from _medians(page)
    yield from _barriers(page)
    yield from _close_reasons(page)
    follow_up = follow_up_lines(page)
    if follow_up is not None:
        yield from _title(TITLES["follow_up"], (*HEADERS, "Closed as done elsewhere"))
        for line in follow_up:
            yield [*line.rows[0].cells(), line.elsewhere]
    yield from _navigated(page)
    if page.navigators is not None:
        yield from _steps(
            TITLES["navigators"], page.navigators, NAVIGATOR_STEPS, group_header="Navigator"
        )
    yield []
    yield [TITLES["methods"]]
    for key in METHOD_KEYS:
        if key == "follow_up" and follow_up is None:
            continue
        for sentence in page.methods.get(key, []):
            yield [sentence]


def _title(title: str, header: tuple[str, ...] | list[str]) -> Iterator[list[str]]:
    yield []
    yield [title]
    yield list(header)


STEP_LABELS = dict(FUNNEL_STEPS) | {"completion_180": "Loop closed within 180 days"}


def _steps(
    title: str, tables: JointTables, names: Sequence[str], *, group_header: str
) -> Iterator[list[str]]:
    """A table the page shows with a column per step: here a row per step and group
    (the groups' order, then "All cases" when its total is shown)."""
    lines = group_lines(tables, names)
    yield from _title(title, ("Step", group_header, *HEADERS[1:]))
    for index, name in enumerate(names):
        for line in lines:
            yield [STEP_LABELS[name], *line.rows[index].cells()]


def _medians(page: NavigationPage) -> Iterator[list[str]]:
    header = ["Group"]
    for _, label in STEPS:
        header += [f"{label}: median days", f"{label}: cases"]
    yield from _title(TITLES["medians"], [*header, "Attempts per patient reached"])
    for row in page.medians:
        cells = [row.label]
        for median, cases in row.steps:
            cells += [median, cases]
        yield [*cells, row.attempts_per_reached]


def _barriers(page: NavigationPage) -> Iterator[list[str]]:
    header = ["Barrier", "Category", "Found", "Resolved"]
    for which in ("with it", "without it"):
        header += [f"Completed {which}: numerator", "Denominator", "Rate", "95% CI"]
    header += ["Difference (points)", "Difference 95% CI", "Holm-adjusted p"]
    yield from _title(TITLES["barriers"], header)
    for row in page.barriers:
        cells = [row.name, row.category, row.found, row.resolved]
        for side in (row.with_row, row.without_row):
            cells += [side.numerator, side.denominator, side.rate, side.ci]
        yield [*cells, row.difference, row.difference_ci, row.p_adjusted]


def _close_reasons(page: NavigationPage) -> Iterator[list[str]]:
    yield from _title(TITLES["close_reasons"], ("Reason", "Cases", "Share of closed"))
    for row in page.close_reasons:
        yield [row.label, row.count, row.share]
    yield ["All closed cases", page.closed_total, ""]


def _navigated(page: NavigationPage) -> Iterator[list[str]]:
    header = ["Group"]
    for which in ("Navigated", "Not navigated"):
        header += [f"{which}: numerator", "Denominator", "Rate", "95% CI"]
    header += ["Difference (points)", "Difference 95% CI", "Holm-adjusted p"]
    if page.navigated is None:
        yield from _title(TITLES["navigated"], [page.navigated_unavailable or ""])
        return
    yield []
    yield [TITLES["navigated"]]
    yield [
        f"Patients overdue at the end of {page.navigated.quarter.label} "
        f"({page.navigated.measure}), screened within 180 days."
    ]
    yield header
    for row in navigated_rows(page.navigated):
        cells = [row.label]
        for cell in row.cells:
            cells += [cell.numerator, cell.denominator, cell.rate, cell.ci]
        difference = row.difference
        if difference is None:
            yield [*cells, "", "", ""]
        else:
            yield [*cells, difference.difference, difference.difference_ci, difference.p_adjusted]
