"""Date and time as CQL reasons about them, for the measure and care-gap logic.

A CQL DateTime is a list of fields (year, month, day, hour, minute, second,
millisecond) down to its precision, plus the time-zone offset it was written
in. A FHIR date or dateTime may be partial ("2025", "2025-03") or carry no
time. Comparisons follow the CQL specification and cql-execution, the engine
fqm-execution and MADiE compute the CMS expected results with:

- Fields are compared one by one down to the requested precision. When one
  value runs out of fields before the other, the answer is unknown (None):
  "2025" is neither before nor after 2025-01-01 at day precision, and
  2025-12-31 is neither on-or-before nor after 2025-12-31T23:59:59.999. A
  `where` clause keeps only what is certainly true.
- Time zones: for comparisons at day precision (and coarser) the fields are
  compared as written, without normalising offsets; only comparisons at
  hour precision or finer (including comparisons with no precision, i.e. to
  the millisecond) first convert the right-hand value to the left-hand
  value's offset. This is cql-execution's rule since 2.4.1 (PR #264, "Do
  not perform tz offset with precision of year, month and day"), from the
  CQL specification's "normalize ... only when the comparison precision is
  hours, minutes, seconds, or milliseconds". So 2025-12-31T22:00:00-05:00 is
  on 31 December for `during day of "Measurement Period"`, but it is after
  the period's end (2025-12-31T23:59:59.999Z) for `ends on or before end of
  "Measurement Period"`.
- A value written with no offset (a date, or a dateTime without a zone,
  which FHIR does not allow for times) is taken to be in UTC, the offset
  fqm-execution evaluates in (its "Measurement Period" and execution time
  are built with offset 0). cql-execution would use the browser's offset
  instead; MADiE's test data always carry "Z".
- Seconds and milliseconds are one precision (CQL specification, "Comparison
  Operators"): 10:00:00 compares as 10:00:00.000.

Interval boundaries follow the CQL specification: a null *closed* boundary
is the start or end of time (an encounter with no end is still going on), a
null *open* boundary is unknown (a resolved condition with no abatement
date). Like cql-execution, an unknown boundary is, inside `overlaps` and
`includes`, "somewhere between the other boundary and the end of time".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from calendar import monthrange
from dataclasses import dataclass
from typing import Literal, NamedTuple

UTC = dt.UTC
Precision = Literal["year", "month", "day", "hour", "minute", "second", "ms"]
Truth = bool | None

PRECISIONS: tuple[Precision, ...] = ("year", "month", "day", "hour", "minute", "second", "ms")
# Comparisons at these precisions (or with none) normalise time-zone offsets first.
_NORMALISING = {None, "hour", "minute", "second", "ms"}

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


def add_years(day: dt.date, years: int) -> dt.date:
    """CQL date + N years: 29 February becomes 28 February in a common year."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, monthrange(year, day.month)[1]))


def add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
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


# --- Three-valued comparisons ------------------------------------------------------


def _order(a: Point, b: Point, precision: Precision | None) -> int | None:
    """-1, 0 or 1 comparing a with b field by field, None when unknown (cql-execution)."""
    if precision in _NORMALISING and a.offset != b.offset:
        b = b.in_offset(a.offset)
    a_fields, b_fields = a.fields, b.fields
    for name, x, y in zip(PRECISIONS, a_fields, b_fields, strict=True):
        if x is not None and y is not None:
            if x < y:
                return -1
            if x > y:
                return 1
        elif x is None and y is None:
            # Both stop here: equal when no precision was asked for, else unknown.
            return 0 if precision is None else None
        else:
            return None
        if precision == name:
            break
    return 0


