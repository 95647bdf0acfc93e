"""Reads for outreach, scoped through the cases a user may see: attempts, interpreter
requests, reminders, protocols and rules (with their history), the managers' lists
(problem messages, escalations, unmatched texts), language access (who interpreted
contacts with patients of limited English proficiency), navigator tasks, the mail
room's letters, and call guides (which one fits a case now: `call_guide_for`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import router
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from navigator.models import (
    Appointment,
    AppointmentStatus,
    CaseEvent,
    CaseEventKind,
    NavigationCase,
    User,
)
from navigator.selectors.cases import open_follow_up
from navigator.selectors.visibility import cases_visible_to
from navigator.worklist.replayed import replayed_instances
from navigator.worklist.rules import PREP_CALL_WINDOW
from outreach.messaging.sms_keywords import Intent
from outreach.models import (
    QUALIFIED_INTERPRETATION,
    CallGuide,
    CallGuideVersion,
    CallStep,
    CaseTask,
    Channel,
    ContactAttempt,
    FollowUpReminder,
    InboundSms,
    InterpretedBy,
    InterpreterRequest,
    MessageChannel,
    MessageState,
    Outcome,
    OutreachProtocol,
    PatientMessage,
    ReminderRule,
    TaskRule,
)
from outreach.wording import program_work
from patients.languages import language_name
from patients.models import LIMITED_ENGLISH_LEVELS, ScreeningProgram, ScreeningResult


def attempts_visible_to(user: User) -> QuerySet[ContactAttempt]:
    # Clinic staff see no case, so no attempt: notes stay with the care team.
    return ContactAttempt.objects.filter(case__in=cases_visible_to(user))


def interpreter_requests_visible_to(user: User) -> QuerySet[InterpreterRequest]:
    return InterpreterRequest.objects.filter(case__in=cases_visible_to(user))


def reminders_visible_to(user: User) -> QuerySet[FollowUpReminder]:
    reminders = FollowUpReminder.objects.all()
    if not user.is_authenticated:
        return reminders.none()
    if user.sees_all_cases:
        return reminders
    if user.is_navigator:
        # The case's current navigator, whoever the reminder was first made for.
        return reminders.filter(case__navigator__user=user)
    return reminders.none()


def reminders_pending_for(user: User) -> QuerySet[FollowUpReminder]:
    return (
        reminders_visible_to(user)
        .filter(dismissed_at=None, case__navigator__user=user)
        .select_related("case__patient", "case__program")
        .order_by("due_on", "pk")
    )


def reminders_shown_for(user: User, *, limit: int) -> list[FollowUpReminder]:
    """`list(reminders_pending_for(user)[:limit])`, with their cases' patients and
    programs (the worklist page's reminders). Its SQL is compiled once per key and
    process (navigator.worklist.replayed): what `reminders_visible_to` turns on (who,
    their role, superuser or not: as the worklist's own keys) and the limit."""
    key = (
        "reminders_shown_for",
        router.db_for_read(FollowUpReminder),
        user.pk,
        getattr(user, "role", ""),
        user.is_superuser,
        user.is_authenticated,
        limit,
    )
    return replayed_instances(key, lambda: reminders_pending_for(user)[:limit])


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


def protocol_for(program_id: int) -> OutreachProtocol | None:
    return OutreachProtocol.objects.filter(program_id=program_id).prefetch_related("steps").first()


def program_by_code(code: str) -> ScreeningProgram | None:
    return ScreeningProgram.objects.filter(code=code).first()


def programs_by_name() -> list[ScreeningProgram]:
    return list(ScreeningProgram.objects.order_by("name"))


def case_for_letter(*, user: User, case_id: int) -> NavigationCase | None:
    """A case the user may see, with what its letter names (patient, program, navigator)."""
    return (
        cases_visible_to(user)
        .select_related("patient", "program", "navigator__user")
        .filter(pk=case_id)
        .first()
    )


def protocol_history(protocol: OutreachProtocol, limit: int = 50) -> list[LogEntry]:
    """Who changed a protocol, when, and what (written by services.protocols.protocol_update)."""
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(OutreachProtocol),
            object_id=str(protocol.pk),
        )
        .select_related("user")
        .order_by("-action_time", "-pk")[:limit]
    )


