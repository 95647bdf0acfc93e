"""The suite's flush on PostgreSQL (tests/fixtures/flush.py: a DELETE from every table with
triggers off, in place of Django's TRUNCATE) empties every table as the TRUNCATE did,
keeps the sequences, and leaves the triggers on."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection

from navigator.models import NavigationCase
from tests import factories


def _rows_per_table() -> dict[str, int]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_flush_empties_every_table_keeps_the_sequences_and_leaves_the_triggers_on(
    require_postgres,
):
    # Given cases with their history and audit rows (protected from DELETE by triggers),
    # rows that reference each other, and the migrations' seed rows
    first = factories.CaseFactory()
    factories.CaseBarrierFactory(case=first)
    factories.ContactAttemptFactory(case=first)
    assert sum(_rows_per_table().values()) > 500

    # When the database is flushed as a TransactionTestCase flushes it (sequences kept)
    call_command(
        "flush", verbosity=0, interactive=False, inhibit_post_migrate=True, reset_sequences=False
    )

    # Then every table is empty, and the flush took the DELETE path
    assert {table: n for table, n in _rows_per_table().items() if n} == {}
    sql = connection.ops.sql_flush(no_style(), ["navigator_navigationcase"])
    assert sql[0] == "SET LOCAL session_replication_role = replica"
    # And the triggers are on again after the flush
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"
    # And, the seed rows back, the sequences went on counting (no id is used twice)
    connection.creation.deserialize_db_from_string(connection._test_serialized_contents)
    second = factories.CaseFactory()
    assert second.pk > first.pk
    assert NavigationCase.objects.count() == 1


def test_a_flush_that_resets_sequences_still_truncates(require_postgres):
    sql = connection.ops.sql_flush(no_style(), ["a", "b"], reset_sequences=True)
    assert len(sql) == 1 and sql[0].startswith("TRUNCATE")
