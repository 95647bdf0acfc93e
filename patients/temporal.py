"""Date and time as CQL reasons about them, for the measure and care-gap logic.

A FHIR date or dateTime may be partial ("2025", "2025-03") or carry no time
zone. CQL keeps that imprecision: comparing "2025-03" with 2025-03-15 is
neither true nor false but unknown, and a `where` clause keeps only what is
certainly true. Each `Point` is therefore the range of instants it could be
(UTC), with its precision; comparisons answer True, False or None (unknown),
and `all_of`/`any_of` combine them with CQL's three-valued logic.

Interval boundaries follow the CQL specification: a null *closed* boundary is
the start or end of time (an encounter with no end is still going on), a null
*open* boundary is unknown (a resolved condition with no abatement date).

Times without a zone are read as UTC, the evaluation time zone; CMS's test
cases are written in UTC, so a visit at 2025-01-01T00:00Z is in 2025.
"""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange
from dataclasses import dataclass
from typing import Literal

UTC = dt.UTC
Precision = Literal["year", "month", "day", "ms"]
Truth = bool | None

_DATETIME = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True)
class Point:
    """An instant known to lie somewhere in [lo, hi] (UTC)."""

    lo: dt.datetime
    hi: dt.datetime
    precision: Precision

    @property
    def day(self) -> dt.date | None:
        """The calendar day, if it is certain."""
        return self.lo.date() if self.lo.date() == self.hi.date() else None

    def shifted(self, step: int) -> Point:
        """The successor (+1) or predecessor (-1) at this point's precision."""
        if self.precision == "ms":
            delta = dt.timedelta(milliseconds=step)
            return Point(self.lo + delta, self.hi + delta, "ms")
        if self.precision == "day":
            return point_from_date(self.lo.date() + dt.timedelta(days=step))
        if self.precision == "month":
            year, month = divmod(self.lo.year * 12 + self.lo.month - 1 + step, 12)
            return _month_point(year, month + 1)
        return _year_point(self.lo.year + step)


MIN_POINT = Point(dt.datetime.min.replace(tzinfo=UTC), dt.datetime.min.replace(tzinfo=UTC), "ms")
MAX_POINT = Point(dt.datetime.max.replace(tzinfo=UTC), dt.datetime.max.replace(tzinfo=UTC), "ms")


def _year_point(year: int) -> Point:
    return Point(
        dt.datetime(year, 1, 1, tzinfo=UTC),
        dt.datetime(year, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        "year",
    )


def _month_point(year: int, month: int) -> Point:
    last = monthrange(year, month)[1]
    return Point(
        dt.datetime(year, month, 1, tzinfo=UTC),
        dt.datetime(year, month, last, 23, 59, 59, 999000, tzinfo=UTC),
        "month",
    )


def point_from_date(day: dt.date) -> Point:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Point(start, start + dt.timedelta(days=1, milliseconds=-1), "day")


def point_from_datetime(moment: dt.datetime) -> Point:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)
    return Point(moment, moment, "ms")


def parse_point(value: str | None) -> Point | None:
    """A FHIR date, dateTime or instant as a Point; None if absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    match = _DATETIME.match(value.strip())
    if match is None:
        return None
    parts = match.groupdict()
    year = int(parts["year"])
    try:
        if parts["month"] is None:
            return _year_point(year)
        month = int(parts["month"])
        if parts["day"] is None:
            return _month_point(year, month)
        day = dt.date(year, month, int(parts["day"]))
        if parts["hour"] is None:
            return point_from_date(day)
        fraction = (parts["fraction"] or "0")[:6].ljust(6, "0")
        tz = parts["tz"]
        zone = UTC
        if tz and tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            hours, minutes = int(tz[1:3]), int(tz[4:6])
            zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        moment = dt.datetime(
            day.year,
            day.month,
            day.day,
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int(fraction),
            tzinfo=zone,
        )
    except ValueError:
        return None
    return point_from_datetime(moment)


def add_years(day: dt.date, years: int) -> dt.date:
    """CQL date + N years: 29 February becomes 28 February in a common year."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, monthrange(year, day.month)[1]))


def add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return dt.date(year, month, min(day.day, monthrange(year, month)[1]))


def age_in_years(birth_date: dt.date, on: dt.date) -> int:
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# --- Three-valued comparisons ------------------------------------------------------


def _keys(point: Point, by_day: bool) -> tuple[object, object]:
    if by_day:
        return point.lo.date(), point.hi.date()
    return point.lo, point.hi


def before_or_same(a: Point | None, b: Point | None, *, by_day: bool = True) -> Truth:
    """a on or before b (`same or before`)."""
    if a is None or b is None:
        return None
    a_lo, a_hi = _keys(a, by_day)
    b_lo, b_hi = _keys(b, by_day)
    if a_hi <= b_lo:  # type: ignore[operator]
        return True
    if a_lo > b_hi:  # type: ignore[operator]
        return False
    return None


def after_or_same(a: Point | None, b: Point | None, *, by_day: bool = True) -> Truth:
    return before_or_same(b, a, by_day=by_day)


def all_of(*values: Truth) -> Truth:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def any_of(*values: Truth) -> Truth:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


@dataclass(frozen=True)
class Interval:
    low: Point | None
    high: Point | None
    low_closed: bool = True
    high_closed: bool = True

    @property
    def start(self) -> Point | None:
        if self.low is None:
            return MIN_POINT if self.low_closed else None
        return self.low if self.low_closed else self.low.shifted(+1)

    @property
    def end(self) -> Point | None:
        if self.high is None:
            return MAX_POINT if self.high_closed else None
        return self.high if self.high_closed else self.high.shifted(-1)

    @property
    def has_end(self) -> bool:
        """QICoreCommon.hasEnd: an end that is known and not the end of time."""
        return self.end is not None and self.end != MAX_POINT

    @property
    def has_start(self) -> bool:
        return self.start is not None and self.start != MIN_POINT

    def latest(self) -> Point | None:
        return self.end if self.has_end else self.start

    def earliest(self) -> Point | None:
        return self.start if self.has_start else self.end

    # Each relation compares at day precision unless by_day is False.
    def during(self, other: Interval, *, by_day: bool = True) -> Truth:
        return all_of(
            after_or_same(self.start, other.start, by_day=by_day),
            before_or_same(self.end, other.end, by_day=by_day),
        )

    def overlaps(self, other: Interval, *, by_day: bool = True) -> Truth:
        return all_of(
            before_or_same(self.start, other.end, by_day=by_day),
            after_or_same(self.end, other.start, by_day=by_day),
        )

    def ends_during(self, other: Interval, *, by_day: bool = True) -> Truth:
        return point_during(self.end, other, by_day=by_day)

    def starts_during(self, other: Interval, *, by_day: bool = True) -> Truth:
        return point_during(self.start, other, by_day=by_day)


def point_during(point: Point | None, interval: Interval, *, by_day: bool = True) -> Truth:
    if point is None:
        return None
    return all_of(
        after_or_same(point, interval.start, by_day=by_day),
        before_or_same(point, interval.end, by_day=by_day),
    )


def instant(point: Point) -> Interval:
    return Interval(point, point)


def period_of(start: dt.date, end: dt.date) -> Interval:
    """A measurement period: the first day's start to the last day's last millisecond."""
    first = point_from_date(start)
    last = point_from_date(end)
    return Interval(Point(first.lo, first.lo, "ms"), Point(last.hi, last.hi, "ms"))
