"""Running the worklist's kept SQL as prepared statements: `run_prepared`.

The worklist keeps the SQL of each of its queries per key and process
(`compiled` for the ranked page, `replayed` for whose cases, the counts, the menus,
reminders and tasks) and sends it again on every request. Django binds values on
the client and prepares nothing, so PostgreSQL planned each of those statements
again on every request: for the small ones, planning took longer than running
(0.5 to 0.7 ms of 0.7 to 1.1). Prepared on the connection, each is planned once
per connection and shape. `prepared_sql` lists what this thread has prepared, so
that the bench measures those statements as the app runs them.

psycopg turns each statement's `%s` into `$1, $2...` (a scan of the whole text) and
keeps the answer only for statements under 4 kB and 50 values; the ranked page's is
longer, so it was scanned again on every request (7% of the worklist API's Python).
The statements here are few and kept per process anyway: their conversion is kept
beside them (`_KeptQuery`).
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import connections
from psycopg import Cursor
from psycopg._queries import PostgresQuery, _query2pg_nocache

_PREPARED_LIMIT = 512
# statement -> psycopg's conversion of it, for the statements this module runs.
_CONVERTED: dict[tuple[str, str], Any] = {}


class _Local(threading.local):
    def __init__(self) -> None:
        self.sql: dict[str, None] = {}


_SEEN = _Local()


def prepared_sql() -> frozenset[str]:
    """The SQL this thread has run through `run_prepared` (on PostgreSQL: prepared)."""
    return frozenset(_SEEN.sql)


class _KeptQuery(PostgresQuery):
    """psycopg's own conversion of a statement (`%s` to `$n`), kept for the process
    whatever the statement's length (psycopg keeps those under 4 kB); the values are
    dumped for every execution as psycopg does."""

    __slots__ = ()

    def convert(self, query: Any, vars: Any) -> None:
        if type(query) is not str or vars is None:
            super().convert(query, vars)
            return
        encoding = self._tx.encoding
        key = (query, encoding)
        converted = _CONVERTED.get(key)
        if converted is None:
            converted = _query2pg_nocache(query.encode(encoding), encoding)
            if len(_CONVERTED) < _PREPARED_LIMIT:
                _CONVERTED[key] = converted
        self.query, self._want_formats, self._order, self._parts = converted
        self.dump(vars)


class _KeptQueryCursor(Cursor):
    _query_cls = _KeptQuery


class _PreparedCursor:
    """A psycopg cursor with server-side binding whose every query is prepared: the
    server keeps the plan for the connection (Django's own cursors bind on the client
    and prepare nothing)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Any = None) -> Any:
        return self._cursor.execute(sql, params, prepare=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def run_prepared(sql: str, params: Any, using: str) -> list[tuple[Any, ...]]:
    """The rows of `sql` with `params` (Django's SQL and values, %s placeholders):
    elsewhere than PostgreSQL through Django's cursor, on PostgreSQL prepared on the
    connection. Either way through Django's cursor wrapper: counted, logged and seen
    by execute wrappers as any query."""
    if len(_SEEN.sql) < _PREPARED_LIMIT:
        _SEEN.sql[sql] = None
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    connection.ensure_connection()
    pg = connection.connection
    if pg.prepare_threshold is None:
        # Django turns psycopg's preparing off (None); an explicit prepare=True then
        # prepares nothing either. A threshold no query reaches turns it back on for
        # explicit requests only: Django's own cursors bind on the client and never
        # prepare whatever the threshold.
        pg.prepare_threshold = 2**31 - 1
        # The server's choice between a custom plan (planned again for every "now")
        # and the generic one kept the ranked page on custom plans: 2 ms of planning a
        # request, where the generic plan runs as fast (same indexes: nothing in the
        # plan turns on the values). Only statements prepared on this connection follow
        # the setting, and only this module prepares (Django binds on the client).
        # Once per connection, as a session setting: not a query of the request's.
        pg.execute("SET plan_cache_mode = force_generic_plan")
    raw = _PreparedCursor(_KeptQueryCursor(pg))
    with connection._prepare_cursor(raw) as cursor:  # type: ignore[attr-defined]  # noqa: SLF001
        cursor.execute(sql, params)
        return cursor.fetchall()
