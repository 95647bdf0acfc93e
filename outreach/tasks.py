"""Celery tasks: each takes ids, loads, and calls one service."""

from __future__ import annotations

import datetime as dt
import smtplib
from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from outreach import services


@shared_task
def create_follow_up_reminders() -> int:
    """Daily: one reminder per case whose follow-up date has come."""
    return len(services.follow_up_reminders_create(today=timezone.localdate()))


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def send_follow_up_reminder_email(reminder_id: int) -> bool:
    return services.follow_up_reminder_send_email(reminder_id=reminder_id)


@shared_task
def sweep_unsent_reminder_emails() -> int:
    """Re-enqueue reminder emails whose task was lost; sending is idempotent."""
    ids = services.unsent_reminder_ids(older_than=dt.timedelta(minutes=10))
    for reminder_id in ids:
        send_follow_up_reminder_email.delay(reminder_id)
    return len(ids)


@shared_task
def send_patient_message(message_id: int) -> str:
    """Send one claimed message. Retries are the service's own (the row records
    each try and when the next is due), so the task never retries itself."""
    return services.message_send(message_id=message_id)


@shared_task
def sweep_patient_messages() -> int:
    """Every minute: claim due messages (SKIP LOCKED) and hand each to a worker.

    The claim commits first; the send tasks are enqueued after it, so a task
    never runs for a claim that rolled back, and a task lost with a worker or
    a broker is found again when its claim's lease runs out."""
    ids = services.messages_claim_due(now=timezone.now())
    for message_id in ids:
        transaction.on_commit(partial(send_patient_message.delay, message_id))
    return len(ids)
