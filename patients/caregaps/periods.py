"""Measurement periods for population measures: calendar years and rolling quarters.

An eCQM's lookbacks hang off its measurement period (`ctx.back(n)` is [MP start − n
years, MP end]; the qualifying visit and the stool test fall "during" the MP), so a
period is always twelve months long and only its position moves:

- a calendar year, as CMS reports it: "2025" is 2025-01-01 to 2025-12-31;
- a rolling quarter: "2025 Q1" is the twelve months ending on the quarter's last day,
  [q_end − 1 year + 1 day, q_end] = 2024-04-01 to 2025-03-31. Neighbouring quarters
  share nine of their twelve months, so a quarterly series is not a series of
  independent samples.

A window that holds 29 February is 366 days long; "− 1 year" is CQL's date arithmetic
(`dates.add_years`), so it never lands on a day that does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from patients.caregaps.dates import add_months, add_years

QUARTER_LABEL = re.compile(r"^\s*(\d{4})\s*[Qq]([1-4])\s*$")
YEAR_LABEL = re.compile(r"^\s*(\d{4})\s*$")
DATES_LABEL = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*/\s*(\d{4}-\d{2}-\d{2})\s*$")


class Period(NamedTuple):
    start: dt.date
    end: dt.date
    label: str


def quarter_end(year: int, quarter: int) -> dt.date:
    """The last day of a calendar quarter (1–4)."""
    return add_months(dt.date(year, 3 * quarter, 1), 1) - dt.timedelta(days=1)


def quarter_period(year: int, quarter: int) -> Period:
    """The rolling twelve months ending on the quarter's last day, labelled "2025 Q1"."""
    end = quarter_end(year, quarter)
    return Period(add_years(end, -1) + dt.timedelta(days=1), end, f"{year} Q{quarter}")


def _quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_periods(first_end: dt.date, last_end: dt.date) -> list[Period]:
    """Every rolling quarter whose end falls in [first_end's quarter, last_end's quarter].

    Any day of a quarter names it, so `quarter_periods(date(2025, 1, 1), date(2026, 9, 30))`
    is 2025 Q1 to 2026 Q3, seven periods, oldest first.
    """
    year, quarter = _quarter_of(first_end)
    last = _quarter_of(last_end)
    periods = []
    while (year, quarter) <= last:
        periods.append(quarter_period(year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return periods


def calendar_year(year: int) -> Period:
    """The calendar year, as CMS reports a measure, labelled "2025"."""
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), str(year))


def parse_period_label(text: str) -> Period:
    """ "2025Q1" or "2025 Q1" (a rolling quarter), "2025" (a calendar year), or any
    period by its dates, "2025-02-01/2026-01-31" (what a task is handed).

    Raises ValueError with a sentence a command or API can show as it is.
    """
    if match := QUARTER_LABEL.match(text):
        return quarter_period(int(match[1]), int(match[2]))
    if match := YEAR_LABEL.match(text):
        return calendar_year(int(match[1]))
    if match := DATES_LABEL.match(text):
        try:
            start, end = dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2])
        except ValueError:
            pass
        else:
            if start <= end:
                return period_between(start, end)
    raise ValueError(f"“{text}” is not a period: write 2025Q1, 2025 Q1 or 2025.")


def period_text(period: Period) -> str:
    """The period as `parse_period_label` reads it back whatever its dates."""
    return f"{period.start.isoformat()}/{period.end.isoformat()}"


def period_between(start: dt.date, end: dt.date) -> Period:
    """Any period by its dates, with the label of a calendar year or rolling quarter
    when it is one, else "2025-01-15 to 2026-01-14"."""
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return calendar_year(start.year)
    year, quarter = _quarter_of(end)
    if quarter_period(year, quarter)[:2] == (start, end):
        return quarter_period(year, quarter)
    return Period(start, end, f"{start.isoformat()} to {end.isoformat()}")


def last_complete_quarter_end(today: dt.date) -> dt.date:
    """The last day of the latest quarter that has ended before `today`."""
    year, quarter = _quarter_of(today)
    return quarter_end(year, quarter - 1) if quarter > 1 else dt.date(year - 1, 12, 31)
