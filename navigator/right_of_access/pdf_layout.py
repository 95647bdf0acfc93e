"""The PDF's page and type: Letter, headings, tables of facts and of rows, and
"Page n of N" at the foot of each page (the canvas counts the pages first).

Set in DejaVu Sans where it is installed (the Docker image installs fonts-dejavu-core),
which covers Latin, Vietnamese, Greek and Cyrillic: a patient's own name is printed
as typed. Without it, Helvetica (Latin-1 only: other letters print as boxes; the FHIR
export always has them as typed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _fonts() -> tuple[str, str]:
    """The regular and bold font names: DejaVu Sans if installed, else Helvetica."""
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        return "Helvetica", "Helvetica-Bold"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
    return "DejaVuSans", "DejaVuSans-Bold"


FONT, FONT_BOLD = _fonts()
MARGIN = 0.75 * inch
WIDTH = LETTER[0] - 2 * MARGIN

TITLE = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=17, leading=21)
SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=10.5, leading=14,
                          textColor=colors.HexColor("#374151"), spaceAfter=6)  # fmt: skip
HEADING = ParagraphStyle("heading", fontName=FONT_BOLD, fontSize=13, leading=16,
                         spaceBefore=12, spaceAfter=4)  # fmt: skip
SUBHEADING = ParagraphStyle("subheading", fontName=FONT_BOLD, fontSize=10.5,
                            leading=13, spaceBefore=8, spaceAfter=3)  # fmt: skip
BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8.5, leading=10.5)
CELL_BOLD = ParagraphStyle("cell_bold", parent=CELL, fontName=FONT_BOLD)

TABLE_STYLE = TableStyle(
    [
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#111827")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#d1d5db")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
)
FACTS_STYLE = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
)


def day(value: dt.date | None) -> str:
    return f"{value:%b} {value.day}, {value.year}" if value else ""


def moment(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{day(local.date())} {local:%H:%M}"


def yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def para(text: Any, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


class NumberedCanvas(Canvas):
    """Writes "Page n of N" on each page once the number of pages is known."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.setFillColor(colors.HexColor("#4b5563"))
            self.drawRightString(
                LETTER[0] - MARGIN, 0.5 * inch, f"Page {self._pageNumber} of {total}"
            )
            super().showPage()
        super().save()


class Story:
    """The flowables of the report, with helpers for its three shapes of content."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def heading(self, text: str, style: ParagraphStyle = HEADING) -> None:
        self.items.append(para(text, style))

    def text(self, text: str) -> None:
        self.items.append(para(text))

    def facts(self, pairs: Iterable[tuple[str, Any]]) -> None:
        rows = [
            [para(label, CELL_BOLD), para(value, CELL)] for label, value in pairs if value != ""
        ]
        if rows:
            table = Table(
                rows, colWidths=[1.8 * inch, WIDTH - 1.8 * inch], splitInRow=1, hAlign="LEFT"
            )
            table.setStyle(FACTS_STYLE)
            self.items.append(table)

    def table(
        self, headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[float],
        empty: str,
    ) -> None:  # fmt: skip
        body = [[para(cell, CELL) for cell in row] for row in rows]
        if not body:
            self.text(empty)
            return
        total = sum(widths)
        table = Table(
            [[para(h, CELL_BOLD) for h in headers], *body],
            colWidths=[WIDTH * w / total for w in widths],
            repeatRows=1,
            # A cell longer than a page (a letter's text) splits across pages.
            splitInRow=1,
            hAlign="LEFT",
        )
        table.setStyle(TABLE_STYLE)
        self.items.append(table)