def unreachable_proposal(case: NavigationCase) -> CaseEvent | None:
    """The timeline entry that proposed closing the case, from its prefetched events."""
    if case.unreachable_proposed_at is None:
        return None
    return next(
        (e for e in case.events.all() if e.kind == CaseEventKind.UNREACHABLE_PROPOSED), None
    )


# --- Managers' messages page ------------------------------------------------------------------


def problem_messages(
    *, user: User, states: tuple[str, ...] = (), program_code: str = ""
) -> QuerySet[PatientMessage]:
    """Messages in the given states (e.g. failed, suppressed), newest due first, for
    managers (who see every case); nobody else sees this list."""
    if not (user.is_authenticated and user.sees_all_cases):
        return PatientMessage.objects.none()
    rows = PatientMessage.objects.select_related("patient", "case__program")
    if states:
        rows = rows.filter(state__in=states)
    if program_code:
        rows = rows.filter(case__program__code=program_code)
    return rows.order_by("-due_at", "-pk")


def open_escalations(*, user: User) -> QuerySet[CaseTask]:
    if not (user.is_authenticated and user.sees_all_cases):
        return CaseTask.objects.none()
    return (
        CaseTask.objects.filter(for_manager=True, done_at=None)
        .select_related("case__patient", "case__program", "case__navigator__user")
        .order_by("due_on", "pk")
    )


def unmatched_texts(*, user: User) -> QuerySet[InboundSms]:
    """Texts we could not put on a case: an unknown number, a number shared by several
    patients, or a patient with no open case. Managers only."""
    if not (user.is_authenticated and user.sees_all_cases):
        return InboundSms.objects.none()
    return (
        InboundSms.objects.filter(case=None, intent=Intent.MESSAGE.value)
        .select_related("patient")
        .order_by("-received_at", "-pk")
    )


def message_for_manager(*, user: User, message_id: int) -> PatientMessage | None:
    """A message a manager may retry or cancel (any of them); None for anyone else."""
    message = problem_messages(user=user).filter(pk=message_id).first()
    if message is None:
        message = PatientMessage.objects.filter(pk=message_id).first()
        if message is None or not user.sees_all_cases:
            return None
    return message


def reminder_rules_of(program: ScreeningProgram) -> list[ReminderRule]:
    return list(ReminderRule.objects.filter(program=program).select_related("modality", "program"))


def reminder_rule_of(*, program: ScreeningProgram, rule_id: int) -> ReminderRule | None:
    return ReminderRule.objects.filter(program=program, pk=rule_id).first()


def task_rules_by_kind(program: ScreeningProgram) -> dict[str, TaskRule]:
    return {rule.kind: rule for rule in TaskRule.objects.filter(program=program)}


def rule_history(program: ScreeningProgram, limit: int = 50) -> list[LogEntry]:
    """Changes to a program's reminder and task rules (services.rules writes them)."""
    types = ContentType.objects.get_for_models(ReminderRule, TaskRule).values()
    ids = [
        str(pk)
        for pk in [
            *ReminderRule.objects.filter(program=program).values_list("pk", flat=True),
            *TaskRule.objects.filter(program=program).values_list("pk", flat=True),
        ]
    ]
    return list(
        LogEntry.objects.filter(content_type__in=list(types), object_id__in=ids)
        .filter(change_message__startswith=f"{program}:")
        .select_related("user")
        .order_by("-action_time", "-pk")[:limit]
    )


# --- Navigator tasks and escalations ------------------------------------------------------


