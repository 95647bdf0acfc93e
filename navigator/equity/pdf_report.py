"""The quarterly equity report as a PDF, one click from the dashboard: the same
result, the same hidden cells and the same charts (`pdf_charts`) as the page, laid
out for a board: the headline sentences first, then the picture and its table, the
trend, and the methods in plain words.

Set in Helvetica, which every PDF reader has (as the letters are); group names are
English labels, within its Latin-1 range.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from navigator.equity.dashboard import EquityResult
from navigator.equity.dimensions import NOT_RECORDED
from navigator.equity.pdf_charts import chart_drawing
from navigator.equity.presentation import dashboard_charts
from navigator.equity.stats import GroupStatistics
from navigator.equity.tables import TableRow, table_row

PAGE = landscape(LETTER)
MARGIN = 0.6 * inch
WIDTH = PAGE[0] - 2 * MARGIN

TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=18, leading=22)
SUBTITLE = ParagraphStyle("subtitle", fontName="Helvetica", fontSize=10.5, leading=14,
                          textColor=colors.HexColor("#374151"))  # fmt: skip
HEADING = ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=12.5, leading=16,
                         spaceBefore=10, spaceAfter=4)  # fmt: skip
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13.5)
HEADLINE = ParagraphStyle("headline", parent=BODY, fontSize=11.5, leading=15,
                          fontName="Helvetica-Bold", spaceAfter=4)  # fmt: skip
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8.5, leading=11)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8.5, leading=10.5)

TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#111827")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#d1d5db")),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
)
COLUMNS = ("Group", "Numerator / denominator", "Rate (95% CI)",
           "Difference, points (95% CI)", "Ratio (95% CI)", "Holm p", "Meaningful")  # fmt: skip


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def _cells(row: TableRow) -> list[object]:
    label = row.label + (" (reference)" if row.is_reference else "")
    if row.suppressed:
        return [_p(label, CELL), row.numerator, row.rate, "", "", "", ""]
    return [
        _p(label, CELL),
        f"{row.numerator} / {row.denominator}",
        f"{row.rate} ({row.ci})" if row.ci else row.rate,
        f"{row.difference} ({row.difference_ci})" if row.difference else "",
        f"{row.ratio} ({row.ratio_ci})" if row.ratio_ci else row.ratio,
        row.p_adjusted,
        row.meaningful,
    ]


def _table(rows: list[TableRow]) -> Table:
    table = Table(
        [list(COLUMNS), *(_cells(row) for row in rows)],
        colWidths=[WIDTH * w for w in (0.27, 0.13, 0.15, 0.18, 0.12, 0.07, 0.08)],
        repeatRows=1,
    )
    table.setStyle(TABLE_STYLE)
    return table


def _listed(groups: list[GroupStatistics]) -> list[GroupStatistics]:
    """Groups with someone in them, and "Not recorded" always (as the page lists them)."""
    return [g for g in groups if g.denominator != 0 or g.key == NOT_RECORDED]


def _quarters_table(result: EquityResult) -> Table:
    """One row per group, one column per quarter: the rate, or "Suppressed"."""
    quarters = result.quarters
    keys = [g.key for g in _listed(result.groups)]
    labels = {g.key: g.label for g in result.groups}
    rows: list[list[object]] = [["Group", *(row.period.label for row in quarters)]]
    for key in keys:
        cells: list[object] = [_p(labels[key], CELL)]
        for row in quarters:
            found = next((g for g in row.groups if g.key == key), None)
            cells.append(table_row(found).rate if found is not None else "")
        rows.append(cells)
    width = (WIDTH * 0.73) / max(len(quarters), 1)
    table = Table(rows, colWidths=[WIDTH * 0.27, *([width] * len(quarters))], repeatRows=1)
    table.setStyle(TABLE_STYLE)
    return table


def _drawing(chart) -> Flowable:
    return chart_drawing(chart, width=min(WIDTH, 9.0 * inch))


def equity_pdf(result: EquityResult) -> bytes:
    """The report as PDF bytes."""
    story: list[Flowable] = [_p("Equity report", TITLE), Spacer(1, 4)]
    period = result.period.label if result.period else "no period computed yet"
    dimensions = " within ".join(d.label.lower() for d in reversed(result.dimensions))
    story.append(
        _p(
            f"{result.measure.label}. {period}. By {dimensions}. "
            f"Prepared {timezone.localdate():%-d %B %Y} by EquiNav.",
            SUBTITLE,
        )
    )
    story.append(Spacer(1, 8))
    if result.unavailable:
        story.append(_p(result.unavailable))
    for sentence in result.story:
        story.append(_p(sentence, HEADLINE))
    for warning in result.warnings:
        story.append(_p(f"Data quality: {warning}", BODY))
    charts = dashboard_charts(result)
    if result.groups:
        story.append(_p("Rates by group", HEADING))
        if charts.rates is not None:
            story.append(_drawing(charts.rates))
        story.append(_table([table_row(group) for group in _listed(result.groups)]))
    if result.two_way is not None:
        story.append(_p("Within each group", HEADING))
        story.append(_table([table_row(cell) for cell in result.two_way.cells.values()]))
    if charts.trend is not None:
        story.append(KeepTogether([_p("Over time", HEADING), _drawing(charts.trend)]))
        for chart in charts.gaps:
            story.append(KeepTogether([_p(chart.title, HEADING), _drawing(chart)]))
        story.append(KeepTogether([_p("Rate by quarter", HEADING), _quarters_table(result)]))
    story.append(_p("How these figures are made", HEADING))
    for sentence in result.methods:
        story.append(_p(sentence, SMALL))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title="EquiNav equity report",
        author="EquiNav",
    )
    document.build(story)
    return buffer.getvalue()
