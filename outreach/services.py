"""Writes for outreach: contact attempts and what the outreach protocol makes of them,
proposals to close a case as unreachable, protocol changes, letters printed, and
navigators' follow-up reminders."""

from __future__ import annotations

import datetime as dt
import logging
import random
import smtplib
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from navigator.cases import (
    ALLOWED_TRANSITIONS,
    MAX_DAYS_LATE,
    TOO_FAR_AHEAD,
    actor_name,
    case_ensure_open,
    case_lock,
    case_transition,
    event_record,
    too_far_ahead,
)
from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    Coverage,
    KitMailing,
    NavigationCase,
    User,
)
from outreach import protocols
from outreach.case_tasks import case_task_open, message_failure_escalate
from outreach.letters import letter_date, letterhead, program_phone
from outreach.messages import MessageTemplateError, NoTemplateInLanguage, message_compose
from outreach.models import (
    Channel,
    ContactAttempt,
    Direction,
    FollowUpReminder,
    MessageChannel,
    MessageState,
    Outcome,
    OutreachProtocol,
    PatientMessage,
    ProtocolStep,
    Purpose,
    ReminderRule,
    ReminderTrigger,
    SmsOptOut,
    TaskKind,
)
from outreach.scheduling import (
    FREQUENCY_WINDOW_DAYS,
    QUIET_HOURS_END,
    FrequencyCap,
    local_to_utc,
    next_allowed,
    reminder_instant,
)
from outreach.sms import SmsMessage, SmsPermanentError, SmsTransientError, get_sms_backend
from patients.languages import language_name
from patients.models import (
    CareGap,
    CareGapStatus,
    Patient,
    PatientPhone,
    PhoneType,
    ScreeningProgram,
)

logger = logging.getLogger(__name__)


def default_follow_up(*, outcome: str, today: dt.date) -> dt.date:
    days = (
        settings.EQUINAV_FOLLOW_UP_DAYS_REACHED
        if outcome == Outcome.REACHED
        else settings.EQUINAV_FOLLOW_UP_DAYS_NOT_REACHED
    )
    return today + dt.timedelta(days=days)


