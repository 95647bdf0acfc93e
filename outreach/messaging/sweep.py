"""The sending sweep: claiming due messages in batches and handing them to workers."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outreach.models import MessageChannel, MessageState, PatientMessage


def sending_lease() -> dt.timedelta:
    """A message claimed for sending longer ago than this, and still not sent, belonged
    to a worker that died; the sweep claims it again (the idempotency key stops a resend)."""
    return dt.timedelta(seconds=settings.EQUINAV_MESSAGE_LEASE_SECONDS)


def messages_claim_due(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Claim up to `limit` due messages for sending; their ids.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so two workers
    sweeping at once take disjoint sets; the conditional update is what makes the
    claim hold on any database. A message left "sending" past its lease (its
    worker died) is claimed again, first: it is the latest.

    Two queries rather than one with an OR, so that each reads its own index
    ((state, due_at), (state, claimed_at)) in order and stops at `limit`, however
    many sent messages the table holds.
    """
    # Letters go out in the day's printed batch, not through the sweep.
    unsent = PatientMessage.objects.exclude(channel=MessageChannel.LETTER)
    with transaction.atomic():
        ids = list(
            unsent.filter(state=MessageState.SENDING, claimed_at__lt=now - sending_lease())
            .order_by("claimed_at")
            .values_list("pk", flat=True)
            .select_for_update(skip_locked=True)[:limit]
        )
        if len(ids) < limit:
            ids += list(
                unsent.filter(state=MessageState.SCHEDULED, due_at__lte=now)
                .order_by("due_at")
                .values_list("pk", flat=True)
                .select_for_update(skip_locked=True)[: limit - len(ids)]
            )
        if not ids:
            return []
        PatientMessage.objects.filter(pk__in=ids).update(state=MessageState.SENDING, claimed_at=now)
        return ids


def messages_dispatch_due(
    *,
    enqueue: Callable[[list[int]], object],
    now: Callable[[], dt.datetime] = timezone.now,
    batch: int | None = None,
    budget: dt.timedelta | None = None,
) -> int:
    """The sweep: claim due messages a batch at a time and hand each batch to
    `enqueue` once its claim has committed, until none is due or the time budget
    is spent (the next sweep goes on from there); how many were dispatched.

    It streams: a batch is all it holds in memory, however many are due.
    """
    batch = batch or settings.EQUINAV_SWEEP_BATCH
    budget = budget or dt.timedelta(seconds=settings.EQUINAV_SWEEP_SECONDS)
    started = time.monotonic()
    dispatched = 0
    while True:
        ids = messages_claim_due(now=now(), limit=batch)
        if ids:
            enqueue(ids)
            dispatched += len(ids)
        if len(ids) < batch or time.monotonic() - started > budget.total_seconds():
            return dispatched
