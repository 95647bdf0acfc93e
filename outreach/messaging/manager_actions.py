"""What program managers do to patient messages outside the Django admin: retry or
cancel a failed or suppressed message, on its case's timeline. (Their reminder and task
rules are `outreach.services.rules`.)
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import actor_name, case_lock, event_record
from navigator.models import CaseEventKind, NavigationCase, User
from navigator.permissions import ensure_manager
from outreach.messaging.schedule import message_enqueue_on_commit, message_recipient
from outreach.models import CaseTask, MessageChannel, MessageState, PatientMessage, TaskKind

RETRYABLE_STATES = (MessageState.FAILED, MessageState.SUPPRESSED)
CANCELLABLE_STATES = (MessageState.SCHEDULED, MessageState.FAILED, MessageState.SUPPRESSED)


def _record_on_case(message: PatientMessage, *, actor: User, summary: str) -> None:
    if message.case_id is None:
        return
    event_record(
        case=case_lock(message.case_id),
        kind=CaseEventKind.NOTE,
        actor=actor,
        summary=summary,
        data={"message": message.pk, "state": message.state},
    )


def _close_escalation(message: PatientMessage, *, actor: User, note: str) -> None:
    CaseTask.objects.filter(
        kind=TaskKind.MESSAGE_FAILED, subject_key=f"message:{message.pk}", done_at=None
    ).update(done_at=timezone.now(), done_by=actor, done_note=note)


def _locked_message(message: PatientMessage) -> PatientMessage:
    # Case before message, as everywhere else: the fixed lock order.
    if message.case_id is not None:
        NavigationCase.objects.select_for_update().filter(pk=message.case_id).exists()
    return (
        PatientMessage.objects.select_for_update()
        .select_related("patient")
        .prefetch_related("patient__phones")
        .get(pk=message.pk)
    )


def message_retry(*, message: PatientMessage, actor: User) -> PatientMessage:
    """Send a failed or suppressed message again, now (quiet hours and caps still
    apply). Its recipient is looked up afresh: the number may have been fixed."""
    ensure_manager(actor, "retry a message")
    with transaction.atomic():
        locked = _locked_message(message)
        if locked.state not in RETRYABLE_STATES:
            raise ValidationError(
                {"state": f"This message is {locked.get_state_display().lower()}: "
                          "only a failed or suppressed one can be retried."}
            )  # fmt: skip
        if not locked.body:
            raise ValidationError(
                {"state": "This message has no text (no template in the patient's language): "
                          "add the template, or reach the patient another way."}
            )  # fmt: skip
        if locked.channel != MessageChannel.LETTER and not locked.reply:
            recipient, unreachable = message_recipient(locked.patient, locked.channel)
            if unreachable:
                raise ValidationError({"state": f"It still cannot go out: {unreachable}."})
            locked.recipient = recipient
        before = locked.get_state_display().lower()
        now = timezone.now()
        locked.state = MessageState.SCHEDULED
        locked.state_reason = f"retried by {actor_name(actor)}"
        locked.due_at = now
        locked.tries = 0
        locked.claimed_at = None
        locked.last_error = ""
        # A new send: a late status for the old one must not match it, and a provider
        # that honours keys must not take it for a repeat of the one that failed.
        locked.provider_id = ""
        locked.provider_status = ""
        locked.sent_at = None
        locked.idempotency_key = uuid.uuid4()
        locked.save(
            update_fields=[
                "recipient", "state", "state_reason", "due_at", "tries", "claimed_at",
                "last_error", "provider_id", "provider_status", "sent_at", "idempotency_key",
            ]
        )  # fmt: skip
        _record_on_case(
            locked,
            actor=actor,
            summary=f"{locked.get_kind_display()} by {locked.get_channel_display()} "
            f"retried (was {before})",
        )
        _close_escalation(locked, actor=actor, note="retried")
        if locked.channel != MessageChannel.LETTER:
            message_enqueue_on_commit(locked.pk)
        return locked


def message_cancel(*, message: PatientMessage, actor: User) -> PatientMessage:
    """Cancel a message that has not gone out (a manager's decision, on the record)."""
    ensure_manager(actor, "cancel a message")
    with transaction.atomic():
        locked = _locked_message(message)
        if locked.state not in CANCELLABLE_STATES:
            raise ValidationError(
                {"state": f"This message is {locked.get_state_display().lower()}: "
                          "it can no longer be cancelled."}
            )  # fmt: skip
        before = locked.get_state_display().lower()
        locked.state = MessageState.CANCELLED
        locked.state_reason = f"cancelled by {actor_name(actor)}"
        locked.save(update_fields=["state", "state_reason"])
        _record_on_case(
            locked,
            actor=actor,
            summary=f"{locked.get_kind_display()} by {locked.get_channel_display()} "
            f"cancelled (was {before})",
        )
        _close_escalation(locked, actor=actor, note="cancelled")
        return locked