def equals(a: Point | None, b: Point | None) -> Truth:
    """CQL `=` between DateTimes (offsets always normalised; unknown when precisions differ)."""
    if a is None or b is None:
        return None
    if a.offset != b.offset:
        b = b.in_offset(a.offset)
    a_fields, b_fields = a.raw_fields, b.raw_fields
    for name, x, y in zip(PRECISIONS, a_fields, b_fields, strict=True):
        if x is not None and y is not None:
            if name == "second":
                return x * 1000 + (a_fields[6] or 0) == y * 1000 + (b_fields[6] or 0)
            if x != y:
                return False
        elif x is None and y is None:
            return True
        else:
            return None
    return True


class _Unknown(NamedTuple):
    """cql-execution's Uncertainty: an unknown boundary lying somewhere in [low, high]."""

    low: Point | None
    high: Point | None


Bound = Point | _Unknown | None


def _unknown(value: Bound) -> _Unknown:
    if isinstance(value, _Unknown):
        return value
    return _Unknown(value, value)


def _uncertain_lt(a: _Unknown, b: _Unknown) -> Truth:
    """Uncertainty.lessThan: certain only when the best and worst cases agree."""

    def lt(x: Point, y: Point) -> Truth:
        order = _order(x, y, None)
        return None if order is None else order < 0

    best: Truth = True if a.low is None or b.high is None else lt(a.low, b.high)
    worst: Truth = False if a.high is None or b.low is None else lt(a.high, b.low)
    return best if best == worst else None


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def _compare(a: Bound, b: Bound, precision: Precision | None, op: str) -> Truth:
    """cql-execution's comparison.ts: lessThan, lessThanOrEquals, greaterThan, ..."""
    if isinstance(a, Point) and isinstance(b, Point):
        order = _order(a, b, precision)
        if order is None:
            return None
        return {
            "<": order < 0,
            "<=": order <= 0,
            ">": order > 0,
            ">=": order >= 0,
        }[op]
    if not isinstance(a, _Unknown) and not isinstance(b, _Unknown):
        return None
    # With an unknown boundary precision is ignored, as in Uncertainty's operators.
    left, right = _unknown(a), _unknown(b)
    if op == "<":
        return _uncertain_lt(left, right)
    if op == ">":
        return _uncertain_lt(right, left)
    if op == "<=":
        return _not(_uncertain_lt(right, left))
    return _not(_uncertain_lt(left, right))


def _precision(by_day: bool) -> Precision | None:
    return "day" if by_day else None


def before_or_same(a: Point | None, b: Point | None, *, by_day: bool = True) -> Truth:
    """`a same or before b` (`on or before [day of]`)."""
    return _compare(a, b, _precision(by_day), "<=")


def after_or_same(a: Point | None, b: Point | None, *, by_day: bool = True) -> Truth:
    """`a same or after b` (`on or after [day of]`)."""
    return _compare(a, b, _precision(by_day), ">=")


def before(a: Point | None, b: Point | None, *, by_day: bool = True) -> Truth:
    return _compare(a, b, _precision(by_day), "<")


