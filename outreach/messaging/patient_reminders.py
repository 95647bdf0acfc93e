"""Patient reminders the programs' rules schedule: before an appointment or a coaching
session (individual, or a group class the patient is enrolled in), after a home test
kit is mailed, and recalls before the next screening falls due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from navigator.models import (
    OPEN_STATUSES,
    Appointment,
    CaseStatus,
    CoachingSession,
    EnrolmentStatus,
    GroupEnrolment,
    GroupSession,
    KitMailing,
    NavigationCase,
)
from outreach.letters.case_letter import letter_date, letterhead, program_phone
from outreach.messaging.quiet_hours import local_to_utc, reminder_instant
from outreach.messaging.schedule import message_schedule
from outreach.models import MessageChannel, PatientMessage, ReminderRule, ReminderTrigger
from patients.models import CareGap, CareGapStatus, PhoneType


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
    language = patient.written_language_effective
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


def coaching_session_reminders_schedule(*, session: CoachingSession) -> list[PatientMessage]:
    """Schedule the program's reminders before an individual coaching session, as for
    an appointment (its day, time and place in the patient's language), from the
    program's before-coaching-session rules. Called by the booking, in its
    transaction; what falls due at once is sent when it commits (`message_schedule`)."""
    case = session.case
    zone = ZoneInfo(case.patient.time_zone)
    local_start = session.scheduled_at.astimezone(zone)
    language = case.patient.written_language_effective
    context = {
        **_case_message_context(case),
        "appointment_date": letter_date(local_start.date(), language),
        "appointment_time": _clock_time(local_start.time(), language),
        "site": "",
    }
    return _case_rules_schedule(
        case=case,
        rules=_active_rules(case, ReminderTrigger.BEFORE_COACHING_SESSION, None),
        subject_key=coaching_session_subject(session.pk),
        context=context,
        due_for=lambda rule: reminder_instant(
            anchor_day=local_start.date(), days_before=rule.days, at=rule.at_time, zone=zone
        ),
        before=session.scheduled_at,
    )


def coaching_session_subject(session_id: int) -> str:
    return f"coaching:{session_id}"


def group_session_subject(session_id: int, patient_id: int) -> str:
    """Each enrolled patient's reminder is their own subject (two patients, two rows)."""
    return f"group:{session_id}:{patient_id}"


def group_session_reminders_schedule(*, session: GroupSession) -> list[PatientMessage]:
    """Schedule the reminders before a group session for every patient enrolled in its
    series, each in their own language and time zone, from their case's program's
    before-group-session rules. Safe to run again (the same rule, subject and day
    give the same row); a patient enrolled since gets theirs, one withdrawn none."""
    series = session.series
    enrolments = (
        GroupEnrolment.objects.filter(series=series, status=EnrolmentStatus.ENROLLED)
        .select_related("case__patient", "case__navigator__user", "case__program")
        .order_by("pk")
    )
    made = []
    for enrolment in enrolments:
        case = enrolment.case
        if not case.is_open:
            continue
        patient = case.patient
        zone = ZoneInfo(patient.time_zone)
        local_start = session.starts_at.astimezone(zone)
        day = local_start.date()
        language = patient.written_language_effective
        context = {
            **_case_message_context(case),
            "appointment_date": letter_date(local_start.date(), language),
            "appointment_time": _clock_time(local_start.time(), language),
            # The place, or nothing for a video class (the link is not put in a text:
            # the facilitator sends it the way the programme does).
            "site": series.location,
        }
        made += _case_rules_schedule(
            case=case,
            rules=_active_rules(case, ReminderTrigger.BEFORE_GROUP_SESSION, None),
            subject_key=group_session_subject(session.pk, patient.pk),
            context=context,
            due_for=partial(_before_day, day=day, zone=zone),
            before=session.starts_at,
        )
    return made


def _before_day(rule: ReminderRule, *, day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """A rule's reminder for an event on local `day` (bound per patient: their zone)."""
    return reminder_instant(anchor_day=day, days_before=rule.days, at=rule.at_time, zone=zone)


def group_session_reminders_schedule_by_id(*, session_id: int) -> list[PatientMessage]:
    """`group_session_reminders_schedule` for a session's id, in one transaction (the
    worker's entry); nothing for a session gone or begun."""
    with transaction.atomic():
        session = (
            GroupSession.objects.select_related("series")
            .filter(pk=session_id, starts_at__gt=timezone.now())
            .first()
        )
        if session is None:
            return []
        return group_session_reminders_schedule(session=session)


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
                # A record merged into another is nobody's: its person is the other.
                patient__merged_into__isnull=True,
            )
            .exclude(
                # Already being navigated toward this screening: the navigator has it;
                # or handed to treatment after a diagnosis: routine screening is over.
                Exists(
                    NavigationCase.objects.filter(
                        patient=OuterRef("patient"),
                        program_id=rule.program_id,
                        status__in=sorted({*OPEN_STATUSES, CaseStatus.TREATMENT}),
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
                # The programme's own recall ("your HbA1c check"), else the default.
                program_id=rule.program_id,
            )
            if created:
                made.append(message)
    return made
