"""PostgreSQL `timestamptz` values read by psycopg's C loader (config.pg_datetimes): the
connection uses it, Django keeps it on every cursor, and its answers are Django's own
loader's (same instant, same tzinfo) across the range of values, NULL included; on
SQLite nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from config.pg_datetimes import _utc_loader, use_c_timestamptz_loader

pytestmark = pytest.mark.django_db

VALUES = [
    "now()",
    "'0001-01-01 00:00:00+00'::timestamptz",
    "'9999-12-31 23:59:59.999999+00'::timestamptz",
    "'2026-03-08 07:30:00.5-05'::timestamptz",  # a DST morning in Boston, another offset
    "'2026-11-01 05:59:59.000001+00'::timestamptz",
    "'1969-12-31 23:59:59.999999+00'::timestamptz",
    "NULL::timestamptz",
    "'2026-11-24 19:00:00+00'::timestamptz + make_interval(secs => 0.000123)",
]


def _select() -> str:
    return "SELECT " + ", ".join(VALUES)


@pytest.mark.usefixtures("require_postgres")
def test_a_postgresql_connection_reads_timestamps_with_the_c_loader_as_django_would():
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = _utc_loader()
    assert loader is not None  # psycopg[binary] is the requirement
    oid = connection.connection.adapters.types["timestamptz"].oid
    assert connection.connection.adapters.get_loader(oid, Format.TEXT) is loader
    with connection.cursor() as cursor:
        # Django keeps it on its cursors (it would register its own on a mismatch).
        assert cursor.cursor.adapters.get_loader(oid, Format.TEXT) is loader
        cursor.execute(_select())
        fast = cursor.fetchone()
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's own loader
        assert cursor.cursor.adapters.get_loader(oid, Format.TEXT) is not loader
        cursor.execute(_select())
        django = cursor.fetchone()
    assert fast == django
    for mine, theirs in zip(fast, django, strict=True):
        if theirs is None:
            assert mine is None
            continue
        assert mine.tzinfo is theirs.tzinfo is dt.UTC
        assert mine.isoformat() == theirs.isoformat()


@pytest.mark.usefixtures("require_postgres")
def test_a_session_in_another_time_zone_keeps_djangos_loader():
    class Fake:
        vendor = "postgresql"
        timezone = dt.UTC

        class connection:  # noqa: N801 - psycopg's connection, as Django names it
            class pgconn:  # noqa: N801
                @staticmethod
                def parameter_status(name):
                    return b"America/New_York"

            class adapters:  # noqa: N801
                registered = []

                @classmethod
                def register_loader(cls, *args):
                    cls.registered.append(args)

    use_c_timestamptz_loader(None, Fake)
    assert Fake.connection.adapters.registered == []
    Fake.connection.pgconn.parameter_status = staticmethod(lambda name: b"UTC")
    use_c_timestamptz_loader(None, Fake)
    assert len(Fake.connection.adapters.registered) == 1
    Fake.timezone = dt.timezone(dt.timedelta(hours=-5))
    use_c_timestamptz_loader(None, Fake)
    assert len(Fake.connection.adapters.registered) == 1


def test_sqlite_is_left_as_it_is():
    class Fake:
        vendor = "sqlite"

    use_c_timestamptz_loader(None, Fake)  # no error, nothing touched
