"""The suite's restore of the migrations' seed rows after a flush (tests/fixtures/
seed_data.py `bulk_restore`, in place of Django's row-by-row restore) puts back exactly
the rows Django serialized when it created the test database."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from tests.fixtures.seed_data import bulk_restore


def _rows(data: str) -> list[tuple[str, object, str]]:
    return sorted(
        (row["model"], row["pk"], json.dumps(row["fields"], sort_keys=True))
        for row in json.loads(data)
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_flushed_database_gets_back_every_seed_row_as_serialized():
    # Given the rows serialized at the test database's creation, and a flush
    serialized = connection._test_serialized_contents
    assert len(json.loads(serialized)) > 500
    # (as a TransactionTestCase flushes: sequences kept, so later inserts do not reuse ids)
    call_command(
        "flush", verbosity=0, interactive=False, inhibit_post_migrate=True, reset_sequences=False
    )
    # When they are restored in bulk, twice (a restore may follow a restore)
    bulk_restore(connection, serialized)
    bulk_restore(connection, serialized)
    # Then the database serializes to the very same rows
    assert _rows(connection.creation.serialize_db_to_string()) == _rows(serialized)


def test_the_run_restores_through_the_bulk_restore():
    from django.db.backends.base.creation import BaseDatabaseCreation

    assert BaseDatabaseCreation.deserialize_db_from_string.__module__ == "tests.fixtures.seed_data"