def tasks_visible_to(user: User) -> Q:
    """Which tasks a user may see and close: a navigator, those of the cases they work
    (never escalations); managers and administrators, all."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.sees_all_cases:
        return Q()
    return Q(for_manager=False, case__in=cases_visible_to(user))


def case_tasks_visible_to(user: User) -> QuerySet[CaseTask]:
    """The tasks a user may see, open ones first, soonest due first."""
    return (
        CaseTask.objects.filter(tasks_visible_to(user))
        .select_related("case__program", "done_by")
        .order_by("done_at", "due_on", "pk")
    )


def case_tasks_open_on(*, user: User, case: NavigationCase) -> QuerySet[CaseTask]:
    """The open tasks of a case that this user may see and close."""
    return CaseTask.objects.filter(tasks_visible_to(user), case=case, done_at=None)


def case_task_on(*, user: User, case: NavigationCase, task_id: int) -> CaseTask | None:
    """A task of this case that this user may close, or None."""
    return CaseTask.objects.filter(tasks_visible_to(user), case=case, pk=task_id).first()


# --- Printed letters (the mail room) ---------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def letters_due(*, day: dt.date) -> QuerySet[PatientMessage]:
    """Scheduled letters due on or before `day`, each by its patient's own calendar
    (due before the next local midnight), oldest first."""
    scheduled = PatientMessage.objects.filter(
        channel=MessageChannel.LETTER, state=MessageState.SCHEDULED
    )
    zones = scheduled.order_by().values_list("patient__time_zone", flat=True).distinct()
    next_day = day + dt.timedelta(days=1)
    due_by_zone = Q(pk__in=[])
    for name in zones:
        midnight = dt.datetime.combine(next_day, dt.time.min, tzinfo=_zone(name))
        due_by_zone |= Q(patient__time_zone=name, due_at__lt=midnight)
    return scheduled.filter(due_by_zone).order_by("due_at", "pk")


@dataclass(frozen=True)
class BatchDay:
    day: dt.date
    letters: int


def letter_batches(*, limit: int = 60) -> list[BatchDay]:
    """The days letters were printed on, newest first, with how many."""
    rows = (
        PatientMessage.objects.filter(channel=MessageChannel.LETTER, printed_on__isnull=False)
        .order_by()
        .values("printed_on")
        .annotate(letters=Count("pk"))
        .order_by("-printed_on")[:limit]
    )
    return [BatchDay(day=row["printed_on"], letters=row["letters"]) for row in rows]


def letters_printed_on(day: dt.date) -> list[PatientMessage]:
    """The letters of `day`'s batch in mail-room order: postal code, then name."""
    letters = PatientMessage.objects.filter(
        channel=MessageChannel.LETTER, printed_on=day
    ).select_related("patient")
    return sorted(
        letters,
        key=lambda m: (
            m.patient.postal_code.strip(),
            m.patient.family_name.casefold(),
            m.patient.given_name.casefold(),
            m.pk,
        ),
    )


# --- Language access ------------------------------------------------------------------

# Contacts an interpreter can take part in: spoken ones (a text or a letter is
# translated, not interpreted).
SPOKEN_CHANNELS = (Channel.PHONE, Channel.IN_PERSON)


@dataclass(frozen=True)
class ShareRow:
    """One navigator's or language's contacts: how many had a qualified interpreter
    (or a qualified bilingual navigator) out of all of them."""

    label: str
    qualified: int
    ad_hoc: int
    not_recorded: int
    total: int

    @property
    def share(self) -> float | None:
        return self.qualified / self.total if self.total else None


@dataclass(frozen=True)
class LanguageAccess:
    start: dt.date
    end: dt.date
    # "reached": attempts that reached the patient; "all": every spoken attempt.
    overall: dict[str, ShareRow]
    by_navigator: dict[str, list[ShareRow]]
    by_language: dict[str, list[ShareRow]]
    ad_hoc: list[ContactAttempt]


def _counts() -> dict[str, Count]:
    return {
        "total": Count("pk"),
        "qualified": Count("pk", filter=Q(interpreted_by__in=sorted(QUALIFIED_INTERPRETATION))),
        "ad_hoc": Count("pk", filter=Q(interpreted_by=InterpretedBy.AD_HOC)),
        "not_recorded": Count("pk", filter=Q(interpreted_by=InterpretedBy.NOT_RECORDED)),
    }


