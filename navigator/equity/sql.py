"""SQL building blocks the navigation figures need and Django lacks (issue 13): days
between two moments, a median, and a date some calendar months later, each written
for PostgreSQL and for SQLite, so a figure stays one grouped query on both.

- `DaysBetween(later, earlier)`: days as a float. Two datetimes give the exact
  difference (fractions of a day included); two dates give whole days; a date and a
  datetime compare calendar days, the datetime taken as its local date (the active
  time zone, as Django's `TruncDate` does).
- `Median(expression)`: the median of the non-null values of a group. PostgreSQL's
  `PERCENTILE_CONT(0.5)` (the mean of the two middle values when their number is
  even); on SQLite the Python aggregate `equinav_median` with the same rule, which
  `register_sqlite_functions` adds to each new SQLite connection (connected to
  `connection_created` by `navigator.apps`, the way Django adds `STDDEV_POP`). The
  values still never leave the database engine as rows: SQLite calls the aggregate
  once per group.
- `PlusMonths(date, months)` and its Python twin `add_months`: the same day so many
  months later, the month's last day when that day does not exist (31 August plus six
  months is 28 or 29 February), as PostgreSQL's `date + interval 'n months'` does.
"""

from __future__ import annotations

import calendar
import datetime as dt
import statistics
from typing import Any

from django.db import NotSupportedError
from django.db.models import Aggregate, DateField, DateTimeField, FloatField, Func
from django.db.models.functions import TruncDate

SQLITE_MEDIAN = "equinav_median"


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by `months` calendar months (back when negative), clamped to the
    last day of the month it lands in, exactly as `PlusMonths` computes in SQL."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _is_datetime(expression: Any) -> bool:
    return isinstance(expression.output_field, DateTimeField)


def _is_date(expression: Any) -> bool:
    return isinstance(expression.output_field, DateField) and not _is_datetime(expression)


class DaysBetween(Func):
    """`later − earlier` in days, as a float (NULL when either is NULL)."""

    arity = 2
    output_field = FloatField()

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)

    def resolve_expression(self, *args: Any, **kwargs: Any) -> DaysBetween:
        resolved = super().resolve_expression(*args, **kwargs)
        later, earlier = resolved.get_source_expressions()
        # A date against a datetime: compare calendar days, the datetime's in local time
        # (a test done on the 3rd is "2 days" after a call at 4 pm on the 1st).
        if _is_date(later) and _is_datetime(earlier):
            earlier = TruncDate(earlier).resolve_expression(*args, **kwargs)
        elif _is_datetime(later) and _is_date(earlier):
            later = TruncDate(later).resolve_expression(*args, **kwargs)
        resolved.set_source_expressions([later, earlier])
        return resolved

    def _both_dates(self) -> bool:
        return all(_is_date(side) for side in self.get_source_expressions())

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        raise NotSupportedError(f"DaysBetween is not written for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # julianday() reads both 'YYYY-MM-DD' and Django's stored UTC datetimes.
        template = "(julianday(%(expressions)s))"
        return super().as_sql(
            compiler, connection, template=template, arg_joiner=") - julianday(", **extra_context
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        if self._both_dates():
            # date − date is an integer number of days.
            template = "CAST((%(expressions)s) AS double precision)"
        else:
            template = "(CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision) / 86400.0)"
        return super().as_sql(
            compiler, connection, template=template, arg_joiner=" - ", **extra_context
        )


class Median(Aggregate):
    """The median of a group's non-null values (NULL for a group without any)."""

    name = "Median"
    function = SQLITE_MEDIAN
    output_field = FloatField()
    allow_distinct = False

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        raise NotSupportedError(f"Median is not written for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, **extra_context)

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # Set on a copy, not passed as `template=`: with a FILTER clause Aggregate.as_sql
        # builds its own template from `self.template`.
        clone = self.copy()
        clone.template = "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
        return super(Median, clone).as_sql(compiler, connection, **extra_context)


class PlusMonths(Func):
    """A date `months` calendar months later (earlier when negative), clamped to the
    month's last day; `add_months` in SQL."""

    output_field = DateField()

    def __init__(self, day: Any, months: int) -> None:
        if not isinstance(months, int):
            raise TypeError("months must be a whole number")
        self.months = months
        super().__init__(day)

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        raise NotSupportedError(f"PlusMonths is not written for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # The same day of the target month, counted from its first day, or that month's
        # last day when the day does not exist in it ('+n months' alone would roll over
        # into the next month). The day comes from characters 9–10 of 'YYYY-MM-DD'.
        later, after = f"'{self.months:+d} months'", f"'{self.months + 1:+d} months'"
        template = (
            f"MIN(date(%(expressions)s, 'start of month', {later}, "
            "'+' || (CAST(substr(date(%(expressions)s), 9, 2) AS INTEGER) - 1) || ' days'), "
            f"date(%(expressions)s, 'start of month', {after}, '-1 day'))"
        )
        sql, params = super().as_sql(compiler, connection, template=template, **extra_context)
        return sql, (*params, *params, *params)

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        template = f"CAST((%(expressions)s + INTERVAL '{self.months:d} months') AS date)"
        return super().as_sql(compiler, connection, template=template, **extra_context)


class _SqliteMedian:
    """SQLite's side of `Median`: collects the group's values, skipping NULLs (SQLite
    passes them to an application-defined aggregate), and returns their median."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return float(statistics.median(self.values)) if self.values else None


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Add `equinav_median` to a new SQLite connection (a `connection_created`
    receiver); other databases are left alone."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_MEDIAN, 1, _SqliteMedian)