def attempt_log(
    *,
    case: NavigationCase | int,
    channel: str,
    outcome: str,
    actor: User,
    direction: str = Direction.OUTBOUND,
    interpreter_used: bool = False,
    note: str = "",
    attempted_at: dt.datetime | None = None,
    next_follow_up: dt.date | None = None,
    purpose: str = Purpose.OUTREACH,
    phone: PatientPhone | None = None,
    expected_version: int | None = None,
) -> ContactAttempt:
    """Log one contact attempt, and set the case's next follow-up and channel.

    The first attempt on an assigned case moves it to contacting. A wrong or
    disconnected number is marked bad. The program's outreach protocol
    (`outreach.protocols`) proposes the next follow-up date and channel, and
    proposes the case for closing as unreachable after its N unsuccessful attempts
    over M days; an explicit `next_follow_up` wins over the protocol's date. A
    program without a protocol keeps the settings' default.
    """
    now = timezone.now()
    attempted_at = attempted_at or now
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if channel not in Channel.values:
        errors["channel"] = f"“{channel}” is not a contact channel."
    if outcome not in Outcome.values:
        errors["outcome"] = f"“{outcome}” is not an attempt outcome."
    if direction not in Direction.values:
        errors["direction"] = f"“{direction}” is not a direction."
    if purpose not in Purpose.values:
        errors["purpose"] = f"“{purpose}” is not an attempt purpose."
    if attempted_at > now + dt.timedelta(minutes=5):
        errors["attempted_at"] = "An attempt cannot be logged before it happens."
    if next_follow_up is not None and next_follow_up < today:
        errors["next_follow_up"] = "The next follow-up cannot be in the past."
    elif next_follow_up is not None and too_far_ahead(next_follow_up):
        errors["next_follow_up"] = TOO_FAR_AHEAD
    if attempted_at < now - dt.timedelta(days=MAX_DAYS_LATE):
        errors["attempted_at"] = (
            f"This attempt is dated more than {MAX_DAYS_LATE} days ago; check the date."
        )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case)
        if phone is not None and phone.patient_id != case.patient_id:
            raise ValidationError({"phone": "This number is not one of the patient's."})
        attempt = ContactAttempt.objects.create(
            case=case,
            attempted_at=attempted_at,
            channel=channel,
            direction=direction,
            outcome=outcome,
            purpose=purpose,
            phone=phone,
            interpreter_used=interpreter_used,
            note=note,
            created_by=actor,
        )
        # Locked after the case: the fixed order is case, then its patient's phones.
        phones = list(
            PatientPhone.objects.select_for_update()
            .filter(patient_id=case.patient_id)
            .order_by("rank", "pk")
        )
        marked_bad = _bad_number(attempt, phones)
        if marked_bad is not None:
            marked_bad.is_bad = True
            marked_bad.save(update_fields=["is_bad"])

        plan = _protocol_plan(case, phones, today)
        previous_follow_up, previous_channel = case.next_follow_up, case.next_channel
        update_fields = ["next_follow_up", "updated_at"]
        follow_up: dt.date | None
        if plan is None:
            follow_up = next_follow_up or default_follow_up(outcome=outcome, today=today)
            what_next = f"next follow-up {follow_up:%Y-%m-%d}"
        else:
            follow_up = next_follow_up or plan.on
            case.next_channel = plan.channel
            update_fields.append("next_channel")
            what_next = plan.explanation
            if next_follow_up is not None and next_follow_up != plan.on:
                what_next = (
                    f"next follow-up {next_follow_up:%Y-%m-%d} (set by hand); protocol: {what_next}"
                )
        interpreter_now = plan is not None and plan.needs_interpreter and not case.needs_interpreter
        if interpreter_now:
            case.needs_interpreter = True
            update_fields.append("needs_interpreter")
            what_next += "; interpreter needed from now on"
        case.next_follow_up = follow_up
        case.save(update_fields=update_fields)
        event_record(
            case=case,
            kind=CaseEventKind.ATTEMPT_LOGGED,
            actor=actor,
            at=attempted_at,
            summary=f"{attempt.get_direction_display()} {attempt.get_channel_display().lower()}: "
            f"{attempt.get_outcome_display().lower()}"
            + (" (interpreter)" if interpreter_used else "")
            + f"; {what_next}",
            data={
                "attempt": attempt.pk,
                "channel": channel,
                "outcome": outcome,
                "follow_up_from": previous_follow_up.isoformat() if previous_follow_up else None,
                "follow_up_to": follow_up.isoformat() if follow_up else None,
                "channel_from": previous_channel,
                "channel_to": case.next_channel,
                "protocol_step": plan.step if plan else None,
                "needs_interpreter_to": True if interpreter_now else None,
            },
        )
        if marked_bad is not None:
            event_record(
                case=case,
                kind=CaseEventKind.PHONE_MARKED_BAD,
                actor=actor,
                at=attempted_at,
                summary=f"{marked_bad.get_kind_display()} number ending "
                f"{str(marked_bad.number)[-4:]} marked bad: "
                f"{attempt.get_outcome_display().lower()}",
                data={
                    "phone": marked_bad.pk,
                    "is_bad_from": False,
                    "is_bad_to": True,
                    "attempt": attempt.pk,
                },
            )
        if outcome == Outcome.REACHED and case.unreachable_proposed_at is not None:
            _unreachable_withdraw(case, actor, reason="reached the patient")
        elif plan is not None and plan.propose_unreachable:
            _unreachable_propose(
                case,
                actor,
                reason=f"the outreach protocol: {plan.unsuccessful} unsuccessful attempts over "
                f"{plan.span_days} days",
                data={"attempts": plan.unsuccessful, "days": plan.span_days},
            )
        if case.status == CaseStatus.ASSIGNED:
            case_transition(case=case, to_status=CaseStatus.CONTACTING, actor=actor)
        # A reminder for today is done with once the navigator has acted on the case.
        FollowUpReminder.objects.filter(case=case, dismissed_at=None).update(dismissed_at=now)
        return attempt


def _bad_number(attempt: ContactAttempt, phones: list[PatientPhone]) -> PatientPhone | None:
    """The number a wrong-number or disconnected call found bad, if it is not marked yet.

    Without the number on the attempt, only a patient's one good number is
    unambiguous; with several, none is guessed at.
    """
    if attempt.outcome not in {Outcome.WRONG_NUMBER, Outcome.DISCONNECTED}:
        return None
    if attempt.channel not in protocols.NUMBER_CHANNELS:
        return None
    if attempt.phone_id is not None:
        phone = next((p for p in phones if p.pk == attempt.phone_id), None)
    else:
        good = [p for p in phones if not p.is_bad]
        phone = good[0] if len(good) == 1 else None
    if phone is None or phone.is_bad:
        return None
    return phone


