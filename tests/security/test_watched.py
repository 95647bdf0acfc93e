"""The matrix's fast snapshot (one plain SELECT per table) sees what the ORM's sees: the
same rows in the same order, every field's column, and every kind of write."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from navigator.models import Coverage, NavigationCase, User
from outreach.models import CaseTask
from patients.models import Patient
from tests import factories
from tests.security.watched import WATCHED, orm_snapshot, snapshot, snapshot_columns

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases():
    """Two cases with a barrier, an appointment and a coverage between their navigators."""
    made = [factories.CaseFactory() for _ in range(2)]
    for case in made:
        factories.CaseBarrierFactory(case=case)
        factories.AppointmentFactory(case=case)
    factories.CoverageFactory(absent=made[0].navigator, covering=made[1].navigator)
    return made


def shape(taken: dict[str, list[tuple]]) -> dict[str, list[object]]:
    """Each table's primary keys, in order (the first column of both snapshots)."""
    return {name: [row[0] for row in rows] for name, rows in taken.items()}


def test_it_reads_the_same_rows_in_the_same_order_as_the_orm(cases):
    fast, orm = snapshot(), orm_snapshot()

    assert shape(fast) == shape(orm)
    assert any(len(rows) > 1 for rows in fast.values())
    for model in WATCHED:
        rows = zip(fast[model.__name__], orm[model.__name__], strict=True)
        assert all(len(one) == len(other) for one, other in rows), model.__name__


def test_it_compares_every_column_of_every_field_the_orm_compares():
    for model in WATCHED:
        # The primary key first (what `shape` reads), then every concrete field's column
        columns = snapshot_columns(model)
        assert columns[0] == model._meta.pk.column, model.__name__
        assert sorted(columns) == sorted(f.column for f in model._meta.concrete_fields), (
            model.__name__
        )


WRITES = {
    "a field changed": lambda cases: Patient.objects.filter(pk=cases[0].patient.pk).update(
        family_name="Changed"
    ),
    "a time stamped": lambda cases: User.objects.filter(pk=cases[1].navigator.user.pk).update(
        last_login=timezone.now()
    ),
    # (A clinical record is never deleted: PostgreSQL refuses. A coverage may be.)
    "a row deleted": lambda cases: Coverage.objects.filter(absent=cases[0].navigator).delete(),
    "a row added": lambda cases: CaseTask.objects.create(
        case=cases[0],
        kind="no_show",
        subject_key="watched",
        due_on=dt.date(2026, 12, 4),
        summary="No-show: call to re-book",
    ),
    "a value cleared": lambda cases: NavigationCase.objects.filter(pk=cases[0].pk).update(
        navigator=None
    ),
}


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_a_write_the_orm_snapshot_sees_the_fast_one_sees_and_both_see_it_undone(cases, write):
    fast_before, orm_before = snapshot(), orm_snapshot()

    # When a write is made, then undone (as each matrix test's savepoint is)
    with transaction.atomic():
        WRITES[write](cases)
        fast_during, orm_during = snapshot(), orm_snapshot()
        transaction.set_rollback(True)

    # Then both saw it, and both see the world as it was once it is undone
    assert orm_during != orm_before
    assert fast_during != fast_before
    assert (snapshot(), orm_snapshot()) == (fast_before, orm_before)
