"""What the SMS provider tells us: texts from patients, and what became of ours.

`sms_inbound_receive` handles one inbound text (the webhook calls it once its
signature checks out): STOP and its synonyms opt the number out at once and
suppress every text still pending to it, with one confirmation; START opts back
in; HELP is answered; anything else goes on the case's timeline and becomes a
task for its navigator. `message_status_record` applies a delivery-status
callback. Both are safe to run twice: providers retry webhooks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from navigator.cases import case_lock, event_record
from navigator.models import OPEN_STATUSES, CaseEventKind, NavigationCase
from outreach.letters.case_letter import letterhead, program_phone
from outreach.messaging.schedule import message_schedule
from outreach.messaging.send import message_fail
from outreach.messaging.sms_keywords import Intent, intent_of
from outreach.messaging.stops import messages_cancel_pending
from outreach.models import (
    CaseTask,
    Channel,
    ContactAttempt,
    Direction,
    InboundSms,
    MessageChannel,
    MessageState,
    Outcome,
    PatientMessage,
    SmsOptOut,
    TaskKind,
    TemplateKind,
)
from outreach.services.navigator_tasks import case_task_open
from patients.models import Patient, PatientPhone

logger = logging.getLogger(__name__)

BODY_MAX_LENGTH = 1600  # ten SMS segments: more is not a text


class UnknownMessage(LookupError):
    """A status callback for a message we have no record of."""


def normalise_number(raw: str) -> str:
    """E.164 ("+16175550100") for a number as a provider sends it; ValidationError
    if it is not a phone number."""
    region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None) or "US"
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError({"From": "This is not a phone number."}) from error
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError({"From": "This is not a phone number."})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _patient_ids_on(number: str) -> list[int]:
    """Every patient with this number (a family may share one mobile, and an opt-out
    from it speaks for all of them), in id order."""
    return list(
        # A record merged into another keeps its copy of the number: it is the same
        # person as the record kept, not another one on a shared phone.
        PatientPhone.objects.filter(number=number, patient__merged_into__isnull=True)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
        .distinct()
    )


def _open_cases(patient_ids: Sequence[int]) -> list[NavigationCase]:
    """Each patient's most recently opened open case (the one a navigator works now),
    locked in id order: the case before anything of its patient's, as everywhere."""
    latest: dict[int, NavigationCase] = {}
    cases = (
        NavigationCase.objects.filter(patient_id__in=patient_ids, status__in=sorted(OPEN_STATUSES))
        .select_related("program", "navigator")
        .order_by("patient_id", "-opened_at", "-pk")
    )
    for case in cases:
        latest.setdefault(case.patient_id, case)
    for case in sorted(latest.values(), key=lambda case: case.pk):
        case_lock(case)
    return list(latest.values())


def _lock_patients(patient_ids: Sequence[int]) -> list[Patient]:
    return list(Patient.objects.select_for_update().filter(pk__in=patient_ids).order_by("pk"))


def _reply(
    *, inbound: InboundSms, patient: Patient, kind: str, case: NavigationCase | None
) -> PatientMessage:
    message, _ = message_schedule(
        patient=patient,
        kind=kind,
        channel=MessageChannel.SMS,
        rule_key=f"reply:{kind}",
        subject_key=f"inbound:{inbound.pk}",
        due_at=timezone.now(),
        context={
            "first_name": patient.given_name,
            "organization": letterhead()["organization"],
            "program_phone": program_phone(case) if case else letterhead()["phone"],
            "navigator_name": "",
        },
        case=case,
        priority=10,
        reply_to=inbound.from_number,
    )
    return message


def sms_inbound_receive(
    *, provider_id: str, from_number: str, to_number: str = "", body: str = ""
) -> InboundSms:
    """Act on one inbound text, once: a provider retrying its webhook gets the first
    result back and nothing happens twice."""
    if not provider_id.strip():
        raise ValidationError({"MessageSid": "The message id is missing."})
    number = normalise_number(from_number)
    body = body[:BODY_MAX_LENGTH]
    intent = intent_of(body)
    with transaction.atomic():
        existing = InboundSms.objects.filter(provider_id=provider_id).first()
        if existing is not None:
            return existing
        patient_ids = _patient_ids_on(number)
        cases = _open_cases(patient_ids)
        patients = _lock_patients(patient_ids)
        try:
            with transaction.atomic():
                inbound = InboundSms.objects.create(
                    provider_id=provider_id[:64],
                    from_number=number,
                    to_number=to_number[:32],
                    body=body,
                    intent=intent.value,
                    patient=patients[0] if len(patients) == 1 else None,
                    case=cases[0] if len(cases) == 1 else None,
                )
        except IntegrityError:
            return InboundSms.objects.get(provider_id=provider_id)
        handler = {
            Intent.OPT_OUT: _opt_out,
            Intent.OPT_IN: _opt_in,
            Intent.HELP: _help,
            Intent.MESSAGE: _message_for_navigator,
        }[intent]
        handler(inbound=inbound, patients=patients, cases=cases)
        logger.info("inbound text %s handled as %s", inbound.pk, intent.value)
        return inbound