def _share_rows(attempts: QuerySet[ContactAttempt], key: str, label) -> list[ShareRow]:
    counted = attempts.order_by().values(key).annotate(**_counts())
    rows = [
        ShareRow(
            label=label(row[key]),
            qualified=row["qualified"],
            ad_hoc=row["ad_hoc"],
            not_recorded=row["not_recorded"],
            total=row["total"],
        )
        for row in counted
    ]
    return sorted(rows, key=lambda row: row.label.lower())


def language_access(*, user: User, start: dt.date, end: dt.date) -> LanguageAccess:
    """Who interpreted spoken contacts (phone, in person) with patients of limited
    English proficiency (speaks English less than very well, or needs an interpreter)
    between `start` and `end` (local days): overall, by navigator (who logged the
    contact) and by the patient's spoken language, for the contacts that reached the
    patient and for every attempt; and every ad hoc interpreter."""
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    attempts = attempts_visible_to(user).filter(
        Q(case__patient__english_proficiency__in=sorted(LIMITED_ENGLISH_LEVELS))
        | Q(case__patient__interpreter_needed=True),
        channel__in=SPOKEN_CHANNELS,
        attempted_at__gte=since,
        attempted_at__lt=until,
    )
    names = {
        user_.pk: user_.get_full_name() or user_.username
        for user_ in User.objects.filter(pk__in=attempts.values("created_by"))
    }

    def navigator_label(pk: int | None) -> str:
        return names.get(pk, "Nobody (inbound)") if pk else "Nobody (inbound)"

    scopes = {"reached": attempts.filter(outcome=Outcome.REACHED), "all": attempts}
    return LanguageAccess(
        start=start,
        end=end,
        overall={
            scope: ShareRow(label="All contacts", **rows.aggregate(**_counts()))
            for scope, rows in scopes.items()
        },
        by_navigator={
            scope: _share_rows(rows, "created_by", navigator_label)
            for scope, rows in scopes.items()
        },
        by_language={
            scope: _share_rows(rows, "case__patient__preferred_language", language_name)
            for scope, rows in scopes.items()
        },
        ad_hoc=list(
            attempts.filter(interpreted_by=InterpretedBy.AD_HOC)
            .select_related("created_by", "case__patient")
            .order_by("-attempted_at", "-pk")
        ),
    )


# --- Call guides -------------------------------------------------------------------------

# The language every program's guides are written in first: the fallback.
CALL_GUIDE_FALLBACK_LANGUAGE = "en"


def call_guides_of(program: ScreeningProgram) -> list[CallGuide]:
    """A program's call guides, by step then language, for the managers' page."""
    order = {step: i for i, step in enumerate(CallStep.values)}
    guides = CallGuide.objects.filter(program=program).select_related("updated_by")
    return sorted(
        guides, key=lambda guide: (order[guide.step], guide.language != "en", guide.language)
    )


def call_guide_of(*, program: ScreeningProgram, guide_id: int) -> CallGuide | None:
    return CallGuide.objects.filter(program=program, pk=guide_id).first()


def call_guide_history(guide: CallGuide, limit: int = 50) -> list[CallGuideVersion]:
    return list(guide.versions.select_related("changed_by").order_by("-number")[:limit])


def call_guides_listed(
    *, program_code: str = "", step: str = "", language: str = ""
) -> QuerySet[CallGuide]:
    """The active guides the API lists, narrowed by program code, step and language."""
    guides = CallGuide.objects.filter(active=True, program__active=True).select_related(
        "program", "updated_by"
    )
    if program_code:
        guides = guides.filter(program__code=program_code)
    if step:
        guides = guides.filter(step=step)
    if language:
        guides = guides.filter(language=language)
    return guides.order_by("program__name", "step", "language", "pk")


def abnormal_result_open(case: NavigationCase) -> bool:
    """Whether the case has an abnormal result whose follow-up is still to be done (an
    open ResultFollowUp after an abnormal result; an inadequate sample is a repeat, not
    news to break). The call guide asks only here."""
    follow_up = open_follow_up(case)
    return follow_up is not None and follow_up.screening.result == ScreeningResult.ABNORMAL