def protocol_for(program_id: int) -> OutreachProtocol | None:
    return OutreachProtocol.objects.filter(program_id=program_id).prefetch_related("steps").first()


def _protocol_plan(
    case: NavigationCase, phones: list[PatientPhone], today: dt.date
) -> protocols.NextStep | None:
    """The protocol's next step for the case as it now is; None without a protocol."""
    protocol = protocol_for(case.program_id)
    if protocol is None:
        return None
    attempts = [
        protocols.Attempt(
            at=a.attempted_at,
            outcome=a.outcome,
            channel=a.channel,
            direction=a.direction,
            phone=a.phone_id,
        )
        for a in ContactAttempt.objects.filter(case=case).order_by("attempted_at", "pk")
    ]
    # A manager's "keep trying" restarts the count towards proposing unreachable again.
    kept_open_at = (
        CaseEvent.objects.filter(case=case, kind=CaseEventKind.UNREACHABLE_DISMISSED)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    patient = case.patient
    return protocols.next_step(
        cadence=protocols.Cadence.of(protocol),
        attempts=attempts,
        phones=[
            protocols.Phone(pk=p.pk, kind=p.get_kind_display().lower(), is_bad=p.is_bad)
            for p in phones
        ],
        today=today,
        sms_consent=patient.sms_consent,
        counting_since=kept_open_at,
    )


# --- Closing as unreachable: the protocol (or a navigator) proposes, a manager decides ---


def _unreachable_propose(
    case: NavigationCase, actor: User, *, reason: str, data: dict | None = None
) -> bool:
    """Flag a locked case as proposed for closing as unreachable, once."""
    if case.unreachable_proposed_at is not None:
        return False
    if CaseStatus.CLOSED_UNREACHABLE not in ALLOWED_TRANSITIONS[case.status]:
        # A completed case (screened) is closed, never as unreachable.
        return False
    case.unreachable_proposed_at = timezone.now()
    case.save(update_fields=["unreachable_proposed_at", "updated_at"])
    event_record(
        case=case,
        kind=CaseEventKind.UNREACHABLE_PROPOSED,
        actor=actor,
        summary=f"Proposed for closing as unreachable by {reason}; a manager confirms",
        data={
            **(data or {}),
            "proposed_from": None,
            "proposed_to": case.unreachable_proposed_at.isoformat(),
        },
    )
    return True


def _unreachable_withdraw(
    case: NavigationCase, actor: User, *, reason: str, note: str = ""
) -> None:
    proposed_at = case.unreachable_proposed_at
    case.unreachable_proposed_at = None
    case.save(update_fields=["unreachable_proposed_at", "updated_at"])
    event_record(
        case=case,
        kind=CaseEventKind.UNREACHABLE_DISMISSED,
        actor=actor,
        summary=f"Kept open ({reason})" + (f": {note}" if note else ""),
        data={
            "proposed_from": proposed_at.isoformat() if proposed_at else None,
            "proposed_to": None,
            "note": note,
        },
    )


UNREACHABLE_NOTE_MAX_LENGTH = 250


def _check_note(note: str, *, required: str = "") -> str:
    note = note.strip()
    if required and not note:
        raise ValidationError({"note": required})
    if len(note) > UNREACHABLE_NOTE_MAX_LENGTH:
        raise ValidationError(
            {"note": f"At most {UNREACHABLE_NOTE_MAX_LENGTH} characters; this is {len(note)}."}
        )
    return note


def _manager_only(actor: User, what: str) -> None:
    if not (actor.is_authenticated and actor.sees_all_cases):
        raise PermissionDenied(f"Only a program manager can {what}.")


def case_unreachable_propose(
    *, case: NavigationCase | int, actor: User, note: str, expected_version: int | None = None
) -> NavigationCase:
    """A navigator who has tried everything proposes closing the case as unreachable."""
    note = _check_note(note, required="Say what was tried; the manager decides from it.")
    with transaction.atomic():
        case = case_lock(case, expected_version=expected_version)
        case_ensure_open(case, "note")
        if case.unreachable_proposed_at is not None:
            raise ValidationError({"note": "This case is already proposed for closing."})
        if CaseStatus.CLOSED_UNREACHABLE not in ALLOWED_TRANSITIONS[case.status]:
            status = case.get_status_display().lower()
            raise ValidationError({"note": f"A {status} case is not closed as unreachable."})
        _unreachable_propose(
            case, actor, reason=f"{actor_name(actor)}: {note}", data={"note": note}
        )
        return case


def _lock_proposed_case(
    case: NavigationCase | int, expected_version: int | None, otherwise: str
) -> NavigationCase:
    """The case, locked, open and proposed as unreachable, or a ValidationError."""
    locked = case_lock(case, expected_version=expected_version)
    case_ensure_open(locked)
    if locked.unreachable_proposed_at is None:
        raise ValidationError(
            {"case": f"Nothing proposes closing this case as unreachable; {otherwise}."}
        )
    return locked


def case_unreachable_confirm(
    *,
    case: NavigationCase | int,
    actor: User,
    note: str = "",
    expected_version: int | None = None,
) -> NavigationCase:
    """A manager confirms the proposal: the case closes as unreachable."""
    _manager_only(actor, "close a case as unreachable")
    note = _check_note(note)
    with transaction.atomic():
        case = _lock_proposed_case(case, expected_version, "it stays open")
        proposed_on = timezone.localdate(case.unreachable_proposed_at)
        return case_transition(
            case=case,
            to_status=CaseStatus.CLOSED_UNREACHABLE,
            actor=actor,
            note=f"confirmed the proposal of {proposed_on:%Y-%m-%d}"
            + (f"; {note}" if note else ""),
        )


def case_unreachable_dismiss(
    *,
    case: NavigationCase | int,
    actor: User,
    note: str = "",
    expected_version: int | None = None,
) -> NavigationCase:
    """A manager keeps trying: the proposal is withdrawn and counting starts again."""
    _manager_only(actor, "keep a case proposed as unreachable open")
    note = _check_note(note)
    with transaction.atomic():
        case = _lock_proposed_case(case, expected_version, "nothing to dismiss")
        _unreachable_withdraw(case, actor, reason="a manager decided to keep trying", note=note)
        return case


# --- Protocols -----------------------------------------------------------------------------


def _describe_steps(steps: list[tuple[int, int, str]]) -> str:
    return ", ".join(f"{protocols.channel_name(channel)} on day {day}" for _, day, channel in steps)


def protocol_validate_steps(steps: list[tuple[int, int, str]]) -> None:
    """Refuse a cadence that is not steps 1, 2, 3... on days that never go back."""
    if not steps:
        raise ValidationError({"steps": "A protocol needs at least one step."})
    errors: list[str] = []
    orders = sorted(order for order, _, _ in steps)
    if orders != list(range(1, len(steps) + 1)):
        errors.append(
            "Number the steps 1, 2, 3… with none missing or repeated (got "
            + ", ".join(str(o) for o in orders)
            + ")."
        )
    ordered = sorted(steps)
    for (order, day, _), (next_order, next_day, _) in zip(ordered, ordered[1:], strict=False):
        if next_day < day:
            errors.append(
                f"Step {next_order} is on day {next_day}, before step {order} (day {day}): "
                "days must not go back."
            )
    for order, day, channel in steps:
        if channel not in Channel.values:
            errors.append(f"Step {order}: “{channel}” is not a contact channel.")
        if day < 0:
            errors.append(f"Step {order}: the day cannot be negative.")
    if errors:
        raise ValidationError({"steps": errors})


PROTOCOL_FIELDS = {
    "unreachable_after_attempts": "unreachable after attempts",
    "unreachable_after_days": "over days",
    "reached_follow_up_days": "follow-up days after reaching",
}


def protocol_update(
    *,
    program: ScreeningProgram,
    actor: User,
    unreachable_after_attempts: int,
    unreachable_after_days: int,
    reached_follow_up_days: int,
    steps: list[tuple[int, int, str]],
) -> OutreachProtocol | None:
    """Replace a program's outreach protocol. Returns None when nothing changed.

    Each change is kept in the admin log (who, when, before and after).
    """
    _manager_only(actor, "change an outreach protocol")
    errors: dict[str, str] = {}
    if unreachable_after_attempts < 1:
        errors["unreachable_after_attempts"] = "Propose closing after at least one attempt."
    if unreachable_after_days < 0:
        errors["unreachable_after_days"] = "The number of days cannot be negative."
    if reached_follow_up_days < 1:
        errors["reached_follow_up_days"] = "Follow up at least one day after reaching them."
    for field, value in (
        ("unreachable_after_attempts", unreachable_after_attempts),
        ("unreachable_after_days", unreachable_after_days),
        ("reached_follow_up_days", reached_follow_up_days),
    ):
        if value > 365:
            errors[field] = "At most 365; check the number."
    if errors:
        raise ValidationError(errors)
    protocol_validate_steps(steps)
    steps = sorted(steps)
    with transaction.atomic():
        protocol, created = OutreachProtocol.objects.select_for_update().get_or_create(
            program=program
        )
        before_steps = [(s.order, s.day, s.channel) for s in protocol.steps.order_by("order")]
        changes: list[str] = []
        for field, new in (
            ("unreachable_after_attempts", unreachable_after_attempts),
            ("unreachable_after_days", unreachable_after_days),
            ("reached_follow_up_days", reached_follow_up_days),
        ):
            old = getattr(protocol, field)
            if old != new or created:
                changes.append(f"{PROTOCOL_FIELDS[field]}: {old} → {new}")
                setattr(protocol, field, new)
        if before_steps != steps:
            changes.append(
                f"steps: {_describe_steps(before_steps) or 'none'} → {_describe_steps(steps)}"
            )
        if not changes:
            return None
        protocol.save()
        if before_steps != steps:
            protocol.steps.all().delete()
            ProtocolStep.objects.bulk_create(
                ProtocolStep(protocol=protocol, order=order, day=day, channel=channel)
                for order, day, channel in steps
            )
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[protocol],
            action_flag=CHANGE,
            change_message="; ".join(changes),
            single_object=True,
        )
        return protocol


