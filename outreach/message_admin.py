"""What program managers do to messages and their rules, outside the Django admin:
retry or cancel a failed or suppressed message; add and change reminder rules and
task rules. Every change is on the record: a message's on its case's timeline, a
rule's in the admin log (who, when, before and after).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from navigator.cases import actor_name, case_lock, event_record
from navigator.models import CaseEventKind, NavigationCase, User
from outreach.models import (
    CaseTask,
    MessageChannel,
    MessageState,
    MessageTemplate,
    PatientMessage,
    ReminderRule,
    ReminderTrigger,
    TaskKind,
    TaskRule,
    TemplateKind,
)
from outreach.scheduling import QUIET_HOURS_END, QUIET_HOURS_START
from outreach.services import message_enqueue_on_commit, message_recipient
from patients.models import ScreeningModality, ScreeningProgram

# Which message kinds each trigger can send.
TRIGGER_KINDS: dict[str, tuple[str, ...]] = {
    ReminderTrigger.BEFORE_APPOINTMENT: (
        TemplateKind.APPOINTMENT_REMINDER,
        TemplateKind.PREP_INSTRUCTIONS,
    ),
    ReminderTrigger.AFTER_KIT_MAILED: (TemplateKind.KIT_RETURN,),
    ReminderTrigger.BEFORE_NEXT_DUE: (TemplateKind.RECALL,),
}
MAX_RULE_DAYS = 365
RETRYABLE_STATES = (MessageState.FAILED, MessageState.SUPPRESSED)
CANCELLABLE_STATES = (MessageState.SCHEDULED, MessageState.FAILED, MessageState.SUPPRESSED)


def _managers_only(actor: User, what: str) -> None:
    if not (actor.is_authenticated and actor.sees_all_cases):
        raise PermissionDenied(f"Only a program manager can {what}.")


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
    _managers_only(actor, "retry a message")
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
    _managers_only(actor, "cancel a message")
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


# --- Rules -----------------------------------------------------------------------------------


def _check_reminder_rule(
    *,
    program: ScreeningProgram,
    trigger: str,
    kind: str,
    days: int,
    at_time: dt.time,
    channel: str,
    modality: ScreeningModality | None,
) -> None:
    errors: dict[str, str] = {}
    if trigger not in TRIGGER_KINDS:
        errors["trigger"] = f"“{trigger}” is not a reminder trigger."
    elif kind not in TRIGGER_KINDS[trigger]:
        allowed = ", ".join(TemplateKind(k).label.lower() for k in TRIGGER_KINDS[trigger])
        errors["kind"] = f"{ReminderTrigger(trigger).label} can send: {allowed}."
    if not 0 <= days <= MAX_RULE_DAYS:
        errors["days"] = f"Between 0 and {MAX_RULE_DAYS} days."
    elif trigger == ReminderTrigger.AFTER_KIT_MAILED and days == 0:
        errors["days"] = "A kit-return reminder goes at least a day after the kit was mailed."
    if not QUIET_HOURS_END <= at_time < QUIET_HOURS_START:
        errors["at_time"] = (
            f"Between {QUIET_HOURS_END:%H:%M} and {QUIET_HOURS_START:%H:%M}: nothing reaches "
            "a patient outside those hours."
        )
    if channel not in MessageChannel.values:
        errors["channel"] = f"“{channel}” is not a message channel."
    if modality is not None:
        if modality.program_id != program.pk:
            errors["modality"] = f"{modality} is not a {program} test."
        elif trigger == ReminderTrigger.AFTER_KIT_MAILED and not modality.mailed_kit:
            errors["modality"] = f"{modality} is not done with a kit mailed home."
        elif trigger == ReminderTrigger.BEFORE_NEXT_DUE:
            errors["modality"] = "A recall is about the program, not one test: leave it empty."
    if "kind" not in errors and not MessageTemplate.objects.filter(kind=kind).exists():
        errors["kind"] = "No template of this kind in any language yet: add one first."
    if errors:
        raise ValidationError(errors)


def _describe(rule: ReminderRule) -> str:
    test = f", {rule.modality}" if rule.modality_id else ""
    state = "" if rule.active else " (off)"
    when = "after" if rule.trigger == ReminderTrigger.AFTER_KIT_MAILED else "before"
    return (
        f"{rule.get_kind_display()} by {rule.get_channel_display()} {rule.days} days {when} "
        f"at {rule.at_time:%H:%M}{test}, priority {rule.priority}{state}"
    )


def reminder_rule_save(
    *,
    program: ScreeningProgram,
    actor: User,
    trigger: str,
    kind: str,
    days: int,
    at_time: dt.time,
    channel: str,
    modality: ScreeningModality | None = None,
    priority: int = 5,
    active: bool = True,
    rule: ReminderRule | None = None,
) -> ReminderRule | None:
    """Add a reminder rule to a program, or change one; None when nothing changed.

    It applies to what happens from now on: messages already scheduled keep their
    times (a manager cancels them from the messages page if need be)."""
    _managers_only(actor, "change reminder rules")
    _check_reminder_rule(
        program=program,
        trigger=trigger,
        kind=kind,
        days=days,
        at_time=at_time,
        channel=channel,
        modality=modality,
    )
    if not 0 <= priority <= 10:
        raise ValidationError({"priority": "Between 0 and 10."})
    with transaction.atomic():
        if rule is not None:
            rule = ReminderRule.objects.select_for_update().get(pk=rule.pk, program=program)
            before = _describe(rule)
        else:
            rule, before = ReminderRule(program=program), ""
        rule.trigger, rule.kind, rule.days, rule.at_time = trigger, kind, days, at_time
        rule.channel, rule.modality, rule.priority, rule.active = (
            channel,
            modality,
            priority,
            active,
        )
        after = _describe(rule)
        if before == after:
            return None
        rule.save()
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[rule],
            action_flag=CHANGE if before else ADDITION,
            change_message=f"{program}: {before} → {after}" if before else f"{program}: {after}",
            single_object=True,
        )
        return rule


def task_rule_save(
    *, program: ScreeningProgram, actor: User, kind: str, days: int, active: bool
) -> TaskRule | None:
    """Set when a navigator task or escalation comes due in a program; None if unchanged."""
    _managers_only(actor, "change task rules")
    from outreach.case_tasks import RULED_KINDS

    if kind not in RULED_KINDS:
        raise ValidationError({"kind": f"“{kind}” is not a task a rule sets."})
    if not 0 <= days <= MAX_RULE_DAYS:
        raise ValidationError({"days": f"Between 0 and {MAX_RULE_DAYS} days."})
    with transaction.atomic():
        rule, created = TaskRule.objects.select_for_update().get_or_create(
            program=program, kind=kind, defaults={"days": days, "active": active}
        )
        before = (rule.days, rule.active)
        if not created and before == (days, active):
            return None
        rule.days, rule.active = days, active
        rule.save()
        label = TaskKind(kind).label
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[rule],
            action_flag=ADDITION if created else CHANGE,
            change_message=(
                f"{program}: {label}: {days} days{'' if active else ' (off)'}"
                if created
                else f"{program}: {label}: {before[0]} days{'' if before[1] else ' (off)'} → "
                f"{days} days{'' if active else ' (off)'}"
            ),
            single_object=True,
        )
        return rule
