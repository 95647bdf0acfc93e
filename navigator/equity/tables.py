"""The dashboard's tables as text, one formatting for the page, the CSV and the PDF,
so a number reads the same everywhere and a hidden one is "Suppressed" everywhere.

Each row is a `TableRow` of display strings (and the flags a template styles by); the
CSV writes the same strings. Percentages have one decimal, differences are signed
percentage points, p-values three decimals ("<0.001" below that).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from navigator.equity.chart_marks import count, interval, interval_points, percent, points
from navigator.equity.dashboard import EquityResult
from navigator.equity.stats import GroupStatistics
from navigator.equity.suppression import hidden_text

HEADERS = (
    "Group",
    "Numerator",
    "Denominator",
    "Rate",
    "95% CI",
    "Difference (points)",
    "Difference 95% CI",
    "Ratio",
    "Ratio 95% CI",
    "p-value",
    "Holm-adjusted p",
    "Test",
    "Significant",
    "Meaningful",
)


@dataclass(frozen=True)
class TableRow:
    key: str
    label: str
    numerator: str
    denominator: str
    rate: str
    ci: str
    difference: str
    difference_ci: str
    ratio: str
    ratio_ci: str
    p_value: str
    p_adjusted: str
    test: str
    significant: str
    meaningful: str
    suppressed: bool
    is_reference: bool
    is_meaningful: bool

    def cells(self) -> tuple[str, ...]:
        return (
            self.label + (" (reference)" if self.is_reference else ""),
            self.numerator,
            self.denominator,
            self.rate,
            self.ci,
            self.difference,
            self.difference_ci,
            self.ratio,
            self.ratio_ci,
            self.p_value,
            self.p_adjusted,
            self.test,
            self.significant,
            self.meaningful,
        )


def p_text(value: float | None) -> str:
    if value is None:
        return ""
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")


def table_row(group: GroupStatistics) -> TableRow:
    """One group's row; a suppressed group shows "Suppressed" and nothing else."""
    if group.suppressed:
        hidden = hidden_text()
        blank = dict.fromkeys(
            ("ci", "difference", "difference_ci", "ratio", "ratio_ci", "p_value",
             "p_adjusted", "test", "significant", "meaningful"),
            "",
        )  # fmt: skip
        return TableRow(
            key=str(group.key),
            label=group.label,
            numerator=hidden,
            denominator=hidden,
            rate=hidden,
            suppressed=True,
            is_reference=group.is_reference,
            is_meaningful=False,
            **blank,
        )
    return TableRow(
        key=str(group.key),
        label=group.label,
        numerator=count(group.numerator or 0),
        denominator=count(group.denominator or 0),
        rate="" if group.rate is None else percent(group.rate),
        ci=interval(group.ci_low, group.ci_high),
        difference="" if group.difference is None else points(group.difference),
        difference_ci=interval_points(group.difference_ci_low, group.difference_ci_high),
        ratio="" if group.ratio is None else f"{group.ratio:.2f}",
        ratio_ci=(
            ""
            if group.ratio_ci_low is None or group.ratio_ci_high is None
            else f"{group.ratio_ci_low:.2f}–{group.ratio_ci_high:.2f}"
        ),
        p_value=p_text(group.p_value),
        p_adjusted=p_text(group.p_adjusted),
        test={"score": "Score", "fisher": "Fisher's exact"}.get(group.test or "", ""),
        significant=_yes_no(group.significant),
        meaningful=_yes_no(group.meaningful),
        suppressed=False,
        is_reference=group.is_reference,
        is_meaningful=bool(group.meaningful),
    )


def csv_rows(result: EquityResult) -> Iterator[list[str]]:
    """Every table of the result, one after another, each under a title line: the
    groups, the two-way cells, then each quarter. The methods close the file."""
    yield [result.measure.label]
    if result.period is not None:
        yield [
            "Period",
            result.period.label,
            result.period.start.isoformat(),
            result.period.end.isoformat(),
        ]
    yield ["Stratified by", " × ".join(d.label for d in result.dimensions)]
    yield []
    yield ["Section", *HEADERS]
    for group in result.groups:
        yield ["Groups", *table_row(group).cells()]
    if result.two_way is not None:
        for statistics in result.two_way.cells.values():
            yield ["Two-way", *table_row(statistics).cells()]
    labels = {group.key: group.label for group in result.groups}
    for key, rate in result.age_adjusted.items():
        yield [
            "Age-adjusted",
            labels.get(key, str(key)),
            "",
            "",
            "" if rate.rate is None else percent(rate.rate),
            interval(rate.ci_low, rate.ci_high),
        ]
    for row in result.quarters:
        for group in row.groups:
            yield [row.period.label, *table_row(group).cells()]
    yield []
    for sentence in (*result.story, *result.warnings, *result.methods):
        yield [sentence]