# --- Letters -------------------------------------------------------------------------------


def letter_record_printed(
    *, case: NavigationCase | int, actor: User, language: str, template_id: int
) -> bool:
    """Put a printed letter on the timeline, once a day per case and language.

    Opening the PDF again (a reprint, a second tab) adds nothing: each entry
    makes open forms on the case stale, and one a day says what happened.
    """
    with transaction.atomic():
        case = case_lock(case)
        today = timezone.localdate()
        start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
        if CaseEvent.objects.filter(
            case=case, kind=CaseEventKind.LETTER_PRINTED, at__gte=start, data__language=language
        ).exists():
            return False
        event_record(
            case=case,
            kind=CaseEventKind.LETTER_PRINTED,
            actor=actor,
            summary=f"Outreach letter printed in {language_name(language)}",
            data={"language": language, "template": template_id},
        )
        return True


# --- Follow-up reminders -----------------------------------------------------------------


def follow_up_reminders_create(*, today: dt.date) -> list[int]:
    """Create one reminder per open, assigned case whose follow-up date has come.

    Safe to run any number of times a day: the (case, due_on) unique constraint
    makes a second run create nothing. Returns the ids of the reminders created.
    """
    due_cases = (
        NavigationCase.objects.filter(
            status__in=OPEN_STATUSES,
            navigator__isnull=False,
            next_follow_up__lte=today,
        )
        .exclude(follow_up_reminders__due_on=today)
        .values_list("pk", "navigator_id")
    )
    # A navigator away has handed their caseload on: the colleague covering gets it.
    covered_by = dict(
        Coverage.objects.filter(
            starts_on__lte=today, ends_on__gte=today, cancelled_at=None
        ).values_list("absent_id", "covering_id")
    )
    created_ids: list[int] = []
    for case_id, navigator_id in due_cases.iterator(chunk_size=500):
        with transaction.atomic():
            reminder, created = FollowUpReminder.objects.get_or_create(
                case_id=case_id,
                due_on=today,
                defaults={"navigator_id": covered_by.get(navigator_id, navigator_id)},
            )
            if not created:
                continue
            event_record(
                case=NavigationCase(pk=case_id),
                kind=CaseEventKind.REMINDER_CREATED,
                actor=None,
                summary=f"Follow-up due {today:%Y-%m-%d}: reminder sent to the navigator",
                data={"reminder": reminder.pk},
            )
            created_ids.append(reminder.pk)
            enqueue_on_commit("outreach.tasks.send_follow_up_reminder_email", reminder.pk)
    logger.info("follow-up reminders created: %d", len(created_ids))
    return created_ids


