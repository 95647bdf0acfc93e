"""Sending one patient message: the last-moment checks (consent, death, quiet hours,
caps), the channel (SMS backend or email), and retries with backoff."""

from __future__ import annotations

import datetime as dt
import logging
import random
import smtplib
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from outreach.messaging.quiet_hours import (
    FREQUENCY_WINDOW_DAYS,
    QUIET_HOURS_END,
    FrequencyCap,
    local_to_utc,
    next_allowed,
)
from outreach.messaging.sms_backends import (
    SmsMessage,
    SmsPermanentError,
    SmsTransientError,
    get_sms_backend,
)
from outreach.models import MessageChannel, MessageState, PatientMessage, SmsOptOut
from outreach.services.navigator_tasks import message_failure_escalate

logger = logging.getLogger(__name__)


MESSAGE_MAX_TRIES = 5


def message_retry_delay(tries: int, *, jitter: float | None = None) -> dt.timedelta:
    """Backoff after the n-th failed try: 1, 2, 4, 8 minutes by default (plus up to
    half again, at random, so that a provider outage does not end in a stampede)."""
    base = dt.timedelta(seconds=settings.EQUINAV_MESSAGE_RETRY_SECONDS)
    spread = random.random() if jitter is None else jitter  # noqa: S311 - not security
    return base * (2 ** max(tries - 1, 0)) * (1 + spread / 2)


class MessageOutcome:
    SENT = "sent"
    DEFERRED = "deferred"
    RETRY = "retry"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    SKIPPED = "skipped"


def _frequency_cap() -> FrequencyCap:
    return FrequencyCap(
        per_day=getattr(settings, "EQUINAV_MESSAGES_PER_DAY", 1),
        per_week=getattr(settings, "EQUINAV_MESSAGES_PER_WEEK", 3),
    )


def _status_callback_url() -> str:
    """Where the provider reports delivery (the public site URL; none without one)."""
    site = getattr(settings, "EQUINAV_SITE_URL", "")
    return site.rstrip("/") + reverse("api:sms-status") if site else ""


def _deliver(message: PatientMessage) -> str:
    """Hand the message to its channel; the provider's id. Raises SmsTransientError
    (try later) or SmsPermanentError (never)."""
    if message.channel == MessageChannel.SMS:
        result = get_sms_backend().send(
            SmsMessage(
                to=message.recipient,
                body=message.body,
                idempotency_key=str(message.idempotency_key),
                status_callback=_status_callback_url(),
            )
        )
        return result.provider_id
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.recipient],
        # The idempotency key as the Message-ID: a copy sent again after a worker died
        # mid-send is the same message, which mail servers and mailboxes collapse.
        headers={"Message-ID": f"<{message.idempotency_key}@equinav>"},
    )
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise _smtp_error(min(codes, default=550), "the mail server refused the address") from error
    except smtplib.SMTPResponseException as error:
        # Sender refused, data refused, …: a 5xx reply is final, a 4xx one ("try later") not.
        raise _smtp_error(error.smtp_code, "the mail server refused the message") from error
    except (smtplib.SMTPException, OSError) as error:
        raise SmsTransientError(
            f"the mail server could not be reached ({type(error).__name__})"
        ) from error
    return ""


def _smtp_error(code: int, what: str) -> SmsTransientError | SmsPermanentError:
    """An SMTP reply as a send error, with its code only: the reply's text may repeat
    the patient's address."""
    if 500 <= code < 600:
        return SmsPermanentError(f"{what} (SMTP {code})", code=str(code))
    return SmsTransientError(f"{what} for now (SMTP {code})")


