"""The worklist's query compiled once and run again: `WorklistCases`.

Building the worklist's query in Python (a few dozen subqueries, resolved and
compiled to SQL) cost about half of a request's CPU, and planning that SQL in
PostgreSQL took longer than running it. Yet the SQL is the same for every request
with the same shape (whose cases, which filters, which sort, which page): only
"now" changes. So each shape is compiled once per process (thread) with a
stand-in for "now", kept (`_CACHE`, bounded), and run with the real "now" bound in
its place; on PostgreSQL as a prepared statement, so that the server plans it once
per connection too. Rows are built as the ORM builds them (`from_db`, so the audit
trail notes every patient shown), with `select_related` and the annotations.

What is cached is SQL and how to read its rows, never rows: every request runs the
query. The key holds everything the SQL or its bound values depend on besides
"now" (the user, whose cases, the filters, the sort, the page, today's date).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from navigator.models import NavigationCase
from navigator.worklist.paged import Page
from navigator.worklist.prepared import run_prepared
from navigator.worklist.replayed import query_reader, replayed_row
from navigator.worklist.rules import Moment

# A "now" no real request has: compiled in place of the moment's, then replaced.
STAND_IN_NOW = dt.datetime(1901, 1, 1, 0, 0, 0, 123457, tzinfo=dt.UTC)
_CACHE_SIZE = 64


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    read: Callable[[list[tuple[Any, ...]], str], list[NavigationCase]]


class _Local(threading.local):
    def __init__(self) -> None:
        self.entries: OrderedDict[Hashable, _Compiled] = OrderedDict()


_CACHE = _Local()


def _bind(params: tuple[Any, ...], now: dt.datetime, using: str) -> list[Any]:
    """The compiled values with the real "now": every value compiled from the stand-in
    (now, now + 7 days) moves with it. SQLite's values are text by then."""
    ops = connections[using].ops
    bound = []
    for value in params:
        moment = value
        if isinstance(value, str) and value.startswith("1901-01-"):
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                moment = value
        if (
            isinstance(moment, dt.datetime)
            and moment.year == STAND_IN_NOW.year
            and moment.microsecond == STAND_IN_NOW.microsecond
        ):
            moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
            real = now + (moment - STAND_IN_NOW)
            value = real if isinstance(value, dt.datetime) else ops.adapt_datetimefield_value(real)
        bound.append(value)
    return bound


class WorklistCases:
    """The worklist's cases as a paginator reads them: `count()` and slices. The count
    is the plain count of the cases on the list (no rules needed); a slice runs the
    compiled query for that page."""

    def __init__(
        self,
        *,
        key: Hashable,
        using: str,
        base: Callable[[], QuerySet[NavigationCase]],
        page: Callable[[Moment, int, int | None], Page],
        moment: Moment,
    ) -> None:
        self._key = key
        self._using = using
        self._build_base = base
        self._built: QuerySet[NavigationCase] | None = None
        self._page = page
        self._moment = moment
        self._count: int | None = None

    @property
    def _base(self) -> QuerySet[NavigationCase]:
        # Built only when a query is compiled (the first time for a key) or cannot be
        # kept: the queryset's SQL turns only on the key, so a kept query needs none.
        if self._built is None:
            self._built = self._build_base()
        return self._built

    def count(self) -> int:
        if self._count is None:
            # Compiled once per key (navigator.worklist.replayed), run every time.
            self._count = replayed_row(
                ("worklist_count", self._key),
                using=self._using,
                run=lambda: self._base.count(),
                read=lambda row: int(row[0]),
            )
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[NavigationCase]:
        return iter(self[0 : self.count()])

    def __getitem__(self, index: slice) -> list[NavigationCase]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("The worklist is read a page (a slice) at a time.")
        start = index.start or 0
        stop = index.stop
        if stop is not None and stop <= start:
            return []
        key = (self._key, start, stop)
        entries = _CACHE.entries
        compiled = entries.get(key)
        # A kept query was compiled from a base that can match (the key decides it).
        if compiled is None and self._base.query.is_empty():
            return []
        if compiled is None:
            stand_in = Moment(today=self._moment.today, now=STAND_IN_NOW)
            page = self._page(stand_in, start, stop)
            compiler, sql, params, read = query_reader(page.rows)
            sql, params = page.sql(compiler, sql, params)
            compiled = entries[key] = _Compiled(sql=sql, params=params, read=read)
            while len(entries) > _CACHE_SIZE:
                entries.popitem(last=False)
        else:
            entries.move_to_end(key)
        using = self._using
        raw = run_prepared(compiled.sql, _bind(compiled.params, self._moment.now, using), using)
        return compiled.read(raw, using)
