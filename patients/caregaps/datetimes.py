"""CQL DateTime and Date values, read from FHIR dates, for the measure and care-gap logic.

A CQL DateTime is a list of fields (year, month, day, hour, minute, second,
millisecond) down to its precision, plus the time-zone offset it was written
in. A FHIR date or dateTime may be partial ("2025", "2025-03") or carry no
time. Values follow the CQL specification and cql-execution, the engine
fqm-execution and MADiE compute the CMS expected results with:

- A value written with no offset (a date, or a dateTime without a zone,
  which FHIR does not allow for times) is taken to be in UTC, the offset
  fqm-execution evaluates in (its "Measurement Period" and execution time
  are built with offset 0). cql-execution would use the browser's offset
  instead; MADiE's test data always carry "Z".
- Seconds and milliseconds are one precision (CQL specification, "Comparison
  Operators"): 10:00:00 compares as 10:00:00.000.

How two values compare, and intervals of them: patients.caregaps.temporal.
Calendar arithmetic on plain dates (ages, + N months): patients.caregaps.dates.
"""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange
from dataclasses import dataclass
from typing import Literal

UTC = dt.UTC
Precision = Literal["year", "month", "day", "hour", "minute", "second", "ms"]

PRECISIONS: tuple[Precision, ...] = ("year", "month", "day", "hour", "minute", "second", "ms")

_DATETIME = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)

Fields = tuple[int | None, int | None, int | None, int | None, int | None, int | None, int | None]


def _zone(offset: int) -> dt.timezone:
    return UTC if offset == 0 else dt.timezone(dt.timedelta(minutes=offset))


def _to_utc(moment: dt.datetime) -> dt.datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return MAX_POINT.lo if moment.year == 9999 else MIN_POINT.lo


@dataclass(frozen=True)
class Point:
    """A CQL DateTime: it lies somewhere in [lo, hi] (UTC), written at `offset`.

    `offset` is minutes east of UTC, as written (0 when the value had no zone).
    """

    lo: dt.datetime
    hi: dt.datetime
    precision: Precision
    offset: int = 0

    @property
    def raw_fields(self) -> Fields:
        """The fields as written, None below the precision."""
        try:
            local = self.lo.astimezone(_zone(self.offset))
        except OverflowError:
            local = self.lo
        values = (
            local.year,
            local.month,
            local.day,
            local.hour,
            local.minute,
            local.second,
            local.microsecond // 1000,
        )
        keep = PRECISIONS.index(self.precision) + 1
        return tuple(v if i < keep else None for i, v in enumerate(values))  # type: ignore[return-value]

    @property
    def fields(self) -> Fields:
        """The fields compared: a value given to the second has 0 milliseconds."""
        values = self.raw_fields
        if self.precision == "second":
            return (*values[:6], 0)
        return values

    @property
    def day(self) -> dt.date | None:
        """CQL `date from`: the calendar day as written (in its own offset), if known."""
        year, month, day = self.raw_fields[:3]
        if year is None or month is None or day is None:
            return None
        return dt.date(year, month, day)

    def local_days(self) -> tuple[dt.date, dt.date]:
        """The first and last calendar day (as written) this value could be."""
        zone = _zone(self.offset)
        try:
            return self.lo.astimezone(zone).date(), self.hi.astimezone(zone).date()
        except OverflowError:
            return self.lo.date(), self.hi.date()

    def in_offset(self, offset: int) -> Point:
        """cql-execution's convertToTimezoneOffset: the earliest instant, re-read at `offset`."""
        if offset == self.offset:
            return self
        try:
            local = self.lo.astimezone(_zone(offset))
        except OverflowError:
            return self
        return _from_local(local, self.precision, offset)

    def plus(self, *, years: int = 0, months: int = 0, days: int = 0) -> Point:
        """CQL DateTime + a calendar quantity, at this value's precision and offset."""
        year, month, day, hour, minute, second, ms = self.raw_fields
        total = (year or 1) * 12 + (month or 1) - 1 + years * 12 + months
        new_year, new_month = divmod(total, 12)
        new_month += 1
        new_day = min(day or 1, monthrange(new_year, new_month)[1])
        local = dt.datetime(
            new_year,
            new_month,
            new_day,
            hour or 0,
            minute or 0,
            second or 0,
            (ms or 0) * 1000,
            tzinfo=_zone(self.offset),
        ) + dt.timedelta(days=days)
        return _from_local(local, self.precision, self.offset)

    def shifted(self, step: int) -> Point:
        """The successor (+1) or predecessor (-1) at this point's precision."""
        if self.precision == "year":
            return self.plus(years=step)
        if self.precision == "month":
            return self.plus(months=step)
        if self.precision == "day":
            return self.plus(days=step)
        delta = {
            "hour": dt.timedelta(hours=step),
            "minute": dt.timedelta(minutes=step),
            "second": dt.timedelta(seconds=step),
            "ms": dt.timedelta(milliseconds=step),
        }[self.precision]
        local = self.lo.astimezone(_zone(self.offset)) + delta
        return _from_local(local, self.precision, self.offset)

    def iso(self) -> str:
        """cql-execution's DateTime.toString(), which its `sort by` compares as text."""
        year, month, day, hour, minute, second, ms = self.raw_fields
        text = f"{year:04d}"
        for value, sep, width in (
            (month, "-", 2),
            (day, "-", 2),
            (hour, "T", 2),
            (minute, ":", 2),
            (second, ":", 2),
            (ms, ".", 3),
        ):
            if value is None:
                break
            text += f"{sep}{value:0{width}d}"
        if hour is not None:
            sign = "-" if self.offset < 0 else "+"
            text += f"{sign}{abs(self.offset) // 60:02d}:{abs(self.offset) % 60:02d}"
        return text


