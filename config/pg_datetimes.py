"""PostgreSQL's `timestamptz` values read by psycopg's C loader, not Python.

Django reads every `timestamptz` through a Python subclass of psycopg's loader
(django.db.backends.postgresql.psycopg_any.BaseTzLoader: it parses the text, then
replaces the answer's tzinfo with the connection's time zone), and psycopg uses its C
loaders only for its own classes: so each value was parsed in Python. The worklist
reads a few hundred of them a request (356 for the API's page of 50, 605 for the
page's): measured on this machine, about 7x the C loader's time per value, a large
part of the request's CPU once its SQL is kept (navigator.worklist.compiled).

With the session's TimeZone UTC and Django's connection time zone UTC (USE_TZ without
a DATABASES TIME_ZONE: what Django sets up, UTC on every new connection), the C
loader's answer is Django's: the same instant, tzinfo `datetime.timezone.utc`
(tests/config/test_pg_datetimes.py compares the two). So on each new PostgreSQL
connection where both hold, `use_c_timestamptz_loader` registers a loader whose
`load` is the C loader's, and which carries the `timezone` Django checks on each
cursor (it then keeps it). Elsewhere (another time zone, no C extension, SQLite)
nothing changes.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

# Only "UTC" (what Django sets): psycopg reads any other name, 'Etc/UTC' included, as
# a ZoneInfo, so the C loader's values there would carry ZoneInfo('Etc/UTC'), not
# Django's `datetime.UTC` (tests/config/test_pg_datetimes.py).
_UTC_NAMES = (b"UTC",)


@cache
def _utc_loader() -> type | None:
    """The loader class, or None without psycopg's C extension."""
    try:
        import psycopg
        from psycopg.adapt import Loader
        from psycopg.pq import Format
    except ImportError:  # pragma: no cover - psycopg 3 is a requirement
        return None
    oid = psycopg.adapters.types["timestamptz"].oid
    c_loader = psycopg.adapters.get_loader(oid, Format.TEXT)
    if c_loader is None or c_loader.__module__.startswith("psycopg.types"):
        return None  # the pure-Python build: Django's own loader is as fast
    c_class: type = c_loader

    class UTCTimestamptzLoader(Loader):
        """Django's BaseTzLoader for UTC (`timezone`), loading with psycopg's C loader."""

        timezone = dt.UTC

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            # The C loader's bound method itself: no Python frame per value.
            self.load = c_class(oid, context).load  # type: ignore[method-assign]

        def load(self, data: Any) -> Any:  # replaced per instance above
            raise NotImplementedError

    return UTCTimestamptzLoader


def use_c_timestamptz_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: the C loader on a PostgreSQL connection in UTC."""
    if connection.vendor != "postgresql" or connection.timezone is not dt.UTC:
        return
    pg = connection.connection
    if pg.pgconn.parameter_status(b"TimeZone") not in _UTC_NAMES:
        return
    loader = _utc_loader()
    if loader is not None:
        pg.adapters.register_loader("timestamptz", loader)
