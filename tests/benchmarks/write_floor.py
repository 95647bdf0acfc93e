"""A floor for a bulk job: PostgreSQL COPY of the very rows the job inserted, back into
the app's own tables.

COPY of the input file into a bare table (the import's first floor) says how fast
PostgreSQL takes the bytes; it does not say how fast it can store what an import of
them must store. A referral row becomes a patient, a phone, a referral, a case, its
events and their audit trail, each in a table with its indexes, unique constraints,
foreign keys and the audit trigger (`navigator.audit.history`). This floor measures
that: after the job ran, the rows it inserted are read out (COPY TO), deleted inside
a transaction, and written back by COPY FROM into the same tables with every index,
constraint and trigger in force; the foreign keys are checked (`SET CONSTRAINTS ALL
IMMEDIATE`) inside the timing; then the transaction is rolled back, so the database
is as the job left it. The audit trail (`RowChange`) is not copied back (it is append-only
even here: its rows stay, and are gone with the rollback): the triggers write it
again, as they did for the job, and that work is in the timing.

What it leaves out, in the job's favour: the job's UPDATEs (an upload's progress, a
navigator's load) and its reads. What it leaves in, against the job: nothing; it is
the least work any code could do to store the same rows.

Hand-written because it measures this app's own tables: no tool copies a job's rows
back with the triggers on.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from tests.benchmarks.harness import skip_audit_triggers


@dataclass(frozen=True)
class _Table:
    name: str
    pk: str
    label: str
    # Filled by the database's triggers, not by the job: never copied back.
    regenerated: bool


def _tables() -> list[_Table]:
    from django.apps import apps
    from django.db import models

    from navigator.audit.models import RowChange

    tables = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.swapped:
            continue
        if not isinstance(meta.pk, models.AutoField | models.BigAutoField):
            continue
        tables.append(
            _Table(
                name=meta.db_table,
                pk=meta.pk.column,
                label=meta.label,
                regenerated=model is RowChange,
            )
        )
        for field in meta.local_many_to_many:
            through_model = field.remote_field.through
            if through_model is None:
                continue
            through = through_model._meta
            if through.auto_created:
                tables.append(
                    _Table(name=through.db_table, pk="id", label=through.label, regenerated=False)
                )
    return tables


def ids_before() -> dict[str, int]:
    """Each table's largest id now: the rows a job inserts after this have larger ones."""
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for table in _tables():
            cursor.execute(f'SELECT COALESCE(MAX("{table.pk}"), 0) FROM "{table.name}"')  # noqa: S608 - names from the models
            found[table.name] = cursor.fetchone()[0]
    return found


@dataclass(frozen=True)
class WriteFloor:
    seconds: float
    rows: dict[str, int]  # per model label: the rows copied back
    regenerated: int  # audit rows the triggers wrote again
    steps: dict[str, float]  # seconds per table's COPY, and for the deferred key checks


def rows_written_floor(before: dict[str, int]) -> WriteFloor:
    """Seconds for PostgreSQL to COPY back every row inserted since `before`
    (`ids_before()`), with the tables' indexes, constraints and triggers; the database
    is unchanged afterwards."""
    from django.db import connection, transaction

    from navigator.audit.models import RowChange

    written: list[tuple[_Table, list[str], bytes]] = []
    with connection.cursor() as cursor:
        for table in _tables():
            if table.regenerated or table.name not in before:
                continue
            cursor.execute(f'SELECT * FROM "{table.name}" LIMIT 0')  # noqa: S608 - names from the models
            columns = [column.name for column in cursor.description]
            out = io.BytesIO()
            select = f'SELECT * FROM "{table.name}" WHERE "{table.pk}" > {int(before[table.name])}'  # noqa: S608 - names from the models, an int
            with cursor.copy(f"COPY ({select}) TO STDOUT") as copy:
                for block in copy:
                    out.write(block)
            if out.tell():
                written.append((table, columns, out.getvalue()))

    counts: dict[str, int] = {}
    steps: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # Make room: the same rows out again, audit rows and guards bypassed (the
        # never-deleted guards refuse a DELETE; this one is rolled back below).
        skip_audit_triggers(cursor)
        for table, _columns, data in written:
            cursor.execute(
                f'DELETE FROM "{table.name}" WHERE "{table.pk}" > %s',  # noqa: S608 - names from the models
                [before[table.name]],
            )
            counts[table.label] = data.count(b"\n")
        # The deletes' own foreign-key checks are deferred too: run them now, outside
        # the timing, then defer again so the copies are checked as a job's inserts are.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
        audit_rows_before = RowChange.objects.count()

        started = time.perf_counter()
        for table, columns, data in written:
            column_list = ", ".join(f'"{column}"' for column in columns)
            table_started = time.perf_counter()
            with cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as copy:
                copy.write(data)
            steps[table.label] = time.perf_counter() - table_started
        checks_started = time.perf_counter()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        steps["foreign keys checked"] = time.perf_counter() - checks_started
        seconds = time.perf_counter() - started

        audit_rows = RowChange.objects.count() - audit_rows_before
        transaction.set_rollback(True)
    return WriteFloor(seconds=seconds, rows=counts, regenerated=audit_rows, steps=steps)
