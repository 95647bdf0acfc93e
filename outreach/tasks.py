"""Celery tasks: each takes ids, loads, and calls one service."""

from __future__ import annotations

import datetime as dt
import smtplib

from celery import shared_task
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