def follow_up_reminder_send_email(*, reminder_id: int) -> bool:
    """Email a navigator their reminder, once. Returns False if it was already sent.

    The reminder is claimed with a conditional update, so a task that runs
    twice (a redelivered message, the sweep and the first task racing) sends
    one email. If sending fails, the claim is rolled back with the transaction
    and the task's retry or the next sweep tries again.
    """
    with transaction.atomic():
        claimed = FollowUpReminder.objects.filter(
            pk=reminder_id,
            emailed_at=None,
            dismissed_at=None,
            case__status__in=OPEN_STATUSES,
        ).update(emailed_at=timezone.now())
        if claimed == 0:
            return False
        reminder = FollowUpReminder.objects.select_related("navigator__user", "case__program").get(
            pk=reminder_id
        )
        user = reminder.navigator.user
        if not user.email:
            logger.warning("navigator %s has no email; reminder %s shown on worklist only",
                           user.pk, reminder.pk)  # fmt: skip
            return True
        case_url = f"{settings.EQUINAV_SITE_URL}/cases/{reminder.case_id}/"
        # Minimum necessary: the email names the case and program, never the patient.
        send_mail(
            subject=f"EquiNav: follow-up due on case #{reminder.case_id}",
            message=(
                f"A follow-up has come due ({reminder.due_on:%Y-%m-%d}) on "
                f"{reminder.case.program.name.lower()} screening case #{reminder.case_id}.\n\n"
                f"Open it: {case_url}\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        return True


# A reminder email not sent within a day is stale: the worklist already shows it,
# and tomorrow brings a fresh reminder if the case is still due. Bounding the sweep
# also stops it retrying an address the mail server rejects for ever.
REMINDER_EMAIL_STALE_AFTER = dt.timedelta(days=1)


def unsent_reminder_ids(*, older_than: dt.timedelta) -> list[int]:
    """Reminders still waiting for their email, old enough that their task was lost."""
    now = timezone.now()
    return list(
        FollowUpReminder.objects.filter(
            emailed_at=None,
            dismissed_at=None,
            created_at__lt=now - older_than,
            created_at__gte=now - REMINDER_EMAIL_STALE_AFTER,
        ).values_list("pk", flat=True)[:1000]
    )


def follow_up_reminder_dismiss(*, reminder: FollowUpReminder, actor: User) -> FollowUpReminder:
    if reminder.dismissed_at is None:
        FollowUpReminder.objects.filter(pk=reminder.pk, dismissed_at=None).update(
            dismissed_at=timezone.now()
        )
        reminder.refresh_from_db()
    return reminder


# --- Patient messages -------------------------------------------------------------------------


def sending_lease() -> dt.timedelta:
    """A message claimed for sending longer ago than this, and still not sent, belonged
    to a worker that died; the sweep claims it again (the idempotency key stops a resend)."""
    return dt.timedelta(seconds=settings.EQUINAV_MESSAGE_LEASE_SECONDS)


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
    `reply_to` number makes it an answer to the patient's own text (STOP, HELP):
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
                language=patient.preferred_language,
                program_id=case.program_id if case else None,
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
                    language=patient.preferred_language,
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


def messages_claim_due(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Claim up to `limit` due messages for sending; their ids.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so two workers
    sweeping at once take disjoint sets; the conditional update is what makes the
    claim hold on any database. A message left "sending" past its lease (its
    worker died) is claimed again, first: it is the latest.

    Two queries rather than one with an OR, so that each reads its own index
    ((state, due_at), (state, claimed_at)) in order and stops at `limit`, however
    many sent messages the table holds.
    """
    # Letters go out in the day's printed batch, not through the sweep.
    unsent = PatientMessage.objects.exclude(channel=MessageChannel.LETTER)
    with transaction.atomic():
        ids = list(
            unsent.filter(state=MessageState.SENDING, claimed_at__lt=now - sending_lease())
            .order_by("claimed_at")
            .values_list("pk", flat=True)
            .select_for_update(skip_locked=True)[:limit]
        )
        if len(ids) < limit:
            ids += list(
                unsent.filter(state=MessageState.SCHEDULED, due_at__lte=now)
                .order_by("due_at")
                .values_list("pk", flat=True)
                .select_for_update(skip_locked=True)[: limit - len(ids)]
            )
        if not ids:
            return []
        PatientMessage.objects.filter(pk__in=ids).update(state=MessageState.SENDING, claimed_at=now)
        return ids


def messages_dispatch_due(
    *,
    enqueue: Callable[[list[int]], object],
    now: Callable[[], dt.datetime] = timezone.now,
    batch: int | None = None,
    budget: dt.timedelta | None = None,
) -> int:
    """The sweep: claim due messages a batch at a time and hand each batch to
    `enqueue` once its claim has committed, until none is due or the time budget
    is spent (the next sweep goes on from there); how many were dispatched.

    It streams: a batch is all it holds in memory, however many are due.
    """
    batch = batch or settings.EQUINAV_SWEEP_BATCH
    budget = budget or dt.timedelta(seconds=settings.EQUINAV_SWEEP_SECONDS)
    started = time.monotonic()
    dispatched = 0
    while True:
        ids = messages_claim_due(now=now(), limit=batch)
        if ids:
            enqueue(ids)
            dispatched += len(ids)
        if len(ids) < batch or time.monotonic() - started > budget.total_seconds():
            return dispatched


def _clock_time(moment: dt.time, language: str) -> str:
    """9:30 AM in English; 9:30 (24-hour) in Spanish, Portuguese and the rest."""
    if language == "en":
        hour = moment.hour % 12 or 12
        return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    return f"{moment.hour}:{moment.minute:02d}"


def appointment_reminders_schedule(*, appointment: Appointment) -> list[PatientMessage]:
    """Schedule the program's patient reminders for a booked appointment.

    Called by the booking, in its transaction. Each active rule of the program
    (and of the appointment's test, where a rule names one) gives one message at
    its local time that many days before the appointment's local day; reminders
    whose time has already passed are not scheduled. Returns the messages made.
    """
    case = appointment.case
    patient = case.patient
    zone = ZoneInfo(patient.time_zone)
    local_start = appointment.scheduled_at.astimezone(zone)
    language = patient.preferred_language
    context = {
        **_case_message_context(case),
        "appointment_date": letter_date(local_start.date(), language),
        "appointment_time": _clock_time(local_start.time(), language),
        "site": appointment.site,
    }
    return _case_rules_schedule(
        case=case,
        rules=_active_rules(case, ReminderTrigger.BEFORE_APPOINTMENT, appointment.modality_id),
        subject_key=f"appointment:{appointment.pk}",
        context=context,
        due_for=lambda rule: reminder_instant(
            anchor_day=local_start.date(), days_before=rule.days, at=rule.at_time, zone=zone
        ),
        before=appointment.scheduled_at,
    )


def _case_message_context(case: NavigationCase) -> dict[str, str]:
    """The placeholders every message about a case can use."""
    return {
        "first_name": case.patient.given_name,
        "program_phone": program_phone(case),
        "organization": letterhead()["organization"],
        "navigator_name": str(case.navigator) if case.navigator else "",
    }


def _active_rules(
    case: NavigationCase, trigger: str, modality_id: int | None
) -> QuerySet[ReminderRule]:
    """The case program's active rules for `trigger`: those for every test, and those
    for `modality_id` (colonoscopy prep, say)."""
    return ReminderRule.objects.filter(
        Q(modality__isnull=True) | Q(modality_id=modality_id),
        program_id=case.program_id,
        trigger=trigger,
        active=True,
    )


def _case_rules_schedule(
    *,
    case: NavigationCase,
    rules: Iterable[ReminderRule],
    subject_key: str,
    context: Mapping[str, str],
    due_for: Callable[[ReminderRule], dt.datetime],
    before: dt.datetime | None = None,
) -> list[PatientMessage]:
    """One message per rule about a case's subject, at the time `due_for` gives it;
    none whose time has passed (or, with `before`, falls after the event itself).
    The messages made (one already there is not made again)."""
    now = timezone.now()
    made = []
    for rule in rules:
        due = due_for(rule)
        if due <= now or (before is not None and due >= before):
            continue
        message, created = message_schedule(
            patient=case.patient,
            kind=rule.kind,
            channel=rule.channel,
            rule_key=rule.key,
            subject_key=subject_key,
            due_at=due,
            context=context,
            case=case,
            priority=rule.priority,
        )
        if created:
            made.append(message)
    return made


def kit_reminders_schedule(*, kit: KitMailing) -> list[PatientMessage]:
    """Schedule the program's reminders to mail back a home test kit.

    Called by `kit_mail`, in its transaction. Each active after-kit rule (of the
    kit's test, where a rule names one) gives one message at its local time that
    many days after the kit was mailed. Recording the result stops them.
    """
    case = kit.case
    patient = case.patient
    zone = ZoneInfo(patient.time_zone)
    return _case_rules_schedule(
        case=case,
        rules=_active_rules(case, ReminderTrigger.AFTER_KIT_MAILED, kit.modality_id),
        subject_key=f"kit:{kit.pk}",
        context=_case_message_context(case),
        due_for=lambda rule: reminder_instant(
            anchor_day=kit.mailed_on, days_before=-rule.days, at=rule.at_time, zone=zone
        ),
    )


# Patients a recall may go to by each channel (the others would only pile up as
# suppressed rows: a recall is an offer, not a loop someone must close).
RECALL_REACHABLE = {
    MessageChannel.SMS: Q(patient__sms_consent=True, patient__phones__kind=PhoneType.MOBILE),
    MessageChannel.EMAIL: ~Q(patient__email=""),
    MessageChannel.LETTER: ~Q(patient__address_line1=""),
}


def recall_messages_schedule(*, today: dt.date) -> list[PatientMessage]:
    """Schedule recall messages: each active recall rule reaches the patients of its
    program whose next screening falls due within its days, once per due date.

    A day the beat missed is caught up: the message keeps the day it was meant for
    (its slot), so running this twice, or on two beat processes, makes one message.
    """
    now = timezone.now()
    organization = letterhead()["organization"]
    phones = getattr(settings, "EQUINAV_PROGRAM_PHONES", {}) or {}
    made = []
    rules = ReminderRule.objects.filter(
        trigger=ReminderTrigger.BEFORE_NEXT_DUE, active=True
    ).select_related("program")
    for rule in rules:
        gaps = (
            CareGap.objects.filter(
                RECALL_REACHABLE[MessageChannel(rule.channel)],
                program_id=rule.program_id,
                status__in=[CareGapStatus.UP_TO_DATE, CareGapStatus.DUE_SOON],
                next_due_on__gte=today,
                next_due_on__lte=today + dt.timedelta(days=rule.days),
                patient__deceased=False,
            )
            .exclude(
                # Already being navigated toward this screening: the navigator has it.
                Exists(
                    NavigationCase.objects.filter(
                        patient=OuterRef("patient"),
                        program_id=rule.program_id,
                        status__in=sorted(OPEN_STATUSES),
                    )
                )
            )
            .select_related("patient")
            .prefetch_related("patient__phones")
            .distinct()
            .order_by("pk")
        )
        for gap in gaps.iterator(chunk_size=500):
            assert gap.next_due_on is not None  # noqa: S101 - filtered above
            patient = gap.patient
            zone = ZoneInfo(patient.time_zone)
            meant_for = gap.next_due_on - dt.timedelta(days=rule.days)
            due = local_to_utc(max(meant_for, today), rule.at_time, zone)
            message, created = message_schedule(
                patient=patient,
                kind=rule.kind,
                channel=rule.channel,
                rule_key=rule.key,
                # The patient's own: a subject is what the message is about, and two
                # patients due the same day are two subjects.
                subject_key=f"recall:{patient.pk}:{rule.program_id}:{gap.next_due_on.isoformat()}",
                due_at=max(due, now),
                context={
                    "first_name": patient.given_name,
                    "program_phone": phones.get(rule.program.code) or letterhead()["phone"],
                    "organization": organization,
                    "navigator_name": "",
                },
                priority=rule.priority,
                slot=meant_for,
            )
            if created:
                made.append(message)
    return made


# --- Sending ---------------------------------------------------------------------------------

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
        _message_fail(message, reason=str(error), error=str(error))
        return MessageOutcome.FAILED
    except SmsTransientError as error:
        message.tries += 1
        message.last_error = str(error)[:300]
        if message.tries >= MESSAGE_MAX_TRIES:
            _message_fail(message, reason=f"gave up after {message.tries} tries", error=str(error))
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


def _message_fail(message: PatientMessage, *, reason: str, error: str = "") -> None:
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
