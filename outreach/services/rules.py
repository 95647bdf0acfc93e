"""Programs' reminder rules (which patient messages go out, and when) and task rules
(when a navigator task or escalation comes due), changed by managers outside the
Django admin. Every change is in the admin log (who, when, before and after); the
program's rules page shows it (`outreach.selectors.rule_history`).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction

from navigator.models import User
from navigator.permissions import ensure_manager
from outreach.messaging.quiet_hours import QUIET_HOURS_END, QUIET_HOURS_START
from outreach.models import (
    MessageChannel,
    MessageTemplate,
    ReminderRule,
    ReminderTrigger,
    TaskKind,
    TaskRule,
    TemplateKind,
)
from outreach.services.navigator_tasks import RULED_KINDS
from patients.models import ScreeningModality, ScreeningProgram

# Which message kinds each trigger can send.
TRIGGER_KINDS: dict[str, tuple[str, ...]] = {
    ReminderTrigger.BEFORE_APPOINTMENT: (
        TemplateKind.APPOINTMENT_REMINDER,
        TemplateKind.PREP_INSTRUCTIONS,
    ),
    ReminderTrigger.AFTER_KIT_MAILED: (TemplateKind.KIT_RETURN,),
    ReminderTrigger.BEFORE_NEXT_DUE: (TemplateKind.RECALL,),
    # A coaching session or class is an appointment to the patient: its own message
    # (what it is, its day and time), or the appointment reminder.
    ReminderTrigger.BEFORE_COACHING_SESSION: (
        TemplateKind.COACHING_REMINDER,
        TemplateKind.APPOINTMENT_REMINDER,
    ),
    ReminderTrigger.BEFORE_GROUP_SESSION: (
        TemplateKind.GROUP_CLASS_REMINDER,
        TemplateKind.APPOINTMENT_REMINDER,
    ),
}
# The triggers a control programme's rules page always shows (issue 16), each with its
# rules or, without any, a line saying that nothing is sent.
COACHING_TRIGGERS = (ReminderTrigger.BEFORE_COACHING_SESSION, ReminderTrigger.BEFORE_GROUP_SESSION)
# Triggers about the program as a whole, never one test.
_NO_MODALITY_TRIGGERS = frozenset(
    {
        ReminderTrigger.BEFORE_NEXT_DUE,
        ReminderTrigger.BEFORE_COACHING_SESSION,
        ReminderTrigger.BEFORE_GROUP_SESSION,
    }
)
MAX_RULE_DAYS = 365


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
        elif trigger in _NO_MODALITY_TRIGGERS:
            errors["modality"] = "A coaching reminder is about no test: leave it empty."
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
    ensure_manager(actor, "change reminder rules")
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
    ensure_manager(actor, "change task rules")
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
