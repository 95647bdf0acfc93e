"""How good the race, ethnicity and language data under the equity figures are (issue 13,
item 5): per clinic and month of registration, how many patients have each field
recorded, declined, unknown or never asked, and how many gave it themselves; and the
dashboard's warning when too few have it recorded.

- `data_quality` is the table, counted in one grouped query on `Patient` and then
  suppressed (CMS cell-size policy, `navigator.equity.suppression.suppress`) so that no
  count from 1 to `EQUINAV_SMALL_CELL_MAX` can be seen or worked out from the sums a
  reader knows. `suppress_two_way` cannot say them: each field's measures add up to the
  row's patients twice over (recorded/declined/unknown/never asked, and self-reported
  or not), so the lines are built here, one field's table at a time (see `_table`).
- `completeness_columns` are the two counts the dashboard's own grouped query adds, so
  the warning costs it no query; `completeness_warning` turns one such count into the
  warning, against `EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN` (default 90%).

What "recorded" means: for race and ethnicity, at least one category (declined and
unknown are answers that say nothing of the category, not recorded ones); for the
language, a `language_status` of "recorded"; for English proficiency, one of the four
levels. Never asked: race with no answer at all, a language with status "not asked".
English proficiency has no such status: its "unknown" is also every patient never asked
(the old default), so its never-asked figure is None, not a count. English proficiency
is asked with the language, and its source is the language's (`language_source`).

Months are months of registration (`Patient.created_at`, in the program's time zone),
and every figure describes the records as they are now: EquiNav keeps no history of
edits, so a patient registered in March whose race was added in May counts as recorded
in March.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, DateField, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from navigator.equity.suppression import Line, hidden_text, suppress
from patients.models import (
    DemographicSource,
    EnglishProficiency,
    LanguageStatus,
    Patient,
    RaceGroup,
)

RACE, LANGUAGE, ENGLISH = "race", "language", "english"
FIELDS: tuple[tuple[str, str], ...] = (
    (RACE, "Race and ethnicity"),
    (LANGUAGE, "Preferred language"),
    (ENGLISH, "English proficiency"),
)
RECORDED, DECLINED, UNKNOWN, NOT_ASKED = "recorded", "declined", "unknown", "not_asked"
SELF_REPORTED = "self_reported"
MEASURES: tuple[tuple[str, str], ...] = (
    (RECORDED, "Recorded"),
    (DECLINED, "Declined"),
    (UNKNOWN, "Unknown"),
    (NOT_ASKED, "Never asked"),
    (SELF_REPORTED, "Self-reported"),
)
PATIENTS = "patients"
ALL = "__all__"  # the key of the all-clinics, all-months row
OTHER_SOURCE = "__other_source__"  # patients minus self-reported: implied by the table

NON_ANSWERS = (RaceGroup.DECLINED, RaceGroup.UNKNOWN, RaceGroup.NOT_RECORDED)
LEVELS = (
    EnglishProficiency.VERY_WELL,
    EnglishProficiency.WELL,
    EnglishProficiency.NOT_WELL,
    EnglishProficiency.NOT_AT_ALL,
)

METHOD_SENTENCES: tuple[str, ...] = (
    "Patients are counted in the month they were registered in EquiNav, by the clinic "
    "that registered them; merged duplicate records are left out.",
    "Each figure describes the records as they are today: EquiNav keeps no history of "
    "edits, so an answer added later counts in the month of registration.",
    "Race and ethnicity is recorded when at least one category was given; declined and "
    "unknown are counted apart, and never asked means no answer at all.",
    "English proficiency has no 'never asked' of its own: every record from before it "
    "could be declined reads 'unknown', asked or not.",
    "Self-reported counts the answers the patient gave themself, rather than a family "
    "member, staff or a record that does not say.",
)


def _field_filters(prefix: str = "") -> dict[str, dict[str, Q | None]]:
    """Per field, per measure, which patients it counts; None where it cannot be told."""
    race, status = f"{prefix}race_group", f"{prefix}language_status"
    english, source = f"{prefix}english_proficiency", f"{prefix}language_source"
    return {
        RACE: {
            RECORDED: ~Q(**{f"{race}__in": NON_ANSWERS}),
            DECLINED: Q(**{race: RaceGroup.DECLINED}),
            UNKNOWN: Q(**{race: RaceGroup.UNKNOWN}),
            NOT_ASKED: Q(**{race: RaceGroup.NOT_RECORDED}),
            SELF_REPORTED: Q(**{f"{prefix}race_ethnicity_source": DemographicSource.SELF_REPORTED})
            & ~Q(**{race: RaceGroup.NOT_RECORDED}),
        },
        LANGUAGE: {
            RECORDED: Q(**{status: LanguageStatus.RECORDED}),
            DECLINED: Q(**{status: LanguageStatus.DECLINED}),
            UNKNOWN: Q(**{status: LanguageStatus.UNKNOWN}),
            NOT_ASKED: Q(**{status: LanguageStatus.NOT_ASKED}),
            SELF_REPORTED: Q(**{source: DemographicSource.SELF_REPORTED})
            & ~Q(**{status: LanguageStatus.NOT_ASKED}),
        },
        ENGLISH: {
            RECORDED: Q(**{f"{english}__in": LEVELS}),
            DECLINED: Q(**{english: EnglishProficiency.DECLINED}),
            # Everything else: "unknown" (and any value outside the choices).
            UNKNOWN: ~Q(**{f"{english}__in": [*LEVELS, EnglishProficiency.DECLINED]}),
            NOT_ASKED: None,
            SELF_REPORTED: Q(**{source: DemographicSource.SELF_REPORTED})
            & Q(**{f"{english}__in": [*LEVELS, EnglishProficiency.DECLINED]}),
        },
    }


# --- The table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A count and its share of the row's patients; both None when hidden, and the
    share None too when the row's patient count is hidden."""

    count: int | None
    share: float | None

    @property
    def suppressed(self) -> bool:
        return self.count is None

    def __str__(self) -> str:
        return hidden_text() if self.count is None else str(self.count)


