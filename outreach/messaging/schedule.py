"""Scheduling one patient message: composed in the patient's language, to a recipient who
may receive it, at an allowed time; kept as suppressed, with the reason, where it cannot go."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.cases import case_lock, event_record
from navigator.models import CaseEventKind, NavigationCase
from outreach.messaging.compose import MessageTemplateError, NoTemplateInLanguage, message_compose
from outreach.messaging.quiet_hours import next_allowed
from outreach.models import MessageChannel, MessageState, PatientMessage, SmsOptOut, TaskKind
from outreach.services.navigator_tasks import case_task_open
from patients.languages import language_name
from patients.models import Patient, PhoneType


def message_recipient(patient: Patient, channel: str) -> tuple[str, str]:
    """(recipient, why not) for a channel: a good mobile number with consent for SMS,
    the email address for email, nothing for a letter (the batch prints the address)."""
    if channel == MessageChannel.SMS:
        if not patient.sms_consent:
            return "", "no SMS consent recorded"
        mobiles = [
            str(phone.number)
            for phone in patient.phones.all()
            if phone.kind == PhoneType.MOBILE and not phone.is_bad and not phone.undeliverable
        ]
        if not mobiles:
            return "", "no working mobile number"
        opted_out = set(
            SmsOptOut.objects.filter(number__in=mobiles).values_list("number", flat=True)
        )
        usable = [number for number in mobiles if number not in opted_out]
        if not usable:
            return "", "the patient's mobile number texted STOP"
        return usable[0], ""
    if channel == MessageChannel.EMAIL:
        return (patient.email, "") if patient.email else ("", "no email address")
    return "", ""


def channel_words(channel: str) -> str:
    """A channel as a sentence says it: "SMS", "email", "letter"."""
    label = MessageChannel(channel).label
    return label if label.isupper() else label.lower()


def message_schedule(
    *,
    patient: Patient,
    kind: str,
    channel: str,
    rule_key: str,
    subject_key: str,
    due_at: dt.datetime,
    context: Mapping[str, str],
    case: NavigationCase | None = None,
    priority: int = 5,
    slot: dt.date | None = None,
    reply_to: str = "",
    program_id: int | None = None,
) -> tuple[PatientMessage, bool]:
    """Schedule one message to a patient: (message, created).

    Run it inside the transaction of the change that causes the message, so the
    two commit or roll back together. The due time moves out of the patient's
    quiet hours. The same rule, subject and local day give the same row however
    often this runs. Where the message cannot go out (no template in the
    patient's language, no consent, no number), the row is kept as suppressed
    with the reason. Where the language is what is missing, the case's navigator
    is asked, on the timeline and by a follow-up due today, to call with an
    interpreter instead.

    `slot` is the local day the message belongs to where that is not the day it
    goes out (a recall caught up late keeps its day, so a rerun finds it). A
    `program_id` names the programme whose own template wins where there is no case (a
    recall). A `reply_to` number makes it an answer to the patient's own text (STOP, HELP):
    sent to that number at once, whatever the consent, quiet hours or caps. A
    message due now is handed to a worker as soon as this transaction commits.
    """
    if channel not in MessageChannel.values:
        raise ValidationError({"channel": f"“{channel}” is not a message channel."})
    if timezone.is_naive(due_at):
        raise ValidationError({"due_at": "A message's due time needs its time zone."})
    zone = ZoneInfo(patient.time_zone)
    slot = slot or due_at.astimezone(zone).date()
    with transaction.atomic():
        existing = PatientMessage.objects.filter(
            rule_key=rule_key, subject_key=subject_key, slot=slot
        ).first()
        if existing is not None:
            return existing, False
        state, reason = MessageState.SCHEDULED, ""
        no_template = interpreter = False
        subject = body = ""
        template_id = None
        try:
            composed = message_compose(
                kind=kind,
                language=patient.written_language_effective,
                program_id=case.program_id if case else program_id,
                context=context,
            )
        except NoTemplateInLanguage as missing:
            state, reason = MessageState.SUPPRESSED, str(missing)
            no_template = interpreter = True
        except MessageTemplateError as unsafe:
            state, reason = MessageState.SUPPRESSED, f"Not sent: {unsafe}; a navigator calls."
            no_template = True
        else:
            subject, body, template_id = composed.subject, composed.body, composed.template_id
        if reply_to:
            recipient, unreachable = reply_to, ""
        else:
            recipient, unreachable = message_recipient(patient, channel)
        if state == MessageState.SCHEDULED and unreachable:
            reason = f"Not sent by {channel_words(channel)}: {unreachable}."
            state = MessageState.SUPPRESSED
        try:
            with transaction.atomic():
                message = PatientMessage.objects.create(
                    patient=patient,
                    case=case,
                    kind=kind,
                    channel=channel,
                    recipient=recipient,
                    language=patient.written_language_effective,
                    template_id=template_id,
                    subject=subject,
                    body=body,
                    rule_key=rule_key,
                    subject_key=subject_key,
                    slot=slot,
                    priority=priority,
                    due_at=due_at if reply_to else next_allowed(due_at, zone),
                    state=state,
                    state_reason=reason,
                    reply=bool(reply_to),
                )
        except IntegrityError:
            # Another process scheduled the same message a moment ago: theirs stands.
            return PatientMessage.objects.get(
                rule_key=rule_key, subject_key=subject_key, slot=slot
            ), False
        if no_template and case is not None and case.is_open:
            _ask_navigator_to_call(case=case, message=message, interpreter=interpreter)
        if message.state == MessageState.SCHEDULED and message.due_at <= timezone.now():
            message_enqueue_on_commit(message.pk)
        return message, True


def message_enqueue_on_commit(message_id: int) -> None:
    """Send this message from a worker once the transaction that made it due commits."""
    enqueue_on_commit("outreach.tasks.send_patient_message", message_id)


def _ask_navigator_to_call(
    *, case: NavigationCase, message: PatientMessage, interpreter: bool
) -> None:
    locked = case_lock(case)
    event_record(
        case=locked,
        kind=CaseEventKind.MESSAGE_SUPPRESSED,
        actor=None,
        summary=f"{message.get_kind_display()} not sent: {message.state_reason} Call instead.",
        data={"message": message.pk, "reason": message.state_reason},
    )
    today = timezone.localdate()
    if locked.next_follow_up is None or locked.next_follow_up > today:
        NavigationCase.objects.filter(pk=locked.pk).update(next_follow_up=today)
    if interpreter:
        case_task_open(
            case=locked,
            kind=TaskKind.CALL_WITH_INTERPRETER,
            subject_key=f"message:{message.pk}",
            summary=f"Call with an interpreter: no {message.get_kind_display().lower()} "
            f"template in {language_name(message.language)}",
        )
