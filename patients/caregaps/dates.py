"""Calendar arithmetic on dates, as CQL does it: ages, + N years or months, + an Age.

Used by the care-gap engine (intervals between screenings, ages) and by the
FHIR readers (Patient.birthDate + an Age). CQL DateTime values themselves:
patients.caregaps.datetimes.
"""

from __future__ import annotations

import datetime as dt
import math
from calendar import monthrange

from patients.caregaps.datetimes import UTC, Point


def add_years(day: dt.date, years: int) -> dt.date:
    """CQL date + N years: 29 February becomes 28 February in a common year."""
    year = day.year + years
    if day.day <= 28:  # every month has the day: no need to ask the calendar (hot path)
        return day.replace(year=year)
    return day.replace(year=year, day=min(day.day, monthrange(year, day.month)[1]))


def add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    if day.day <= 28:  # as in add_years: monthrange works out a weekday first
        return dt.date(year, month, day.day)
    return dt.date(year, month, min(day.day, monthrange(year, month)[1]))


def age_in_years(birth_date: dt.date, on: dt.date) -> int:
    """CQL `years between birthDate and on`: whole years completed."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_range_at(birth_date: dt.date, point: Point) -> tuple[int, int]:
    """AgeInYearsAt(date from point): the lowest and highest age the point allows."""
    first, last = point.local_days()
    return age_in_years(birth_date, first), age_in_years(birth_date, last)


# Luxon's "casual" lengths, used for the fraction of a calendar quantity.
_CASUAL_DAYS = {"year": 365.0, "month": 30.0, "week": 7.0, "day": 1.0}


def date_plus_quantity(day: dt.date, value: float, unit: str) -> dt.date | None:
    """CQL Date + a calendar quantity (Patient.birthDate + an Age).

    Whole years and months move the calendar (29 February becomes 28 February);
    a fraction moves by Luxon's casual length (a year is 365 days, a month 30)
    and the time of day it reaches is dropped.
    """
    whole = math.trunc(value)
    fraction = value - whole
    try:
        if unit == "year":
            moved = add_years(day, whole)
        elif unit == "month":
            moved = add_months(day, whole)
        elif unit in ("week", "day"):
            moved = day + dt.timedelta(days=whole * _CASUAL_DAYS[unit])
        else:
            return None
        start = dt.datetime(moved.year, moved.month, moved.day, tzinfo=UTC)
        return (start + dt.timedelta(days=fraction * _CASUAL_DAYS[unit])).date()
    except (OverflowError, ValueError):
        return None