def _opt_out(*, inbound: InboundSms, patients: list[Patient], cases: list[NavigationCase]) -> None:
    keyword = inbound.body.strip()[:32]
    opt_out, created = SmsOptOut.objects.get_or_create(
        number=inbound.from_number, defaults={"keyword": keyword}
    )
    if created:
        opt_out.consent_withdrawn_for = [patient.pk for patient in patients if patient.sms_consent]
        opt_out.save(update_fields=["consent_withdrawn_for"])
    for patient in patients:
        Patient.objects.filter(pk=patient.pk).update(sms_consent=False)
        messages_cancel_pending(
            patient=patient,
            channel=MessageChannel.SMS,
            suppress=True,
            reason=f"the patient texted {keyword.upper() or 'STOP'}",
        )
    for case in cases:
        event_record(
            case=case_lock(case),
            kind=CaseEventKind.SMS_OPT_OUT,
            actor=None,
            summary=f"Texted {keyword.upper() or 'STOP'}: no more texts to this number",
            data={"inbound": inbound.pk},
        )
    if created and patients:
        # One confirmation, the last text this number gets from us, whatever the caps.
        patient = patients[0]
        own_case = next((case for case in cases if case.patient_id == patient.pk), None)
        _reply(
            inbound=inbound,
            patient=patient,
            kind=TemplateKind.OPT_OUT_CONFIRMATION,
            case=own_case,
        )


def _opt_in(*, inbound: InboundSms, patients: list[Patient], cases: list[NavigationCase]) -> None:
    """Lift the number's STOP. Consent comes back only to the patients whose consent
    that STOP took away: START is not consent from someone who never gave it."""
    opt_out = SmsOptOut.objects.filter(number=inbound.from_number).first()
    if opt_out is None:
        return
    withdrawn = set(opt_out.consent_withdrawn_for)
    opt_out.delete()
    now = timezone.now()
    for patient in patients:
        if patient.pk in withdrawn:
            Patient.objects.filter(pk=patient.pk).update(sms_consent=True, sms_consent_at=now)
    for case in cases:
        event_record(
            case=case_lock(case),
            kind=CaseEventKind.SMS_OPT_IN,
            actor=None,
            summary="Texted START: texts to this number may resume",
            data={"inbound": inbound.pk},
        )


def _help(*, inbound: InboundSms, patients: list[Patient], cases: list[NavigationCase]) -> None:
    if not patients:
        return
    patient = patients[0]
    case = next((case for case in cases if case.patient_id == patient.pk), None)
    _reply(inbound=inbound, patient=patient, kind=TemplateKind.HELP_REPLY, case=case)


def _message_for_navigator(
    *, inbound: InboundSms, patients: list[Patient], cases: list[NavigationCase]
) -> None:
    """The text goes on the patient's open case as an inbound contact (so the worklist
    ranks it as a call-back) and as a task for the case's navigator. A text from a
    number we do not know, from a number several patients share (whose words it is
    cannot be told, and one's news must not land on a relative's case), or from a
    patient with no open case, waits on the managers' messages page."""
    if len(patients) != 1:
        return
    for case in cases:
        locked = case_lock(case)
        phone = PatientPhone.objects.filter(
            patient_id=case.patient_id, number=inbound.from_number
        ).first()
        ContactAttempt.objects.create(
            case=locked,
            attempted_at=inbound.received_at,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            outcome=Outcome.REACHED,
            phone=phone,
            note=inbound.body,
            created_by=None,
        )
        quoted = inbound.body.strip()
        event_record(
            case=locked,
            kind=CaseEventKind.INBOUND_MESSAGE,
            actor=None,
            summary=f"Text from the patient: “{quoted[:250]}”",
            data={"inbound": inbound.pk},
            at=inbound.received_at,
        )
        case_task_open(
            case=locked,
            kind=TaskKind.PATIENT_REPLIED,
            subject_key=f"inbound:{inbound.pk}:case:{locked.pk}",
            summary=f"Answer the patient's text: “{quoted[:120]}”",
        )


# --- Delivery status -------------------------------------------------------------------------

