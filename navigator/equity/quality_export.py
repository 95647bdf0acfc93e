"""The data-quality table as text (issue 13, items 5 and 7): the page's sections
(`quality_sections`) and `/reports/equity/quality.csv` (`csv_rows`) format each
figure the same way, and a hidden one reads "Suppressed" in both.

The CSV has a row per clinic, month and field (then each field's all-clinics row),
with each measure's count and share of the row's patients, then the method sentences.
Nothing is counted here: the figures are the `QualityTable`'s, already suppressed, so
the CSV shows no more than the page (and only the clinics of the caller's scope).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from navigator.equity.quality import Figure, QualityRow, QualityTable
from navigator.equity.suppression import hidden_text

TITLE = "Race, ethnicity and language: how complete are the data?"
METHODS_TITLE = "How these figures are made"
NOT_TOLD = "n/a"  # a figure that cannot be told (English proficiency never asked)


def share_text(figure: Figure) -> str:
    """A shown count's share of its row's patients, in whole percent; "Suppressed"
    for a hidden count; empty when the share is hidden (the row's patients are)."""
    if figure.suppressed:
        return hidden_text()
    return "" if figure.share is None else f"{figure.share:.0%}"


def month_text(month: dt.date | None) -> str:
    return "All months" if month is None else f"{month:%Y-%m}"


def _rows(table: QualityTable) -> tuple[QualityRow, ...]:
    return (*table.rows, table.total)


def quality_sections(table: QualityTable) -> list[dict[str, Any]]:
    """Per field, its rows as the page shows them: a count with its share, "Suppressed"
    for a hidden count, "n/a" where a figure cannot be told."""
    sections = []
    for field_key, field_label in table.fields:
        rows = []
        for row in _rows(table):
            cells = []
            for measure_key, _ in table.measures:
                figure = row.fields[field_key].get(measure_key)
                if figure is None:
                    cells.append(NOT_TOLD)
                elif figure.suppressed or figure.share is None:
                    cells.append(str(figure))
                else:
                    cells.append(f"{figure} ({share_text(figure)})")
            rows.append(
                {
                    "clinic": row.clinic,
                    "month": row.month,
                    "total": row.clinic_id is None,
                    "patients": str(row.patients),
                    "cells": cells,
                }
            )
        sections.append({"key": field_key, "label": field_label, "rows": rows})
    return sections


def csv_filename(months: int, *, today: dt.date) -> str:
    # The months shown and the date only: no clinic, nothing about a patient.
    return f"data-quality-{months}-months-{today:%Y%m%d}.csv"


def csv_rows(table: QualityTable) -> Iterator[list[str]]:
    """The title and months, a header, a row per clinic × month × field (each field's
    all-clinics row after its clinics), then the method sentences."""
    yield [TITLE]
    if table.months:
        yield [
            "Months of registration",
            f"{table.months[0]:%Y-%m}",
            f"{table.months[-1]:%Y-%m}",
        ]
    yield []
    header = ["Clinic", "Month registered", "Field", "Patients"]
    for _, label in table.measures:
        header += [label, f"{label} (share)"]
    yield header
    for field_key, field_label in table.fields:
        for row in _rows(table):
            cells = [row.clinic, month_text(row.month), field_label, str(row.patients)]
            for measure_key, _ in table.measures:
                figure = row.fields[field_key].get(measure_key)
                if figure is None:
                    cells += [NOT_TOLD, ""]
                else:
                    cells += [str(figure), share_text(figure)]
            yield cells
    yield []
    yield [METHODS_TITLE]
    for sentence in table.methods:
        yield [sentence]
