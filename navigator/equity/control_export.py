"""The control programme dashboard's tables as rows of text, shared by the page and
`/reports/equity/control.csv`: the same cells, the same "Suppressed", every table
under its title, then the methods."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from navigator.equity.chart_marks import count
from navigator.equity.control_change import ChangeRow
from navigator.equity.control_page import SHARES, ControlPage
from navigator.equity.navigation_tables import GroupLine, group_lines
from navigator.equity.suppression import hidden_text
from navigator.equity.tables import p_text

SHARE_TITLES = {
    "enrolled": "Enrolled (a case open today)",
    "coached": "Coached this year",
    "tested": "Tested this year (HbA1c or GMI)",
    "poor": "HbA1c/GMI above 9% or none this year (CMS122; lower is better)",
}
COACHING_HEADERS = (
    "Group",
    "In a group series",
    "Group sessions attended",
    "Group sessions held",
    "Group attendance",
    "Individual sessions attended",
    "Individual sessions missed",
    "Individual attendance",
    "Coached this year",
    "Mean hours",
    "Median hours",
    "Reached the Medicare allowance",
    "Share reaching it",
)
CHANGE_HEADERS = (
    "Group",
    "Patients (n)",
    "Mean change, points",
    "95% CI",
    "Difference from reference, points",
    "p (Holm)",
)


def share_lines(page: ControlPage) -> list[GroupLine]:
    """The shares of the population, one line per group with someone in it (and
    "Not recorded" always), then all patients."""
    lines = group_lines(page.shares, list(SHARES), total_label="All patients")
    return [line for line in lines if line.denominator != "0" or line.label == "Not recorded"]


def _signed(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:+.2f}"


@dataclass(frozen=True)
class ChangeLine:
    label: str
    n: str
    mean: str
    ci: str
    difference: str
    p_adjusted: str
    is_reference: bool = False
    is_total: bool = False

    def cells(self) -> list[str]:
        label = self.label + (" (reference)" if self.is_reference else "")
        return [label, self.n, self.mean, self.ci, self.difference, self.p_adjusted]


def change_line(row: ChangeRow, *, is_total: bool = False) -> ChangeLine:
    if row.suppressed:
        h = hidden_text()
        return ChangeLine(row.label, h, h, "", "", "", row.is_reference)
    ci = ""
    if row.ci_low is not None and row.ci_high is not None:
        ci = f"{row.ci_low:+.2f} to {row.ci_high:+.2f}"
    return ChangeLine(
        row.label,
        count(row.n or 0),
        _signed(row.mean),
        ci,
        _signed(row.difference),
        p_text(row.p_adjusted),
        row.is_reference,
        is_total,
    )


def change_lines(page: ControlPage) -> list[ChangeLine]:
    lines = [change_line(row) for row in page.change]
    if page.change_total is not None:
        lines.append(change_line(page.change_total, is_total=True))
    return lines


def csv_rows(page: ControlPage) -> Iterator[list[str]]:
    yield [f"{page.program.name}, {page.year}, by {page.dimension.label.lower()}"]
    for index, name in enumerate(SHARES):
        yield []
        yield [SHARE_TITLES[name]]
        yield ["Group", "Count", "Patients in the programme", "Rate", "95% CI",
               "Difference, points", "Difference 95% CI", "p (Holm)", "Meaningful"]  # fmt: skip
        for line in share_lines(page):
            row = line.rows[index]
            label = line.label + (" (reference)" if line.is_reference else "")
            yield [label, row.numerator, row.denominator, row.rate, row.ci, row.difference,
                   row.difference_ci, row.p_adjusted, row.meaningful]  # fmt: skip
    yield []
    yield ["Attendance and education hours"]
    yield list(COACHING_HEADERS)
    for c in page.coaching:
        yield [c.label, c.in_group, c.group_attended, c.group_held, c.group_share,
               c.individual_attended, c.individual_missed, c.individual_share, c.coached,
               c.mean_hours, c.median_hours, c.reached, c.reached_share]  # fmt: skip
    yield []
    yield ["Change in laboratory HbA1c after coaching (before and after, not causal)"]
    yield list(CHANGE_HEADERS)
    for change in change_lines(page):
        yield change.cells()
    yield []
    yield ["Methods"]
    for sentences in page.methods.values():
        for sentence in sentences:
            yield [sentence]