def after(a: Point | None, b: Point | None, *, by_day: bool = True) -> Truth:
    return _compare(a, b, _precision(by_day), ">")


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
        """`start of`: a null closed start is the start of time, a null open one unknown."""
        if self.low is None:
            return MIN_POINT if self.low_closed else None
        return self.low if self.low_closed else self.low.shifted(+1)

    @property
    def end(self) -> Point | None:
        """`end of`: a null closed end is the end of time, a null open one unknown."""
        if self.high is None:
            return MAX_POINT if self.high_closed else None
        return self.high if self.high_closed else self.high.shifted(-1)

    @property
    def is_boundless(self) -> bool:
        return self.low is None and self.low_closed and self.high is None and self.high_closed

    @property
    def is_unknown(self) -> bool:
        return (
            self.low is None and not self.low_closed and self.high is None and not self.high_closed
        )

    def _closed(self) -> tuple[Bound, Bound]:
        """cql-execution's Interval.toClosed(): an unknown boundary becomes a range."""
        if self.low is None and self.high is None:
            return None, None  # no point type: every comparison is unknown
        low: Bound = self.start
        high: Bound = self.end
        if low is None:
            low = _Unknown(MIN_POINT, high if isinstance(high, Point) else None)
        if high is None:
            high = _Unknown(low if isinstance(low, Point) else None, MAX_POINT)
        return low, high

    @property
    def has_end(self) -> bool:
        """QICoreCommon.hasEnd(): not (end is null or end = maximum DateTime)."""
        end = self.end
        return end is not None and equals(end, MAX_POINT) is False

    @property
    def has_start(self) -> bool:
        """QICoreCommon.hasStart(): not (start is null or start = minimum DateTime)."""
        start = self.start
        return start is not None and equals(start, MIN_POINT) is False

    def latest(self) -> Point | None:
        """QICoreCommon.latest(): the end if it is known, else the start."""
        return self.end if self.has_end else self.start

    def earliest(self) -> Point | None:
        """QICoreCommon.earliest(): the start if it is known, else the end."""
        return self.start if self.has_start else self.end

    # Each relation compares at day precision (`... day of`) unless by_day is False.
    def includes(self, other: Interval, *, by_day: bool = True) -> Truth:
        low, high = self._closed()
        other_low, other_high = other._closed()
        precision = _precision(by_day)
        return all_of(
            _compare(low, other_low, precision, "<="),
            _compare(high, other_high, precision, ">="),
        )

    def during(self, other: Interval, *, by_day: bool = True) -> Truth:
        """`self during [day of] other` (IncludedIn)."""
        return other.includes(self, by_day=by_day)

    def overlaps(self, other: Interval, *, by_day: bool = True) -> Truth:
        """`self overlaps [day of] other`."""
        if self.is_unknown or other.is_unknown:
            return None
        if self.is_boundless or other.is_boundless:
            return True
        low, high = self._closed()
        other_low, other_high = other._closed()
        precision = _precision(by_day)
        return all_of(
            _compare(low, other_high, precision, "<="),
            _compare(high, other_low, precision, ">="),
        )

    def ends_during(self, other: Interval, *, by_day: bool = True) -> Truth:
        """`self ends during [day of] other`: In(End(self), other)."""
        return point_during(self.end, other, by_day=by_day)

    def starts_during(self, other: Interval, *, by_day: bool = True) -> Truth:
        """`self starts during [day of] other`: In(Start(self), other)."""
        return point_during(self.start, other, by_day=by_day)


def point_during(point: Point | None, interval: Interval, *, by_day: bool = True) -> Truth:
    """`point during [day of] interval` (cql-execution's Interval.contains)."""
    if point is None:
        return None
    # A point equal to a closed boundary is in, whatever the precision.
    if interval.low_closed and interval.low is not None and equals(interval.low, point) is True:
        return True
    if interval.high_closed and interval.high is not None and equals(interval.high, point) is True:
        return True
    precision = _precision(by_day)
    if interval.low is None:
        low_ok: Truth = True if interval.low_closed else None
    else:
        low_ok = _compare(interval.low, point, precision, "<=" if interval.low_closed else "<")
    if interval.high is None:
        high_ok: Truth = True if interval.high_closed else None
    else:
        high_ok = _compare(interval.high, point, precision, ">=" if interval.high_closed else ">")
    return all_of(low_ok, high_ok)


def instant(point: Point) -> Interval:
    return Interval(point, point)


def period_of(start: dt.date, end: dt.date) -> Interval:
    """A measurement period as fqm-execution builds it (UTC): its first day's start
    (00:00:00.000) to its last day's last millisecond (23:59:59.999)."""
    first = dt.datetime(start.year, start.month, start.day, tzinfo=UTC)
    last = dt.datetime(end.year, end.month, end.day, 23, 59, 59, 999000, tzinfo=UTC)
    return Interval(point_from_datetime(first), point_from_datetime(last))


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
