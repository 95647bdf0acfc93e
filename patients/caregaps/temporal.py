"""Comparing CQL DateTimes and intervals, three-valued, for the measure and care-gap logic.

The values compared are patients.caregaps.datetimes' Points (a CQL DateTime:
fields down to a precision, plus the offset it was written in). Comparisons
follow the CQL specification and cql-execution, the engine fqm-execution and
MADiE compute the CMS expected results with:

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

Interval boundaries follow the CQL specification: a null *closed* boundary
is the start or end of time (an encounter with no end is still going on), a
null *open* boundary is unknown (a resolved condition with no abatement
date). Like cql-execution, an unknown boundary is, inside `overlaps` and
`includes`, "somewhere between the other boundary and the end of time".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from patients.caregaps.datetimes import (
    MAX_POINT,
    MIN_POINT,
    PRECISIONS,
    UTC,
    Point,
    Precision,
    point_from_datetime,
)

Truth = bool | None

# Comparisons at these precisions (or with none) normalise time-zone offsets first.
_NORMALISING = {None, "hour", "minute", "second", "ms"}


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


def same_day(a: Point | None, b: Point | None) -> Truth:
    """`a same day as b` (SameAs at day precision): the calendar days as written,
    without normalising offsets; unknown when either is less precise than a day."""
    if a is None or b is None:
        return None
    order = _order(a, b, "day")
    return None if order is None else order == 0


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


# --- Intervals -------------------------------------------------------------------------


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