@dataclass(frozen=True)
class QualityRow:
    clinic_id: int | None  # None on the all-clinics row
    clinic: str
    month: dt.date | None  # the first day of the month; None on the all-months row
    patients: Figure
    # field key -> measure key -> figure; None where it cannot be told (English
    # proficiency never asked)
    fields: dict[str, dict[str, Figure | None]]


@dataclass(frozen=True)
class QualityTable:
    months: tuple[dt.date, ...]  # first days, oldest first
    rows: tuple[QualityRow, ...]  # by clinic name, then month; only months with patients
    total: QualityRow  # all clinics, all months
    fields: tuple[tuple[str, str], ...] = FIELDS
    measures: tuple[tuple[str, str], ...] = MEASURES
    methods: tuple[str, ...] = METHOD_SENTENCES


def month_starts(today: dt.date, months: int) -> tuple[dt.date, ...]:
    """The first days of the `months` calendar months ending with today's, oldest first."""
    if months < 1:
        raise ValueError("months must be at least 1")
    index = today.year * 12 + today.month - 1
    return tuple(
        dt.date(position // 12, position % 12 + 1, 1)
        for position in range(index - months + 1, index + 1)
    )


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def registration_window(today: dt.date, months: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the months' registrations, at midnight in the current time zone."""
    first = month_starts(today, months)[0]
    following = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return _midnight(first), _midnight(following)


def data_quality(*, patients: QuerySet[Patient], months: int = 12, today: dt.date) -> QualityTable:
    """Per clinic and month of registration (the `months` calendar months up to today's),
    the patients of `patients` (the caller's scope; merged duplicates left out) with each
    field recorded, declined, unknown, never asked and self-reported: one query, then
    suppressed."""
    start, end = registration_window(today, months)
    filters = _field_filters()
    counts = {
        f"{field}__{measure}": Count("pk", filter=condition)
        for field, measures in filters.items()
        for measure, condition in measures.items()
        if condition is not None
    }
    grouped = (
        patients.filter(merged_into__isnull=True, created_at__gte=start, created_at__lt=end)
        .order_by()
        .annotate(month=TruncMonth("created_at", output_field=DateField()))
        .values("clinic", "clinic__name", "month")
        .annotate(patients=Count("pk"), **counts)
    )
    raw: dict[Hashable, dict[str, Any]] = {}
    names: dict[Hashable, tuple[int, str, dt.date]] = {}
    for row in grouped:
        key = (row["clinic"], row["month"])
        raw[key] = row
        names[key] = (row["clinic"], row["clinic__name"], row["month"])
    order = sorted(raw, key=lambda key: (names[key][1], names[key][0], names[key][2]))
    return _table(month_starts(today, months), order, names, raw)


def _partition(field: str) -> tuple[str, ...]:
    """The measures that add up to the row's patients."""
    if field == ENGLISH:
        return (RECORDED, DECLINED, UNKNOWN)
    return (RECORDED, DECLINED, UNKNOWN, NOT_ASKED)


def _cells(
    field: str, order: Sequence[Hashable], raw: Mapping[Hashable, Mapping[str, Any]]
) -> tuple[dict[Hashable, tuple[int, int]], list[Line]]:
    """One field's table for `suppress`: every shown count, the implied "not
    self-reported" one, and the sums a reader knows (a row's measures add up to its
    patients, and so do self-reported and the rest; each column's rows add up to the
    all row). Keys are (row, PATIENTS) and (row, field, measure). A count is the cell
    (count, count): hiding one hides both."""
    cells: dict[Hashable, tuple[int, int]] = {}
    lines: list[Line] = []
    for key in order:
        patients = int(raw[key][PATIENTS])
        cells[(key, PATIENTS)] = (patients, patients)
        for measure in (*_partition(field), SELF_REPORTED):
            value = int(raw[key][f"{field}__{measure}"])
            cells[(key, field, measure)] = (value, value)
        other = patients - cells[(key, field, SELF_REPORTED)][0]
        cells[(key, field, OTHER_SOURCE)] = (other, other)
    columns = [(PATIENTS,)] + [
        (field, measure) for measure in (*_partition(field), SELF_REPORTED, OTHER_SOURCE)
    ]
    for column in columns:
        parts = tuple((key, *column) for key in order)
        total = sum(cells[part][0] for part in parts)
        cells[(ALL, *column)] = (total, total)
        lines.append(Line((ALL, *column), parts))
    for key in (*order, ALL):
        partition = tuple((key, field, measure) for measure in _partition(field))
        lines.append(Line((key, PATIENTS), partition))
        sources = ((key, field, SELF_REPORTED), (key, field, OTHER_SOURCE))
        lines.append(Line((key, PATIENTS), sources))
    return cells, lines


def _table(
    months: tuple[dt.date, ...],
    order: list[Hashable],
    names: Mapping[Hashable, tuple[int, str, dt.date]],
    raw: Mapping[Hashable, Mapping[str, Any]],
) -> QualityTable:
    # Each field is audited with the patient counts it shares with the others; a patient
    # count hidden in one field's table is hidden in all (hiding more only widens what a
    # hidden count could be). One joint audit of the three fields would also catch a
    # patient count narrowed by combining two fields' sums, at about five times the
    # linear programs (measured: 30 s against 6 s for 15 clinic-months), so it is not done.
    cells: dict[Hashable, tuple[int, int]] = {}
    hidden: set[Hashable] = set()
    for field, _ in FIELDS:
        field_cells, lines = _cells(field, order, raw)
        cells.update(field_cells)
        hidden |= suppress(field_cells, lines)

    def figure(cell: tuple[Hashable, ...]) -> Figure:
        if cell in hidden:
            return Figure(None, None)
        count, patients = cells[cell][0], cells[(cell[0], PATIENTS)][0]
        share = None if (cell[0], PATIENTS) in hidden or not patients else count / patients
        return Figure(count, share)

    def row(key: Hashable, clinic_id: int | None, clinic: str, month: dt.date | None):
        fields: dict[str, dict[str, Figure | None]] = {}
        for field, _ in FIELDS:
            shown = (*_partition(field), SELF_REPORTED)
            fields[field] = {
                measure: figure((key, field, measure)) if measure in shown else None
                for measure, _ in MEASURES
            }
        return QualityRow(clinic_id, clinic, month, figure((key, PATIENTS)), fields)

    rows = tuple(row(key, *names[key]) for key in order)
    return QualityTable(months=months, rows=rows, total=row(ALL, None, "All clinics", None))


# --- The dashboard's warning ----------------------------------------------------------------

RACE_RECORDED, LANGUAGE_RECORDED = "race_recorded", "language_recorded"
WARNED_FIELDS = ((RACE_RECORDED, "race and ethnicity"), (LANGUAGE_RECORDED, "preferred language"))


def completeness_filters(prefix: str = "") -> dict[str, Q]:
    """Which rows have race/ethnicity recorded, and a language: the conditions of
    `completeness_columns`, for a caller that counts them itself
    (`grouping.count_grouped`'s extras)."""
    filters = _field_filters(prefix)
    return {
        RACE_RECORDED: filters[RACE][RECORDED] or Q(),
        LANGUAGE_RECORDED: filters[LANGUAGE][RECORDED] or Q(),
    }


def completeness_columns(prefix: str = "") -> dict[str, Count]:
    """The counts the dashboard adds to its own grouped query (rooted at `Patient` with
    prefix "", or at a model with a `patient` key with "patient__"), so the warning
    costs no query: rows whose patient has race/ethnicity recorded, and a language.
    Counted like the dashboard's denominator (distinct rows)."""
    filters = _field_filters(prefix)
    return {
        RACE_RECORDED: Count("pk", filter=filters[RACE][RECORDED], distinct=True),
        LANGUAGE_RECORDED: Count("pk", filter=filters[LANGUAGE][RECORDED], distinct=True),
    }


def completeness_minimum() -> float:
    """The share recorded below which the dashboard warns (the setting
    `EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN`)."""
    return float(settings.EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN)


def completeness_warning(
    recorded: int, total: int, *, threshold: float | None = None, what: str = "race and ethnicity"
) -> str | None:
    """The warning when fewer than `threshold` (default: the setting) of `total` have
    `what` recorded; None when enough do or there is nobody. It gives the threshold,
    not the share, so that it reveals no more than a bound of a possibly hidden count."""
    minimum = completeness_minimum() if threshold is None else threshold
    if total <= 0 or recorded >= minimum * total:
        return None
    return (
        f"The {what} of fewer than {minimum:.0%} of these patients is recorded: the "
        f"figures by {what} leave out the rest, who may differ."
    )


def completeness_warnings(
    row: Mapping[str, Any], *, total: str = "denominator", threshold: float | None = None
) -> list[str]:
    """Every warning for one row of a grouped query that carries `completeness_columns`
    and its total under the key `total`."""
    found = (
        completeness_warning(int(row[key]), int(row[total]), threshold=threshold, what=what)
        for key, what in WARNED_FIELDS
    )
    return [warning for warning in found if warning]