# Twilio's error codes that say the number itself cannot take texts (not that this one
# text failed): the number is flagged on the patient and skipped from then on.
UNDELIVERABLE_NUMBER_CODES = {
    "21211": "not a valid phone number",
    "21614": "not a mobile number",
    "30005": "unknown or inactive number",
    "30006": "a landline, or a carrier that cannot take texts",
}
# The carrier says the number has unsubscribed (texted STOP to the provider directly).
UNSUBSCRIBED_CODE = "21610"
DELIVERED_STATUSES = {"delivered", "read"}
FAILED_STATUSES = {"undelivered", "failed"}
PROVIDER_STATUSES = {
    "accepted", "queued", "sending", "sent", "scheduled", "canceled", "partially_delivered",
}  # fmt: skip
# States in which the provider may still tell us something about a message.
WENT_OUT = {MessageState.SENDING, MessageState.SENT, MessageState.DELIVERED, MessageState.FAILED}
FINAL_STATES = {MessageState.DELIVERED, MessageState.FAILED}


def message_status_record(*, provider_id: str, status: str, error_code: str = "") -> PatientMessage:
    """Apply one delivery-status callback. Statuses arrive out of order and more than
    once: a delivered or failed message never goes back to "sent"."""
    status = status.strip().lower()
    error_code = error_code.strip()
    known = DELIVERED_STATUSES | FAILED_STATUSES | PROVIDER_STATUSES
    if status not in known:
        raise ValidationError({"MessageStatus": f"“{status}” is not a message status."})
    if not provider_id.strip():
        raise ValidationError({"MessageSid": "The message id is missing."})
    with transaction.atomic():
        found = (
            PatientMessage.objects.filter(provider_id=provider_id)
            .values_list("pk", "case_id")
            .first()
        )
        if found is None:
            raise UnknownMessage(provider_id)
        message_id, case_id = found
        if case_id is not None:
            case_lock(case_id)  # the case before its message, as everywhere
        message = (
            PatientMessage.objects.select_for_update().select_related("patient").get(pk=message_id)
        )
        if message.state not in WENT_OUT:
            # A late word about a send that a manager has since retried or cancelled.
            return message
        if status in DELIVERED_STATUSES and message.state != MessageState.DELIVERED:
            was_failed = message.state == MessageState.FAILED
            message.state = MessageState.DELIVERED
            message.state_reason = ""
            message.delivered_at = timezone.now()
            message.provider_status = status
            message.save(update_fields=["state", "state_reason", "delivered_at", "provider_status"])
            if was_failed:
                _close_failure_escalation(message)
            return message
        if status in FAILED_STATUSES and message.state not in FINAL_STATES:
            why = UNDELIVERABLE_NUMBER_CODES.get(error_code, "")
            reason = f"the carrier could not deliver it ({why or 'error ' + (error_code or '?')})"
            message.provider_status = status
            message.save(update_fields=["provider_status"])
            message_fail(message, reason=reason, error=f"{status} {error_code}".strip())
            _flag_number(message, error_code)
            return message
        if message.state in FINAL_STATES or status == message.provider_status:
            return message
        message.provider_status = status
        message.save(update_fields=["provider_status"])
        return message


def _close_failure_escalation(message: PatientMessage) -> None:
    """A message reported failed, then delivered after all: its escalation closes, and
    the timeline says so (nobody should retry it)."""
    closed = CaseTask.objects.filter(
        kind=TaskKind.MESSAGE_FAILED, subject_key=f"message:{message.pk}", done_at=None
    ).update(done_at=timezone.now(), done_note="delivered after all")
    if closed and message.case_id is not None:
        event_record(
            case=case_lock(message.case_id),
            kind=CaseEventKind.NOTE,
            actor=None,
            summary=f"{message.get_kind_display()} was delivered after all",
            data={"message": message.pk},
        )


def _flag_number(message: PatientMessage, error_code: str) -> None:
    """An undeliverable number is marked on the patient (the case page shows it) and
    gets no more texts; an unsubscribed one is an opt-out."""
    if error_code == UNSUBSCRIBED_CODE:
        SmsOptOut.objects.get_or_create(number=message.recipient, defaults={"keyword": "carrier"})
        messages_cancel_pending(
            patient=message.patient,
            channel=MessageChannel.SMS,
            suppress=True,
            reason="the carrier says the number unsubscribed",
        )
        return
    why = UNDELIVERABLE_NUMBER_CODES.get(error_code)
    if why is None:
        return
    flagged = PatientPhone.objects.filter(
        patient=message.patient, number=message.recipient, undeliverable=""
    ).update(undeliverable=f"Texts undeliverable: {why} (SMS provider, {timezone.localdate()})")
    if flagged and message.case_id:
        event_record(
            case=case_lock(message.case_id),
            kind=CaseEventKind.PHONE_MARKED_BAD,
            actor=None,
            summary=f"Texts to this mobile number cannot be delivered: {why}",
            data={"message": message.pk, "error_code": error_code},
        )
