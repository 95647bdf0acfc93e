"""What a refused write must leave exactly as it was, and how the matrix looks at it.

`snapshot()` reads every row of every watched table, every column, ordered by primary
key, with one plain SELECT per table: the database's own values, compared as they are.
It is the matrix's hot path (taken in most of its ~3,000 tests): the ORM's
`values_list()` of the same rows (`orm_snapshot()`, kept as the general path that
tests/security/test_watched.py holds it to) took about ten times as long, compiling 13
queries and converting every value on every call.

The world is the same at the start of every test (each runs in a savepoint rolled back
at its end), so a test compares its snapshot after the request with the one taken once
when the world was built (`World.baseline`), rather than taking its own before it.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model

from navigator.models import (
    Appointment,
    CaseBarrier,
    Coverage,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
    NavigationCase,
    NavigatorProfile,
    User,
)
from outreach.models import (
    CallGuide,
    CaseTask,
    FollowUpReminder,
    InterpreterRequest,
    PatientMessage,
)
from patients.models import Patient, Referral

WATCHED: tuple[type[Model], ...] = (
    NavigationCase,
    Patient,
    Referral,
    CaseBarrier,
    Appointment,
    InterpreterRequest,
    CaseTask,
    FollowUpReminder,
    PatientMessage,
    Coverage,
    NavigatorProfile,
    CallGuide,
    User,
    GroupSeries,
    GroupSession,
    GroupEnrolment,
    GroupAttendance,
)

Snapshot = dict[str, list[tuple]]


def _select_all(model: type[Model]) -> str:
    # Names from the models, never from input.
    table, pk = (
        connection.ops.quote_name(name) for name in (model._meta.db_table, model._meta.pk.column)
    )
    return f"SELECT * FROM {table} ORDER BY {pk}"  # noqa: S608


def snapshot() -> Snapshot:
    """Every row of every watched table, as the database holds it."""
    taken: Snapshot = {}
    with connection.cursor() as cursor:
        for model in WATCHED:
            cursor.execute(_select_all(model))
            taken[model.__name__] = [tuple(row) for row in cursor.fetchall()]
    return taken


def snapshot_columns(model: type[Model]) -> list[str]:
    """The columns `snapshot()` compares for a model (the table's, in its order)."""
    with connection.cursor() as cursor:
        cursor.execute(_select_all(model))
        return [column[0] for column in cursor.description]


def orm_snapshot() -> Snapshot:
    """The same rows through the ORM: every concrete field, ordered by primary key."""
    return {model.__name__: list(model.objects.order_by("pk").values_list()) for model in WATCHED}
