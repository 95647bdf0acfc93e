"""Writing the audit trail: the patients a request touched, and security events.

A request gets a collector (`collecting`, opened by `AccessAuditMiddleware`). Every
patient row and every row that names a patient, as it is loaded from the database,
notes its patient there (`note_loaded_patient`, called from `from_db` of the
`AuditedRead` models): a 50-row list notes 50 patients without any view having to
remember to. Views that read patients through `.values()` (which loads no model
instance) call `audit_note_patients` themselves. When the response is ready the
middleware writes one `AccessEvent` and its `AccessedPatient` rows.

Outside a request (Celery tasks, management commands) nothing is collected: those are
the system's own work, not a person's access.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router, transaction
from django.db.models.sql import InsertQuery
from django.http import HttpRequest
from django.utils import timezone

from config.client_address import client_address
from navigator.audit.models import AccessAction, AccessedPatient, AccessEvent


@dataclass
class Collector:
    """What one request touched so far."""

    patient_ids: set[int] = field(default_factory=set)
    # Set by a view that knows better than the method what happened (an export).
    action: str | None = None


_current: contextvars.ContextVar[Collector | None] = contextvars.ContextVar(
    "equinav_audit_collector", default=None
)


@contextmanager
def collecting() -> Iterator[Collector]:
    """Collect the patients touched inside the block (one request)."""
    collector = Collector()
    token = _current.set(collector)
    try:
        yield collector
    finally:
        _current.reset(token)


def note_loaded_patient(patient_id: int | None) -> None:
    """Called for each audited row loaded from the database; cheap outside a request."""
    collector = _current.get()
    if collector is not None and patient_id is not None:
        collector.patient_ids.add(patient_id)


def audit_note_patients(patient_ids: Iterable[int | None]) -> None:
    """A view or selector that reads patients without loading model rows says so here."""
    collector = _current.get()
    if collector is not None:
        collector.patient_ids.update(pid for pid in patient_ids if pid is not None)


def audit_mark_action(action: str) -> None:
    """Name this request's action where the method alone would not (an export)."""
    collector = _current.get()
    if collector is not None:
        collector.action = action


def _request_fields(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    match = getattr(request, "resolver_match", None)
    return {
        "ip_address": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
        "request_id": str(getattr(request, "request_id", "") or "")[:64],
        "method": request.method or "",
        "route": (match.view_name if match else "")[:120],
        # The path only: query strings may carry searches, which may carry PHI.
        "path": request.path[:300],
    }


def access_event_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    status_code: int | None = None,
    patient_ids: Iterable[int] = (),
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """Write one audit row and its patients, in their own transaction, at once."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    ids = sorted(set(patient_ids))
    event = AccessEvent(
        at=timezone.now(),
        user=user,
        username=(user.get_username() if user is not None else username)[:150],
        role=getattr(user, "role", "") if user is not None else "",
        action=action,
        status_code=status_code,
        patient_count=len(ids),
        detail=detail or {},
        **_request_fields(request),
    )
    using = router.db_for_write(AccessEvent)
    if ids and connections[using].vendor == "postgresql":
        _insert_with_patients(event, ids, using)
        return event
    # One row alone needs no transaction; a row and its patients are written together.
    with transaction.atomic(using=using) if ids else nullcontext():
        event.save(using=using, force_insert=True)
        if ids:
            AccessedPatient.objects.using(using).bulk_create(
                [AccessedPatient(event=event, patient_id=pid) for pid in ids]
            )
    return event


def _insert_with_patients(event: AccessEvent, ids: list[int], using: str) -> None:
    """The event and its patients in one statement (PostgreSQL): both rows or neither,
    with no transaction to open and close around them. Every request that shows
    patients writes this, so it is one round trip instead of four."""
    connection = connections[using]
    fields = [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]
    query = InsertQuery(AccessEvent)
    query.insert_values(fields, [event])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [AccessEvent._meta.pk]
    [(insert, params)] = compiler.as_sql()
    qn = connection.ops.quote_name
    sql = (
        f"WITH event AS ({insert}), patients AS ("  # noqa: S608 - names from the models, values bound
        f"INSERT INTO {qn(AccessedPatient._meta.db_table)} ({qn('event_id')}, {qn('patient_id')}) "
        "SELECT event.id, patient FROM event, unnest(%s::bigint[]) AS patient"
        ") SELECT id FROM event"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, ids])
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = using


def audit_security_event(
    *,
    action: str,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    detail: dict[str, str] | None = None,
) -> None:
    """Sign-in, failure, lockout, token and two-factor events, right-of-access exports.

    `username` is what was typed when no user is known (a failed sign-in); never a
    password, a token or a code.
    """
    if action not in AccessAction.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    collector = _current.get()
    patient_ids = () if collector is None else collector.patient_ids
    if detail and "patient_id" in detail:
        patient_ids = {*patient_ids, int(detail["patient_id"])}
    access_event_record(
        action=action,
        request=request,
        user=user,
        username=username,
        patient_ids=patient_ids,
        detail=detail,
    )


class AuditedRead:
    """Mixed into each model whose rows are a patient's data: every row loaded inside
    a request notes its patient (`audit_patient_attname`, the patient's own `id` or a
    row's `patient_id`). Django calls `from_db` for every row a queryset builds,
    `select_related` rows included, so no view can forget to."""

    audit_patient_attname = "patient_id"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)  # type: ignore[misc]
        note_loaded_patient(instance.__dict__.get(cls.audit_patient_attname))
        return instance