def _appointment_soon(case: NavigationCase, now: dt.datetime) -> Appointment | None:
    """A booked appointment for a test done at a clinic (not a kit mailed home) within
    the prep-call window, the same seven days the worklist asks a prep call for."""
    soon = [
        appointment
        for appointment in case.appointments.all()
        if appointment.status == AppointmentStatus.BOOKED
        and now < appointment.scheduled_at <= now + PREP_CALL_WINDOW
        and not (appointment.modality is not None and appointment.modality.mailed_kit)
    ]
    return min(soon, key=lambda appointment: appointment.scheduled_at, default=None)


def call_step_for(case: NavigationCase, *, now: dt.datetime | None = None) -> tuple[str, str]:
    """Which call this case is at, and why, in words.

    A test within seven days comes first: the patient needs the prep now, whatever
    else is going on. Then an abnormal result: a patient never reached yet is told
    about the follow-up, not invited to a screening they already had. Then a first
    call until someone has reached the patient; after that, a reminder.
    """
    now = now or timezone.now()
    appointment = _appointment_soon(case, now)
    if appointment is not None:
        test = appointment.modality.name if appointment.modality else "an appointment"
        day = timezone.localtime(appointment.scheduled_at).strftime("%b %-d")
        return CallStep.PREP_CALL, f"{test} booked for {day}, within 7 days"
    if abnormal_result_open(case):
        return CallStep.ABNORMAL_RESULT_CALL, "an abnormal result is waiting for its follow-up"
    reached = any(attempt.outcome == Outcome.REACHED for attempt in case.attempts.all())
    if not reached:
        return CallStep.FIRST_CALL, "nobody has reached the patient yet"
    return CallStep.REMINDER_CALL, "the patient has been reached before"


@dataclass(frozen=True)
class CallGuidePick:
    """The guide for a call, and how it was chosen."""

    guide: CallGuide | None
    step: str
    why: str
    chosen: bool  # the navigator picked the step or language, rather than the case's state
    language: str  # the language asked for: the patient's, or the one picked
    note: str  # why the guide shown is not the one asked for, if it is not
    steps: list[tuple[str, str]]
    languages: list[tuple[str, str]]

    @property
    def step_label(self) -> str:
        return CallStep(self.step).label

    @property
    def guide_language_name(self) -> str:
        return language_name(self.guide.language) if self.guide else ""


def call_guide_for(
    case: NavigationCase,
    step: str | None = None,
    *,
    language: str | None = None,
    now: dt.datetime | None = None,
) -> CallGuidePick:
    """The guide for this moment of the case, in the patient's preferred language.

    `step` and `language` (valid values, checked by the caller) show another one.
    Without a guide in the language asked for, the English one, saying so.
    """
    if step:
        why = "picked by you"
    else:
        step, why = call_step_for(case, now=now)
    wanted = language or case.patient.preferred_language or CALL_GUIDE_FALLBACK_LANGUAGE
    guides = list(CallGuide.objects.filter(program_id=case.program_id, active=True))
    by_key = {(guide.step, guide.language): guide for guide in guides}
    guide = by_key.get((step, wanted))
    note = ""
    if guide is None:
        fallback = by_key.get((step, CALL_GUIDE_FALLBACK_LANGUAGE))
        label = CallStep(step).label.lower()
        if fallback is not None:
            guide = fallback
            note = (
                f"No {label} guide in {language_name(wanted)} yet: showing English. "
                "Use an interpreter if the patient needs one."
            )
        else:
            note = f"No {label} guide for {program_work(case.program)} yet."
    languages = sorted({guide.language for guide in guides}, key=lambda code: (code != "en", code))
    return CallGuidePick(
        guide=guide,
        step=step,
        why=why,
        chosen=bool(language) or why == "picked by you",
        language=wanted,
        note=note,
        steps=list(CallStep.choices),
        languages=[(code, language_name(code)) for code in languages],
    )
