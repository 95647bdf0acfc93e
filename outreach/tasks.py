"""Celery tasks: each takes ids, loads, and calls one service."""

from __future__ import annotations

import datetime as dt
import smtplib

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from config.enqueue import enqueue_many_on_commit
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


@shared_task(
    # The database went away or a lock wait was cancelled mid-batch: try the batch
    # again (what it had sent is skipped: each message is checked and locked anew).
    autoretry_for=(OperationalError,),
    retry_backoff=10,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
)
def send_patient_messages(message_ids: list[int]) -> dict[str, int]:
    """Send a batch of claimed messages (queue: messaging), one after the other, each
    once; the messaging retries are the service's own, as for a single message.
    Should the task be lost, its messages stay "sending" and the sweep claims them
    again after their lease."""
    return send.messages_send(message_ids=message_ids)


SEND_TASK = "outreach.tasks.send_patient_messages"


def enqueue_sends(message_ids: list[int]) -> None:
    """A send task per EQUINAV_SEND_TASK_BATCH claimed messages, all published over
    one broker connection once the claim has committed: one publish per message
    was most of the sweep's time."""
    size = settings.EQUINAV_SEND_TASK_BATCH
    chunks = [(message_ids[i : i + size],) for i in range(0, len(message_ids), size)]
    enqueue_many_on_commit(SEND_TASK, chunks)


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


@shared_task
def schedule_group_reminders(session_id: int) -> int:
    """Once a group session is added or a patient enrolled: schedule the session's
    reminders to its enrolled patients. Safe to run twice (each message is made once);
    a session deleted or past by then schedules nothing."""
    return len(patient_reminders.group_session_reminders_schedule_by_id(session_id=session_id))
