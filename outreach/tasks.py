"""Celery tasks: each takes ids, loads, and calls one service."""

from __future__ import annotations

import datetime as dt
import smtplib
from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from outreach import selectors
from outreach.messaging import patient_reminders, send, sweep
from outreach.services import follow_up_reminders, navigator_tasks


@shared_task
def create_follow_up_reminders() -> int:
    """Daily: one reminder per case whose follow-up date has come."""
    return len(follow_up_reminders.follow_up_reminders_create(today=timezone.localdate()))


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def send_follow_up_reminder_email(reminder_id: int) -> bool:
    return follow_up_reminders.follow_up_reminder_send_email(reminder_id=reminder_id)


@shared_task
def sweep_unsent_reminder_emails() -> int:
    """Re-enqueue reminder emails whose task was lost; sending is idempotent."""
    ids = selectors.unsent_reminder_ids(older_than=dt.timedelta(minutes=10))
    for reminder_id in ids:
        send_follow_up_reminder_email.delay(reminder_id)
    return len(ids)


@shared_task
def send_patient_message(message_id: int) -> str:
    """Send one claimed message. Retries are the service's own (the row records
    each try and when the next is due), so the task never retries itself."""
    return send.message_send(message_id=message_id)


def enqueue_sends(message_ids: list[int]) -> None:
    for message_id in message_ids:
        transaction.on_commit(partial(send_patient_message.delay, message_id))


@shared_task
def sweep_patient_messages() -> int:
    """Every minute: claim due messages (SKIP LOCKED) a batch at a time and hand each
    to a worker, until none is due.

    Each claim commits first; its send tasks are enqueued after it, so a task never
    runs for a claim that rolled back, and a task lost with a worker or a broker is
    found again when its claim's lease runs out."""
    return sweep.messages_dispatch_due(enqueue=enqueue_sends)


@shared_task
def scan_case_tasks() -> dict[str, int]:
    """Hourly: run the programs' task rules (prep calls, no-shows, missing results,
    abnormal results without follow-up, cases with no attempt)."""
    return navigator_tasks.case_tasks_scan()


@shared_task
def schedule_recall_messages() -> int:
    """Daily: schedule the recall messages of patients whose next screening comes due."""
    return len(patient_reminders.recall_messages_schedule(today=timezone.localdate()))