def _from_local(local: dt.datetime, precision: Precision, offset: int) -> Point:
    """The Point whose fields are `local`'s, truncated to `precision`."""
    zone = _zone(offset)
    local = local.astimezone(zone) if local.tzinfo is not None else local.replace(tzinfo=zone)
    level = PRECISIONS.index(precision)
    first = dt.datetime(
        local.year,
        local.month if level >= 1 else 1,
        local.day if level >= 2 else 1,
        local.hour if level >= 3 else 0,
        local.minute if level >= 4 else 0,
        local.second if level >= 5 else 0,
        local.microsecond // 1000 * 1000 if level >= 6 else 0,
        tzinfo=zone,
    )
    if precision == "year":
        last = first.replace(month=12, day=31, hour=23, minute=59, second=59, microsecond=999000)
    elif precision == "month":
        last = first.replace(
            day=monthrange(first.year, first.month)[1],
            hour=23,
            minute=59,
            second=59,
            microsecond=999000,
        )
    elif precision == "day":
        last = first.replace(hour=23, minute=59, second=59, microsecond=999000)
    elif precision == "hour":
        last = first.replace(minute=59, second=59, microsecond=999000)
    elif precision == "minute":
        last = first.replace(second=59, microsecond=999000)
    else:  # second (whose milliseconds are 0) and ms are exact
        last = first
    return Point(_to_utc(first), _to_utc(last), precision, offset)


MIN_POINT = Point(
    dt.datetime.min.replace(tzinfo=UTC), dt.datetime.min.replace(tzinfo=UTC), "ms"
)  # CQL `minimum DateTime`: 0001-01-01T00:00:00.000
MAX_POINT = Point(
    dt.datetime.max.replace(microsecond=999000, tzinfo=UTC),
    dt.datetime.max.replace(microsecond=999000, tzinfo=UTC),
    "ms",
)  # CQL `maximum DateTime`: 9999-12-31T23:59:59.999


def point_from_date(day: dt.date) -> Point:
    """A CQL Date (or a FHIR date) as a day-precision DateTime, offset 0 (UTC)."""
    return _from_local(dt.datetime(day.year, day.month, day.day, tzinfo=UTC), "day", 0)


def point_from_datetime(moment: dt.datetime) -> Point:
    """A Python datetime to the millisecond, in its own offset (naive: UTC)."""
    offset = 0
    if moment.tzinfo is not None:
        delta = moment.utcoffset() or dt.timedelta(0)
        offset = int(delta.total_seconds() // 60)
    return _from_local(moment, "ms", offset)


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
            return _from_local(dt.datetime(year, 1, 1, tzinfo=UTC), "year", 0)
        month = int(parts["month"])
        if parts["day"] is None:
            return _from_local(dt.datetime(year, month, 1, tzinfo=UTC), "month", 0)
        day = dt.date(year, month, int(parts["day"]))
        if parts["hour"] is None:
            return point_from_date(day)
        offset = 0
        tz = parts["tz"]
        if tz and tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            offset = sign * (int(tz[1:3]) * 60 + int(tz[4:6]))
        precision: Precision = "minute"
        if parts["second"] is not None:
            precision = "second" if parts["fraction"] is None else "ms"
        # cql-execution keeps the first three digits of a fraction ("5" is 500 ms).
        millis = int((parts["fraction"] or "0")[:3].ljust(3, "0"))
        local = dt.datetime(
            day.year,
            day.month,
            day.day,
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            millis * 1000,
            tzinfo=_zone(offset),
        )
    except ValueError:
        return None
    return _from_local(local, precision, offset)


# --- Dates (CQL Date values) ---------------------------------------------------------


def date_from(point: Point | None) -> Point | None:
    """CQL `date from`: the date fields as written (no offset conversion), as a Date.

    A Date is kept as a Point of day (or coarser) precision at offset 0: when
    CQL compares it with a DateTime it becomes one at the evaluation offset,
    which is 0 in fqm-execution.
    """
    if point is None:
        return None
    year, month, day = point.raw_fields[:3]
    precision: Precision = "day" if day is not None else "month" if month is not None else "year"
    local = dt.datetime(year or 1, month or 1, day or 1, tzinfo=UTC)
    return _from_local(local, precision, 0)


def date_plus_days(date: Point, days: float) -> Point | None:
    """CQL Date + Quantity(days, 'day') as cql-execution computes it (with Luxon).

    A fractional day moves the time of day, which a Date then drops, so a whole
    Date moves by floor(days). A Date less precise than a day is moved from its
    first instant (its last for a negative quantity) and truncated again.
    """
    base = date.lo if days >= 0 or date.precision == "day" else date.hi
    try:
        moved = base + dt.timedelta(days=days)
    except OverflowError:
        return None
    precision: Precision = date.precision if date.precision in ("year", "month") else "day"
    return _from_local(moved, precision, 0)
