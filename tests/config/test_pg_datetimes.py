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


@pytest.mark.usefixtures("require_postgres")
def test_the_c_loader_agrees_with_djangos_over_many_values():
    # Property-style: 2,000 instants across the whole range, microseconds included,
    # written in several offsets; the same instant and tzinfo from both loaders.
    import random

    from django.db.backends.postgresql.psycopg_any import register_tzloader

    rng = random.Random(20261205)
    epoch = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
    span = int((dt.datetime(9999, 12, 30, tzinfo=dt.UTC) - epoch).total_seconds())
    offsets = ["+00", "-05", "+05:30", "+14", "-12", "+00:00:01"]
    values = [
        (epoch + dt.timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(10**6)))
        .isoformat(sep=" ")
        .replace("+00:00", rng.choice(offsets))
        for _ in range(2000)
    ]
    sql = "SELECT v::timestamptz FROM unnest(%s::text[]) AS v"
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(sql, [values])
        fast = [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute(sql, [values])
        django = [row[0] for row in cursor.fetchall()]
    assert [(v, v.tzinfo) for v in fast] == [(v, v.tzinfo) for v in django]
    assert {v.tzinfo for v in fast} == {dt.UTC}


@pytest.mark.usefixtures("require_postgres")
def test_infinity_and_bc_fail_the_same_way_with_either_loader():
    # Python has no datetime for them: both loaders refuse them with psycopg's DataError.
    from django.db import DataError
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    for value in ("'infinity'", "'-infinity'", "'0044-03-15 BC'"):
        errors = []
        for djangos in (False, True):
            with connection.cursor() as cursor:
                if djangos:
                    register_tzloader(connection.timezone, cursor.cursor)
                with pytest.raises(DataError) as raised:
                    cursor.execute(f"SELECT {value}::timestamptz")
                    cursor.fetchone()
                errors.append(str(raised.value))
        assert errors[0] == errors[1]


@pytest.mark.usefixtures("require_postgres")
def test_a_session_in_etc_utc_keeps_djangos_loader():
    # psycopg names a session in 'Etc/UTC' ZoneInfo('Etc/UTC'), not datetime.UTC: there
    # the C loader's answers are not Django's (same instant, another tzinfo).
    from psycopg.pq import Format

    connection.ensure_connection()
    oid = connection.connection.adapters.types["timestamptz"].oid
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Etc/UTC'")
        try:
            cursor.cursor.adapters.register_loader("timestamptz", _utc_loader())
            cursor.execute("SELECT '2026-01-01 12:00:00+00'::timestamptz")
            (value,) = cursor.fetchone()
            assert value.tzinfo is not dt.UTC  # what the C loader gives in Etc/UTC

            registered = []

            class Fake:
                vendor = "postgresql"
                timezone = dt.UTC

                class connection:  # noqa: N801
                    pgconn = connection.connection.pgconn

                    class adapters:  # noqa: N801
                        register_loader = staticmethod(lambda *args: registered.append(args))

            use_c_timestamptz_loader(None, Fake)
            assert registered == []
            assert connection.connection.adapters.get_loader(oid, Format.TEXT) is _utc_loader()
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")


@pytest.mark.usefixtures("require_postgres")
def test_server_side_cursors_and_orm_reads_use_the_c_loader_and_give_utc():
    from patients.models import CareGapStamp
    from tests.factories import PatientFactory

    at = dt.datetime(2026, 3, 8, 7, 30, 0, 123456, tzinfo=dt.UTC)
    patient = PatientFactory()
    CareGapStamp.objects.create(patient=patient, computed_at=at)
    from django.db import transaction
    from django.db.models import Max

    with transaction.atomic():  # .iterator() on PostgreSQL: a named (server-side) cursor
        (read,) = CareGapStamp.objects.values_list("computed_at", flat=True).iterator(chunk_size=1)
    assert read == at and read.tzinfo is dt.UTC
    latest = CareGapStamp.objects.aggregate(m=Max("computed_at"))["m"]
    assert latest == at and latest.tzinfo is dt.UTC


@pytest.mark.usefixtures("require_postgres")
def test_without_use_tz_django_reads_naive_datetimes_as_before(settings):
    # USE_TZ off: Django's connection time zone is None, not the loader's UTC, so each
    # cursor gets Django's own loader (naive values in the session's zone).
    connection.ensure_connection()
    settings.USE_TZ = False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT '2026-01-01 12:00:00+00'::timestamptz")
            (value,) = cursor.fetchone()
        assert value.tzinfo is None
    finally:
        settings.USE_TZ = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-01-01 12:00:00+00'::timestamptz")
        (value,) = cursor.fetchone()
    assert value == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC) and value.tzinfo is dt.UTC


@pytest.mark.usefixtures("require_postgres")
def test_a_connection_opened_in_another_thread_uses_the_c_loader_too():
    # Each thread has its own connection, and each new connection its own registration.
    import threading

    from django.db import connections
    from psycopg.pq import Format

    found = []

    def read():
        try:
            with connections["default"].cursor() as cursor:
                oid = cursor.cursor.adapters.types["timestamptz"].oid
                found.append(cursor.cursor.adapters.get_loader(oid, Format.TEXT))
                cursor.execute("SELECT '2026-01-01 12:00:00.5+00'::timestamptz")
                found.append(cursor.fetchone()[0])
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert found == [_utc_loader(), dt.datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=dt.UTC)]