def message_send(*, message_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed message, once; what happened (a MessageOutcome).

    The row stays locked while the provider is called, so a second task for the
    same message skips it; if the worker dies mid-send the transaction rolls back,
    the row stays "sending", and the sweep claims it again after the lease, when
    the same idempotency key stops the provider sending twice. Consent, death,
    quiet hours and the frequency caps are checked again here, at the last moment.
    """
    now = now or timezone.now()
    with transaction.atomic():
        message = (
            PatientMessage.objects.select_for_update(skip_locked=True)
            .select_related("patient")
            .filter(
                # Claimed by the sweep, or due now and enqueued by its own transaction.
                Q(state=MessageState.SENDING) | Q(state=MessageState.SCHEDULED, due_at__lte=now),
                pk=message_id,
            )
            .first()
        )
        if message is None:
            return MessageOutcome.SKIPPED
        patient = message.patient
        zone = ZoneInfo(patient.time_zone)
        stop = _reason_not_to_send(message)
        if stop:
            _message_finish(message, MessageState.SUPPRESSED, reason=stop)
            return MessageOutcome.SUPPRESSED
        if message.reply:
            # What the patient asked for a moment ago (STOP, HELP): no hour or cap applies.
            return _message_deliver(message, now=now)
        allowed_at = next_allowed(now, zone)
        sent_days = [
            moment.astimezone(zone).date()
            for moment in PatientMessage.objects.filter(
                patient=patient,
                state__in=[MessageState.SENT, MessageState.DELIVERED],
                sent_at__gte=now - dt.timedelta(days=FREQUENCY_WINDOW_DAYS),
                # Answers the patient asked for are not reminders: they use no cap.
                reply=False,
            )
            .exclude(channel=MessageChannel.LETTER)
            .values_list("sent_at", flat=True)
            if moment is not None
        ]
        day = _frequency_cap().first_allowed_day(allowed_at.astimezone(zone).date(), sent_days)
        if day is not None and day != allowed_at.astimezone(zone).date():
            allowed_at = local_to_utc(day, QUIET_HOURS_END, zone)
        if allowed_at > now:
            _message_reschedule(message, due_at=allowed_at, reason="waiting: quiet hours or cap")
            return MessageOutcome.DEFERRED
        return _message_deliver(message, now=now)


def messages_send(*, message_ids: list[int], now: dt.datetime | None = None) -> dict[str, int]:
    """Send a batch of claimed messages, each as `message_send` does (its own
    transaction, its row locked, its state checked): how many came to each outcome.

    Safe to run twice, or beside a single-message task for one of them: a message
    already sent, or locked by another worker, is skipped. Should the batch stop
    part-way (the worker died, a query failed), what it had not reached stays
    "sending" and the sweep claims it again after its lease.
    """
    outcomes: dict[str, int] = {}
    for message_id in message_ids:
        outcome = message_send(message_id=message_id, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _reason_not_to_send(message: PatientMessage) -> str:
    """Why the message must not go out now, checked at the last moment; "" if it may."""
    patient = message.patient
    if patient.deceased:
        return "patient deceased"
    if message.channel != MessageChannel.SMS or message.reply:
        return ""
    if not patient.sms_consent:
        return "SMS consent withdrawn"
    if SmsOptOut.objects.filter(number=message.recipient).exists():
        return "the number texted STOP"
    return ""


def _message_deliver(message: PatientMessage, *, now: dt.datetime) -> str:
    """Hand the locked message to its channel and record what came of it."""
    try:
        provider_id = _deliver(message)
    except SmsPermanentError as error:
        message.tries += 1
        message_fail(message, reason=str(error), error=str(error))
        return MessageOutcome.FAILED
    except SmsTransientError as error:
        message.tries += 1
        message.last_error = str(error)[:300]
        if message.tries >= MESSAGE_MAX_TRIES:
            message_fail(message, reason=f"gave up after {message.tries} tries", error=str(error))
            return MessageOutcome.FAILED
        _message_reschedule(
            message,
            due_at=now + message_retry_delay(message.tries),
            reason=f"try {message.tries} failed; retrying",
        )
        return MessageOutcome.RETRY
    message.tries += 1
    message.provider_id = provider_id[:64]
    message.sent_at = now
    _message_finish(message, MessageState.SENT, reason="")
    logger.info("patient message %s sent (%s, try %d)", message.pk, message.channel,
                message.tries)  # fmt: skip
    return MessageOutcome.SENT


def message_fail(message: PatientMessage, *, reason: str, error: str = "") -> None:
    """A message that will not go out: failed, on the case's timeline, and escalated
    to the program's managers (who can retry it from the messages page)."""
    _message_finish(message, MessageState.FAILED, reason=reason, error=error)
    # After this transaction, in one of its own: the escalation locks the case, and
    # the message row is locked here (the fixed order is case, then message). Were
    # it lost, the managers' messages page still lists the failure.
    transaction.on_commit(partial(message_failure_escalate, message_id=message.pk))


def _message_finish(message: PatientMessage, state: str, *, reason: str, error: str = "") -> None:
    message.state = state
    message.state_reason = reason[:300]
    if error:
        message.last_error = error[:300]
    message.save(
        update_fields=["state", "state_reason", "last_error", "tries", "provider_id", "sent_at"]
    )


def _message_reschedule(message: PatientMessage, *, due_at: dt.datetime, reason: str) -> None:
    message.state = MessageState.SCHEDULED
    message.due_at = due_at
    message.claimed_at = None
    message.state_reason = reason
    message.save(
        update_fields=["state", "due_at", "claimed_at", "state_reason", "tries", "last_error"]
    )
